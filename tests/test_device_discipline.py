"""The GPU promise, made concrete on the simulated device (tests/simulated_cupy.py; see conftest.py).

docs/DESIGN.md promises one code path on NumPy and CuPy, with host transfers explicit and the only
synchronisation points of a training loop. These tests hold tinygan to it on the simulated CuPy, which refuses
implicit conversion to NumPy and records every transfer between host and device and every synchronisation:

  - a full training step (every loss, penalty, optimizer and dataset) makes no transfer and no synchronisation;
  - a Trainer run synchronises only at its logging points;
  - checkpoints saved from the device load on the CPU and back, value for value;
  - the same seed gives the same initial weights on either device;
  - every op's forward (and backward) runs on the device and its result stays there.

They run in every test run (the ``simulated_cuda`` fixture installs the simulation for the test when
``--simulated-cuda`` is not given). The simulation checks device discipline, not CUDA's numerics or speed.
"""

import gc
import os
import sys

import numpy as np
import pytest

import tinygan as tg
from tinygan import autograd, train
from tinygan.train import Trainer

pytestmark = pytest.mark.cuda


def small_config(**changes):
    """A ring run with tiny networks (tests/test_train.py's), on the simulated device."""
    base = dict(g_hidden=(16, 16), d_hidden=(16, 16), batch_size=32, steps=20, eval_every=0, eval_samples=200,
                log_every=5, latent="normal", penalty_every=1, device="cuda")
    base.update(changes)
    return train.preset(base.pop("dataset", "ring"), **base)


def outside(events, inner_logs):
    """The events of ``events`` that none of ``inner_logs`` recorded (events are shared objects between logs)."""
    inner = {id(event) for log in inner_logs for event in log.events}
    return [event for event in events if id(event) not in inner]


def describe(events):
    return "\n".join(f"{event.kind}: {event.what} at {event.where}" for event in events) or "none"


# ---------------------------------------------------------------------------------------------------------------
# training makes no transfer between logging points
# ---------------------------------------------------------------------------------------------------------------

STEP_CONFIGS = {
    "nonsaturating": {},
    "minimax k=2": {"loss": "minimax", "k": 2},
    "hinge r1": {"loss": "hinge", "penalty": "r1"},
    "wasserstein gp k=3": {"loss": "wasserstein", "penalty": "gp", "k": 3},
    "wasserstein clipped": {"loss": "wasserstein", "clip_value": 0.01},
    "lsgan r2": {"loss": "lsgan", "penalty": "r2"},
    "rsgan": {"loss": "rsgan"},
    "ragan lazy r1": {"loss": "ragan", "penalty": "r1", "penalty_every": 2},
    "ema and lr drop": {"ema": 0.99, "lr_drop_at": 0.05},
    "sgd": {"optimizer": "sgd"},
    "rmsprop": {"optimizer": "rmsprop"},
    "uniform latent": {"latent": "uniform"},
    "float64": {"dtype": "float64"},
    "grid": {"dataset": "grid"},
    "gmm2d": {"dataset": "gmm2d"},
    "checkerboard": {"dataset": "checkerboard"},
    "moons": {"dataset": "moons"},
    "swiss roll": {"dataset": "swiss_roll"},
    "gaussian": {"dataset": "gaussian"},
    "mixture1d": {"dataset": "mixture1d"},
    "uniform": {"dataset": "uniform"},
    "gmmn": {"loss": "gmmn", "penalty": None},
    "energy": {"loss": "energy", "penalty": None},
    "mmd-gan": {"loss": "mmd-gan", "penalty": "gp", "penalty_weight": 1.0},
    "fgan-kl": {"loss": "fgan-kl"},
    "conditional": {"conditional": True, "penalty": "r1"},
    "conditional gmmn": {"conditional": True, "loss": "gmmn", "penalty": None},
}


@pytest.mark.parametrize("changes", STEP_CONFIGS.values(), ids=STEP_CONFIGS.keys())
def test_a_training_step_makes_no_transfer_and_no_synchronisation(simulated_cuda, changes):
    """Every step of Algorithm 1 (k discriminator updates with their penalty, the generator update, the weight
    average, the step's numbers as a pending row) stays on the device. Only the first step may copy the
    dataset's constants (mode centres, weights) to the device, once; it brings nothing back."""
    trainer = Trainer.from_config(small_config(**changes))
    with simulated_cuda.watch() as first, simulated_cuda.cupyx.allow_synchronize(False):
        trainer._train_step()
    assert first.counts().keys() <= {simulated_cuda.TO_DEVICE}, first.describe()
    for _ in range(3):
        with simulated_cuda.watch() as log, simulated_cuda.cupyx.allow_synchronize(False):
            trainer._train_step()
        assert log.events == [], f"step {trainer.step}:\n{log.describe()}"
    assert all(isinstance(p.array, simulated_cuda.ndarray) for p in trainer.G.parameters())


