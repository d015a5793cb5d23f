"""Ring benchmark: one GAN training step on the 8-Gaussian ring in tinygan, hand-written NumPy and PyTorch.

    python benchmarks/ring8.py                       # small, medium, large: check, time, memory, per-op, train
    python benchmarks/ring8.py --quick               # smoke run: a few seconds, figures not meaningful
    python benchmarks/ring8.py --sizes small --repeats 11
    python benchmarks/ring8.py --memory              # 20,000 tinygan steps: is resident memory flat?
    python benchmarks/ring8.py --memory --memory-impl tg-compiled    # the same for the recorded step
    python benchmarks/ring8.py --profile             # where tinygan's step spends its time (cProfile)
    python benchmarks/ring8.py --device cuda --sizes large --batch 65536    # GPU: CuPy against torch CUDA

One step (float32): one discriminator update on a real batch and a fake batch made without a graph into G, then
one generator update, both with Adam(lr=1e-4, betas=(0.5, 0.999)) and the non-saturating loss on logits:

    L_D = mean(softplus(-D(x))) + mean(softplus(D(G(z))))        L_G = mean(softplus(-D(G(z))))

G maps z ~ N(0, I_2) through a ReLU MLP to a point of the plane, D maps a point through a ReLU MLP to one logit.
During the generator update D's parameters are frozen (requires_grad off), as in tinygan's trainer.

The implementations start from the same weights (tinygan's PyTorch-style initialisation, copied) and eat the same
batches (a pool drawn once from tg.distributions.ring() and a standard normal). Before timing, the script checks
that they agree: both losses and every gradient of the first step to float32 tolerance, and every parameter's
update a few steps later. Then it times them interleaved, window by window, after a warm-up, and prints the median
steps per second, the speed ratios, PASS or MISS for each target of the project, the peak memory of each
implementation (each in a process of its own), the per-op overhead of a 4x4 add and the end-to-end time of the
default `tinygan train`. Targets are printed, never asserted: see benchmarks/README.md.
"""

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import types
import weakref

import numpy

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCHMARKS)
sys.path.insert(0, BENCHMARKS)
# engine.py puts this checkout's tinygan first on sys.path and imports torch when it is installed.
from engine import (add_timing_arguments, blas_threads, load_average, measure, numpy_blas_name,  # noqa: E402
                    time_tinygan_train, usable_cpus, warm_up)
from engine import torch  # noqa: E402  (None when PyTorch is not installed)

import numpy_gan  # noqa: E402
import tinygan as tg  # noqa: E402

SIZES = {
    "small": {"hidden": (64, 64), "batch": 64},
    "medium": {"hidden": (256, 256, 256), "batch": 256},
    "large": {"hidden": (512, 512, 512), "batch": 1024},
}

LR, BETAS = 1e-4, (0.5, 0.999)
POOL = 8              # batches drawn once and cycled through, the same for every implementation
CHECK_STEPS = 5       # steps after which the parameters are compared

# Speed targets: (device, size, tinygan implementation, other implementation, least steps/s of the first as a
# multiple of the other's). "tinygan" is the eager step on fused nodes; "tg-compiled" its recording replayed,
# which is what the trainer runs on the CPU.
TARGETS = [
    ("cpu", "small", "tinygan", "torch", 1.5),
    ("cpu", "small", "tinygan", "numpy", 0.5),
    ("cpu", "medium", "tinygan", "torch", 1.0),
    ("cpu", "medium", "tinygan", "numpy", 0.8),
    ("cpu", "medium", "tg-compiled", "torch", 1.1),
    ("cpu", "large", "tinygan", "torch", 1.0),
    ("cpu", "large", "tinygan", "numpy", 0.8),
    ("cuda", "large", "tinygan", "torch", 0.8),
]
FIRST_LOOK_LIMIT = 30.0      # seconds of `tinygan train` (the first look) end to end, install excluded
FIGURES_LIMIT = 4.0          # seconds of its figures
MEMORY_GROWTH_LIMIT = 0.05   # resident memory may grow at most 5% from step 1,000 to the last step

# Agreement tolerance for the losses and gradients of step 1: |x - ref| <= RTOL * (|ref| + max |ref| of that
# array). The scale term keeps entries that are sums of cancelling float32 terms (tiny next to the rest of their
# array) from failing on rounding alone.
RTOL = {"cpu": 1e-4, "cuda": 1e-3}
# After CHECK_STEPS steps the parameters are compared through their updates (parameter - initial value): the
# relative 2-norm error of each array's update must be at most UPDATE_RTOL. Entry by entry would be wrong: Adam
# moves every entry by about lr whatever the size of its gradient, so a gradient entry that is float32 rounding
# noise (a cancelling sum) moves its parameter by about lr in a direction that rounding decides. A wrong learning
# rate, beta or bias correction gives errors of tens of percent.
UPDATE_RTOL = 1e-2


# ---------------------------------------------------------------------------------------------------------------
# the problem: initial weights and a pool of batches, shared by all implementations
# ---------------------------------------------------------------------------------------------------------------


