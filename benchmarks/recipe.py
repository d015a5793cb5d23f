"""Recipe benchmark: the training step users actually run, in tinygan (recorded and eager), PyTorch and JAX.

    python benchmarks/recipe.py                          # every recipe: check, then time, interleaved
    python benchmarks/recipe.py --recipes shared shared-64 --repeats 11
    python benchmarks/recipe.py --trainer                # also: the Trainer against its bare step
    python benchmarks/recipe.py --quick                  # smoke run: a few seconds, figures not meaningful
    python benchmarks/recipe.py --memory-steps 20000 --recipes shared    # is the trainer's memory flat?
    python benchmarks/recipe.py --presets                # `tinygan train ring` and `grid` end to end, timed
    python benchmarks/recipe.py --trained-state 20000 --recipes ring   # is a trained state's step slower?
    python benchmarks/recipe.py --device cuda            # GPU: CuPy against torch CUDA at batch 256 and 65,536

One step of a recipe is what tinygan's Trainer does at each training step of a 2-D preset (float32, CPU):

    D update:  L_D = mean(softplus(-D(x))) + mean(softplus(D(G(z).detach())))
                     + gamma/2 * mean_i ||grad_x D(x_i)||^2        (R1, by double backward, on the steps that have it)
    G update:  L_G = mean(softplus(-D(G(z'))))                      (D frozen)
    both with Adam(lr 3e-4, betas (0.5, 0.9)); then G_ema <- 0.999 G_ema + 0.001 G; and the numbers the history
    keeps (both losses, the penalty, mean D outputs, both gradient norms) computed on the device.

Recipes (config.py): "shared" is the recipe every 2-D preset starts from (ReLU MLPs 3 x 128, batch 256, R1 with
gamma 1 on every D step): the first look (`tinygan train`). "shared-64" is the same at width 64 and batch 64, where
Python overhead rather than arithmetic is the cost. "ring" and "grid" are the presets' recipes: R1 on every 4th D
step with 4 times the weight (a lazy penalty), the grid with a 3 x 256 generator and gamma 0.1. A lazy recipe is
timed over whole cycles of 4 steps, so its figure is the average step.

Implementations, all from the same initial weights (the trainer's) on the same batches (a pool drawn once):
    tinygan     the Trainer's step as the trainer runs it on the CPU: recorded once and replayed (tg.compile,
                tinygan/fast/compiler.py), fused nodes, Adam(fused=True, capturable=True)
    tg-eager    the same step run eagerly (Trainer(compile=False): fused nodes, Adam(fused=True)): what the
                trainer ran before the recording existed, and what it runs on the GPU
    torch       the same step in PyTorch eager, as a PyTorch user would write it (torch.autograd.grad with
                create_graph for R1, torch.optim.Adam with its CPU defaults)
    jax         the same step in JAX, jit-compiled as a whole (the compiled ceiling; Adam written out)
On the GPU (--device cuda) there are two: tinygan, the trainer's step as it runs there (eager on CuPy: tg.compile
records NumPy only), and torch on CUDA (torch.optim.Adam with its CUDA defaults; float32 matmuls without TF32 on
either side unless CUPY_TF32 or torch's matmul precision says otherwise, which the context lines show); each recipe
is run at every batch size of --batches (256 and 65,536 by default), the tinygan steps of one cycle of the lazy
penalty (after the check's) run inside cupyx.allow_synchronize(False) (CuPy raises on any host-device
synchronisation), and a timed window ends when the device has finished its steps.
Before timing, the script checks that they agree: the history numbers of the first 3 steps to float32 tolerance (on
the GPU, against tinygan's eager step on the CPU as well).
Then it times them interleaved, window by window, after a warm-up, one BLAS thread each, and prints the median
milliseconds per step and the ratios. --trainer also times Trainer.train (random draws, history, checks,
evaluation and all) against the bare recorded step. Targets are printed, never asserted: see
benchmarks/README.md.
"""

import os

# one thread for every library, set before any of them starts its thread pool
for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy  # noqa: E402

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCHMARKS)
# engine.py puts this checkout's tinygan first on sys.path and imports torch when it is installed.
from engine import (add_timing_arguments, load_average, measure, numpy_blas_name, time_tinygan_train,  # noqa: E402
                    time_window, usable_cpus, warm_up)
from engine import torch  # noqa: E402  (None when PyTorch is not installed)
from ring8 import SyncedWindows, check_no_sync, freeze_heap, gpu_name  # noqa: E402

