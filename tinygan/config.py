"""What defines a training run: TrainConfig (JSON-serialisable, so a run folder can say exactly how to repeat it),
the recipes and presets that train each toy dataset well, and the checks of every option: each check is written
once, here; TrainConfig.validate runs all of them, Trainer the ones of its own options (check_training_options)."""

import dataclasses
import json
import math

from . import backend, distributions, losses
from .history import History
from .nn.layers import ACTIVATIONS

PENALTIES = ("r1", "r2", "gp")
DEFAULT_BANDWIDTHS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
"""The Gaussian kernel of the gmmn and mmd-gan losses: k(x, y) = sum_s exp(-|x - y|^2 / (2 s^2)) over these s
(tinygan/kernels.py), from the width of a grid mode (0.05) to the size of the ring (radius 1)."""
MMD_GAN_FEATURES = 16
"""The outputs of an mmd-gan critic built by Trainer.from_config: the features h(x) the kernel compares."""
LATENT_PRIORS = ("normal", "uniform")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
TRAINING_DTYPES = ("float32", "float64")


# ---------------------------------------------------------------------------------------------------------------
# the checks: each raises a one-line ValueError naming the owner, the field, the allowed values and the value
# ---------------------------------------------------------------------------------------------------------------

def check_int(owner, name, value, minimum, maximum=None):
    """An integer (not a bool, not a float such as 256.0) in [minimum, maximum]."""
    if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
            or (maximum is not None and value > maximum)):
        allowed = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{owner}: {name} must be an integer {allowed}, got {value!r}")


def check_number(owner, name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """A finite real number (an int or a float, not a bool) between low and high, each end included unless
    ``low_open`` / ``high_open``."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    inside = number and (isinstance(value, int) or math.isfinite(value)) and (
        (low < value if low_open else low <= value) and (value < high if high_open else value <= high))
    if not inside:
        if high == math.inf:
            allowed = f"{'>' if low_open else '>='} {low:g}"
        else:
            allowed = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be a finite number {allowed}, got {value!r}")


def check_choice(owner, name, value, choices):
    if not (isinstance(value, str) and value in choices):
        raise ValueError(f"{owner}: unknown {name} {value!r}; choose one of: {', '.join(choices)}")


def check_widths(owner, name, value):
    """The hidden layers of an MLP: a list of widths, integers >= 1 (empty: no hidden layer)."""
    if not (isinstance(value, (list, tuple)) and all(isinstance(width, int) and not isinstance(width, bool)
                                                     and width >= 1 for width in value)):
        raise ValueError(f"{owner}: {name} must be a list of layer widths, integers >= 1, got {value!r}")


def check_training_options(owner, *, loss, penalty, penalty_weight, penalty_every, k, batch_size, clip_value, ema,
                           seed, eval_every, eval_samples, log_every, bandwidths=DEFAULT_BANDWIDTHS):
    """Raise ValueError naming the first of the trainer's options that is not valid."""
    losses.check_training_loss(owner, loss)   # an unknown name raises, listing the names
    if penalty is not None:                                       # None: no penalty
        check_choice(owner, "penalty", penalty, PENALTIES)
    if loss in losses.DISCRIMINATOR_FREE_LOSSES:
        for name, value, allowed in (("penalty", penalty, None), ("clip_value", clip_value, None), ("k", k, 1)):
            if value != allowed:
                raise ValueError(f"{owner}: loss {loss!r} trains the generator alone (no discriminator), so {name} "
                                 f"must be {allowed}, got {value!r}; use --penalty none, or another loss")
    if loss == "mmd-gan" and penalty not in (None, "gp") or loss == "mmd-gan" and clip_value is not None:
        raise ValueError(f"{owner}: loss 'mmd-gan' takes penalty 'gp' (the gradient penalty on its witness) or none, "
                         f"and no clip_value; got penalty {penalty!r}, clip_value {clip_value!r}")
    if not (isinstance(bandwidths, (list, tuple)) and len(bandwidths) >= 1):
        raise ValueError(f"{owner}: bandwidths must be a list of positive numbers (the Gaussian kernel's of gmmn and "
                         f"mmd-gan), got {bandwidths!r}")
    for bandwidth in bandwidths:
        check_number(owner, "each of bandwidths", bandwidth, low=0.0, low_open=True)
    check_number(owner, "penalty_weight", penalty_weight, low=0.0)
    check_int(owner, "penalty_every", penalty_every, minimum=1)
    check_int(owner, "k", k, minimum=1)
    check_int(owner, "batch_size", batch_size, minimum=1)
    if clip_value is not None:
        check_number(owner, "clip_value", clip_value, low=0.0, low_open=True)
    if ema is not None:
        check_number(owner, "ema (the decay of the weight average)", ema, 0.0, 1.0, low_open=True, high_open=True)
    check_int(owner, "seed", seed, minimum=0)
    check_int(owner, "eval_every", eval_every, minimum=0)
    check_int(owner, "eval_samples", eval_samples, minimum=2)      # the unbiased MMD^2 needs two samples
    check_int(owner, "log_every", log_every, minimum=1)


def parameter_count(in_features, hidden, out_features):
    """Weights and biases of an MLP with these widths."""
    widths = [in_features, *hidden, out_features]
    return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))