def layer_pairs(flat):
    """[W0, b0, W1, b1, ...] -> [(W0, b0), (W1, b1), ...]."""
    return list(zip(flat[0::2], flat[1::2]))


def make_problem(size_name, seed, batch=None):
    """The starting weights of G and D as NumPy (W (out, in), b) pairs and POOL batches (real, z_d, z_g).

    Drawn with tinygan: the networks as tg.nn.MLP initialises them (PyTorch's default), the real points from
    tg.distributions.ring(), the latent points from a standard normal. ``batch`` overrides the size's batch.
    """
    spec = SIZES[size_name]
    batch = batch or spec["batch"]
    generator = tg.Generator(seed)
    networks = [tg.nn.MLP(2, list(spec["hidden"]), out, generator=generator) for out in (2, 1)]
    g_params, d_params = [layer_pairs([p.numpy().copy() for p in net.parameters()]) for net in networks]
    ring = tg.distributions.ring()
    batches = []
    for _ in range(POOL):
        real = ring.sample(batch, generator=generator)
        z_d, z_g = tg.randn(batch, 2, generator=generator), tg.randn(batch, 2, generator=generator)
        batches.append(tuple(t.numpy().copy() for t in (real, z_d, z_g)))
    return types.SimpleNamespace(size=size_name, batch=batch, hidden=spec["hidden"], g_params=g_params,
                                 d_params=d_params, batches=batches)


# ---------------------------------------------------------------------------------------------------------------
# the three implementations. step() runs one GAN step on the next batch of the pool; after it, result() gives
# the two losses and the gradients of that step as NumPy (loss_d, loss_g, D's gradients, G's gradients), and
# parameters() the current parameters, in the order W0, b0, W1, b1, ... with W as (out, in).
# ---------------------------------------------------------------------------------------------------------------


class Implementation:
    name = "?"

    def __init__(self, problem, device):
        self.device = device
        self.batches = [tuple(self._array(a) for a in batch) for batch in problem.batches]
        self.count = 0

    def _array(self, array):
        return array

    def next_batch(self):
        batch = self.batches[self.count % len(self.batches)]
        self.count += 1
        return batch

    def sync(self):
        """Wait until the device has finished the work queued so far (the GPU runs asynchronously)."""


class AutogradGAN(Implementation):
    """The step with an autograd library, written once for tinygan and PyTorch, whose interfaces match here
    (modules, no_grad, requires_grad_, zero_grad / backward / step). A subclass sets G, D, opt_G, opt_D and
    defines _d_loss(real_logits, fake_logits), _g_loss(fake_logits), _host(tensor) and no_grad."""

    def __init__(self, problem, device):
        super().__init__(problem, device)
        self.losses = None
        self.watch = None  # a function called with each loss before its backward (the graph check uses it)

    def step(self):
        self.losses = self.step_on(*self.next_batch())

    def step_on(self, real, z_d, z_g):
        """One D update and one G update on these batches; returns the two losses, detached."""
        with self.no_grad():
            fake = self.G(z_d)
        loss_d = self._d_loss(self.D(real), self.D(fake))
        if self.watch is not None:
            self.watch(loss_d)
        self.opt_D.zero_grad()
        loss_d.backward()
        self.opt_D.step()

        for param in self.d_params:  # D is only differentiated through: no gradients for its parameters
            param.requires_grad_(False)
        loss_g = self._g_loss(self.D(self.G(z_g)))
        if self.watch is not None:
            self.watch(loss_g)
        self.opt_G.zero_grad()
        loss_g.backward()
        self.opt_G.step()
        for param in self.d_params:
            param.requires_grad_(True)
        return loss_d.detach(), loss_g.detach()

    def result(self):
        loss_d, loss_g = (loss.item() for loss in self.losses)
        return (loss_d, loss_g, [self._host(p.grad) for p in self.D.parameters()],
                [self._host(p.grad) for p in self.G.parameters()])

    def parameters(self):
        return [self._host(p) for p in self.G.parameters()], [self._host(p) for p in self.D.parameters()]


class TinyganGAN(AutogradGAN):
    """The step as tinygan's trainer runs it: tg.fast.FusedMLP, the fused BCE losses (tg.fast.FUSED_LOSSES),
    tg.optim.Adam(fused=True), tg.no_grad. The targets are checked on this row."""

    name = "tinygan"
    no_grad = tg.no_grad
    fast = True

    def __init__(self, problem, device="cpu"):
        super().__init__(problem, device)
        self.G = tinygan_mlp(problem.g_params, device, self.fast)
        self.D = tinygan_mlp(problem.d_params, device, self.fast)
        self.d_params = list(self.D.parameters())
        self.opt_G = tg.optim.Adam(self.G.parameters(), lr=LR, betas=BETAS, fused=self.fast)
        self.opt_D = tg.optim.Adam(self.d_params, lr=LR, betas=BETAS, fused=self.fast)
        self.loss_pair = tg.fast.FUSED_LOSSES["nonsaturating"] if self.fast else tg.losses.LOSSES["nonsaturating"]

    def _array(self, array):
        return tg.tensor(array, device=self.device)

    def _d_loss(self, real_logits, fake_logits):
        return self.loss_pair[0](real_logits, fake_logits)

    def _g_loss(self, fake_logits):
        return self.loss_pair[1](fake_logits)

    def _host(self, tensor):
        return tensor.detach().to("cpu").numpy().copy()

    def sync(self):
        if self.device == "cuda":
            tg.backend.CUDA.xp.cuda.get_current_stream().synchronize()


