"""Engine benchmark: forward + backward of a small ReLU MLP in tinygan, hand-written NumPy and PyTorch (CPU).

    python benchmarks/engine.py                      # small and medium, 7 timed windows each
    python benchmarks/engine.py --quick              # smoke run: a few steps, a few seconds
    python benchmarks/engine.py --sizes medium --repeats 11
    python benchmarks/engine.py --profile --sizes small   # where tinygan's time goes (cProfile, top 15)

One "step" is the forward pass of the MLP, loss = mean(output), and the backward pass computing the gradients of
every weight and bias (not of the input). Every hidden layer is h = relu(h @ W + b) with W of shape (in, out);
the last layer is linear with one output. tinygan and PyTorch compute each layer the way their Linear modules
do (tg.linear / torch.nn.functional.linear: one fused node a layer); the row "tg-matmul" is tinygan with the
layer spelled out as h @ W + b (three graph nodes), to show the general engine's overhead too.

The three implementations start from the same weights (drawn once with NumPy, float32) and are first checked to
give the same loss and gradients. Then they are timed in one process, interleaved window by window (tinygan,
numpy, torch, tinygan, numpy, torch, ...), after a warm-up; each window runs N steps, and the reported figure is
the median per-step time over the windows. The speed targets are printed as PASS or MISS, never asserted: see
benchmarks/README.md.
"""

import argparse
import gc
import os
import platform
import statistics
import sys
import time

import numpy

# Benchmark the tinygan of this checkout (the script's parent folder), whether or not a tinygan is installed.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygan as tg  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

SIZES = {
    "small": {"batch": 64, "widths": (2, 64, 64, 64, 1)},
    "medium": {"batch": 256, "widths": (2, 256, 256, 256, 1)},
}

# (size, numerator, denominator, limit, strict): the target is met when the time ratio numerator/denominator is
# <= limit, or < limit when strict ("faster than PyTorch" means strictly below 1).
TARGETS = [
    ("medium", "tinygan", "numpy", 1.3, False),
    ("small", "tinygan", "numpy", 2.0, False),
    ("small", "tinygan", "torch", 1.0, True),
]

RTOL = 1e-4
ATOL = 1e-5


# ---------------------------------------------------------------------------------------------------------------
# the problem: one input batch and one set of weights, shared by all implementations
# ---------------------------------------------------------------------------------------------------------------


def make_problem(batch, widths, seed):
    """The input (batch, widths[0]) and a list of (W, b) float32 NumPy arrays, He-initialised.

    The biases are small random values rather than zeros so that every gradient is non-trivial.
    """
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((batch, widths[0])).astype(numpy.float32)
    params = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        weight = rng.standard_normal((fan_in, fan_out)) * numpy.sqrt(2.0 / fan_in)
        bias = rng.standard_normal(fan_out) * 0.1
        params.append((weight.astype(numpy.float32), bias.astype(numpy.float32)))
    return x, params


# ---------------------------------------------------------------------------------------------------------------
# the three implementations: step() runs forward + backward; then loss_value() is the loss as a float and
# gradients() the gradients as NumPy arrays, in the order W0, b0, W1, b1, ...
# ---------------------------------------------------------------------------------------------------------------


def autograd_step(x, layers, layer, relu):
    """Forward and backward of the MLP with an autograd library (tinygan or torch); returns the loss.

    layer(h, weight, bias) computes one layer; every layer but the last is followed by relu.
    """
    for weight, bias in layers:
        weight.grad = None
        bias.grad = None
    h = x
    for index, (weight, bias) in enumerate(layers):
        h = layer(h, weight, bias)
        if index < len(layers) - 1:
            h = relu(h)
    loss = h.mean()
    loss.backward()
    return loss


class TinyganMatmulMLP:
    """The MLP with tinygan tensors written as h @ W + b (three graph nodes a layer); backward by autograd."""

    name = "tg-matmul"

    def __init__(self, x, params):
        self.x = tg.tensor(x)
        self.layers = [(tg.tensor(w, requires_grad=True), tg.tensor(b, requires_grad=True)) for w, b in params]
        self.loss = None

    def step(self):
        """One forward + backward; the gradients end up in each parameter's .grad."""
        self.loss = autograd_step(self.x, self.layers, lambda h, weight, bias: h @ weight + bias, tg.relu)

    def loss_value(self):
        return self.loss.item()

    def gradients(self):
        return [p.grad.numpy().copy() for layer in self.layers for p in layer]