def memory_needed(config, data_dim):
    """A lower estimate of the bytes a run of ``config`` holds at once, in parts: {what, with the fields and values
    that size it: bytes}. The parts: each network's weights, gradients, two Adam moments and the copy kept as the
    last good state; a layer output and its gradient per layer for a batch; the generator's layers on the
    evaluation samples; the history (a Python float per column and step, and its copy in the checkpoint); the
    steps whose numbers wait on the device for the next host transfer (a row tensor and its bookkeeping each). A
    lower estimate: a run needs more than this, so a config it refuses can never fit."""
    itemsize = 8 if config.dtype == "float64" else 4
    widths = [config.latent_dim, *config.g_hidden, data_dim, *config.d_hidden, 1]
    return {
        f"G's weights (latent_dim {config.latent_dim}, g_hidden {list(config.g_hidden)})":
            5 * parameter_count(config.latent_dim, config.g_hidden, data_dim) * itemsize,
        f"D's weights (d_hidden {list(config.d_hidden)})": 5 * parameter_count(data_dim, config.d_hidden, 1) * itemsize,
        f"a batch through both networks (batch_size {config.batch_size}, {sum(widths)} units)":
            2 * config.batch_size * sum(widths) * itemsize,
        f"the evaluation (eval_samples {config.eval_samples} through a layer of {max(widths)} units)":
            config.eval_samples * max(widths) * itemsize,
        f"the history (steps {config.steps})": config.steps * len(History().columns) * (24 + 8 + 8),
        f"the steps waiting for a host transfer (log_every {config.log_every})": min(config.log_every,
                                                                                     config.steps) * 400,
    }


def check_memory(owner, needed, device):
    """Raise ValueError when the parts of ``needed`` ({what: bytes}) add up to more memory than ``device`` has,
    naming the largest part (which names its fields and their values)."""
    total, available = sum(needed.values()), backend.total_memory(device)
    if available is not None and total > available:
        largest = max(needed, key=needed.get)
        raise ValueError(f"{owner}: this needs at least {format_bytes(total)} of memory, more than the "
                         f"{format_bytes(available)} of {device} on this machine; {format_bytes(needed[largest])} of "
                         f"it for {largest}: make that smaller")