@pytest.mark.parametrize("eval_every, checkpoint", [(0, False), (8, True)], ids=["plain", "metrics and checkpoint"])
def test_a_trainer_run_synchronises_only_at_its_logging_points(simulated_cuda, tmp_path, eval_every, checkpoint):
    """Between logging points (every log_every steps) the run makes no transfer at all. At a logging point it
    brings the pending rows and the parameters' finiteness to the host (and runs the metrics when due); a
    checkpoint, written at a logging point and at the end of the run, copies the state to the host."""
    path = str(tmp_path / "run.safetensors") if checkpoint else None
    trainer = Trainer.from_config(small_config(log_every=4, eval_every=eval_every), checkpoint_path=path,
                                  checkpoint_every=8 if checkpoint else None)
    trainer.train(1)   # the first step copies the dataset's constants to the device (see the test above)
    logging_points = []

    def logged(name, method):
        def run(*args):
            with simulated_cuda.watch() as inside:
                method(*args)
            logging_points.append((name, trainer.step, inside))
        return run

    trainer._flush = logged("flush", trainer._flush)
    trainer.save_checkpoint = logged("checkpoint", trainer.save_checkpoint)
    with simulated_cuda.watch() as run:
        trainer.train(16)
    between = outside(run.events, [log for _, _, log in logging_points])
    assert between == [], f"transfers between logging points:\n{describe(between)}"
    flushes = [(step, log) for name, step, log in logging_points if name == "flush" and log.events]
    assert [step for step, _ in flushes] == [4, 8, 12, 16]   # (a flush with nothing pending does nothing)
    for step, log in flushes:
        to_host = [event.what for event in log.events if event.kind == simulated_cuda.TO_HOST]
        assert to_host[:2] == [".get()", ".item()"], log.describe()   # the rows, and the finiteness flag
        if not trainer._evaluates(step):
            assert log.events[2:] == [], log.describe()
    saves = {step for name, step, _ in logging_points if name == "checkpoint"}
    assert saves == ({8, 16} if checkpoint else set())   # inside the flushes of steps 8 and 16, and at the end
    assert len(trainer.history) == 16


# ---------------------------------------------------------------------------------------------------------------
# checkpoints and seeds across devices
# ---------------------------------------------------------------------------------------------------------------

def tensors_of(state, prefix=""):
    """{dotted key: tensor} of every tensor in a (nested) state dict."""
    found = {}
    items = state.items() if isinstance(state, dict) else enumerate(state) if isinstance(state, (list, tuple)) else ()
    for key, value in items:
        if isinstance(value, tg.Tensor):
            found[f"{prefix}{key}"] = value
        else:
            found.update(tensors_of(value, f"{prefix}{key}."))
    return found


def assert_same_state(a, b):
    a, b = tensors_of(a.state_dict()), tensors_of(b.state_dict())
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy(), err_msg=key)


def training_state_devices(trainer):
    """The devices of everything the trainer trains with: parameters, optimizer state, the weight average."""
    modules = [trainer.G, trainer.D] + ([trainer.G_ema] if trainer.G_ema is not None else [])
    devices = {str(p.device) for module in modules for p in module.parameters()}
    for opt in (trainer.opt_G, trainer.opt_D):
        devices |= {str(t.device) for t in tensors_of(opt.state_dict()["state"]).values()}
    return devices


@pytest.mark.parametrize("changes", [{}, {"ema": 0.99, "optimizer": "rmsprop"}, {"optimizer": "sgd"}],
                         ids=["adam", "ema rmsprop", "sgd"])