class TinyganMLP(TinyganMatmulMLP):
    """The MLP as tinygan's Linear layers compute it: tg.linear(h, W^T, b), one fused graph node a layer.

    The weights are stored as (out, in), PyTorch's layout; gradients() turns them back to (in, out).
    """

    name = "tinygan"

    def __init__(self, x, params):
        super().__init__(x, [(w.T.copy(), b) for w, b in params])

    def step(self):
        self.loss = autograd_step(self.x, self.layers, tg.linear, tg.relu)

    def gradients(self):
        return [grad.T.copy() if index % 2 == 0 else grad
                for index, grad in enumerate(super().gradients())]


class NumpyMLP:
    """The MLP in plain NumPy, the backward derived by hand."""

    name = "numpy"

    def __init__(self, x, params):
        self.x = x.copy()
        self.layers = [(w.copy(), b.copy()) for w, b in params]
        self.loss = None
        self.grads = None

    def step(self):
        """Forward keeping each layer's input, then backward from dL/d(output) = 1 / batch."""
        activations = [self.x]  # activations[i] is the input of layer i
        h = self.x
        last = len(self.layers) - 1
        for index, (weight, bias) in enumerate(self.layers):
            h = h @ weight + bias
            if index < last:
                h = numpy.maximum(h, 0)
                activations.append(h)
        self.loss = h.mean()

        g = numpy.full(h.shape, 1.0 / h.size, dtype=numpy.float32)
        grads = []
        for index in range(last, -1, -1):
            weight, _ = self.layers[index]
            h_in = activations[index]
            grads.append((h_in.T @ g, g.sum(axis=0)))
            if index > 0:  # no gradient for the input x
                g = (g @ weight.T) * (h_in > 0)
        self.grads = grads[::-1]

    def loss_value(self):
        return float(self.loss)

    def gradients(self):
        return [array for pair in self.grads for array in pair]


class TorchMLP:
    """The MLP in PyTorch on the CPU, float32, as torch.nn.Linear computes it (F.linear, one fused addmm a layer);
    backward by torch autograd. Weights are stored as (out, in); gradients() turns them back to (in, out)."""

    name = "torch"

    def __init__(self, x, params):
        self.x = torch.from_numpy(x.copy())
        self.layers = [(torch.from_numpy(w.T.copy()).requires_grad_(), torch.from_numpy(b.copy()).requires_grad_())
                       for w, b in params]
        self.loss = None

    def step(self):
        """One forward + backward; the gradients end up in each parameter's .grad."""
        self.loss = autograd_step(self.x, self.layers, torch.nn.functional.linear, torch.relu)

    def loss_value(self):
        return self.loss.item()

    def gradients(self):
        return [p.grad.numpy().T.copy() if p.ndim == 2 else p.grad.numpy().copy()
                for layer in self.layers for p in layer]


def build_implementations(x, params):
    """One instance of each available implementation, each with its own copy of the weights."""
    classes = [TinyganMLP, TinyganMatmulMLP, NumpyMLP] + ([TorchMLP] if torch is not None else [])
    return [cls(x, params) for cls in classes]


# ---------------------------------------------------------------------------------------------------------------
# correctness check
# ---------------------------------------------------------------------------------------------------------------


def parameter_names(n_layers):
    return [f"{kind}{i}" for i in range(n_layers) for kind in ("W", "b")]


def check_agreement(impls, n_layers):
    """Run one step of each implementation and compare loss and gradients with the NumPy reference.

    Returns a list of problems (empty when they agree) and the worst absolute gradient difference seen.
    """
    for impl in impls:
        impl.step()
    reference = next(impl for impl in impls if impl.name == "numpy")
    ref_loss, ref_grads = reference.loss_value(), reference.gradients()
    problems, worst = [], 0.0
    for impl in impls:
        if impl is reference:
            continue
        loss = impl.loss_value()
        if not numpy.isclose(loss, ref_loss, rtol=RTOL, atol=ATOL):
            problems.append(f"{impl.name}: loss {loss!r} != numpy loss {ref_loss!r}")
        for name, grad, ref in zip(parameter_names(n_layers), impl.gradients(), ref_grads):
            if grad.shape != ref.shape or grad.dtype != numpy.float32:
                problems.append(f"{impl.name}: grad {name} is {grad.dtype}{grad.shape}, expected float32{ref.shape}")
                continue
            diff = float(numpy.max(numpy.abs(grad - ref)))
            worst = max(worst, diff)
            if not numpy.allclose(grad, ref, rtol=RTOL, atol=ATOL):
                problems.append(f"{impl.name}: grad {name} differs from numpy's by up to {diff:.3g}")
    return problems, worst


# ---------------------------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------------------------