class TinyganPlainGAN(TinyganGAN):
    """The step as a tinygan user writes it with the plain library: tg.nn.MLP, tg.losses, tg.optim.Adam."""

    name = "tg-plain"
    fast = False


class TinyganCompiledGAN(TinyganGAN):
    """tinygan's step recorded once and replayed (tg.compile, with Adam(capturable=True)): how the trainer runs its
    step on the CPU. NumPy only."""

    name = "tg-compiled"

    def __init__(self, problem, device="cpu"):
        super().__init__(problem, device)
        self.opt_G = tg.optim.Adam(self.G.parameters(), lr=LR, betas=BETAS, capturable=True)
        self.opt_D = tg.optim.Adam(self.d_params, lr=LR, betas=BETAS, capturable=True)
        self.compiled_step = tg.compile(self.step_on)

    def step(self):
        self.losses = self.compiled_step(*self.next_batch())


def tinygan_mlp(pairs, device, fast):
    """A tg.fast.FusedMLP (or, with fast=False, a tg.nn.MLP) holding copies of the given weights, on ``device``."""
    model = tg.fast.FusedMLP if fast else tg.nn.MLP
    mlp = model(pairs[0][0].shape[1], [w.shape[0] for w, _ in pairs[:-1]], pairs[-1][0].shape[0])
    with tg.no_grad():
        for param, array in zip(mlp.parameters(), (a for pair in pairs for a in pair)):
            param.copy_(tg.tensor(array))
    return mlp.to(device)


class NumpyGAN(Implementation):
    """The hand-written NumPy step of numpy_gan.py (forward, backward and Adam derived by hand)."""

    name = "numpy"

    def __init__(self, problem, device="cpu"):
        super().__init__(problem, device)
        self.gan = numpy_gan.NumpyGAN(problem.g_params, problem.d_params, lr=LR, betas=BETAS)

    def step(self):
        self.gan.step(*self.next_batch())

    def result(self):
        gan = self.gan
        return float(gan.loss_d), float(gan.loss_g), [g.copy() for g in gan.d_grads], [g.copy() for g in gan.g_grads]

    def parameters(self):
        return tuple([p.copy() for p in flat] for flat in self.gan.parameters())


class TorchGAN(AutogradGAN):
    """The step as a PyTorch user writes it: nn.Sequential of Linear and ReLU, BCE with logits, torch.optim.Adam
    (its default implementation for the device), eager mode."""

    name = "torch"

    def __init__(self, problem, device="cpu"):
        super().__init__(problem, device)
        self.no_grad = torch.no_grad
        self.G = torch_mlp(problem.g_params, device)
        self.D = torch_mlp(problem.d_params, device)
        self.d_params = list(self.D.parameters())
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=LR, betas=BETAS)
        self.opt_D = torch.optim.Adam(self.d_params, lr=LR, betas=BETAS)
        self.ones = torch.ones(problem.batch, 1, device=device)
        self.zeros = torch.zeros(problem.batch, 1, device=device)

    def _array(self, array):
        return torch.from_numpy(array).to(self.device)

    def _d_loss(self, real_logits, fake_logits):
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        return bce(real_logits, self.ones) + bce(fake_logits, self.zeros)

    def _g_loss(self, fake_logits):
        return torch.nn.functional.binary_cross_entropy_with_logits(fake_logits, self.ones)

    def _host(self, tensor):
        return tensor.detach().cpu().numpy().copy()

    def sync(self):
        if self.device == "cuda":
            torch.cuda.synchronize()


def torch_mlp(pairs, device):
    """torch.nn.Sequential(Linear, ReLU, ..., Linear) holding copies of the given weights, on ``device``."""
    layers = []
    for weight, bias in pairs:
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight))
            linear.bias.copy_(torch.from_numpy(bias))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1]).to(device)


IMPLEMENTATIONS = {"tinygan": TinyganGAN, "tg-compiled": TinyganCompiledGAN, "tg-plain": TinyganPlainGAN,
                   "numpy": NumpyGAN, "torch": TorchGAN}


def available_implementations(device):
    """Names of the implementations that run on ``device``: NumPy only on the CPU, torch when installed (and,
    for "cuda", built with CUDA)."""
    names = ["tinygan", "tg-plain"] + (["tg-compiled", "numpy"] if device == "cpu" else [])
    if torch is not None and (device == "cpu" or torch.cuda.is_available()):
        names.append("torch")
    return names


# ---------------------------------------------------------------------------------------------------------------
# checks: the implementations agree; no graph outlives a step
# ---------------------------------------------------------------------------------------------------------------