def test_a_checkpoint_saved_on_the_device_loads_on_the_cpu_and_back(simulated_cuda, tmp_path, changes):
    path = str(tmp_path / "run.safetensors")
    on_device = Trainer.from_config(small_config(**changes), checkpoint_path=path)
    on_device.train(10)
    on_cpu = Trainer.from_checkpoint(path, device="cpu")
    assert training_state_devices(on_device) == {"cuda"} and training_state_devices(on_cpu) == {"cpu"}
    assert_same_state(on_device, on_cpu)
    on_cpu.train(12)
    on_cpu.save_checkpoint(path)
    back = Trainer.from_checkpoint(path, device="cuda")
    assert training_state_devices(back) == {"cuda"}
    assert_same_state(on_cpu, back)
    back.train(14)   # and training goes on from there on the device
    assert back.history.columns["step"][-1] == 14


def test_a_state_dict_saved_from_the_device_loads_anywhere(simulated_cuda, tmp_path):
    path = str(tmp_path / "model.safetensors")
    model = tg.nn.MLP(2, [8], 1, generator=tg.Generator(0)).to("cuda")
    tg.save(model.state_dict(), path)
    loaded = tg.load(path)
    assert {str(t.device) for t in loaded.values()} == {"cpu"}
    on_cpu = tg.nn.MLP(2, [8], 1)
    on_cpu.load_state_dict(loaded)
    back = tg.nn.MLP(2, [8], 1).to("cuda")
    back.load_state_dict(loaded)
    assert {str(p.device) for p in back.parameters()} == {"cuda"}
    for original, host, device in zip(model.parameters(), on_cpu.parameters(), back.parameters()):
        np.testing.assert_array_equal(original.numpy(), host.numpy())
        np.testing.assert_array_equal(original.numpy(), device.numpy())


@pytest.mark.parametrize("default_device", ["cpu", "cuda"])
def test_the_same_seed_gives_the_same_initial_weights_on_either_device(simulated_cuda, monkeypatch, default_device):
    """Weights are drawn on the host and then moved, so a seed gives the same network on the CPU and the GPU,
    whatever the default device (TINYGAN_DEVICE) is."""
    monkeypatch.setattr(tg.backend.arrays, "_default_device", tg.backend.as_device(default_device))
    on_cpu = Trainer.from_config(small_config(device="cpu", seed=3))
    on_device = Trainer.from_config(small_config(device="cuda", seed=3))
    assert training_state_devices(on_device) == {"cuda"}
    for module in ("G", "D"):
        for a, b in zip(getattr(on_cpu, module).parameters(), getattr(on_device, module).parameters()):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    tg.manual_seed(5)
    layer_cpu = tg.nn.Linear(3, 4, device="cpu")
    tg.manual_seed(5)
    layer_device = tg.nn.Linear(3, 4, device="cuda")
    assert layer_device.weight.device == "cuda"
    np.testing.assert_array_equal(layer_cpu.weight.numpy(), layer_device.weight.numpy())


# ---------------------------------------------------------------------------------------------------------------
# every op runs on the device
# ---------------------------------------------------------------------------------------------------------------

def on_device(*shape, positive=False, seed=0):
    """A float64 leaf on the simulated device, with values away from 0 (and positive if asked)."""
    values = np.random.default_rng(seed).uniform(0.5, 1.5, size=shape) * (1 if positive else np.where(
        np.arange(int(np.prod(shape))).reshape(shape) % 2 == 0, 1.0, -1.0))
    return tg.tensor(values, dtype=tg.float64, device="cuda", requires_grad=True)


def index(values):
    return tg.tensor(values, device="cuda")


# name -> (the Function classes it applies, a function of fresh device leaves, the leaves it takes)
def pytorch_spellings(a, b):
    return (tg.ops.mm(a, b.reshape(3, 2)).sum() + tg.ops.repeat(a, 2, 1).sum() + tg.ops.chunk(a, 3, 1)[2].sum()
            + tg.ops.split(a, [1, 2], 1)[1].sum())