def time_window(impl, steps):
    """Seconds per step over one window of ``steps`` consecutive steps."""
    step = impl.step
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def warm_up(impls, seconds):
    """Run every implementation for about ``seconds`` (at least 3 steps each).

    Returns the seconds per step of the slowest implementation, taken from its fastest warm-up step so that a
    burst of load from another process during the warm-up does not shrink the timed windows to a few steps.
    """
    slowest = 0.0
    for impl in impls:
        fastest, start = float("inf"), time.perf_counter()
        steps = 0
        while steps < 3 or time.perf_counter() - start < seconds:
            step_start = time.perf_counter()
            impl.step()
            fastest = min(fastest, time.perf_counter() - step_start)
            steps += 1
        slowest = max(slowest, fastest)
    return slowest


def measure(impls, windows, steps):
    """Interleave the implementations window by window; return {name: [seconds per step, one per window]}."""
    times = {impl.name: [] for impl in impls}
    for _ in range(windows):
        for impl in impls:
            gc.collect()
            times[impl.name].append(time_window(impl, steps))
    return times


def benchmark_size(size_name, args):
    """Check and time one size. Returns {name: [seconds per step per window]}; exits if the check fails."""
    spec = SIZES[size_name]
    x, params = make_problem(spec["batch"], spec["widths"], args.seed)
    impls = build_implementations(x, params)
    problems, worst = check_agreement(impls, len(params))
    if problems:
        print(f"\nABORT: the implementations disagree at size {size_name} (rtol {RTOL}, atol {ATOL}):")
        for problem in problems:
            print(f"  - {problem}")
        sys.exit(1)
    names = ", ".join(impl.name for impl in impls)
    print(f"[{size_name}] check passed: {names} agree on loss and all {2 * len(params)} gradients "
          f"(largest gradient difference {worst:.2g})")

    slowest = warm_up(impls, args.warmup_seconds)
    steps = args.steps or max(1, round(args.window_seconds / slowest))
    print(f"[{size_name}] timing {args.repeats} windows x {steps} steps per implementation ...")
    return measure(impls, args.repeats, steps)


# ---------------------------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------------------------


def blas_threads():
    """How many threads NumPy's BLAS uses, and how that was found (threadpoolctl if installed, else env vars)."""
    try:
        import threadpoolctl
        pools = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return pools[0]["num_threads"], "threadpoolctl"
    except ImportError:
        pass
    for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(variable, "")
        if value.isdigit() and int(value) > 0:
            return int(value), variable
    return usable_cpus(), "default: one per usable CPU"


def usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average():
    """The 1-minute load average (how busy the machine was when the run started), or '?'."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "?"


def numpy_blas_name():
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older numpy, or a build that does not say
        return "unknown"


def print_context(threads, threads_source):
    """Python, NumPy, PyTorch versions and the CPU, at the top of the output."""
    print("tinygan engine benchmark: MLP forward + backward, float32, CPU")
    print(f"  python   {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}")
    print(f"  cpu      {os.cpu_count()} logical CPUs, {usable_cpus()} usable by this process; "
          f"{platform.processor() or platform.machine()}; load average {load_average()}")
    print(f"  numpy    {numpy.__version__}, BLAS {numpy_blas_name()}, {threads} threads ({threads_source})")
    print(f"  tinygan  {getattr(tg, '__version__', '?')} from {os.path.dirname(tg.__file__)}")
    if torch is None:
        print("  torch    PyTorch not installed; skipped")
    else:
        print(f"  torch    {torch.__version__}, {torch.get_num_threads()} threads (set to match numpy's BLAS)")
    print()


def describe_size(size_name):
    spec = SIZES[size_name]
    return f"{size_name} (batch {spec['batch']}, widths {'-'.join(str(w) for w in spec['widths'])})"


def print_times(results):
    """One row per size and implementation: median us/step, steps/s, fastest and slowest window."""
    print()
    print(f"{'size':<8} {'impl':<9} {'median us/step':>15} {'steps/s':>9} {'min us':>9} {'max us':>9}"
          f"   {'vs numpy':>8} {'vs torch':>8}")
    for size_name, times in results.items():
        medians = {name: statistics.median(values) for name, values in times.items()}
        for name, values in times.items():
            median = medians[name]
            vs_numpy = f"{median / medians['numpy']:.2f}x"
            vs_torch = f"{median / medians['torch']:.2f}x" if "torch" in medians else "-"
            print(f"{size_name:<8} {name:<9} {median * 1e6:>15.1f} {1 / median:>9.0f} {min(values) * 1e6:>9.1f} "
                  f"{max(values) * 1e6:>9.1f}   {vs_numpy:>8} {vs_torch:>8}")
    print("(ratios are time ratios of the medians: lower is faster; 'vs numpy' of tinygan is tinygan/numpy)")


def print_targets(results):
    """The project's speed targets, each marked PASS, MISS or SKIP on the ratio of the medians.

    The ratio of the fastest windows is shown beside it: on a busy machine it is the steadier of the two.
    """
    print()
    print("targets")
    for size_name, numerator, denominator, limit, strict in TARGETS:
        goal = f"{'<' if strict else '<='} {limit}"
        label = f"  {size_name:<7} {numerator}/{denominator} time ratio {goal:<7}"
        if size_name not in results:
            print(f"{label}  SKIP (size not run)")
            continue
        times = results[size_name]
        if denominator not in times:
            print(f"{label}  SKIP (PyTorch not installed)")
            continue
        ratio = statistics.median(times[numerator]) / statistics.median(times[denominator])
        best_ratio = min(times[numerator]) / min(times[denominator])
        met = ratio < limit if strict else ratio <= limit
        print(f"{label}  measured {ratio:5.2f}  {'PASS' if met else 'MISS'}   (fastest windows: {best_ratio:.2f})")


# ---------------------------------------------------------------------------------------------------------------
# profiling (--profile)
# ---------------------------------------------------------------------------------------------------------------


def profile_tinygan(size_name, steps, top=15):
    """Run tinygan's step ``steps`` times under cProfile and print the top functions by own (total) time."""
    import cProfile
    import pstats

    spec = SIZES[size_name]
    model = TinyganMLP(*make_problem(spec["batch"], spec["widths"], seed=0))
    for _ in range(20):
        model.step()
    profiler = cProfile.Profile()
    profiler.runcall(time_window, model, steps)
    print(f"cProfile of {steps} tinygan steps at {describe_size(size_name)}, top {top} by tottime:")
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