def format_bytes(count):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run, JSON-serialisable so that a run folder can say exactly how to repeat it.

    dataset, dataset_options: a name in tinygan.distributions.DATASETS and keyword arguments for it.
    latent, latent_dim: the prior p_z, "normal" (N(0, I)) or "uniform" (U[-1, 1]^d), and its dimension.
    g_hidden, d_hidden, g_activation, d_activation: the two MLPs (G: latent -> data, D: data -> 1 output).
    loss, penalty, penalty_weight, penalty_every, k, clip_value, ema, bandwidths, conditional: see Trainer
    (conditional needs a dataset with modes: each sample's mode is its label).
    optimizer ("adam", "rmsprop", "sgd"), lr_g, lr_d, betas (Adam's): both players' optimizers.
    lr_drop_at, lr_drop_factor: multiply both learning rates by lr_drop_factor (in (0, 1]) after
    round(lr_drop_at * steps) steps (None: constant learning rates).
    batch_size, steps (generator steps, at least 1), seed, device, dtype ("float32" or "float64"), eval_every,
    eval_samples, log_every: see Trainer.
    """

    dataset: str = "ring"
    dataset_options: dict = dataclasses.field(default_factory=dict)
    latent: str = "normal"
    latent_dim: int = 2
    g_hidden: tuple = (256, 256, 256)
    d_hidden: tuple = (256, 256, 256)
    g_activation: str = "relu"
    d_activation: str = "relu"
    loss: str = "nonsaturating"
    penalty: str = None
    penalty_weight: float = 0.0
    penalty_every: int = 1
    k: int = 1
    clip_value: float = None
    ema: float = None
    bandwidths: tuple = DEFAULT_BANDWIDTHS
    conditional: bool = False
    optimizer: str = "adam"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple = (0.5, 0.9)
    lr_drop_at: float = None
    lr_drop_factor: float = 0.1
    batch_size: int = 256
    steps: int = 5000
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    eval_every: int = 500
    eval_samples: int = 2500
    log_every: int = 100

    def validate(self):
        """Check every field (its type, that it is finite, its range) and that the run's sizes fit this machine's
        memory (``memory_needed``); raise a one-line ValueError naming the first field that does not, with the
        allowed values. Returns the config."""
        owner = "TrainConfig"
        data = self._dataset(owner)
        check_choice(owner, "latent prior", self.latent, LATENT_PRIORS)
        check_int(owner, "latent_dim", self.latent_dim, minimum=1)
        check_widths(owner, "g_hidden", self.g_hidden)
        check_widths(owner, "d_hidden", self.d_hidden)
        check_choice(owner, "g_activation", self.g_activation, ACTIVATIONS)
        check_choice(owner, "d_activation", self.d_activation, ACTIVATIONS)
        check_training_options(owner, loss=self.loss, penalty=self.penalty, penalty_weight=self.penalty_weight,
                               penalty_every=self.penalty_every, k=self.k, batch_size=self.batch_size,
                               clip_value=self.clip_value, ema=self.ema, seed=self.seed, eval_every=self.eval_every,
                               eval_samples=self.eval_samples, log_every=self.log_every,
                               bandwidths=self.bandwidths)
        if not isinstance(self.conditional, bool):
            raise ValueError(f"{owner}: conditional must be true or false, got {self.conditional!r}")
        if self.conditional and not isinstance(data, distributions.GaussianMixture):
            raise ValueError(f"{owner}: conditional needs a dataset with modes (its labels): {self.dataset!r} has "
                             f"none; use ring, grid, gmm2d or mixture1d, or train it unconditionally")
        check_choice(owner, "optimizer", self.optimizer, OPTIMIZERS)
        check_number(owner, "lr_g", self.lr_g, low=0.0, low_open=True)
        check_number(owner, "lr_d", self.lr_d, low=0.0, low_open=True)
        if not (isinstance(self.betas, (list, tuple)) and len(self.betas) == 2):
            raise ValueError(f"{owner}: betas must be a pair of numbers in [0, 1), got {self.betas!r}")
        for beta in self.betas:
            check_number(owner, "each of betas", beta, 0.0, 1.0, high_open=True)
        if self.lr_drop_at is not None:
            check_number(owner, "lr_drop_at (a fraction of the steps)", self.lr_drop_at, 0.0, 1.0)
        check_number(owner, "lr_drop_factor", self.lr_drop_factor, 0.0, 1.0, low_open=True)
        check_int(owner, "steps", self.steps, minimum=1)
        try:
            device = backend.as_device(self.device)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"{owner}: device: {str(error).splitlines()[0]}") from None
        check_choice(owner, "dtype", self.dtype, TRAINING_DTYPES)
        check_memory(owner, memory_needed(self, data.dim), device)
        return self

    def same_first_steps(self, steps, done):
        """Whether the first ``done`` steps of this run are also the first steps of the same run with ``steps``
        steps instead: true unless a learning-rate drop sits at a different step in the two lengths and the run
        has passed the earlier of the two (nothing else a step does depends on the length of the run)."""
        if self.lr_drop_at is None or self.lr_drop_factor == 1:
            return True
        drop_here, drop_there = round(self.lr_drop_at * self.steps), round(self.lr_drop_at * steps)
        return drop_here == drop_there or done <= min(drop_here, drop_there)

    def _dataset(self, owner):
        """The dataset of this config, made to check its name and options."""
        try:
            distributions.get(self.dataset)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{owner}: {error}") from None
        if not (isinstance(self.dataset_options, dict) and all(isinstance(key, str) for key in self.dataset_options)):
            raise ValueError(f"{owner}: dataset_options must be an object of keyword arguments for the dataset, got "
                             f"{self.dataset_options!r}")
        try:
            return distributions.get(self.dataset, **self.dataset_options)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{owner}: dataset_options {self.dataset_options!r} do not make a {self.dataset!r} "
                             f"dataset: {str(error).splitlines()[0]}") from None

    def to_json(self):
        """The config as JSON text; strict JSON (a NaN or an infinity raises ValueError: validate refuses them)."""
        return json.dumps(dataclasses.asdict(self), indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, text):
        """The config a ``to_json`` text describes. Fields it leaves out take their defaults; unknown fields and
        text that is not a JSON object raise ValueError. The values are not checked here: call ``validate``."""
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError(f"TrainConfig.from_json: expected a JSON object of fields, got {type(fields).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = set(fields) - known
        if unknown:
            raise ValueError(f"TrainConfig.from_json: unknown fields {sorted(unknown)}")
        for name in ("g_hidden", "d_hidden", "betas", "bandwidths"):
            if isinstance(fields.get(name), list):
                fields[name] = tuple(fields[name])
        return cls(**fields)


SHARED_2D_RECIPE = dict(g_hidden=(128, 128, 128), d_hidden=(128, 128, 128), lr_g=3e-4, lr_d=3e-4,
                        betas=(0.5, 0.9), penalty="r1", penalty_weight=1.0, ema=0.999, lr_drop_at=0.8)
"""The recipe the 2-D presets share (measured with benchmarks/quality.py, see the README's "Quality"): ReLU MLPs
3 x 128, the non-saturating loss with R1 on every D step, a normal latent (the TrainConfig defaults for the fields
not named here), Adam 3e-4 betas (0.5, 0.9) for both players, a 10x learning-rate drop at 80% of the run and an
EMA generator (0.999). `tinygan train` with no dataset trains the ring with it (the command line's first look).
The learning rate matters most: 1e-4 reaches 89% high-quality ring samples in 6,000 steps where 3e-4 reaches 94%
(1e-3 oscillates). The ring and grid presets change it (RING_RECIPE, GRID_RECIPE below)."""

RING_RECIPE = dict(SHARED_2D_RECIPE, latent="uniform", lr_g=6e-4, lr_d=6e-4, penalty_every=4, lr_drop_at=0.5,
                   lr_drop_factor=0.15)
"""The ring's changes to that recipe (benchmarks/quality.py; see benchmarks/README.md's "Quality"): a uniform latent on
[-1, 1]^2; R1 on every 4th D step with 4 times the weight (lazy regularization: the same penalty on average at a
quarter of its cost); and twice the shared learning rate, 6e-4, for the first half of the run, then 0.15 times it
(9e-5) for the second half, in which the generator sharpens the thin bridges between modes that a continuous map from
a connected latent cannot avoid. The preset trains it for 40,000 steps: every seed of ten found all 8 modes with at
least 98% high-quality samples (mean 98.6%; the worst seed exactly 98.0%). The earlier rates (3e-4, then 0.3 times
it) needed 60,000 steps for the same: at 30,000 their ten seeds averaged 97.9%, the worst 96.8%."""

GRID_RECIPE = dict(SHARED_2D_RECIPE, g_hidden=(256, 256, 256), lr_g=8e-4, lr_d=8e-4, penalty_weight=0.1,
                   penalty_every=4, lr_drop_at=0.5, lr_drop_factor=0.1125)
"""The grid's changes to the shared recipe: a wider generator (with both networks 3 x 256, 96.8% high-quality samples
after 20,000 steps against 80% with both 3 x 128); a weaker R1 (0.1; 1.0 gives 80%), applied on every 4th D step with
4 times the weight; the discriminator stays 3 x 128 (with the lazy penalty a step costs about a third of one with 3 x
256 and R1 on every step); and a learning rate of 8e-4 for the first half of the run, then 9e-5 (0.1125 times it, the
ring's rate after its drop). The preset trains it for 20,000 steps: every seed of ten found all 25 modes with at
least 96.0% high-quality samples (mean 96.8%). The ring's rates (6e-4, then 9e-5) left one seed of ten at 94.0% after
20,000 steps (94.3% in a run of 24,000), where 8e-4 reached 97.4%; with the shared rate (3e-4, a 10x drop at 80%) the
grid needed 50,000 steps for every seed to reach 95%."""

PRESETS = {
    "ring": TrainConfig(dataset="ring", steps=40000, **RING_RECIPE),
    "grid": TrainConfig(dataset="grid", steps=20000, **GRID_RECIPE),
    "gmm2d": TrainConfig(dataset="gmm2d", steps=4000, **SHARED_2D_RECIPE),
    "swiss_roll": TrainConfig(dataset="swiss_roll", steps=4000, **SHARED_2D_RECIPE),
    "moons": TrainConfig(dataset="moons", steps=4000, **SHARED_2D_RECIPE),
    "checkerboard": TrainConfig(dataset="checkerboard", steps=6000, **SHARED_2D_RECIPE),
    "gaussian": TrainConfig(dataset="gaussian", latent_dim=1, g_hidden=(32, 32), d_hidden=(32, 32), steps=2000,
                            lr_g=1e-3, lr_d=1e-3, batch_size=128, eval_every=250),
    "mixture1d": TrainConfig(dataset="mixture1d", latent_dim=1, g_hidden=(64, 64), d_hidden=(64, 64), steps=3000,
                             lr_g=5e-4, lr_d=5e-4, penalty="r1", penalty_weight=1.0, batch_size=128, eval_every=250),
    # U[0, 1]'s sharp edges: without R1 the generator squeezed into [0.6, 1.1] (MMD^2 0.43); R1, a slower Adam, an
    # EMA and the drop bring MMD^2 to the noise of a data sample (under 0.001; benchmarks/presets.py, 3 seeds)
    "uniform": TrainConfig(dataset="uniform", latent_dim=1, g_hidden=(32, 32), d_hidden=(32, 32), steps=4000,
                           lr_g=3e-4, lr_d=3e-4, penalty="r1", penalty_weight=1.0, ema=0.999, lr_drop_at=0.8,
                           batch_size=128, eval_every=250),
}
"""dataset name -> the TrainConfig that trains it well; ``preset(name, **changes)`` returns a copy with changes."""


def preset(name, **changes):
    """The preset TrainConfig for a dataset, with fields replaced by ``changes``: preset("ring", steps=500, seed=3).
    Names are those of tinygan.distributions.DATASETS ("-" read as "_", any case)."""
    key = name.strip().lower().replace("-", "_") if isinstance(name, str) else name
    if key not in PRESETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(PRESETS)}")
    unknown = set(changes) - {field.name for field in dataclasses.fields(TrainConfig)}
    if unknown:
        raise ValueError(f"preset: unknown config fields {sorted(unknown)}")
    return dataclasses.replace(PRESETS[key], **changes).validate()