OP_CASES = {
    "add": (["Add"], lambda a, b: a + b, lambda: [on_device(2, 3), on_device(3, seed=1)]),
    "sub": (["Sub"], lambda a, b: a - b, lambda: [on_device(2, 3), on_device(2, 1, seed=1)]),
    "mul": (["Mul"], lambda a, b: a * b, lambda: [on_device(2, 3), on_device(3, seed=1)]),
    "div": (["Div"], lambda a, b: a / b, lambda: [on_device(2, 3), on_device(3, seed=1)]),
    "neg": (["Neg"], lambda a: -a, lambda: [on_device(3)]),
    "number operands": (["Add", "Mul", "Div", "Sub"], lambda a: (2.0 - a * 3 + 1) / 4.0, lambda: [on_device(3)]),
    "matmul": (["MatMul"], lambda a, b: a @ b, lambda: [on_device(2, 3), on_device(3, 4, seed=1)]),
    "exp": (["Exp"], tg.ops.exp, lambda: [on_device(3)]),
    "log": (["Log"], tg.ops.log, lambda: [on_device(3, positive=True)]),
    "tanh": (["Tanh"], tg.ops.tanh, lambda: [on_device(3)]),
    "sigmoid": (["Sigmoid"], tg.ops.sigmoid, lambda: [on_device(3)]),
    "softplus": (["Softplus"], tg.ops.softplus, lambda: [on_device(3)]),
    "relu": (["ReLU"], tg.ops.relu, lambda: [on_device(3)]),
    "sum": (["Sum"], lambda a: a.sum(axis=1), lambda: [on_device(2, 3)]),
    "mean": (["Mean"], lambda a: a.mean(), lambda: [on_device(2, 3)]),
    "clone": (["Clone"], tg.ops.clone, lambda: [on_device(3)]),
    "cast": (["Cast"], lambda a: a.float().double(), lambda: [on_device(3)]),
    "pow": (["Pow"], lambda a, b: a ** b + a ** 2.5, lambda: [on_device(3, positive=True), on_device(3, seed=1)]),
    "log1p": (["Log1p"], tg.ops.log1p, lambda: [on_device(3, positive=True)]),
    "sqrt": (["Sqrt"], tg.ops.sqrt, lambda: [on_device(3, positive=True)]),
    "abs": (["Abs"], tg.ops.abs, lambda: [on_device(3)]),
    "sin": (["Sin"], tg.ops.sin, lambda: [on_device(3)]),
    "cos": (["Cos"], tg.ops.cos, lambda: [on_device(3)]),
    "logsigmoid": (["LogSigmoid"], tg.ops.logsigmoid, lambda: [on_device(3)]),
    "leaky_relu": (["LeakyReLU"], lambda a: tg.ops.leaky_relu(a, 0.2), lambda: [on_device(3)]),
    "elu": ([], tg.ops.elu, lambda: [on_device(3)]),
    "clamp": (["Clamp"], lambda a: tg.ops.clamp(a, -0.8, 0.9) + tg.ops.clip(a, min=0.0), lambda: [on_device(4)]),
    "maximum": (["Maximum"], tg.ops.maximum, lambda: [on_device(3), on_device(3, seed=1)]),
    "minimum": (["Minimum"], tg.ops.minimum, lambda: [on_device(3), on_device(3, seed=1)]),
    "where": (["Where"], lambda a, b: tg.ops.where(a > 0, a, b), lambda: [on_device(4), on_device(4, seed=1)]),
    "max": (["Max"], lambda a: a.max(axis=0), lambda: [on_device(2, 3)]),
    "min": (["Min"], lambda a: a.min(), lambda: [on_device(2, 3)]),
    "norm": (["Norm"], lambda a: tg.ops.norm(a, axis=1), lambda: [on_device(2, 3)]),
    "var std logsumexp": ([], lambda a: tg.ops.var(a, axis=0) + tg.ops.std(a) + tg.ops.logsumexp(a, axis=1).sum(),
                          lambda: [on_device(2, 3)]),
    "reshape": (["Reshape"], lambda a: a.reshape(3, 2), lambda: [on_device(2, 3)]),
    "transpose": (["Transpose"], lambda a: a.T + a.permute(1, 0) + a.swapaxes(0, 1), lambda: [on_device(2, 3)]),
    "broadcast_to": (["BroadcastTo"], lambda a: tg.ops.broadcast_to(a, (2, 3)) + a.expand(2, 3),
                     lambda: [on_device(3)]),
    "sum_to": (["SumTo"], lambda a: tg.ops.sum_to(a, (1, 3)), lambda: [on_device(2, 3)]),
    "squeeze, unsqueeze, flatten": ([], lambda a: a.unsqueeze(0).squeeze(0).flatten(), lambda: [on_device(2, 3)]),
    "getitem": (["GetItem", "IndexAdd"], lambda a, i, j: a[1:, None].sum() + a[i].sum(axis=0) + a[..., j][1],
                lambda: [on_device(2, 3), index([0, 1, 1]), index([2, 0, 1])]),
    "setitem": (["SetItem"], lambda a, b, i: tg.ops.setitem(tg.ops.setitem(a, (slice(None), 1), b), (i, 2), 0.5 * b),
                lambda: [on_device(2, 3), on_device(2, seed=1), index([1, 0])]),
    "mm repeat chunk split": ([], lambda a, b: pytorch_spellings(a, b),
                              lambda: [on_device(2, 3), on_device(6, seed=1)]),
    "concatenate": (["Concatenate"], lambda a, b: tg.ops.concatenate([a, b], axis=1),
                    lambda: [on_device(2, 3), on_device(2, 1, seed=1)]),
    "stack": (["Stack"], lambda a, b: tg.ops.stack([a, b]), lambda: [on_device(3), on_device(3, seed=1)]),
    "fused linear": (["Linear", "LinearBackward"], lambda x, w, b: tg.fast.fused_ops.linear(x, w, b),
                     lambda: [on_device(4, 3), on_device(2, 3, seed=1), on_device(2, seed=2)]),
    "fused linear relu": (["LinearReLU", "LinearBackward"], lambda x, w, b: tg.fast.fused_ops.linear_relu(x, w, b),
                          lambda: [on_device(4, 3), on_device(2, 3, seed=1), on_device(2, seed=2)]),
    "fused bce": (["BinaryCrossEntropyWithLogits", "BinaryCrossEntropyWithLogitsBackward"],
                  lambda logits: tg.fast.fused_ops.binary_cross_entropy_with_logits(logits, 1.0)
                  + tg.fast.fused_ops.binary_cross_entropy_with_logits(logits, 0.3), lambda: [on_device(5)]),
    "nn.functional": ([], lambda x, w, b: tg.nn.functional.binary_cross_entropy_with_logits(
        tg.nn.functional.linear(x, w, b), 0.0), lambda: [on_device(4, 3), on_device(2, 3, seed=1), on_device(2)]),
}