def compare(label, value, reference, rtol, problems):
    """Add a problem when ``value`` differs from ``reference`` beyond the tolerance; return the largest
    difference relative to the reference's scale (max |ref|)."""
    value, reference = numpy.asarray(value), numpy.asarray(reference)
    if value.shape != reference.shape:
        problems.append(f"{label}: shape {value.shape}, expected {reference.shape}")
        return math.inf
    scale = float(numpy.max(numpy.abs(reference))) if reference.size else 0.0
    difference = numpy.abs(value.astype(numpy.float64) - reference)
    if numpy.any(difference > rtol * (numpy.abs(reference) + scale)) or not numpy.all(numpy.isfinite(value)):
        problems.append(f"{label}: differs by up to {float(difference.max()):.3g} (scale {scale:.3g})")
    return float(difference.max()) / scale if scale else float(difference.max())


def check_agreement(impls, problem, device):
    """One step of each implementation: losses and all gradients against the reference (NumPy, else torch);
    then CHECK_STEPS - 1 more steps and every parameter's update. Returns (problems, summary line)."""
    for impl in impls:
        impl.step()
    by_name = {impl.name: impl for impl in impls}
    reference = by_name.get("numpy", by_name.get("torch"))
    if reference is None:
        return [], "nothing to compare with (only tinygan runs here)"
    rtol = RTOL[device]
    problems, worst = [], 0.0
    ref_result = reference.result()
    n_grads = len(ref_result[2]) + len(ref_result[3])
    for impl in impls:
        if impl is not reference:
            result = impl.result()
            for label, value, ref in (("D loss", result[0], ref_result[0]), ("G loss", result[1], ref_result[1])):
                worst = max(worst, compare(f"{impl.name} {label}", value, ref, rtol, problems))
            for player, index in (("D", 2), ("G", 3)):
                for number, (grad, ref) in enumerate(zip(result[index], ref_result[index])):
                    label = f"{impl.name} step-1 gradient of {player} parameter {number}"
                    worst = max(worst, compare(label, grad, ref, rtol, problems))
    for _ in range(CHECK_STEPS - 1):
        for impl in impls:
            impl.step()
    initial = [[a for pair in pairs for a in pair] for pairs in (problem.g_params, problem.d_params)]
    ref_params = reference.parameters()
    worst_update = 0.0
    for impl in impls:
        if impl is not reference:
            for player, params, refs, starts in zip("GD", impl.parameters(), ref_params, initial):
                for number, (param, ref, start) in enumerate(zip(params, refs, starts)):
                    ref_update = ref.astype(numpy.float64) - start
                    error = numpy.linalg.norm(param - start - ref_update) / max(numpy.linalg.norm(ref_update), 1e-30)
                    worst_update = max(worst_update, error)
                    if not error <= UPDATE_RTOL:
                        problems.append(f"{impl.name} {player} parameter {number}: its update over {CHECK_STEPS} "
                                        f"steps differs from {reference.name}'s by {error:.3g} (relative 2-norm)")
    names = " and ".join(impl.name for impl in impls if impl is not reference)
    summary = (f"{names} agree with {reference.name}\n"
               f"    the D and G losses and all {n_grads} gradients of step 1: largest difference {worst:.2g} of the "
               f"array's scale (rtol {rtol:g})\n"
               f"    all {n_grads} parameter updates over {CHECK_STEPS} steps: largest relative error "
               f"{worst_update:.2g} (limit {UPDATE_RTOL:g})")
    return problems, summary