import tinygan as tg  # noqa: E402
from tinygan import train  # noqa: E402

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_platforms", "cpu")
except ImportError:
    jax = jnp = None

RECIPES = {
    "shared": dict(dataset="ring", **train.SHARED_2D_RECIPE),
    "shared-64": dict(dataset="ring", **dict(train.SHARED_2D_RECIPE, g_hidden=(64, 64, 64),
                                             d_hidden=(64, 64, 64)), batch_size=64),
    "ring": dict(dataset="ring", **train.RING_RECIPE),
    "grid": dict(dataset="grid", **train.GRID_RECIPE),
}
POOL = 8          # batches drawn once and cycled through
CHECK_STEPS = 3
RTOL = 2e-3       # Adam's first steps move each weight by about lr * sign(gradient): float32 rounding in a
ATOL = 1e-5       # gradient near 0 can change a weight by lr, so the check is looser than a single op's

# (recipe, numerator, denominator, limit): met when time(numerator) / time(denominator) <= limit
TARGETS = [
    ("shared", "tinygan", "torch", 1 / 1.4),
    ("shared-64", "tinygan", "torch", 1 / 2.5),
    ("shared", "tinygan", "jax", 1 / 0.8),
]
GPU_BATCHES = [256, 65536]   # --device cuda: a toy batch, where launches cost most, and one that fills the GPU
TRAINER_LIMIT = 1.10   # Trainer.train within 10% of the bare recorded step
PRESET_LIMIT = 240.0   # seconds of `tinygan train ring` and `tinygan train grid`, each end to end, run alone
PRESET_TARGETS = {"ring": (8, 0.98), "grid": (25, 0.95)}   # (modes, high-quality fraction) of benchmarks/quality.py


# ---------------------------------------------------------------------------------------------------------------
# the problem: a recipe's config, its initial weights and a pool of batches
# ---------------------------------------------------------------------------------------------------------------

class Problem:
    """A recipe's config on ``device`` (with ``batch`` instead of its own batch size when given), its initial
    weights as NumPy arrays, and POOL batches drawn once on the CPU (the same numbers on either device)."""

    def __init__(self, recipe, seed, device="cpu", batch=None):
        self.name, self.device = recipe, device
        fields = dict(RECIPES[recipe], **({} if batch is None else {"batch_size": batch}))
        self.config = train.TrainConfig(**fields, seed=seed, eval_every=0, device=device)
        # the weights and batches come from a CPU trainer: initial weights are the same on either device
        reference = train.Trainer.from_config(dataclasses.replace(self.config, device="cpu"), compile=False)
        self.g_layers = linear_layers(reference.G)
        self.d_layers = linear_layers(reference.D)
        generator = tg.Generator(seed + 1)
        batch = self.config.batch_size
        self.batches = []
        for _ in range(POOL):
            real = train._draw(reference.data, batch, generator, reference.dtype)
            z_d = train._draw(reference.latent, batch, generator, reference.dtype)
            z_g = train._draw(reference.latent, batch, generator, reference.dtype)
            self.batches.append(tuple(t.numpy().copy() for t in (real, z_d, z_g)))
        self.every = self.config.penalty_every
        self.gamma = self.config.penalty_weight * self.every
        self.beta = self.config.ema

    def penalized(self, index):
        """Whether step ``index`` (0, 1, ...) adds R1, as the trainer decides it (every N-th D step, from 1)."""
        return (index + 1) % self.every == 0


def linear_layers(model):
    """[(W, b)] of an MLP as NumPy arrays, W of shape (out, in)."""
    state = model.state_dict()
    names = sorted({name.rsplit(".", 1)[0] for name in state}, key=lambda n: int(n.split(".")[-1]))
    return [(state[f"{n}.weight"].numpy().copy(), state[f"{n}.bias"].numpy().copy()) for n in names]


# ---------------------------------------------------------------------------------------------------------------
# implementations: .step() runs the next step; .rows[i] are step i's history numbers
# [loss_d, loss_g, penalty, mean D(x), mean D(G(z)), grad_norm_d, grad_norm_g] (as floats, for the check)
# ---------------------------------------------------------------------------------------------------------------

