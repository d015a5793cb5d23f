"""Training a GAN: Algorithm 1 of Goodfellow et al. (2014), generalised.

    for step in 1 .. steps:
        for k steps:                                   # the discriminator (critic) first
            draw a real batch x ~ p_data and a latent batch z ~ p_z
            update D by descending  loss_D(D(x), D(G(z)))  (+ a penalty: R1, R2 or WGAN-GP)
            (Wasserstein with weight clipping: clip every weight of D to [-c, c])
        draw a latent batch z ~ p_z
        update G by descending  loss_G(D(G(z)))
        (optionally) G_ema <- beta G_ema + (1 - beta) G

The paper's Algorithm 1 ascends V(D, G) in D and descends log(1 - D(G(z))) in G; here both players descend a
loss, and the loss pair is chosen by name from ``tinygan.losses.LOSSES`` ("nonsaturating" is the paper's
recommended generator loss -log D(G(z))).

What the trainer adds around the loop:

- a **history**: per step the two losses, the mean discriminator output on real and fake samples, the penalty,
  both players' gradient norms and learning rates; every ``eval_every`` steps the sample-quality metrics
  (modes captured, high-quality fraction, mode KL, MMD^2). Per-step numbers stay on the device and come to the
  host ``log_every`` steps at a time (one transfer), so a GPU run does not synchronise at every step;
- **determinism**: step t draws its random numbers from a generator seeded by (seed, t), so the same seed on the
  same device gives the same history, and a run resumed from a checkpoint continues exactly as if it had never
  stopped;
- a **divergence guard**: when a loss or a parameter becomes NaN or infinite the run stops with
  ``DivergenceError`` naming the step and the last finite values; the last good state stays in
  ``trainer.last_good_state`` (and in the checkpoint file, which is only ever written from a finite state);
- an exponential moving average of the generator's weights, learning-rate drops, checkpoints;
- **presets**: a ``TrainConfig`` per toy dataset that trains well (``preset("ring")``), and
  ``Trainer.from_config`` that builds the models, optimizers and data from a config.
"""

import copy
import csv
import dataclasses
import io
import json
import math
import os

from . import backend, distributions, losses, metrics, nn, ops, optim
from .autograd import no_grad
from .serialization import load, save, write_text_atomically
from .tensor import tensor, zeros_like

# Keys mixed into the seed (with backend.derive_seed) so that the streams of initialisation, training steps and
# evaluation never overlap: step t uses derive_seed(seed, STEP_KEY, t).
INIT_KEY, STEP_KEY, EVAL_KEY = 0, 1, 2

LOGIT_LOSSES = ("nonsaturating", "minimax", "rsgan", "ragan")
"""Losses whose discriminator output is a logit: the history records sigmoid(logit), a probability."""

RELATIVISTIC_LOSSES = ("rsgan", "ragan")
"""Losses whose generator loss also compares with the discriminator's output on real samples."""


def d_output_kind(loss):
    """What the discriminator of ``loss`` outputs, as histories and pictures report it: "probability" (sigmoid of
    a logit) for the logit losses, "critic" (the raw value) for hinge, Wasserstein and least squares."""
    return "probability" if loss in LOGIT_LOSSES else "critic"


PENALTIES = ("r1", "r2", "gp")


class DivergenceError(RuntimeError):
    """Training produced a NaN or infinite loss or parameter.

    Attributes: ``step`` (the first bad step), ``last_finite`` (the last finite value of each per-step column),
    ``last_good_step`` (the step of ``trainer.last_good_state``).
    """

    def __init__(self, message, step, last_finite, last_good_step):
        super().__init__(message)
        self.step = step
        self.last_finite = last_finite
        self.last_good_step = last_good_step


# ---------------------------------------------------------------------------------------------------------------
# the history of a run
# ---------------------------------------------------------------------------------------------------------------