def graph_nodes(tensor):
    """Every graph node (Context) that ``tensor`` was computed through, found by following next_edges."""
    nodes, stack, seen = [], [tensor.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(edge[0] for edge in node.next_edges if edge is not None and edge[1] >= 0)
    return nodes


def check_graph_freed(impl):
    """Run one tinygan step with the garbage collector off, holding weak references to every node of both
    losses' graphs; returns (nodes seen, nodes still alive after the step). Alive nodes would mean the graph
    outlives the step (a reference kept somewhere, or a cycle only the garbage collector could break)."""
    refs = []
    impl.watch = lambda loss: refs.extend(weakref.ref(node) for node in graph_nodes(loss))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        impl.step()
    finally:
        impl.watch = None
        if was_enabled:
            gc.enable()
    return len(refs), sum(1 for ref in refs if ref() is not None)


def check_no_sync(impl):
    """On the GPU: run one tinygan step where CuPy raises on any host-device synchronisation. Returns a line."""
    import cupyx
    allow = getattr(cupyx, "allow_synchronize", None)
    if allow is None:
        return "host-device synchronisation inside a step: not checked (this CuPy has no allow_synchronize)"
    try:
        with allow(False):
            impl.step()
    except cupyx.DeviceSynchronized as error:
        return f"host-device synchronisation inside a step: MISS (CuPy saw one: {error})"
    return "host-device synchronisation inside a step: none seen by cupyx.allow_synchronize(False)   PASS"


# ---------------------------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------------------------


class SyncedWindows:
    """An implementation seen by engine.measure and engine.warm_up on the GPU: it waits for the device every
    ``every`` steps, so a timed window ends only when the GPU has done its work, while the steps inside the
    window are queued asynchronously, as in training."""

    def __init__(self, impl):
        self.impl, self.name, self.every, self.count = impl, impl.name, 1, 0

    def step(self):
        self.impl.step()
        self.count += 1
        if self.count % self.every == 0:
            self.impl.sync()


def freeze_heap():
    """Leave the objects that exist now (imported modules, models, batches) out of garbage collections.

    engine.measure collects garbage before each window, and a collection may also start inside one. A full
    collection scans every tracked object, and once torch.optim is imported there are about 290,000 of them
    (about 0.2 s a scan on the development machine): tinygan, whose steps allocate Python objects and so trigger
    collections, would pay for PyTorch's objects, which a tinygan program does not have. gc.freeze moves them to
    a generation that is never scanned; what the steps allocate is collected as usual.
    """
    gc.collect()
    gc.freeze()


def time_size(impls, args):
    """Warm up, then time the implementations interleaved: {name: [seconds per step, one per window]}."""
    freeze_heap()
    timed = [SyncedWindows(impl) for impl in impls] if args.device == "cuda" else impls
    slowest = warm_up(timed, args.warmup_seconds)
    steps = args.steps or max(1, round(args.window_seconds / slowest))
    for impl in timed:
        if isinstance(impl, SyncedWindows):
            impl.every, impl.count = steps, 0
    print(f"  timing {args.repeats} windows x {steps} steps per implementation ...")
    return measure(timed, args.repeats, steps), steps


def benchmark_size(size_name, args):
    """Check, then time one size. Exits when the implementations disagree or a graph survives a step."""
    problem = make_problem(size_name, args.seed, args.batch)
    print(f"{describe(problem)}")
    impls = [IMPLEMENTATIONS[name](problem, args.device) for name in available_implementations(args.device)]
    problems, summary = check_agreement(impls, problem, args.device)
    if problems:
        print(f"ABORT: the implementations disagree at size {size_name}:")
        for line in problems[:20]:
            print(f"  - {line}")
        sys.exit(1)
    print(f"  agreement check passed: {summary}")
    seen, alive = check_graph_freed(impls[0])
    if alive:
        print(f"ABORT: {alive} of the {seen} graph nodes of a tinygan step are still alive after the step")
        sys.exit(1)
    print(f"  graph check passed: all {seen} graph nodes of a tinygan step were freed when the step returned "
          f"(garbage collector off)")
    if args.device == "cuda":
        print(f"  {check_no_sync(impls[0])}")
    times, _ = time_size(impls, args)
    return times


def describe(problem):
    widths = "-".join(str(w) for w in problem.hidden)
    return f"{problem.size}: hidden {widths}, batch {problem.batch}"


# ---------------------------------------------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------------------------------------------


def read_status(field):
    """A field of /proc/self/status in bytes (VmRSS: resident now, VmHWM: peak resident), or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def peak_rss():
    """The peak resident memory of this process in bytes (VmHWM; ru_maxrss where /proc is missing)."""
    peak = read_status("VmHWM")
    if peak is None:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return peak


def reset_peak_rss():
    """Restart the peak (VmHWM) from the current resident memory, so that what the imports used for a moment does
    not count (Linux: write 5 to /proc/self/clear_refs). Elsewhere the peak stays the process's lifetime peak."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def probe_memory(args):
    """Run in a process of its own (--probe NAME): the peak memory of one implementation at one size.

    Prints one JSON line: the baseline resident memory, the peak resident memory over a few steps (models,
    optimizer state, batches and the step's working memory all count), and the peak of what tracemalloc sees
    during a few more steps (Python objects and NumPy arrays; not torch's allocator). On the GPU, the device
    memory the library holds (CuPy's pool, torch's caching allocator) instead of tracemalloc. The baseline is
    taken after one step of a throwaway copy of the implementation with a batch of 2, so that lazy imports and
    first-use set-up (torch.optim imports torch._dynamo, say) are not counted as the step's memory.
    """
    throwaway = IMPLEMENTATIONS[args.probe](make_problem("small", args.seed, 2), args.device)
    throwaway.step()
    throwaway.sync()
    del throwaway
    gc.collect()
    baseline = read_status("VmRSS") or peak_rss()
    reset_peak_rss()
    problem = make_problem(args.sizes[0], args.seed, args.batch)
    impl = IMPLEMENTATIONS[args.probe](problem, args.device)
    steps = 3 if problem.batch * max(problem.hidden) > 300_000 else 10
    for _ in range(steps):
        impl.step()
    impl.sync()
    report = {"baseline": baseline, "peak": peak_rss(), "traced": None, "device": None}
    if args.device == "cuda":
        if args.probe == "torch":
            report["device"] = torch.cuda.max_memory_reserved()
        else:
            report["device"] = tg.backend.CUDA.xp.get_default_memory_pool().total_bytes()
    elif args.probe != "torch":
        tracemalloc.start()
        for _ in range(steps):
            impl.step()
        report["traced"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print("PROBE " + json.dumps(report))


def measure_memory(size_names, args):
    """{size: {name: probe report}}: one subprocess per implementation and size, so each peak is its own."""
    reports = {}
    for size_name in size_names:
        reports[size_name] = {}
        for name in available_implementations(args.device):
            command = [sys.executable, os.path.abspath(__file__), "--probe", name, "--sizes", size_name,
                       "--device", args.device, "--seed", str(args.seed)] + (
                          ["--batch", str(args.batch)] if args.batch else [])
            done = subprocess.run(command, capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
            if done.returncode != 0 or not lines:
                reports[size_name][name] = {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
            else:
                reports[size_name][name] = json.loads(lines[-1][len("PROBE "):])
    return reports


def mib(value):
    return "-" if value is None else f"{value / 2 ** 20:.1f}"


def print_memory(reports, device):
    print()
    print("peak memory (each implementation alone in a fresh process, after a few steps)")
    third = "device MiB" if device == "cuda" else "traced MiB"
    print(f"  {'size':<8} {'impl':<11} {'peak RSS MiB':>13} {'above baseline':>15} {third:>11}")
    for size_name, per_impl in reports.items():
        for name, report in per_impl.items():
            if "error" in report:
                print(f"  {size_name:<8} {name:<11} failed: {report['error']}")
                continue
            extra = report["device"] if device == "cuda" else report["traced"]
            print(f"  {size_name:<8} {name:<11} {mib(report['peak']):>13} "
                  f"{mib(report['peak'] - report['baseline']):>15} {mib(extra):>11}")
    print("  (peak RSS: VmHWM of the process; above baseline: minus its RSS after the imports and one step of a "
          "batch-2 copy;")
    if device == "cuda":
        print("   device: CuPy's memory pool / torch.cuda.max_memory_reserved)")
    else:
        print("   traced: tracemalloc's peak over a few more steps, Python objects and NumPy arrays; torch's "
              "allocator is not traced)")


def memory_mode(args):
    """--memory: tinygan alone for --memory-steps steps; is resident memory flat, and is every graph freed?"""
    size_name = args.sizes[0]
    problem = make_problem(size_name, args.seed, args.batch)
    impl = IMPLEMENTATIONS[args.memory_impl](problem, args.device)
    total = args.memory_steps
    first = min(1000, max(1, total // 2))
    marks = sorted({first, total} | {total * k // 10 for k in range(1, 10) if total * k // 10 > first})
    print(f"memory: {total} {impl.name} steps at {describe(problem)} on {args.device}")
    rss = {}
    start = time.perf_counter()
    for step in range(1, total + 1):
        impl.step()
        if step in marks:
            impl.sync()
            rss[step] = read_status("VmRSS")
            print(f"  step {step:>6}: RSS {mib(rss[step]):>7} MiB   ({time.perf_counter() - start:.1f} s)")
    print()
    if rss[first] is None:
        print("resident memory: /proc/self/status is not readable here; not measured")
    else:
        growth = rss[total] / rss[first] - 1
        verdict = "PASS" if abs(growth) <= MEMORY_GROWTH_LIMIT else "MISS"
        print(f"resident memory from step {first} to step {total}: {mib(rss[first])} -> {mib(rss[total])} MiB, "
              f"{growth:+.2%} (target: within {MEMORY_GROWTH_LIMIT:.0%})   {verdict}")
    if impl.name != "tg-compiled":            # a replay builds no graph
        seen, alive = check_graph_freed(impl)
        print(f"no graph survives a step: {seen - alive} of {seen} graph nodes freed when the step returned "
              f"(garbage collector off)   {'PASS' if alive == 0 else 'MISS'}")


# ---------------------------------------------------------------------------------------------------------------
# per-op overhead and the end-to-end trainer
# ---------------------------------------------------------------------------------------------------------------


def op_cases(backward):
    """A 4x4 float32 add, c = a + b, per library; with ``backward``, also the gradients of a and b for a given
    dL/dc (NumPy: the hand-written backward of an add, a copy of dL/dc for each input's own gradient)."""
    rng = numpy.random.default_rng(0)
    a_np, b_np, g_np = (rng.standard_normal((4, 4)).astype(numpy.float32) for _ in range(3))
    cases = []

    a, b, g = tg.tensor(a_np, requires_grad=True), tg.tensor(b_np, requires_grad=True), tg.tensor(g_np)

    def tinygan_step():
        a.grad = b.grad = None
        (a + b).backward(g)

    cases.append(("tinygan", tinygan_step if backward else (lambda: a + b)))

    def numpy_step():
        a_np + b_np
        return g_np.copy(), g_np.copy()

    cases.append(("numpy", numpy_step if backward else (lambda: a_np + b_np)))
    if torch is not None:
        ta, tb = torch.from_numpy(a_np).requires_grad_(), torch.from_numpy(b_np).requires_grad_()
        tgrad = torch.from_numpy(g_np)

        def torch_step():
            ta.grad = tb.grad = None
            (ta + tb).backward(tgrad)

        cases.append(("torch", torch_step if backward else (lambda: ta + tb)))
    return [types.SimpleNamespace(name=name, step=step) for name, step in cases]


def per_op_overhead(args):
    """Median microseconds per call of the 4x4 add, forward alone and forward + backward, interleaved."""
    print()
    print("per-op overhead: c = a + b on 4x4 float32, CPU (median us per call)")
    rows = {}
    steps = 20 if args.quick else 2000
    for label, backward in (("forward", False), ("forward+backward", True)):
        cases = op_cases(backward)
        freeze_heap()
        warm_up(cases, 0.0 if args.quick else 0.2)
        times = measure(cases, args.repeats, steps)
        rows[label] = {name: statistics.median(values) for name, values in times.items()}
    names = list(rows["forward"])
    print(f"  {'':<18}" + "".join(f"{name:>10}" for name in names) + f"{'tg/numpy':>10}{'tg/torch':>10}")
    for label, medians in rows.items():
        ratios = [f"{medians['tinygan'] / medians[other]:.1f}x" if other in medians else "-"
                  for other in ("numpy", "torch")]
        print(f"  {label:<18}" + "".join(f"{medians[name] * 1e6:>10.2f}" for name in names) +
              "".join(f"{ratio:>10}" for ratio in ratios))
    print("  (tg/numpy, tg/torch: tinygan's time over the other's, lower is better)")


def time_train(args):
    """Wall-clock time of `python -m tinygan train --quiet --out <tmpdir>` (the default run), if the CLI exists."""
    print()
    if not os.path.exists(os.path.join(REPO, "tinygan", "cli.py")):
        print("tinygan train: not available yet")
        return
    run = time_tinygan_train([])
    if "error" in run:
        print(f"tinygan train: `{run['command']}` failed ({run['error']}) after {run['seconds']:.1f} s")
        return
    elapsed = run["seconds"]
    print(f"tinygan train, end to end: {elapsed:.1f} s   (`{run['command']}`, the first look, one process "
          f"including imports)")
    if "training" in run and "figures" in run:
        training, figures = run["training"], run["figures"]
        print(f"  training {training:.1f} s, figures {figures:.1f} s, the rest (imports, final evaluation, files) "
              f"{elapsed - training - figures:.1f} s")
        print(f"  targets: end to end <= {FIRST_LOOK_LIMIT:.0f} s {'PASS' if elapsed <= FIRST_LOOK_LIMIT else 'MISS'}, "
              f"figures <= {FIGURES_LIMIT:.0f} s {'PASS' if figures <= FIGURES_LIMIT else 'MISS'}")


# ---------------------------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------------------------


def print_context(args, threads, blas_source):
    """What ran where: versions, CPU, threads and how busy the machine was."""
    if torch is None:
        torch_line = "PyTorch not installed (pip install '.[bench]'); its rows and targets are skipped"
    else:
        why = "--quick: one" if args.quick else "set to match numpy's BLAS"
        count = torch.get_num_threads()
        torch_line = f"{torch.__version__}, {count} thread{'s' if count != 1 else ''} ({why})"
    rows = [
        ("python", f"{platform.python_version()} ({platform.python_implementation()}), {platform.platform()}"),
        ("cpu", f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs ({usable_cpus()} "
                f"usable), load average {load_average()} when the run started"),
        ("numpy", f"{numpy.__version__} with {numpy_blas_name()} BLAS, {threads} thread{'s' if threads != 1 else ''} "
                  f"({blas_source})"),
        ("tinygan", f"{tg.__version__}, {os.path.dirname(tg.__file__)}"),
        ("torch", torch_line),
    ] + ([("gpu", gpu_name())] if args.device == "cuda" else [])
    print(f"tinygan ring benchmark: one GAN step (D update + G update, Adam), float32, device {args.device}")
    for label, text in rows:
        print(f"  {label:<8} {text}")
    try:
        busy = os.getloadavg()[0] > usable_cpus() - 1
    except (AttributeError, OSError):
        busy = False
    if busy and threads > 1 and not args.quick:
        print("  note     the machine is busy and BLAS/torch use several threads, which then mostly wait for each "
              "other;\n           for steady figures run with OPENBLAS_NUM_THREADS=1 (torch follows it)")
    print()


def gpu_name():
    try:
        xp = tg.backend.CUDA.xp
        return xp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception as error:  # report, do not fail: the table is still useful
        return f"unknown ({error})"


def speed_ratio(times, numerator, denominator, best=False):
    pick = min if best else statistics.median
    return pick(times[denominator]) / pick(times[numerator])  # steps/s ratio = inverse time ratio


def print_times(results):
    print()
    print(f"{'size':<8} {'impl':<11} {'median ms/step':>15} {'steps/s':>9} {'min ms':>8} {'max ms':>8}"
          f"   {'tg/numpy':>8} {'tg/torch':>8}")
    for size_name, times in results.items():
        for name, values in times.items():
            median = statistics.median(values)
            ratios = [f"{speed_ratio(times, 'tinygan', other):.2f}x" if name == "tinygan" and other in times
                      else "" for other in ("numpy", "torch")]
            print(f"{size_name:<8} {name:<11} {median * 1e3:>15.3f} {1 / median:>9.1f} {min(values) * 1e3:>8.3f} "
                  f"{max(values) * 1e3:>8.3f}   {ratios[0]:>8} {ratios[1]:>8}")
    print("(tg/numpy, tg/torch: tinygan's steps/s over the other's, from the medians: higher is better)")


def print_targets(results, device):
    print()
    print("targets (tinygan steps/s as a multiple of the other's, medians; fastest windows in brackets)")
    for target_device, size_name, ours, other, least in TARGETS:
        if target_device != device:
            continue
        label = f"  {size_name:<7} {ours:<11} >= {least:.1f}x {other:<6}"
        if size_name not in results:
            print(f"{label}  SKIP (size not run)")
        elif other not in results[size_name] or ours not in results[size_name]:
            print(f"{label}  SKIP ({other if ours in results[size_name] else ours} not available here)")
        else:
            ratio = speed_ratio(results[size_name], ours, other)
            best = speed_ratio(results[size_name], ours, other, best=True)
            print(f"{label}  measured {ratio:5.2f}x ({best:.2f}x)  {'PASS' if ratio >= least else 'MISS'}")


# ---------------------------------------------------------------------------------------------------------------
# profiling (--profile)
# ---------------------------------------------------------------------------------------------------------------


def profile(args, top=25):
    """cProfile of tinygan's step alone at the first of --sizes, top functions by own time."""
    import cProfile
    import pstats

    problem = make_problem(args.sizes[0], args.seed, args.batch)
    impl = TinyganGAN(problem, args.device)
    for _ in range(20):
        impl.step()
    steps = args.steps or 500
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        impl.step()
    profiler.disable()
    impl.sync()
    print(f"cProfile of {steps} tinygan steps at {describe(problem)}, top {top} by own time:")
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


# ---------------------------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sizes", default=None,
                        help=f"comma-separated sizes from {', '.join(SIZES)} (default: all three on the CPU; small "
                             f"with --quick and --memory; large with --device cuda)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="cpu: tinygan on NumPy, hand-written NumPy, torch CPU; cuda: tinygan on CuPy and torch "
                             "CUDA (the NumPy row is skipped)")
    parser.add_argument("--batch", type=int, default=None,
                        help="batch size for every size run, instead of the size's own (e.g. 65536 on a GPU)")
    add_timing_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the batches")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory table (a process per row)")
    parser.add_argument("--no-train", action="store_true", help="skip timing the default `tinygan train` run")
    parser.add_argument("--memory", action="store_true",
                        help="instead of timing: run tinygan for --memory-steps steps and report whether resident "
                             "memory stays flat (within 5%% from step 1,000) and no graph survives a step")
    parser.add_argument("--memory-steps", type=int, default=20000, help="steps of --memory")
    parser.add_argument("--memory-impl", default="tinygan", choices=["tinygan", "tg-compiled", "tg-plain"],
                        help="the implementation --memory runs (tg-compiled: the recorded step, CPU only)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of timing: cProfile of tinygan's step at the first of --sizes (--steps "
                             "steps, default 500)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run in a few seconds: small size, 2 windows of 3 steps, no warm-up, one torch "
                             "thread, no memory table, no trainer run (the figures mean nothing)")
    parser.add_argument("--probe", choices=sorted(IMPLEMENTATIONS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes is None:
        default_sizes = "large" if args.device == "cuda" else "small,medium,large"
        args.sizes = "small" if (args.quick or args.memory) else default_sizes
    args.sizes = [name.strip() for name in args.sizes.split(",") if name.strip()]
    if not args.sizes or not set(args.sizes) <= set(SIZES):
        parser.error(f"--sizes: a comma-separated list of {', '.join(SIZES)}, got {','.join(args.sizes) or 'none'}")
    if args.quick:  # 2 windows of 3 steps, no warm-up, no memory table, no trainer run; --memory: 200 steps
        args.repeats, args.steps, args.warmup_seconds, args.no_memory, args.no_train = 2, 3, 0.0, True, True
        args.memory_steps = min(args.memory_steps, 200)
    if args.repeats < 1 or args.steps < 0 or args.memory_steps < 1 or (args.batch is not None and args.batch < 1):
        parser.error("--repeats, --memory-steps and --batch must be at least 1, and --steps not negative")
    if args.device == "cuda" and not tg.backend.cuda_available():
        parser.error("--device cuda: CuPy with a visible GPU is needed (pip install '.[cuda12]' or '.[cuda13]')")
    return args


def main(argv=None):
    args = parse_args(argv)
    threads, blas_source = blas_threads()
    if torch is not None:
        # the same number of threads as NumPy's BLAS; one for the smoke run, whose steps are too short to share
        # (on a busy machine, threads waiting for each other would make it take half a minute)
        torch.set_num_threads(1 if args.quick else threads)
    if args.probe:
        probe_memory(args)
        return
    print_context(args, threads, blas_source)
    if args.profile:
        profile(args)
        return
    if args.memory:
        memory_mode(args)
        return
    results = {size_name: benchmark_size(size_name, args) for size_name in args.sizes}
    print_times(results)
    print_targets(results, args.device)
    if not args.no_memory:
        print_memory(measure_memory(args.sizes, args), args.device)
    if args.device == "cpu":
        per_op_overhead(args)
    if not args.no_train:
        time_train(args)
    if args.quick:
        print("\n(--quick: too few steps for the figures to mean anything; run without --quick to measure)")


if __name__ == "__main__":
    main()