class TinyganStep:
    """The Trainer's own step function (Trainer._step, what train() calls), recorded or eager, on the problem's
    device."""

    def __init__(self, problem, name, compiled):
        self.name, self.problem, self.index = name, problem, 0
        self.trainer = train.Trainer.from_config(problem.config, compile=compiled)
        self.batches = [tuple(tg.tensor(array, device=problem.device) for array in batch)
                        for batch in problem.batches]
        # the EMA's decay as the trainer hands it over: a tensor to a recorded step (a replay reads its value),
        # a Python number to an eager one
        self.decay = tg.tensor(problem.beta, dtype=tg.float64) if compiled else problem.beta
        self.last = None

    def step(self):
        real, z_d, z_g = self.batches[self.index % POOL]
        penalized = (self.problem.penalized(self.index),)
        self.last = self.trainer._step_function([(real, None, z_d, None)], (real, None, z_g), self.decay, penalized)
        self.index += 1

    def row(self):
        return self.last.tolist()

    def sync(self):
        """Wait until the device has finished the steps queued so far (CuPy runs asynchronously)."""
        if self.problem.device == "cuda":
            tg.backend.CUDA.xp.cuda.get_current_stream().synchronize()


class TorchStep:
    def __init__(self, problem):
        self.name, self.problem, self.index = "torch", problem, 0
        torch.set_num_threads(1)
        self.device = torch.device(problem.device)
        self.G, self.D = torch_mlp(problem.g_layers, self.device), torch_mlp(problem.d_layers, self.device)
        self.G_ema = torch_mlp(problem.g_layers, self.device)
        for p in self.G_ema.parameters():
            p.requires_grad_(False)
        lr, betas = problem.config.lr_d, tuple(problem.config.betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=problem.config.lr_g, betas=betas)
        self.batches = [tuple(torch.from_numpy(array).to(self.device) for array in batch)
                        for batch in problem.batches]
        self.last = None

    def step(self):
        F = torch.nn.functional
        real, z_d, z_g = self.batches[self.index % POOL]
        with torch.no_grad():
            fake = self.G(z_d)
        real_out, fake_out = self.D(real), self.D(fake)
        loss_d = F.softplus(-real_out).mean() + F.softplus(fake_out).mean()
        penalty = torch.zeros((), device=self.device)
        if self.problem.penalized(self.index):
            x = real.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.D(x).sum(), x, create_graph=True)
            penalty = 0.5 * self.problem.gamma * grad.pow(2).sum(dim=1).mean()
        self.opt_D.zero_grad()
        (loss_d + penalty).backward()
        self.opt_D.step()
        grad_norm_d = torch.sqrt(sum(p.grad.pow(2).sum() for p in self.D.parameters()))
        self.D.requires_grad_(False)
        loss_g = F.softplus(-self.D(self.G(z_g))).mean()
        self.opt_G.zero_grad()
        loss_g.backward()
        self.D.requires_grad_(True)
        self.opt_G.step()
        grad_norm_g = torch.sqrt(sum(p.grad.pow(2).sum() for p in self.G.parameters()))
        beta = self.problem.beta
        with torch.no_grad():
            for mean, current in zip(self.G_ema.parameters(), self.G.parameters()):
                mean.mul_(beta).add_(current, alpha=1 - beta)
            self.last = torch.stack([loss_d.detach(), loss_g.detach(), penalty.detach(), torch.sigmoid(real_out).mean(),
                                     torch.sigmoid(fake_out).mean(), grad_norm_d, grad_norm_g])
        self.index += 1

    def row(self):
        return self.last.tolist()

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()


def torch_mlp(layers, device):
    modules = []
    for index, (weight, bias) in enumerate(layers):
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight))
            linear.bias.copy_(torch.from_numpy(bias))
        modules.append(linear)
        if index < len(layers) - 1:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules).to(device)


class JaxStep:
    """The whole step as one jit-compiled function of (state, batch): XLA sees forward, both backward passes,
    the optimizer and the average at once."""

    def __init__(self, problem):
        self.name, self.problem, self.index = "jax", problem, 0
        as_jax = lambda layers: [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers]  # noqa: E731
        g, d = as_jax(problem.g_layers), as_jax(problem.d_layers)
        zeros = lambda params: jax.tree_util.tree_map(jnp.zeros_like, params)  # noqa: E731
        self.state = dict(g=g, d=d, ema=as_jax(problem.g_layers), g_m=zeros(g), g_v=zeros(g), d_m=zeros(d),
                          d_v=zeros(d), t=jnp.zeros((), jnp.float32))
        self.batches = [tuple(jnp.asarray(array) for array in batch) for batch in problem.batches]
        config = problem.config
        self._step = jax.jit(_jax_step(config.lr_d, config.lr_g, tuple(config.betas), problem.gamma, problem.beta),
                             static_argnums=(4,), donate_argnums=(0,))
        self.last = None

    def step(self):
        real, z_d, z_g = self.batches[self.index % POOL]
        self.state, self.last = self._step(self.state, real, z_d, z_g, self.problem.penalized(self.index))
        self.last.block_until_ready()
        self.index += 1

    def row(self):
        return numpy.asarray(self.last).tolist()