class History:
    """What happened at every step: ``columns`` maps a name to a list with one float per step (NaN where the
    value was not recorded, e.g. metrics between evaluations).

    Per-step columns (STEP_COLUMNS):
        step            the generator step, 1, 2, ...
        loss_d, loss_g  the discriminator loss (mean over its k steps, without the penalty) and the generator loss
        penalty         the penalty added to the discriminator loss (0 without one), mean over the k steps
        d_real, d_fake  mean D(x) on the real batch and mean D(G(z)) on the fake batch of the last D step: a
                        probability sigmoid(logit) for logit losses (both tend to 1/2 at the equilibrium), the raw
                        critic value for hinge, Wasserstein and least squares (meta["d_output"] says which)
        grad_norm_d     ||grad of the D loss (with penalty) w.r.t. D's parameters||_2 at the last D step
        grad_norm_g     ||grad of the G loss w.r.t. G's parameters||_2
        lr_d, lr_g      the learning rates used at this step
    Metric columns (METRIC_COLUMNS), every ``eval_every`` steps, on samples of the sampling generator (the EMA
    generator when there is one): modes_captured, high_quality_fraction, mode_kl (mixtures of Gaussians only,
    see tinygan.metrics.mode_statistics) and mmd2 (unbiased MMD^2, median-heuristic bandwidth).
    """

    STEP_COLUMNS = ("step", "loss_d", "loss_g", "penalty", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                    "lr_d", "lr_g")
    METRIC_COLUMNS = ("modes_captured", "high_quality_fraction", "mode_kl", "mmd2")

    def __init__(self, meta=None):
        self.columns = {name: [] for name in self.STEP_COLUMNS + self.METRIC_COLUMNS}
        self.meta = dict(meta or {})

    def __len__(self):
        return len(self.columns["step"])

    def append(self, row):
        """Add one step: ``row`` maps column names to numbers; columns it leaves out get NaN."""
        unknown = set(row) - set(self.columns)
        if unknown:
            raise KeyError(f"History.append: unknown columns {sorted(unknown)}; the columns are {list(self.columns)}")
        for name, values in self.columns.items():
            values.append(float(row.get(name, math.nan)))

    def set_last(self, row):
        """Fill in values (e.g. metrics) of the last step."""
        for name, value in row.items():
            self.columns[name][-1] = float(value)

    def truncate(self, length):
        """Keep the first ``length`` steps (used when a run goes back to its last good state)."""
        for values in self.columns.values():
            del values[length:]

    def last(self, name):
        """The last recorded (non-NaN) value of a column, or NaN if there is none."""
        for value in reversed(self.columns[name]):
            if not math.isnan(value):
                return value
        return math.nan

    def recorded(self, name):
        """(steps, values) where the column ``name`` was recorded: two lists, for plotting."""
        pairs = [(s, v) for s, v in zip(self.columns["step"], self.columns[name]) if not math.isnan(v)]
        return [int(s) for s, _ in pairs], [v for _, v in pairs]

    def __eq__(self, other):
        """Equal when every value is the same (NaN equals NaN here) and the meta data match."""
        if not isinstance(other, History) or self.meta != other.meta or list(self.columns) != list(other.columns):
            return False
        return all(_same_floats(self.columns[name], other.columns[name]) for name in self.columns)

    __hash__ = None

    def __repr__(self):
        return f"History({len(self)} steps, columns {list(self.columns)})"

    # -- files -----------------------------------------------------------------------------------------------

    def to_csv(self, path):
        """Write the history as CSV (a header, then one line per step; NaN written as an empty field),
        atomically. repr() of each float, so reading it back gives the same numbers."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(self.columns)
        for row in zip(*self.columns.values()):
            writer.writerow("" if math.isnan(value) else repr(value) for value in row)
        write_text_atomically(path, text.getvalue())

    @classmethod
    def from_csv(cls, path, meta=None):
        """Read a history written by ``to_csv``."""
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.reader(file)
            header = next(reader, None)
            history = cls(meta)
            if header != list(history.columns):
                raise ValueError(f"History.from_csv: {path} has columns {header}, expected {list(history.columns)}")
            for line in reader:
                history.append({name: float(value) if value else math.nan for name, value in zip(header, line)})
        return history

    def to_json(self, path):
        """Write {"meta": ..., "columns": {name: [values]}} as JSON (NaN written as null), atomically."""
        columns = {name: [None if math.isnan(v) else v for v in values] for name, values in self.columns.items()}
        write_text_atomically(path, json.dumps({"meta": self.meta, "columns": columns}))

    @classmethod
    def from_json(cls, path):
        """Read a history written by ``to_json``."""
        with open(path, encoding="utf-8") as file:
            saved = json.load(file)
        history = cls(saved.get("meta"))
        columns = saved["columns"]
        if list(columns) != list(history.columns):
            raise ValueError(f"History.from_json: {path} has columns {list(columns)}, expected "
                             f"{list(history.columns)}")
        for name, values in columns.items():
            history.columns[name] = [math.nan if v is None else float(v) for v in values]
        return history

    # -- checkpoints: the columns as float64 tensors --------------------------------------------------------

    def state_dict(self):
        return {"meta": json.dumps(self.meta),
                "columns": {name: tensor(values, dtype=backend.float64).reshape(len(values))
                            for name, values in self.columns.items()}}

    @classmethod
    def from_state_dict(cls, state):
        history = cls(json.loads(state["meta"]))
        for name in history.columns:
            history.columns[name] = [float(v) for v in state["columns"][name].numpy().tolist()]
        return history


def _same_floats(a, b):
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


# ---------------------------------------------------------------------------------------------------------------
# the trainer
# ---------------------------------------------------------------------------------------------------------------

class Trainer:
    """Trains a generator G against a discriminator D with Algorithm 1 (k discriminator steps per generator step).

    G: a module from latent batches (batch, latent_dim) to samples (batch, dim). D: a module from samples to one
    output per sample, (batch,) or (batch, 1): a logit, or a critic value for "hinge"/"wasserstein"/"lsgan".
    opt_G, opt_D: optimizers over their parameters. data: a tg.distributions.Distribution or any callable
    sampler(n, generator) -> (n, dim) tensor. latent: a Distribution (e.g. StandardNormal(dim)) or a callable
    like data.

    loss: a name in tinygan.losses.LOSSES. penalty: None, "r1" (gamma/2 E||grad D(x)||^2 on real samples), "r2"
    (the same on fake samples) or "gp" (WGAN-GP); penalty_weight is gamma or lambda; penalty_every: apply it on
    every N-th discriminator step only, with N times the weight (lazy regularization). k: discriminator steps per
    generator step. clip_value: clip D's weights to [-c, c] after each D step (WGAN). ema: None or the decay beta
    of an exponential moving average of G's weights (``G_ema``, used for sampling and metrics).
    lr_schedule: None or a function step -> factor multiplying both optimizers' initial learning rates.
    seed: the run's seed; step t draws from a generator seeded by (seed, t) on G's device.
    eval_every, eval_samples: metrics every eval_every steps (0: never) on eval_samples generated samples.
    log_every: how many steps of numbers are brought to the host (and checked for NaN) at once.
    checkpoint_path, checkpoint_every: write a checkpoint every checkpoint_every steps (rounded up to a multiple
    of log_every) and at the end of ``train``.
    """

    def __init__(self, G, D, opt_G, opt_D, data, latent, *, loss="nonsaturating", penalty=None, penalty_weight=10.0,
                 penalty_every=1, k=1, batch_size=256, clip_value=None, ema=None, lr_schedule=None, seed=0,
                 eval_every=500, eval_samples=2500, log_every=100, checkpoint_path=None, checkpoint_every=None,
                 config=None):
        name = "Trainer"
        if loss not in losses.LOSSES:
            raise ValueError(f"{name}: unknown loss {loss!r}; choose one of {', '.join(losses.LOSSES)}")
        if penalty is not None and penalty not in PENALTIES:
            raise ValueError(f"{name}: unknown penalty {penalty!r}; choose None or one of {', '.join(PENALTIES)}")
        for label, value in (("k", k), ("batch_size", batch_size), ("log_every", log_every),
                             ("eval_samples", eval_samples), ("penalty_every", penalty_every)):
            _check_int(name, label, value, minimum=1)
        _check_int(name, "eval_every", eval_every, minimum=0)
        _check_int(name, "seed", seed, minimum=0)
        if ema is not None and not 0.0 < ema < 1.0:
            raise ValueError(f"{name}: ema is the decay of the weight average, a number in (0, 1), got {ema!r}")
        if clip_value is not None and not clip_value > 0:
            raise ValueError(f"{name}: clip_value must be positive, got {clip_value!r}")
        self.G, self.D, self.opt_G, self.opt_D = G, D, opt_G, opt_D
        self.data, self.latent = data, latent
        self.loss, self.penalty, self.penalty_weight = loss, penalty, float(penalty_weight)
        self.penalty_every = penalty_every
        self.d_loss_fn, self.g_loss_fn = losses.LOSSES[loss]
        self.k, self.batch_size, self.clip_value, self.ema = k, batch_size, clip_value, ema
        self.lr_schedule, self.seed = lr_schedule, seed
        self.eval_every, self.eval_samples, self.log_every = eval_every, eval_samples, log_every
        self.checkpoint_path, self.checkpoint_every = checkpoint_path, checkpoint_every
        self.config = config
        self.device = next(iter(G.parameters())).device
        self.dtype = next(iter(G.parameters())).dtype       # samples and latents are drawn in G's dtype
        self.G_ema = copy.deepcopy(G) if ema is not None else None
        if self.G_ema is not None:
            for parameter in self.G_ema.parameters():
                parameter.requires_grad_(False)
        self._initial_lrs = [[group["lr"] for group in opt.param_groups] for opt in (opt_G, opt_D)]
        self.step = 0
        self.history = History({"loss": loss, "d_output": d_output_kind(loss)})
        self._pending = []              # per-step rows (1-d tensors on the device) not yet on the host
        self.last_good_state = None     # a deep copy of state_dict() at the last finite check
        self._mixture = isinstance(data, distributions.GaussianMixture)

    # -- building from a config -------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config, checkpoint_path=None, checkpoint_every=None):
        """Build data, latent prior, G, D and their optimizers from a TrainConfig (see ``preset``)."""
        config.validate()
        device, dtype = backend.as_device(config.device), backend.as_dtype(config.dtype)
        data = distributions.get(config.dataset, **config.dataset_options)
        if config.latent == "normal":
            latent = distributions.StandardNormal(config.latent_dim)
        else:
            latent = distributions.UniformPrior(config.latent_dim)
        init = backend.Generator(backend.derive_seed(config.seed, INIT_KEY))   # weights drawn on the host
        G = nn.MLP(config.latent_dim, list(config.g_hidden), data.dim, activation=config.g_activation,
                   generator=init, dtype=dtype).to(device)
        D = nn.MLP(data.dim, list(config.d_hidden), 1, activation=config.d_activation, generator=init,
                   dtype=dtype).to(device)
        opt_G = _make_optimizer(config.optimizer, G.parameters(), config.lr_g, config.betas)
        opt_D = _make_optimizer(config.optimizer, D.parameters(), config.lr_d, config.betas)
        schedule = None
        if config.lr_drop_at is not None:
            schedule = LearningRateDrop(round(config.lr_drop_at * config.steps), config.lr_drop_factor)
        return cls(G, D, opt_G, opt_D, data, latent, loss=config.loss, penalty=config.penalty,
                   penalty_weight=config.penalty_weight, penalty_every=config.penalty_every, k=config.k,
                   batch_size=config.batch_size,
                   clip_value=config.clip_value, ema=config.ema, lr_schedule=schedule, seed=config.seed,
                   eval_every=config.eval_every, eval_samples=config.eval_samples, log_every=config.log_every,
                   checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every, config=config)

    @classmethod
    def from_checkpoint(cls, path, device=None, checkpoint_every=None, steps=None):
        """Rebuild a trainer made by ``from_config`` from its checkpoint file and restore its state; ``train``
        then continues the run. device: where to continue (default: the device of the saved config). steps: a
        new length for the run (default: the saved config's); the learning-rate schedule follows it, so a run
        extended this way is not the same as one that had the new length from the start."""
        state = load(path)
        if not state.get("config"):
            raise ValueError(f"Trainer.from_checkpoint: {path} holds no config (the trainer was not made by "
                             f"from_config); build the same trainer yourself and call load_checkpoint")
        config = TrainConfig.from_json(state["config"])
        if device is not None:
            config = dataclasses.replace(config, device=str(backend.as_device(device)))
        if steps is not None:
            config = dataclasses.replace(config, steps=steps)
        trainer = cls.from_config(config, checkpoint_path=path, checkpoint_every=checkpoint_every)
        trainer.load_state_dict(state)
        return trainer

    # -- the loop ---------------------------------------------------------------------------------------------

    @property
    def sampling_generator(self):
        """The generator that samples and metrics use: the weight average G_ema when there is one, else G."""
        return self.G_ema if self.G_ema is not None else self.G

    def train(self, steps=None, callback=None, callback_every=None):
        """Train until ``self.step == steps`` (the config's steps when None) and return the history.

        callback(trainer) is called after every ``callback_every``-th step (e.g. to take snapshots for a picture).
        A divergence raises DivergenceError (see the class docstring). Ctrl-C (KeyboardInterrupt) brings the
        trainer back to its last good state, writes that as the checkpoint when checkpointing is on, and re-raises.
        """
        if steps is None:
            if self.config is None:
                raise ValueError("Trainer.train: give the number of steps (this trainer has no config)")
            steps = self.config.steps
        _check_int("Trainer.train", "steps", steps, minimum=0)
        if callback_every is not None:
            _check_int("Trainer.train", "callback_every", callback_every, minimum=1)
        if self.last_good_state is None:
            self.last_good_state = self._snapshot()
        try:
            while self.step < steps:
                with backend.ignore_float_errors():    # the NaN/inf check below reports them, naming the step
                    self._train_step()
                if self.step % self.log_every == 0 or self.step == steps or self._evaluates(self.step):
                    self._flush()
                if callback is not None and callback_every is not None and self.step % callback_every == 0:
                    callback(self)
        except KeyboardInterrupt:
            self.restore_last_good()
            if self.checkpoint_path is not None:
                self.save_checkpoint(self.checkpoint_path)
            raise
        if self.checkpoint_path is not None:
            self.save_checkpoint(self.checkpoint_path)
        return self.history

    def _train_step(self):
        step = self.step + 1
        generator = backend.Generator(backend.derive_seed(self.seed, STEP_KEY, step), self.device)
        factor = 1.0 if self.lr_schedule is None else float(self.lr_schedule(step))
        for opt, initial in zip((self.opt_G, self.opt_D), self._initial_lrs):
            for group, lr in zip(opt.param_groups, initial):
                group["lr"] = lr * factor

        # k discriminator steps, each on fresh real and fake batches; fakes are made without a graph into G.
        d_losses, penalties = [], []
        for d_step in range((step - 1) * self.k + 1, step * self.k + 1):
            real = _draw(self.data, self.batch_size, generator, self.dtype)
            with no_grad():
                fake = self.G(_draw(self.latent, self.batch_size, generator, self.dtype))
            real_out, fake_out = self.D(real), self.D(fake)
            loss_d = self.d_loss_fn(real_out, fake_out)
            penalty = self._penalty(real, fake, generator) if d_step % self.penalty_every == 0 else None
            total = loss_d if penalty is None else loss_d + penalty
            self.opt_D.zero_grad()
            total.backward()
            grad_norm_d = _gradient_norm(self.D.parameters())
            self.opt_D.step()
            if self.clip_value is not None:
                nn.utils.clip_weights_(self.D.parameters(), self.clip_value)
            d_losses.append(loss_d.detach())
            penalties.append(penalty.detach() if penalty is not None else zeros_like(loss_d))

        # one generator step. D's parameters are frozen for it, so backward computes no gradient for them.
        fake = self.G(_draw(self.latent, self.batch_size, generator, self.dtype))
        real_for_g = None
        if self.loss in RELATIVISTIC_LOSSES:       # they compare with the real logits (no graph needed: no G in it)
            with no_grad():
                real_for_g = self.D(real)
        _set_requires_grad(self.D, False)
        try:
            fake_out_g = self.D(fake)
            loss_g = self.g_loss_fn(fake_out_g, real_for_g)
            self.opt_G.zero_grad()
            loss_g.backward()
        finally:
            _set_requires_grad(self.D, True)
        grad_norm_g = _gradient_norm(self.G.parameters())
        self.opt_G.step()
        if self.G_ema is not None:
            self._update_ema(step)

        with no_grad():
            if d_output_kind(self.loss) == "probability":
                real_out, fake_out = ops.sigmoid(real_out), ops.sigmoid(fake_out)
            row = ops.stack([ops.stack(d_losses).mean(), loss_g.detach(), ops.stack(penalties).mean(),
                             real_out.mean(), fake_out.mean(), grad_norm_d, grad_norm_g])
        self._pending.append((step, row, self.opt_D.param_groups[0]["lr"], self.opt_G.param_groups[0]["lr"]))
        self.step = step

    def _penalty(self, real, fake, generator):
        """The penalty of this D step. With penalty_every = N > 1 it is applied on every N-th D step only, with N
        times the weight ("lazy regularization", Karras et al. 2020, StyleGAN2): the same penalty on average, for
        a fraction of the cost of its double backward."""
        if self.penalty is None:
            return None
        weight = self.penalty_weight * self.penalty_every
        if self.penalty == "r1":
            return losses.r1_penalty(self.D, real, gamma=weight)
        if self.penalty == "r2":
            return losses.r2_penalty(self.D, fake, gamma=weight)
        return losses.gradient_penalty(self.D, real, fake, generator=generator, weight=weight)

    def _update_ema(self, step):
        """G_ema <- beta G_ema + (1 - beta) G, with beta = min(ema, (1 + step) / (10 + step)): the warm-up keeps
        the average from being dominated by the random initial weights early in training."""
        beta = min(self.ema, (1.0 + step) / (10.0 + step))
        with no_grad():
            for average, current in zip(self.G_ema.parameters(), self.G.parameters()):
                average.mul_(beta).add_(current, alpha=1.0 - beta)

    def _evaluates(self, step):
        return self.eval_every > 0 and step % self.eval_every == 0

    def _flush(self):
        """Bring the pending per-step numbers to the host in one transfer, check them and the parameters for
        NaN/inf, append them to the history, evaluate the metrics when due, and keep the state as last good."""
        if not self._pending:
            return
        values = ops.stack([row for _, row, _, _ in self._pending]).numpy().tolist()   # the one synchronisation
        first_bad = None
        for (step, _, lr_d, lr_g), numbers in zip(self._pending, values):
            self.history.append({"step": step, **dict(zip(_DEVICE_COLUMNS, numbers)), "lr_d": lr_d, "lr_g": lr_g})
            if first_bad is None and not all(math.isfinite(v) for v in numbers):
                first_bad = step
        self._pending = []
        if first_bad is None and not self._parameters_finite():
            first_bad = self.step
        if first_bad is not None:
            self._diverged(first_bad)
        if self._evaluates(self.step):
            self.history.set_last(self.evaluate())
        self.last_good_state = self._snapshot()
        if (self.checkpoint_path is not None and self.checkpoint_every is not None
                and self.step % self.checkpoint_every < self.log_every):
            self.save_checkpoint(self.checkpoint_path)

    def _parameters_finite(self):
        modules = [self.G, self.D] + ([self.G_ema] if self.G_ema is not None else [])
        with no_grad():
            checks = [ops.isfinite(p).all() for module in modules for p in module.parameters()]
            return bool(ops.stack(checks).all().item())

    def _diverged(self, step):
        last_finite = {}
        for name in _DEVICE_COLUMNS:
            finite = [(int(s), v) for s, v in zip(self.history.columns["step"], self.history.columns[name])
                      if math.isfinite(v)]
            if finite:
                last_finite[name] = finite[-1][1]
        good_step = self.last_good_state["step"]
        shown = ", ".join(f"{name}={value:.4g}" for name, value in last_finite.items())
        where = (f"; the checkpoint {self.checkpoint_path} holds step {good_step}"
                 if self.checkpoint_path is not None else "")
        raise DivergenceError(
            f"training diverged at step {step}: a loss or a parameter is NaN or infinite (loss {self.loss!r}, "
            f"lr_d {self.history.columns['lr_d'][-1]:g}, lr_g {self.history.columns['lr_g'][-1]:g}). Last finite "
            f"values: {shown or 'none'}. The state of step {good_step} is in trainer.last_good_state (go back to it "
            f"with trainer.restore_last_good()){where}. Lower the learning rates, add a "
            f"penalty, or clip the weights.", step, last_finite, good_step)

    # -- sampling and metrics ---------------------------------------------------------------------------------

    def sample(self, n, seed=None):
        """n samples (n, dim) from the sampling generator (G_ema if present), without a graph. seed: None uses
        the run's evaluation stream for the current step (so the same trainer state gives the same samples)."""
        _check_int("Trainer.sample", "n", n, minimum=0)
        if seed is None:
            seed = backend.derive_seed(self.seed, EVAL_KEY, self.step)
        generator = backend.Generator(seed, self.device)
        latent = _draw(self.latent, n, generator, self.dtype)
        with no_grad():
            return self.sampling_generator(latent)

    def evaluate(self):
        """The metric columns at the current step: {name: value} (see History)."""
        generator = backend.Generator(backend.derive_seed(self.seed, EVAL_KEY, self.step, 1), self.device)
        fake = self.sample(self.eval_samples)
        real = _draw(self.data, self.eval_samples, generator, self.dtype)
        result = {}
        if self._mixture:
            stats = metrics.mode_statistics(fake, self.data.means, self.data.stds)
            result.update(modes_captured=stats.modes_captured, high_quality_fraction=stats.high_quality_fraction,
                          mode_kl=stats.mode_kl)
        if bool(ops.isfinite(fake).all().item()):
            n = min(self.eval_samples, 1000)      # MMD costs n^2: 1,000 points are enough to follow the trend
            result["mmd2"] = metrics.mmd2_unbiased(fake[:n], real[:n])
        return result

    # -- state and checkpoints --------------------------------------------------------------------------------

    def state_dict(self):
        """Everything a resumed run needs, as copies: models, optimizers, the step and the history."""
        state = self._snapshot()
        del state["history_length"]
        state["history"] = self.history.state_dict()
        return state

    def _snapshot(self):
        """Copies of the models and optimizers, the step and the length of the history (not the history itself:
        a snapshot is taken every log_every steps, and the history only grows, so its length is enough)."""
        state = {"format": "tinygan.train/1", "step": self.step,
                 "config": self.config.to_json() if self.config is not None else "",
                 "G": _copied(self.G.state_dict()), "D": _copied(self.D.state_dict()),
                 "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
                 "history_length": len(self.history)}
        if self.G_ema is not None:
            state["G_ema"] = _copied(self.G_ema.state_dict())
        return state

    def load_state_dict(self, state):
        """Restore a state from ``state_dict`` or a loaded checkpoint (the models must have the same shapes)."""
        if (self.G_ema is None) != ("G_ema" not in state):
            raise ValueError("Trainer.load_state_dict: the state and the trainer disagree on the EMA generator "
                             "(one has G_ema, the other not); build the trainer with the same ema setting")
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["G_ema"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.step = int(state["step"])
        if "history" in state:
            self.history = History.from_state_dict(state["history"])
        else:
            self.history.truncate(state["history_length"])
        self._pending = []
        self.last_good_state = self._snapshot()

    def restore_last_good(self):
        """Go back to the state of the last finite check (after a DivergenceError, or an interruption)."""
        self.load_state_dict(self.last_good_state)

    def save_checkpoint(self, path):
        """Write the last good state and its history to ``path`` atomically (safetensors). A state is "good" once
        its numbers have been checked for NaN/inf, so pending steps are checked (and may raise) first."""
        self._flush()
        if self.last_good_state is None:
            self.last_good_state = self._snapshot()
        state = dict(self.last_good_state)
        length = state.pop("history_length")
        history = History(self.history.meta)
        history.columns = {name: values[:length] for name, values in self.history.columns.items()}
        state["history"] = history.state_dict()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        save(state, path)

    def load_checkpoint(self, path):
        """Restore the state saved by ``save_checkpoint`` into this trainer."""
        self.load_state_dict(load(path, device=self.device))


class LearningRateDrop:
    """A learning-rate schedule: factor 1 before step ``at``, ``factor`` from it on (e.g. 0.1 at 70% of the run).
    A plain callable (step -> factor) so the trainer can recompute it at any step, also after a resume."""

    def __init__(self, at, factor):
        self.at, self.factor = at, factor

    def __call__(self, step):
        return self.factor if step > self.at else 1.0

    def __repr__(self):
        return f"LearningRateDrop(at={self.at}, factor={self.factor})"


_DEVICE_COLUMNS = ("loss_d", "loss_g", "penalty", "d_real", "d_fake", "grad_norm_d", "grad_norm_g")
"""The history columns a training step computes on the device, in the order of the row tensor it leaves there
(step and learning rates are Python numbers already)."""


def _draw(source, n, generator, dtype):
    """n samples from a Distribution (in ``dtype``) or from a sampler callable(n, generator)."""
    if isinstance(source, distributions.Distribution):
        return source.sample(n, generator=generator, dtype=dtype)
    return source(n, generator)


def _gradient_norm(parameters):
    """||(all gradients concatenated)||_2 as a 0-d tensor (no host transfer)."""
    with no_grad():
        squares = [(p.grad * p.grad).sum() for p in parameters if p.grad is not None]
        return ops.sqrt(ops.stack(squares).sum())


def _set_requires_grad(module, flag):
    for parameter in module.parameters():
        parameter.requires_grad_(flag)


def _copied(state):
    return {name: value.clone() for name, value in state.items()}


def _check_int(owner, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")


def _make_optimizer(name, parameters, lr, betas):
    if name == "adam":
        return optim.Adam(parameters, lr=lr, betas=tuple(betas))
    if name == "rmsprop":
        return optim.RMSprop(parameters, lr=lr)
    return optim.SGD(parameters, lr=lr)


# ---------------------------------------------------------------------------------------------------------------
# configs and presets
# ---------------------------------------------------------------------------------------------------------------

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
        if self.loss not in losses.LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of: {', '.join(losses.LOSSES)}")
        if self.penalty is not None and self.penalty not in PENALTIES:
            raise ValueError(f"unknown penalty {self.penalty!r}; choose one of: {', '.join(PENALTIES)}")
        if self.latent not in ("normal", "uniform"):
            raise ValueError(f"unknown latent prior {self.latent!r}; choose 'normal' or 'uniform'")
        if self.optimizer not in ("adam", "rmsprop", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose 'adam', 'rmsprop' or 'sgd'")
        for name in ("latent_dim", "k", "batch_size", "eval_samples", "log_every", "penalty_every"):
            _check_int("TrainConfig", name, getattr(self, name), minimum=1)
        for name in ("steps", "seed", "eval_every"):
            _check_int("TrainConfig", name, getattr(self, name), minimum=0)
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
preset trains it for 60,000 steps (396-438 s a run on one CPU core, beside another run): the bridges keep thinning
long after every mode is found (97.9% high-quality samples on average over 10 seeds at 30,000 steps, 96.8% the
worst; at 60,000 every seed reached 98%)."""

GRID_RECIPE = dict(SHARED_2D_RECIPE, g_hidden=(256, 256, 256), penalty_weight=0.1, penalty_every=4)
"""The grid's changes to the shared recipe: a wider generator (with both networks 3 x 256, 96.8% high-quality
samples after 20,000 steps against 80% with both 3 x 128) and a weaker R1 (0.1; 1.0 gives 80%), applied on every 4th
D step with 4 times the weight. The discriminator stays 3 x 128: with the lazy penalty a step costs about a third of
one with 3 x 256 and R1 on every step, so the preset's 50,000 steps take about as long as 20,000 did (434-485 s a
run on one core beside another run), and the grid, like the ring, is limited by how long the bridges between its
modes take to thin (the 3 x 256 discriminator's 20,000 steps left 3 of 10 seeds under 95%, the worst at 87.8%;
40,000 steps of this recipe 2 of 10, at 94.8 and 94.9%; 50,000 none, the worst at 95.5%)."""

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