NO_GRADIENT_OPS = {   # ops that give bool or index tensors: forward only
    "comparisons": lambda a, b: [a < b, a <= b, a > b, a >= b, a == b, a != b, tg.ops.less(a, b),
                                 tg.ops.greater_equal(a, b), tg.ops.equal(a, b), tg.ops.not_equal(a, b)],
    "logical": lambda a, b: [tg.ops.logical_and(a > 0, b > 0), tg.ops.logical_or(a > 0, b > 0),
                             tg.ops.logical_not(a > 0), (a > 0) & (b > 0), (a > 0) | (b > 0), ~(a > 0)],
    "isfinite isnan sign": lambda a, b: [tg.ops.isfinite(a), tg.ops.isnan(a), tg.ops.sign(a)],
    "argmax argmin any all": lambda a, b: [tg.ops.argmax(a), tg.ops.argmin(a, axis=0), tg.ops.any(a > 0),
                                           tg.ops.all(a > 0, axis=1)],
}


def test_the_op_tables_cover_every_function_and_every_op():
    """A new Function subclass or a new function in tinygan.ops needs a case here."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    functions = {cls.__name__ for cls in subclasses(autograd.Function) if cls.__module__.startswith("tinygan.")}
    covered = {name for names, _, _ in OP_CASES.values() for name in names} | {"ToDevice"}
    assert functions - covered == set(), "Functions without a device case"
    exported = {name for name in dir(tg.ops) if not name.startswith("_") and name.islower()
                and callable(getattr(tg.ops, name)) and getattr(tg.ops, name).__module__.startswith("tinygan.ops")}
    named = " ".join(list(OP_CASES) + list(NO_GRADIENT_OPS))
    used = {"to_device", "less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "cat", "clip",
            "logical_and", "logical_or", "logical_not", "permute", "swapaxes", "expand", "var", "std", "logsumexp",
            "squeeze", "unsqueeze", "flatten", "getitem",
            "index_key", "normalize_axis"}   # the last two are helpers of the ops (an index, an axis), not ops
    assert {name for name in exported if name not in named} - used == set(), "ops without a device case"


@pytest.mark.parametrize("case", OP_CASES.values(), ids=OP_CASES.keys())
def test_every_op_runs_on_the_device_forward_and_backward_without_transfers(simulated_cuda, case):
    """Each op's forward computes on device arrays and returns a tensor on the device; its gradients (first
    order, and the second order through them) are computed there too. None of it crosses to the host."""
    _, function, make_inputs = case
    inputs = make_inputs()
    leaves = [t for t in inputs if t.requires_grad]   # (index tensors are inputs too)
    with simulated_cuda.watch() as log, simulated_cuda.cupyx.allow_synchronize(False):
        out = function(*inputs)
        grads = tg.grad(out.sum(), leaves, create_graph=True)
        (sum(g.sum() for g in grads) + (out * out).sum()).backward()
    assert log.events == [], log.describe()
    assert out.device == "cuda" and isinstance(out.array, simulated_cuda.ndarray)
    for leaf, grad in zip(leaves, grads):
        assert isinstance(grad.array, simulated_cuda.ndarray) and grad.shape == leaf.shape
        assert leaf.grad is None or isinstance(leaf.grad.array, simulated_cuda.ndarray)


@pytest.mark.parametrize("function", NO_GRADIENT_OPS.values(), ids=NO_GRADIENT_OPS.keys())
def test_every_op_without_gradient_runs_on_the_device(simulated_cuda, function):
    a, b = on_device(2, 3), on_device(2, 3, seed=1)
    with simulated_cuda.watch() as log, simulated_cuda.cupyx.allow_synchronize(False):
        results = function(a, b)
    assert log.events == [], log.describe()
    assert all(isinstance(result.array, simulated_cuda.ndarray) for result in results)


def test_a_boolean_mask_index_is_the_one_op_that_synchronises(simulated_cuda):
    """x[mask] has as many rows as the mask has True values, so CuPy counts them on the host first: the one
    synchronisation an op can make (documented in README's device rules). Its gradient makes another."""
    x = on_device(4, 2)
    mask = index([True, False, True, True])
    with simulated_cuda.watch() as log:
        picked = x[mask]
        picked.sum().backward()
    assert picked.shape == (3, 2) and isinstance(picked.array, simulated_cuda.ndarray)
    assert [event.kind for event in log.events] == [simulated_cuda.SYNCHRONISE] * 2, log.describe()


def test_to_device_is_the_explicit_transfer(simulated_cuda):
    """.to("cpu") copies to the host once (its gradient copies back once); .to("cuda") copies to the device."""
    x = on_device(2, 3)
    with simulated_cuda.watch() as log:
        host = x.to("cpu")
        (host * 2).sum().backward()
    assert host.device == "cpu" and isinstance(host.array, np.ndarray)
    assert x.grad.device == "cuda"
    assert [event.kind for event in log.events] == [simulated_cuda.TO_HOST, simulated_cuda.TO_DEVICE]
    with simulated_cuda.watch() as log:
        back = host.detach().to("cuda")
    assert back.device == "cuda" and log.counts() == {simulated_cuda.TO_DEVICE: 1}


def test_modules_optimizers_and_utilities_stay_on_the_device(simulated_cuda):
    """What a user's own training loop calls besides the ops: nn layers, spectral norm, LayerNorm, every
    optimizer, gradient and weight clipping."""
    gen = tg.Generator(0)
    x = tg.randn(16, 2, generator=gen).to("cuda")
    models = [tg.nn.Sequential(tg.nn.utils.spectral_norm(tg.nn.Linear(2, 8, generator=gen)), tg.nn.LeakyReLU(0.2),
                               tg.nn.LayerNorm(8), tg.nn.Linear(8, 1, generator=gen)).to("cuda")
              for _ in range(5)]
    optimizers = [tg.optim.SGD(models[0].parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                  tg.optim.RMSprop(models[1].parameters(), lr=0.01, momentum=0.9, centered=True),
                  tg.optim.Adam(models[2].parameters(), lr=0.01, amsgrad=True, weight_decay=0.1),
                  tg.optim.Adam(models[3].parameters(), lr=0.01, fused=True),
                  tg.optim.Adam(models[4].parameters(), lr=0.01, fused=True, capturable=True)]
    for model, opt in zip(models, optimizers):
        opt.zero_grad()
        model(x).mean().backward()   # the first step creates the optimizer's state
        opt.step()
        with simulated_cuda.watch() as log, simulated_cuda.cupyx.allow_synchronize(False):
            for _ in range(2):
                opt.zero_grad()
                model(x).pow(2).mean().backward()
                tg.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                tg.nn.utils.clip_weights_(model.parameters(), 10.0)
        assert log.events == [], f"{type(opt).__name__}:\n{log.describe()}"
        assert {str(t.device) for t in tensors_of(opt.state_dict()["state"]).values()} == {"cuda"}


def test_the_gpu_side_of_the_ring_benchmark_runs(simulated_cuda, capsys):
    """benchmarks/ring8.py --device cuda --quick on the simulated device: the GPU code path of the benchmark
    runs (its figures mean nothing here), and its own check with cupyx.allow_synchronize(False) passes."""
    benchmarks_on_path()
    import ring8
    try:
        ring8.main(["--device", "cuda", "--quick"])
    finally:
        gc.unfreeze()   # the script freezes the heap before timing (gc.freeze); give this process its heap back
    out = capsys.readouterr().out
    assert "gpu      simulated device" in out
    assert "host-device synchronisation inside a step: none seen by cupyx.allow_synchronize(False)   PASS" in out
    assert any(line.startswith("small    tinygan") for line in out.splitlines())


def test_the_gpu_side_of_the_recipe_benchmark_runs(simulated_cuda, capsys):
    """benchmarks/recipe.py --device cuda --quick on the simulated device: the recipes' step runs on the device at
    the batch sizes given (its figures mean nothing here), and its check with cupyx.allow_synchronize(False)
    passes; its numbers agree with the CPU's eager step. PyTorch has no CUDA here, so tinygan is timed alone."""
    benchmarks_on_path()
    import recipe
    assert recipe.main(["--device", "cuda", "--quick", "--recipes", "shared-64", "ring", "--batches", "32"]) == 0
    assert gc.get_freeze_count() == 0      # the heap frozen for the timing was given back
    out = capsys.readouterr().out
    assert "gpu      simulated device" in out
    for label in ("shared-64/32", "ring/32"):
        assert f"[{label}] check passed: tinygan-cpu, tinygan agree on the history numbers of 3 steps" in out
        assert (f"[{label}] host-device synchronisation inside a step: none seen by cupyx.allow_synchronize(False)"
                f"   PASS") in out
        assert any(line.startswith(f"  {label} ") for line in out.splitlines())
    problem = recipe.Problem("ring", 0, "cuda", 32)
    (step,) = recipe.build(problem, ["tinygan", "tg-eager", "jax"])
    assert step.trainer.device.type == "cuda" and not step.trainer.compile
    assert problem.config.batch_size == 32 and problem.batches[0][0].shape == (32, 2)


def test_the_recipe_benchmark_checks_a_lazy_cycle_for_synchronisation(simulated_cuda, monkeypatch, capsys):
    """recipe.py --device cuda runs its cupyx.allow_synchronize(False) check on each step of a lazy penalty's
    cycle, with R1 and without: a step without R1 that synchronises (here, one made to read its row) is a MISS."""
    benchmarks_on_path()
    import recipe
    plain_step = recipe.TinyganStep.step

    def step_reading_its_row_without_r1(self):
        penalized = self.problem.penalized(self.index)
        plain_step(self)
        if self.problem.device == "cuda" and not penalized:
            self.last.tolist()

    monkeypatch.setattr(recipe.TinyganStep, "step", step_reading_its_row_without_r1)
    assert recipe.main(["--device", "cuda", "--quick", "--recipes", "ring", "--batches", "32"]) == 0
    out = capsys.readouterr().out
    assert "[ring/32] host-device synchronisation inside a step: MISS (CuPy saw one:" in out


def test_each_timed_window_of_the_recipe_benchmark_ends_with_one_synchronisation(simulated_cuda, monkeypatch):
    """recipe.py --device cuda: every timed window of the tinygan row waits for the device once, after its last
    step (ring8.SyncedWindows), so that it times the device's work and not only the queueing of it."""
    benchmarks_on_path()
    import engine
    import recipe
    plain_window, windows = engine.time_window, []

    def watched_window(impl, steps):
        with simulated_cuda.watch() as log:
            seconds = plain_window(impl, steps)
        windows.append(([event.kind for event in log.events], impl.count % impl.every))
        return seconds

    monkeypatch.setattr(engine, "time_window", watched_window)
    assert recipe.main(["--device", "cuda", "--quick", "--recipes", "shared-64", "ring", "--batches", "32",
                        "--steps", "4"]) == 0
    assert windows == [([simulated_cuda.SYNCHRONISE], 0)] * 4     # 2 recipes x 2 windows (--quick), 4 steps each


def benchmarks_on_path():
    """Let the tests import the benchmark scripts (benchmarks/ring8.py, recipe.py, engine.py)."""
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks")
    if folder not in sys.path:
        sys.path.insert(0, folder)