def _jax_step(lr_d, lr_g, betas, gamma, beta):
    beta1, beta2 = betas

    def mlp(params, x):
        for weight, bias in params[:-1]:
            x = jax.nn.relu(x @ weight.T + bias)
        weight, bias = params[-1]
        return x @ weight.T + bias

    def critic(params, x):
        return mlp(params, x)[:, 0]

    def adam(params, grads, m, v, t, lr):
        m = jax.tree_util.tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, v, grads)
        step_size = lr / (1 - beta1 ** t)
        correction = jnp.sqrt(1 - beta2 ** t)
        params = jax.tree_util.tree_map(lambda p, m, v: p - step_size * m / (jnp.sqrt(v) / correction + 1e-8),
                                        params, m, v)
        return params, m, v

    def norm(grads):
        return jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree_util.tree_leaves(grads)))

    def step(state, real, z_d, z_g, penalized):
        fake = jax.lax.stop_gradient(mlp(state["g"], z_d))

        def d_loss(d):
            real_out, fake_out = critic(d, real), critic(d, fake)
            loss = jnp.mean(jax.nn.softplus(-real_out)) + jnp.mean(jax.nn.softplus(fake_out))
            penalty = jnp.zeros(())
            if penalized:
                grad = jax.grad(lambda x: jnp.sum(critic(d, x)))(real)
                penalty = 0.5 * gamma * jnp.mean(jnp.sum(grad * grad, axis=1))
            return loss + penalty, (loss, penalty, real_out, fake_out)

        t = state["t"] + 1
        (_, (loss_d, penalty, real_out, fake_out)), d_grads = jax.value_and_grad(d_loss, has_aux=True)(state["d"])
        d, d_m, d_v = adam(state["d"], d_grads, state["d_m"], state["d_v"], t, lr_d)

        def g_loss(g):
            return jnp.mean(jax.nn.softplus(-critic(d, mlp(g, z_g))))

        loss_g, g_grads = jax.value_and_grad(g_loss)(state["g"])
        g, g_m, g_v = adam(state["g"], g_grads, state["g_m"], state["g_v"], t, lr_g)
        ema = jax.tree_util.tree_map(lambda e, p: beta * e + (1 - beta) * p, state["ema"], g)
        row = jnp.stack([loss_d, loss_g, penalty, jnp.mean(jax.nn.sigmoid(real_out)),
                         jnp.mean(jax.nn.sigmoid(fake_out)), norm(d_grads), norm(g_grads)])
        return dict(g=g, d=d, ema=ema, g_m=g_m, g_v=g_v, d_m=d_m, d_v=d_v, t=t), row

    return step


def build(problem, names):
    """The implementations among ``names`` that this machine can run on the problem's device. On the GPU:
    tinygan (the trainer's step there, eager on CuPy) and torch on CUDA; tg-eager and jax are CPU rows."""
    if problem.device == "cuda":
        torch_cuda = torch is not None and torch.cuda.is_available()
        makers = {"tinygan": lambda: TinyganStep(problem, "tinygan", False),
                  "torch": (lambda: TorchStep(problem)) if torch_cuda else None}
    else:
        makers = {"tinygan": lambda: TinyganStep(problem, "tinygan", True),
                  "tg-eager": lambda: TinyganStep(problem, "tg-eager", False),
                  "torch": (lambda: TorchStep(problem)) if torch is not None else None,
                  "jax": (lambda: JaxStep(problem)) if jax is not None else None}
    return [makers[name]() for name in names if makers.get(name) is not None]


def check(impls):
    """Run CHECK_STEPS steps of each and compare the history numbers with the first implementation's."""
    rows = {impl.name: [] for impl in impls}
    for _ in range(CHECK_STEPS):
        for impl in impls:
            impl.step()
            rows[impl.name].append(impl.row())
    reference = impls[0].name
    problems = []
    for name, values in rows.items():
        if not numpy.allclose(values, rows[reference], rtol=RTOL, atol=ATOL):
            problems.append(f"{name}: {numpy.array(values).round(5).tolist()} against {reference}: "
                            f"{numpy.array(rows[reference]).round(5).tolist()}")
    return problems