# ---------------------------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------------------------


def time_tinygan_train(arguments, out=None):
    """Run ``python -m tinygan train ARGUMENTS --quiet --out OUT`` in a process of its own (this checkout's tinygan
    first on the path; OUT a temporary folder, removed after, when None) and read what it reports. Returns a dict:
    "command" (as shown), "seconds" (wall clock, imports included), and, from the command's own summary,
    "training" and "figures" (seconds) and its final metrics ("modes_captured", "high_quality_fraction" where the
    data has modes); or "error" (the last line of its stderr) when it failed."""
    import re
    import subprocess
    import tempfile
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as temporary:
        command = [sys.executable, "-m", "tinygan", "train", *arguments, "--quiet", "--out", out or temporary]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    result = {"command": "python " + " ".join(command[1:-1] + [out or "<tmpdir>"]), "seconds": elapsed}
    if done.returncode != 0:
        result["error"] = f"exit {done.returncode}: " + (done.stderr.strip().splitlines() or ["no output"])[-1]
        return result
    for name, pattern in (("training", r"to step \d+ in ([0-9.]+) s"), ("figures", r"figures, drawn in ([0-9.]+) s"),
                          ("modes_captured", r"modes_captured ([0-9.]+)"),
                          ("high_quality_fraction", r"high_quality_fraction ([0-9.]+)")):
        found = re.search(pattern, done.stdout)
        if found:
            result[name] = float(found.group(1))
    return result


def add_timing_arguments(parser):
    """The options of the interleaved timing (``warm_up``, ``measure``), shared with ring8.py."""
    parser.add_argument("--repeats", type=int, default=7, help="timed windows per implementation")
    parser.add_argument("--steps", type=int, default=0,
                        help="steps per window (0: enough for about --window-seconds of the slowest)")
    parser.add_argument("--window-seconds", type=float, default=0.25,
                        help="target length of one window of the slowest implementation")
    parser.add_argument("--warmup-seconds", type=float, default=0.5,
                        help="warm-up per implementation before timing")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sizes", default="small,medium",
                        help=f"comma-separated sizes to run, from {', '.join(SIZES)}")
    add_timing_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and input")
    parser.add_argument("--profile", action="store_true",
                        help="instead of timing, profile tinygan alone (cProfile) at the first of --sizes")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 windows of 3 steps, short warm-up (figures are not meaningful)")
    args = parser.parse_args(argv)
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown or not args.sizes:
        parser.error(f"--sizes: give one or more of {', '.join(SIZES)} (got {', '.join(unknown) or 'none'})")
    if args.quick:
        args.repeats, args.steps, args.warmup_seconds = 2, 3, 0.0
    if args.repeats < 1 or args.steps < 0:
        parser.error("--repeats must be at least 1 and --steps not negative")
    return args


def main(argv=None):
    args = parse_args(argv)
    threads, threads_source = blas_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print_context(threads, threads_source)
    if args.profile:
        profile_tinygan(args.sizes[0], args.steps or 2000)
        return
    results = {}
    for size_name in args.sizes:
        print(f"{describe_size(size_name)}")
        results[size_name] = benchmark_size(size_name, args)
    print_times(results)
    print_targets(results)
    if args.quick:
        print("\n(--quick: too few steps for the figures to mean anything; run without --quick to measure)")


if __name__ == "__main__":
    main()
