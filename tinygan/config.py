"""What defines a training run: TrainConfig (JSON-serialisable, so a run folder can say exactly how to repeat it),
the recipes and presets that train each toy dataset well, and the checks of the trainer's options (one place,
used by both TrainConfig.validate and Trainer)."""

import dataclasses
import json

from . import backend, distributions, losses

PENALTIES = ("r1", "r2", "gp")


def check_int(owner, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")


def check_training_options(owner, *, loss, penalty, k, batch_size, log_every, eval_samples, penalty_every,
                           eval_every, seed, ema, clip_value):
    """Raise ValueError naming the first of the trainer's options that is not valid."""
    losses.loss_pair(owner, loss, "loss")   # an unknown name raises, listing the names
    if penalty is not None and penalty not in PENALTIES:
        raise ValueError(f"{owner}: unknown penalty {penalty!r}; choose None or one of: {', '.join(PENALTIES)}")
    for name, value in (("k", k), ("batch_size", batch_size), ("log_every", log_every),
                        ("eval_samples", eval_samples), ("penalty_every", penalty_every)):
        check_int(owner, name, value, minimum=1)
    check_int(owner, "eval_every", eval_every, minimum=0)
    check_int(owner, "seed", seed, minimum=0)
    if ema is not None and not 0.0 < ema < 1.0:
        raise ValueError(f"{owner}: ema is the decay of the weight average, a number in (0, 1), got {ema!r}")
    if clip_value is not None and not clip_value > 0:
        raise ValueError(f"{owner}: clip_value must be positive, got {clip_value!r}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run, JSON-serialisable so that a run folder can say exactly how to repeat it.

    dataset, dataset_options: a name in tinygan.distributions.DATASETS and keyword arguments for it.
    latent, latent_dim: the prior p_z, "normal" (N(0, I)) or "uniform" (U[-1, 1]^d), and its dimension.
    g_hidden, d_hidden, g_activation, d_activation: the two MLPs (G: latent -> data, D: data -> 1 output).
    loss, penalty, penalty_weight, penalty_every, k, clip_value, ema: see Trainer.
    optimizer ("adam", "rmsprop", "sgd"), lr_g, lr_d, betas (Adam's): both players' optimizers.
    lr_drop_at, lr_drop_factor: multiply both learning rates by lr_drop_factor after lr_drop_at * steps steps
    (None: constant learning rates).
    batch_size, steps (generator steps), seed, device, dtype, eval_every, eval_samples, log_every: see Trainer.
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
        """Raise ValueError naming the first field that is not valid (the command line shows it as is)."""
        distributions.get(self.dataset, **self.dataset_options)   # unknown names raise with the choices
        check_training_options("TrainConfig", loss=self.loss, penalty=self.penalty, k=self.k,
                               batch_size=self.batch_size, log_every=self.log_every, eval_samples=self.eval_samples,
                               penalty_every=self.penalty_every, eval_every=self.eval_every, seed=self.seed,
                               ema=self.ema, clip_value=self.clip_value)
        if self.latent not in ("normal", "uniform"):
            raise ValueError(f"unknown latent prior {self.latent!r}; choose 'normal' or 'uniform'")
        if self.optimizer not in ("adam", "rmsprop", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose 'adam', 'rmsprop' or 'sgd'")
        check_int("TrainConfig", "latent_dim", self.latent_dim, minimum=1)
        check_int("TrainConfig", "steps", self.steps, minimum=0)
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TrainConfig: {name} must be positive, got {getattr(self, name)!r}")
        if self.lr_drop_at is not None and not 0 <= self.lr_drop_at <= 1:
            raise ValueError(f"TrainConfig: lr_drop_at is a fraction of the steps in [0, 1], got {self.lr_drop_at!r}")
        backend.as_device(self.device)
        backend.as_dtype(self.dtype)
        return self

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text):
        fields = json.loads(text)
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = set(fields) - known
        if unknown:
            raise ValueError(f"TrainConfig.from_json: unknown fields {sorted(unknown)}")
        for name in ("g_hidden", "d_hidden", "betas"):
            if name in fields:
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

RING_RECIPE = dict(SHARED_2D_RECIPE, latent="uniform", penalty_every=4, lr_drop_at=0.5, lr_drop_factor=0.3)
"""The ring's changes to that recipe (benchmarks/quality.py; see the README's "Quality"): a uniform latent on
[-1, 1]^2, R1 on every 4th D step with 4 times the weight (lazy regularization: the same penalty on average at a quarter
of its cost) and a milder learning-rate drop (0.3x at half the run instead of 0.1x at 80%), so that the generator
keeps sharpening the thin bridges between modes that a continuous map from a connected latent cannot avoid. The
preset trains it for 60,000 steps: the bridges keep thinning long after every mode is found (97.9% high-quality
samples on average over 10 seeds at 30,000 steps, 96.8% the worst; at 60,000 every seed reached 98%; the figures
and their run times are in benchmarks/README.md)."""

GRID_RECIPE = dict(SHARED_2D_RECIPE, g_hidden=(256, 256, 256), penalty_weight=0.1, penalty_every=4)
"""The grid's changes to the shared recipe: a wider generator (with both networks 3 x 256, 96.8% high-quality
samples after 20,000 steps against 80% with both 3 x 128) and a weaker R1 (0.1; 1.0 gives 80%), applied on every 4th
D step with 4 times the weight. The discriminator stays 3 x 128: with the lazy penalty a step costs about a third of
one with 3 x 256 and R1 on every step, so the preset's 50,000 steps take about as long as 20,000 did, and the grid,
like the ring, is limited by how long the bridges between its modes take to thin (the 3 x 256 discriminator's
20,000 steps left 3 of 10 seeds under 95%, the worst at 87.8%; 40,000 steps of this recipe 2 of 10, at 94.8 and
94.9%; 50,000 none, the worst at 95.5%; benchmarks/README.md has the figures)."""

PRESETS = {
    "ring": TrainConfig(dataset="ring", steps=60000, **RING_RECIPE),
    "grid": TrainConfig(dataset="grid", steps=50000, **GRID_RECIPE),
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