def check_no_sync_cycle(impl):
    """ring8.check_no_sync on every step of one cycle of the lazy penalty (the steps with R1 and those without):
    its first line that is not a PASS, else its PASS line."""
    for _ in range(impl.problem.every):
        line = check_no_sync(impl)
        if not line.endswith("PASS"):
            break
    return line


# ---------------------------------------------------------------------------------------------------------------
# the trainer against its bare step
# ---------------------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def frozen_heap():
    """ring8.freeze_heap for the block (the objects of torch, jax and the models left out of garbage collections,
    which tinygan's steps would otherwise pay for; see there), and the heap given back after it, for a caller
    that runs main() inside its own process (the tests)."""
    freeze_heap()
    try:
        yield
    finally:
        gc.unfreeze()


def time_trainer(problem, steps, repeats):
    """(seconds per step of Trainer.train, of the bare recorded step, of the trainer's random draws alone, of its
    evaluations spread over the steps between two), interleaved, over ``repeats`` windows.

    Trainer.train here is the preset's loop as the command line runs it (log_every and eval_every of the
    config: the random draws, the history, the NaN checks and the metrics every 500 steps). The bare step runs
    on a pool of batches drawn once, from the state the trainer has reached at the start of its window (the same
    numbers to work on; --trained-state measures whether that matters). The draws are what the
    trainer draws for each step (Trainer._random_numbers: a data batch and latent batches from the step's own
    stream), timed on their own; an evaluation (Trainer.evaluate, every eval_every steps) is timed alone too, and
    divided by eval_every."""
    config = dataclasses.replace(problem.config, eval_every=500)
    trainer = train.Trainer.from_config(config)
    trainer.train(steps_past_recordings(problem))
    bare = TinyganStep(problem, "bare", True)
    train_times, bare_times, draw_times, evaluation_times = [], [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        trainer.train(trainer.step + steps)
        train_times.append((time.perf_counter() - start) / steps)
        warmed(bare, trainer.state_dict())     # the same numbers to work on; it records anew
        bare_times.append(time_window(bare, steps))
        start = time.perf_counter()
        for step in range(steps):
            bare.trainer._random_numbers(step + 1)
        draw_times.append((time.perf_counter() - start) / steps)
        start = time.perf_counter()
        trainer.evaluate()
        evaluation_times.append((time.perf_counter() - start) / config.eval_every)
    return tuple(statistics.median(times) for times in (train_times, bare_times, draw_times, evaluation_times))


def time_trained_state(problem, steps, repeats, window):
    """(seconds per step of the bare recorded step from the initial weights, the same from the state that
    Trainer.train reaches after ``steps`` steps, the count of subnormal numbers in that state's optimizer moments,
    the count of all of them), the two timed interleaved over ``repeats`` windows of ``window`` steps.

    The question it answers: do the numbers a long run reaches make the same program slower? A trained state has
    units that no input switches on; their Adam moments decay geometrically into the subnormal floats, on which
    some x86 arithmetic is slow. The initial side is built afresh from the initial weights before each of its
    windows and stepped past its recordings (warmed), so every window times the first ``window`` steps after
    that: one initial side run on through all the windows would itself train (7,000 steps with the defaults) and
    stop being the initial state. The trained side runs on from its state; its moments are counted at the end."""
    trainer = train.Trainer.from_config(dataclasses.replace(problem.config, eval_every=500))
    trainer.train(steps)
    trained = warmed(TinyganStep(problem, "trained", True), trainer.state_dict())
    fresh_times, trained_times = [], []
    for _ in range(repeats):
        fresh = warmed(TinyganStep(problem, "fresh", True))
        gc.collect()
        fresh_times.append(time_window(fresh, window))
        gc.collect()
        trained_times.append(time_window(trained, window))
    return (statistics.median(fresh_times), statistics.median(trained_times)) + subnormal_moments(trained.trainer)


def subnormal_moments(trainer):
    """(how many of the Adam moments of G and D are subnormal floats, how many there are): two per parameter
    number, exp_avg and exp_avg_sq."""
    moments = [state[name].numpy() for optimizer in (trainer.opt_G, trainer.opt_D)
               for state in optimizer.state.values() for name in ("exp_avg", "exp_avg_sq")]
    tiny = numpy.finfo(moments[0].dtype).tiny
    subnormal = sum(int(((values != 0) & (numpy.abs(values) < tiny)).sum()) for values in moments)
    return subnormal, sum(values.size for values in moments)


def warmed(impl, state=None):
    """``impl`` (a recorded TinyganStep) from ``state`` (a Trainer.state_dict; None: its initial weights), run
    past the recordings of both kinds of step (steps_past_recordings)."""
    if state is not None:
        impl.trainer.load_state_dict(state)
    for _ in range(steps_past_recordings(impl.problem)):
        impl.step()
    return impl


def steps_past_recordings(problem):
    """Steps after which a recorded step replays both its kinds, with and without a lazy penalty: 4 of the
    penalty's cycles, and 2 steps."""
    return 4 * problem.every + 2


def trainer_memory(problem, steps):
    """Trainer.train (compiled, metrics every 500 steps) for ``steps`` steps: resident memory at a tenth of the
    run and at its end, and whether it stayed within MEMORY_GROWTH_LIMIT of the first mark (after step 1,000).

    The learning-rate drop is moved to step 500, before the first mark: the trainer records its step anew after
    the drop, and the allocator keeps the pages that the new recording's checks used (a one-time rise of about
    30 MiB at the drop, not a leak). The history's rows grow with the run, as in the eager trainer."""
    from ring8 import MEMORY_GROWTH_LIMIT, mib, read_status
    config = dataclasses.replace(problem.config, eval_every=500, steps=steps, lr_drop_at=min(1.0, 500 / steps))
    trainer = train.Trainer.from_config(config)
    marks = sorted({min(1000, steps)} | {steps * k // 10 for k in range(1, 11) if steps * k // 10 >= 1000})
    print(f"\n[{problem.name}] Trainer.train for {steps} steps: resident memory")
    rss, start = {}, time.perf_counter()
    for mark in marks:
        trainer.train(mark)
        rss[mark] = read_status("VmRSS")
        print(f"  step {mark:>6}: RSS {mib(rss[mark]):>7} MiB   ({time.perf_counter() - start:.1f} s)")
    first, last = marks[0], marks[-1]
    if rss[first] is None:
        print("  /proc/self/status is not readable here; not measured")
        return
    growth = rss[last] / rss[first] - 1
    print(f"  from step {first} to step {last}: {growth:+.2%} (target: within {MEMORY_GROWTH_LIMIT:.0%})   "
          f"{'PASS' if abs(growth) <= MEMORY_GROWTH_LIMIT else 'MISS'}")


# ---------------------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------------------

def time_presets(names, quick, out=None):
    """`tinygan train NAME` end to end for each preset name (training, final evaluation, figures, files), against
    PRESET_LIMIT, with the run's modes and high-quality fraction against the quality targets (one seed: seed 0;
    benchmarks/quality.py measures ten). quick: 100 steps each (the times mean nothing). out: a folder to keep the
    runs in (out/NAME), or None."""
    print(f"the presets end to end, each alone (target: at most {PRESET_LIMIT:.0f} s a run, at quality)")
    for name in names:
        run = time_tinygan_train([name] + (["--steps", "100"] if quick else []),
                                 out=None if out is None else os.path.join(out, name))
        if "error" in run:
            print(f"  {name:<6} `{run['command']}` failed ({run['error']}) after {run['seconds']:.1f} s")
            continue
        modes, fraction = PRESET_TARGETS[name]
        at_quality = (run.get("modes_captured", 0) >= modes and run.get("high_quality_fraction", 0) >= fraction)
        print(f"  {name:<6} {run['seconds']:.1f} s end to end (training {run.get('training', float('nan')):.1f} s, "
              f"figures {run.get('figures', float('nan')):.1f} s): {run.get('modes_captured', float('nan')):.0f} "
              f"modes, {100 * run.get('high_quality_fraction', float('nan')):.1f}% high quality;  time "
              f"{'PASS' if run['seconds'] <= PRESET_LIMIT else 'MISS'}, quality {'PASS' if at_quality else 'MISS'}"
              f"   (`{run['command']}`)")


def print_context(device):
    where = "CPU, one thread per library" if device == "cpu" else "GPU (CuPy against torch CUDA)"
    print(f"tinygan recipe benchmark: the 2-D presets' training step, float32, {where}")
    print(f"  cpu      {os.cpu_count()} logical CPUs, {usable_cpus()} usable; load average {load_average()}")
    print(f"  numpy    {numpy.__version__}, BLAS {numpy_blas_name()}")
    print(f"  tinygan  {tg.__version__} from {os.path.dirname(tg.__file__)}")
    if device == "cuda":
        # both sides multiply float32 in float32 by default; TF32 (10-bit mantissas) would fail the check's rtol
        tf32 = "on" if os.environ.get("CUPY_TF32", "0") != "0" else "off"
        print(f"  gpu      {gpu_name()}, CuPy {tg.backend.CUDA.xp.__version__} (TF32 {tf32}: CUPY_TF32)")
        cuda = torch is not None and torch.cuda.is_available()
        precision = (f" (float32 matmul precision {torch.get_float32_matmul_precision()!r})" if cuda else "")
        print(f"  torch    {torch.__version__ + ' CUDA' + precision if cuda else 'without CUDA here; skipped'}")
    else:
        print(f"  torch    {torch.__version__ if torch is not None else 'not installed; skipped'}")
        print(f"  jax      {jax.__version__ if jax is not None else 'not installed; skipped (pip install jax)'}")
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--implementations", nargs="+", default=["tinygan", "tg-eager", "torch", "jax"])
    parser.add_argument("--trainer", action="store_true", help="also time Trainer.train against the bare step")
    parser.add_argument("--trainer-steps", type=int, default=1000, help="steps per window of --trainer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny windows")
    parser.add_argument("--memory-steps", type=int, default=0,
                        help="instead of timing: Trainer.train for this many steps of each recipe (20000 for the "
                             "target), is resident memory flat?")
    parser.add_argument("--presets", action="store_true",
                        help="instead of timing steps: `tinygan train ring` and `tinygan train grid` (those of "
                             "--recipes) end to end, one after the other, each alone in a process")
    parser.add_argument("--presets-out", metavar="FOLDER",
                        help="keep the run folders of --presets as FOLDER/ring and FOLDER/grid (default: discarded)")
    parser.add_argument("--trained-state", type=int, default=0, metavar="STEPS",
                        help="instead of timing implementations: the recorded step from the initial weights against "
                             "the same step from the state after STEPS steps of training, interleaved")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="cpu: tinygan recorded and eager, torch, jax; cuda: tinygan on CuPy against torch CUDA")
    parser.add_argument("--batches", nargs="+", type=int, metavar="N",
                        help="run each recipe at these batch sizes instead of its own (default on cuda: 256 65536)")
    add_timing_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.window_seconds, args.warmup_seconds, args.trainer_steps = 2, 0.05, 0.05, 20
    if args.batches is not None and (args.trainer or args.presets or args.memory_steps or args.trained_state):
        parser.error("--batches sizes the timed steps; --trainer, --presets, --memory-steps and --trained-state run "
                     "each recipe at its own batch size: leave out --batches")
    if args.device == "cuda":
        if args.trainer or args.presets or args.memory_steps or args.trained_state:
            parser.error("--trainer, --presets, --memory-steps and --trained-state measure the CPU trainer; leave "
                         "out --device cuda")
        if not tg.backend.cuda_available():
            parser.error("--device cuda: CuPy with a visible GPU is needed (pip install '.[cuda12]' or '.[cuda13]')")
        if args.batches is None:
            args.batches = GPU_BATCHES
    tg.backend.limit_blas_threads(1).__enter__()
    print_context(args.device)
    if args.memory_steps:
        for recipe in args.recipes:
            trainer_memory(Problem(recipe, args.seed), args.memory_steps)
        return 0
    if args.trained_state:
        print(f"the recorded step from the initial weights and after {args.trained_state} steps of Trainer.train, "
              f"interleaved")
        for recipe in args.recipes:
            problem = Problem(recipe, args.seed)
            with frozen_heap():
                fresh, trained, subnormal, total = time_trained_state(problem, args.trained_state, args.repeats,
                                                                      args.trainer_steps)
            print(f"  {recipe:<10} initial {fresh * 1e3:.2f} ms, trained {trained * 1e3:.2f} ms per step: "
                  f"trained / initial {trained / fresh:.3f};  {subnormal} of the {total} Adam moments subnormal")
        return 0
    if args.presets:
        out = None if args.presets_out is None else os.path.abspath(args.presets_out)
        if out is not None and os.path.isdir(out) and os.listdir(out):
            parser.error(f"--presets-out {args.presets_out}: the folder is not empty; a finished run there would "
                         f"not train again (and would time nothing): give a new or empty folder")
        time_presets([recipe for recipe in args.recipes if recipe in PRESET_TARGETS], args.quick, out)
        return 0
    results = {}
    for recipe in args.recipes:
        for batch in args.batches or [None]:
            label = recipe if batch is None else f"{recipe}/{batch}"
            problem = Problem(recipe, args.seed, args.device, batch)
            impls = build(problem, args.implementations)
            # on the GPU the check starts from the CPU's step: the device's numbers against the CPU's. Eager, the
            # program the device runs (the recorded one gives the same numbers to the bit): at batch 65,536 its 3
            # steps take a third of the time and a fifth of the memory of a recording's (one BLAS thread)
            checked = ([TinyganStep(Problem(recipe, args.seed, "cpu", batch), "tinygan-cpu", False)]
                       if args.device == "cuda" else []) + impls
            problems = check(checked)
            if problems:
                print(f"ABORT: the implementations disagree on recipe {label} (rtol {RTOL}):")
                for problem_text in problems:
                    print(f"  - {problem_text}")
                return 1
            print(f"[{label}] check passed: {', '.join(impl.name for impl in checked)} agree on the history numbers "
                  f"of {CHECK_STEPS} steps")
            if args.device == "cuda":
                tinygan_rows = [impl for impl in impls if impl.name == "tinygan"]
                if tinygan_rows:
                    print(f"[{label}] {check_no_sync_cycle(tinygan_rows[0])}")
                impls = [SyncedWindows(impl) for impl in impls]    # a window ends when the GPU has done its steps
            with frozen_heap():
                slowest = warm_up(impls, args.warmup_seconds)
                steps = args.steps or max(problem.every, round(args.window_seconds / slowest))
                steps = -(-steps // problem.every) * problem.every     # whole cycles of a lazy penalty
                for impl in impls:
                    if args.device == "cuda":
                        impl.every, impl.count = steps, 0
                times = measure(impls, args.repeats, steps)
            results[label] = {name: statistics.median(values) for name, values in times.items()}
            line = ", ".join(f"{name} {seconds * 1e3:.2f} ms" for name, seconds in results[label].items())
            print(f"[{label}] {args.repeats} windows x {steps} steps: {line}")
    print("\nmedian ms per step, and each against torch (>1: faster than PyTorch eager)")
    names = [name for name in args.implementations if any(name in r for r in results.values())]
    print(f"  {'recipe':<14}" + "".join(f"{name:>12}" for name in names) + "".join(
        f"{'torch/' + name:>16}" for name in names if name != "torch"))
    for recipe, times in results.items():
        cells = "".join(f"{times[name] * 1e3:>12.2f}" if name in times else f"{'-':>12}" for name in names)
        ratios = "".join(f"{times['torch'] / times[name]:>16.2f}" if name in times and "torch" in times
                         else f"{'-':>16}" for name in names if name != "torch")
        print(f"  {recipe:<14}{cells}{ratios}")
    if args.device == "cuda":
        print("\nno GPU targets: the ratios are reported as measured (benchmarks/README.md)")
        return 0
    print("\ntargets (ratios from this run; printed, not asserted)")
    if args.batches is not None:
        print("  none checked: they are for the recipes' own batch sizes, and --batches changed them")
    for recipe, numerator, denominator, limit in TARGETS:
        times = results.get(recipe, {})
        if numerator in times and denominator in times:
            ratio = times[numerator] / times[denominator]
            print(f"  {recipe:<10} {numerator} / {denominator} = {ratio:.2f} (target <= {limit:.2f}): "
                  f"{'PASS' if ratio <= limit else 'MISS'}")
    if args.trainer:
        print("\nTrainer.train against its bare recorded step (history, checks, metrics every 500 steps); the "
              "trainer's random\ndraws and its evaluations (each timed alone, per step) are what the rest is "
              "made of, with the trainer's Python")
        for recipe in args.recipes:
            problem = Problem(recipe, args.seed)
            with frozen_heap():
                trained, bare, draws, evaluation = time_trainer(problem, args.trainer_steps, max(3, args.repeats // 2))
            ratio = trained / bare
            print(f"  {recipe:<10} train {trained * 1e3:.2f} ms, bare {bare * 1e3:.2f} ms per step: {ratio:.2f} "
                  f"(target <= {TRAINER_LIMIT:.2f}): {'PASS' if ratio <= TRAINER_LIMIT else 'MISS'};  draws "
                  f"{draws * 1e3:.2f} ms, evaluation {evaluation * 1e3:.2f} ms per step; train / (bare + draws) "
                  f"{trained / (bare + draws):.2f}, train / (bare + draws + evaluation) "
                  f"{trained / (bare + draws + evaluation):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
