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
- **presets**: a ``TrainConfig`` per toy dataset that trains well (``preset("ring")``, in config.py), and
  ``Trainer.from_config`` that builds the models, optimizers and data from a config.

The steps themselves are tinygan/algorithm1.py; the history is history.py.
"""

import copy
import dataclasses
import math
import os

from . import algorithm1, backend, distributions, fast, kernels, losses, metrics, ops, optim
from .config import (DEFAULT_BANDWIDTHS, GRID_RECIPE, MMD_GAN_FEATURES, PENALTIES, PRESETS, RING_RECIPE,
                     SHARED_2D_RECIPE, TrainConfig, check_int, check_training_options, preset)
from .factories import tensor, zeros_like
from .autograd.grad_mode import no_grad
from .history import History
from .nn.module import Module
from .serialization import load, save
from .tensor import Tensor

# Keys mixed into the seed (with backend.derive_seed) so that the streams of initialisation, training steps and
# evaluation never overlap: step t uses derive_seed(seed, STEP_KEY, t).
INIT_KEY, STEP_KEY, EVAL_KEY = 0, 1, 2

# TrainConfig and the presets live in config.py; they are reachable from here too (tg.train.preset("ring")).
__all__ = ["Trainer", "LearningRateDrop", "DivergenceError", "History", "TrainConfig", "preset", "PRESETS",
           "read_checkpoint", "SHARED_2D_RECIPE", "RING_RECIPE", "GRID_RECIPE", "PENALTIES", "INIT_KEY", "STEP_KEY",
           "EVAL_KEY", "GivenLabels", "MMD_GAN_FEATURES"]


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
# the trainer
# ---------------------------------------------------------------------------------------------------------------

class Trainer:
    """Trains a generator G against a discriminator D with Algorithm 1 (k discriminator steps per generator step).

    G: a module from latent batches (batch, latent_dim) to samples (batch, dim). D: a module from samples to one
    output per sample, (batch,) or (batch, 1): a logit, or a critic value for "hinge"/"wasserstein"/"lsgan".
    opt_G, opt_D: optimizers over their parameters. data: a tg.distributions.Distribution or any callable
    sampler(n, generator) -> (n, dim) tensor. latent: a Distribution (e.g. StandardNormal(dim)) or a callable
    like data.

    loss: a name in tinygan.losses.TRAINING_LOSSES: the logit and critic losses of LOSSES, or an IPM objective
    (losses.IPM_LOSSES): "gmmn" and "energy" train G alone (no discriminator step; D and opt_D are kept, untouched,
    so that every trainer has the same parts and checkpoints), "mmd-gan" takes a critic D with several outputs
    (features) and penalty "gp" is then the gradient penalty on its witness. bandwidths: the Gaussian kernel of
    gmmn and mmd-gan (tinygan/kernels.py). penalty: None, "r1" (gamma/2 E||grad D(x)||^2 on real samples), "r2"
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
    conditional: a conditional GAN (Mirza and Osindero 2014): data must be a GaussianMixture, whose components
    are the labels; G gets (z, one-hot y) concatenated and D gets (x, one-hot y), so G's first layer takes
    latent_dim + n_modes inputs and D's dim + n_modes. Each real batch comes with its labels and the fakes of that
    step are made with the same labels; ``sample(n, label=k)`` draws from mode k.
    compile: run each step as a replay of its recording (tg.compile, tinygan/fast/compiler.py; CPU only): the
    same numbers, bit for bit, without the Python of tensors and graph nodes. It needs optimizers whose updates
    read no changing Python numbers (Adam with capturable=True; SGD, RMSprop) and is refused with a clear error
    otherwise; from_config builds such a trainer.
    """

    def __init__(self, G, D, opt_G, opt_D, data, latent, *, loss="nonsaturating", penalty=None, penalty_weight=10.0,
                 penalty_every=1, k=1, batch_size=256, clip_value=None, ema=None, lr_schedule=None, seed=0,
                 eval_every=500, eval_samples=2500, log_every=100, checkpoint_path=None, checkpoint_every=None,
                 config=None, compile=False, bandwidths=DEFAULT_BANDWIDTHS, conditional=False):
        check_training_options("Trainer", loss=loss, penalty=penalty, penalty_weight=penalty_weight,
                               penalty_every=penalty_every, k=k, batch_size=batch_size, clip_value=clip_value,
                               ema=ema, seed=seed, eval_every=eval_every, eval_samples=eval_samples,
                               log_every=log_every, bandwidths=bandwidths)
        if conditional and not isinstance(data, distributions.GaussianMixture):
            raise ValueError(f"Trainer: conditional=True needs data with modes, a tg.distributions.GaussianMixture "
                             f"(its components are the labels), got {type(data).__name__}; pass conditional=False")
        self.G, self.D, self.opt_G, self.opt_D = G, D, opt_G, opt_D
        self.data, self.latent = data, latent
        self.loss, self.penalty, self.penalty_weight = loss, penalty, float(penalty_weight)
        self.penalty_every = penalty_every
        self.kernel = kernels.gaussian(list(bandwidths))
        self.conditional = bool(conditional)
        self.n_labels = data.n_modes if conditional else 0
        if loss in losses.IPM_LOSSES:
            self.d_loss_fn, self.g_loss_fn = losses.ipm_losses(loss, self.kernel)
        else:   # the same numbers as losses.LOSSES[loss], on fused graph nodes where tinygan/fast has them
            self.d_loss_fn, self.g_loss_fn = fast.FUSED_LOSSES.get(loss, losses.LOSSES[loss])
        self.trains_discriminator = loss not in losses.DISCRIMINATOR_FREE_LOSSES
        self.k, self.batch_size, self.clip_value, self.ema = k, batch_size, clip_value, ema
        self.lr_schedule, self.seed = lr_schedule, seed
        self.eval_every, self.eval_samples, self.log_every = eval_every, eval_samples, log_every
        self.checkpoint_path, self.checkpoint_every = checkpoint_path, checkpoint_every
        self.config = config
        self.device = next(iter(G.parameters())).device
        self.dtype = next(iter(G.parameters())).dtype       # samples and latents are drawn in G's dtype
        self.G_ema = copy.deepcopy(G).requires_grad_(False) if ema is not None else None
        if compile and self.device != backend.CPU:
            raise ValueError(f"Trainer: compile=True records NumPy steps (device 'cpu'); the models are on "
                             f"{self.device}: pass compile=False")
        self.compile = bool(compile)
        self._step_function = fast.compile(self._step) if compile else self._step
        self._recorded_factor = None    # the learning-rate factor the recorded steps were made with
        self._initial_lrs = [[group["lr"] for group in opt.param_groups] for opt in (opt_G, opt_D)]
        self.step = 0
        self.history = History({"loss": loss, "d_output": losses.d_output_kind(loss)})
        self._pending = []              # per-step rows (1-d tensors on the device) not yet on the host
        self.last_good_state = None     # a deep copy of state_dict() at the last finite check
        self._mixture = isinstance(data, distributions.GaussianMixture)

    # -- building from a config -------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config, checkpoint_path=None, checkpoint_every=None, compile=None):
        """Build data, latent prior, G, D and their optimizers from a TrainConfig (see ``preset``).

        The models are fast.FusedMLP: the same numbers as nn.MLP (tests/test_fast.py) on fewer graph nodes and
        array calls, which is most of a small GAN's step. Adam is fused=True (flat buffers). compile (default: on
        the CPU) records the step and replays it (tg.compile), with the optimizers capturable=True. All of these
        give the numbers of the plain modules and optimizers, bit for bit.
        """
        config.validate()
        device, dtype = backend.as_device(config.device), backend.as_dtype(config.dtype)
        if compile is None:
            compile = device == backend.CPU
        data = distributions.get(config.dataset, **config.dataset_options)
        if config.latent == "normal":
            latent = distributions.StandardNormal(config.latent_dim)
        else:
            latent = distributions.UniformPrior(config.latent_dim)
        init = backend.Generator(backend.derive_seed(config.seed, INIT_KEY), "cpu")   # weights drawn on the host
        labels = data.n_modes if config.conditional else 0     # one-hot labels join both networks' inputs
        outputs = MMD_GAN_FEATURES if config.loss == "mmd-gan" else 1
        G = fast.FusedMLP(config.latent_dim + labels, list(config.g_hidden), data.dim, activation=config.g_activation,
                          generator=init, dtype=dtype).to(device)
        D = fast.FusedMLP(data.dim + labels, list(config.d_hidden), outputs, activation=config.d_activation,
                          generator=init, dtype=dtype).to(device)
        opt_G = _make_optimizer(config.optimizer, G.parameters(), config.lr_g, config.betas, compile)
        opt_D = _make_optimizer(config.optimizer, D.parameters(), config.lr_d, config.betas, compile)
        schedule = None
        if config.lr_drop_at is not None:
            schedule = LearningRateDrop(round(config.lr_drop_at * config.steps), config.lr_drop_factor)
        return cls(G, D, opt_G, opt_D, data, latent, loss=config.loss, penalty=config.penalty,
                   penalty_weight=config.penalty_weight, penalty_every=config.penalty_every, k=config.k,
                   batch_size=config.batch_size,
                   clip_value=config.clip_value, ema=config.ema, lr_schedule=schedule, seed=config.seed,
                   eval_every=config.eval_every, eval_samples=config.eval_samples, log_every=config.log_every,
                   checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every, config=config,
                   compile=compile, bandwidths=config.bandwidths, conditional=config.conditional)

    @classmethod
    def from_checkpoint(cls, path, device=None, checkpoint_every=None, steps=None):
        """Rebuild a trainer made by ``from_config`` from its checkpoint file and restore its state; ``train``
        then continues the run. device: where to continue (default: the device of the saved config). steps: a
        new length for the run (default: the saved config's); the learning-rate schedule follows it, so a run
        extended this way is the run that had the new length from the start only while neither length's
        learning-rate drop has been reached (``TrainConfig.same_first_steps``; the command line refuses the
        others). Raises ValueError for a file that is not such a checkpoint (see ``read_checkpoint``)."""
        state, config = read_checkpoint(path)
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
        check_int("Trainer.train", "steps", steps, minimum=0)
        if callback_every is not None:
            check_int("Trainer.train", "callback_every", callback_every, minimum=1)
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
        """One step of Algorithm 1 (k discriminator updates, one generator update, the weight average), with this
        step's random stream and learning rates; its numbers are left on the device as one pending row.

        The random numbers are drawn first (``_random_numbers``) and handed to ``_step``, which does the
        arithmetic: with compile=True that is a replay of its recording (tg.compile), which cannot
        draw random numbers or read Python numbers that change (the learning rates: a change re-records it)."""
        step = self.step + 1
        factor = 1.0 if self.lr_schedule is None else float(self.lr_schedule(step))
        for opt, initial in zip((self.opt_G, self.opt_D), self._initial_lrs):
            for group, lr in zip(opt.param_groups, initial):
                group["lr"] = lr * factor
        if self.compile and factor != self._recorded_factor:
            self._step_function.reset()
            self._recorded_factor = factor
        batches, generator_batch, penalized = self._random_numbers(step)
        ema_decay = None if self.G_ema is None else self._ema_decay(step)
        if ema_decay is not None and self.compile:   # a tensor, so that a replay reads this step's value
            ema_decay = tensor(ema_decay, dtype=backend.float64, device=self.device)
        row = self._step_function(batches, generator_batch, ema_decay, penalized)
        self._pending.append((step, row, self.opt_D.param_groups[0]["lr"], self.opt_G.param_groups[0]["lr"]))
        self.step = step

    def _random_numbers(self, step):
        """Every random number of step ``step``, from that step's own stream, in the order the updates use them.
        Returns three things: [(real, labels, z, t)], one per discriminator update; (real, labels, z) for the
        generator's update; and a tuple of bools saying which discriminator updates add the penalty."""
        generator = backend.Generator(backend.derive_seed(self.seed, STEP_KEY, step), self.device)
        batches, penalized = [], []
        d_steps = range((step - 1) * self.k + 1, step * self.k + 1) if self.trains_discriminator else ()
        for d_step in d_steps:
            real, labels = self._draw_data(self.batch_size, generator)
            z = _draw(self.latent, self.batch_size, generator, self.dtype)
            penalized.append(self.penalty is not None and d_step % self.penalty_every == 0)
            t = losses.interpolation_weights(real, generator) if penalized[-1] and self.penalty == "gp" else None
            batches.append((real, labels, z, t))
        z = _draw(self.latent, self.batch_size, generator, self.dtype)
        if self.trains_discriminator:   # G's step reuses the last real batch (and its labels)
            real, labels = batches[-1][:2]
        else:
            real, labels = self._draw_data(self.batch_size, generator)
        return batches, (real, labels, z), tuple(penalized)

    def _step(self, batches, generator_batch, ema_decay, penalized):
        """The arithmetic of one training step on given random numbers: [(real, labels, z, t)] for the
        discriminator updates (labels: a conditional run's one-hot labels of that real batch, given to G and D
        with it, else None; t: WGAN-GP's interpolation weights, or None), (real, labels, z) for the generator's,
        the EMA's decay (a float64 0-d tensor, or None), and which discriminator updates add the penalty. Returns
        the step's row of numbers (see _DEVICE_COLUMNS; only loss_g and grad_norm_g without a discriminator), on
        the device."""
        d_losses, penalties = [], []
        for (real, labels, z_d, t), with_penalty in zip(batches, penalized):
            G, D = self.players(labels)
            penalty = self._penalty(t) if with_penalty else None
            loss_d, penalty_d, real_out, fake_out = algorithm1.discriminator_step(
                G, D, self.opt_D, self.d_loss_fn, real, z_d, penalty, self.clip_value)
            d_losses.append(loss_d.detach())
            penalties.append(penalty_d.detach() if penalty_d is not None else zeros_like(loss_d))

        real, labels, z = generator_batch
        G, D = self.players(labels)
        if not self.trains_discriminator:   # GMMN, energy: G matches the data itself (labels joined to samples)
            loss_g = algorithm1.moment_matching_step(G, self.opt_G, self._sample_loss(labels), z, real)
        else:
            real_logits = None
            if self.loss in losses.RELATIVISTIC_LOSSES + ("mmd-gan",):   # they compare with D's output on real
                with no_grad():                                             # data (no graph: no G in it)
                    real_logits = D(real)
            loss_g = algorithm1.generator_step(G, D, self.opt_G, self.g_loss_fn, z, real_logits)
        grad_norm_g = _gradient_norm(self.G.parameters())
        if self.G_ema is not None:
            algorithm1.update_average(self.G_ema, self.G, ema_decay)

        if not self.trains_discriminator:
            return ops.stack([loss_g.detach(), grad_norm_g])
        grad_norm_d = _gradient_norm(self.D.parameters())   # of the last discriminator update
        with no_grad():
            if losses.d_output_kind(self.loss) == "probability":
                real_out, fake_out = ops.sigmoid(real_out), ops.sigmoid(fake_out)
            return ops.stack([ops.stack(d_losses).mean(), loss_g.detach(), ops.stack(penalties).mean(),
                              real_out.mean(), fake_out.mean(), grad_norm_d, grad_norm_g])

    def players(self, labels, G=None):
        """G and D as this step plays them: themselves, or for a conditional run G(z, y) and D(x, y) with the
        one-hot ``labels`` (batch, n_modes) given (GivenLabels). G: another generator (e.g. G_ema) in G's place."""
        G = self.G if G is None else G
        if labels is None:
            return G, self.D
        return GivenLabels(G, labels), GivenLabels(self.D, labels)

    def _sample_loss(self, labels):
        """The generator loss of GMMN / energy on samples; in a conditional run, on (sample, one-hot label) pairs,
        so that the kernel compares the joint distributions of samples and labels."""
        if labels is None:
            return self.g_loss_fn
        return lambda fake, real: self.g_loss_fn(_joined(fake, labels), _joined(real, labels))

    def _draw_data(self, n, generator):
        """A real batch and, for a conditional run, its one-hot labels (else None)."""
        if not self.conditional:
            return _draw(self.data, n, generator, self.dtype), None
        real, components = self.data.sample_with_components(n, generator, dtype=self.dtype)
        return real, distributions.one_hot(components, self.n_labels, self.dtype)

    def _penalty(self, t):
        """The penalty of a D step, as a function penalty(D, real, fake). With penalty_every = N > 1 it is applied
        on every N-th D step only, with N times the weight ("lazy regularization", Karras et al. 2020, StyleGAN2):
        the same penalty on average, for a fraction of the cost of its double backward. t: WGAN-GP's
        interpolation weights."""
        weight = self.penalty_weight * self.penalty_every
        if self.penalty == "r1":
            return lambda D, real, fake: losses.r1_penalty(D, real, gamma=weight)
        if self.penalty == "r2":
            return lambda D, real, fake: losses.r2_penalty(D, fake, gamma=weight)
        if self.loss == "mmd-gan":   # the critic is the witness of the features' MMD
            return lambda D, real, fake: losses.witness_penalty(D, real, fake, self.kernel, weight=weight, t=t)
        return lambda D, real, fake: losses.gradient_penalty(D, real, fake, weight=weight, t=t)

    def _ema_decay(self, step):
        """beta of G_ema <- beta G_ema + (1 - beta) G at this step: min(ema, (1 + step) / (10 + step)), a warm-up
        that keeps the average from being dominated by the random initial weights early in training."""
        return min(self.ema, (1.0 + step) / (10.0 + step))

    def _evaluates(self, step):
        return self.eval_every > 0 and step % self.eval_every == 0

    def _flush(self):
        """Bring the pending per-step numbers to the host in one transfer, check them and the parameters for
        NaN/inf, append them to the history, evaluate the metrics when due, and keep the state as last good."""
        if not self._pending:
            return
        values = ops.stack([row for _, row, _, _ in self._pending]).numpy().tolist()   # the one synchronisation
        first_bad = None
        columns = _DEVICE_COLUMNS if self.trains_discriminator else _GENERATOR_COLUMNS   # the rest stay NaN
        for (step, _, lr_d, lr_g), numbers in zip(self._pending, values):
            self.history.append({"step": step, **dict(zip(columns, numbers)), "lr_d": lr_d, "lr_g": lr_g})
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

    def sample(self, n, seed=None, label=None):
        """n samples (n, dim) from the sampling generator (G_ema if present), without a graph. seed: None uses
        the run's evaluation stream for the current step (so the same trainer state gives the same samples).
        label: a conditional run's mode k in [0, n_modes) to draw from (None: labels drawn with the mixture's
        weights); an unconditional run takes none."""
        check_int("Trainer.sample", "n", n, minimum=0)
        if label is not None and not self.conditional:
            raise ValueError(f"Trainer.sample: label={label!r} given to an unconditional run; labels need a run "
                             f"trained with conditional=True (tinygan train --conditional)")
        if label is not None:
            check_int("Trainer.sample", "label (a mode of the data)", label, minimum=0, maximum=self.n_labels - 1)
        if seed is None:
            seed = backend.derive_seed(self.seed, EVAL_KEY, self.step)
        generator = backend.Generator(seed, self.device)
        latent = _draw(self.latent, n, generator, self.dtype)
        G = self.sampling_generator
        if self.conditional:
            if label is None:
                components = self.data.sample_components(n, generator)
            else:
                components = tensor([label] * n, dtype=backend.int64, device=self.device)
            G, _ = self.players(distributions.one_hot(components, self.n_labels, self.dtype), G=G)
        with no_grad():
            return G(latent)

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
            # the bandwidth: the median distance among 1,000 evenly spaced points of the pooled 2n, a quarter of
            # the pairs of all of them (on trained and untrained rings it came within 0.3% of the median of all)
            bandwidth = metrics.median_heuristic(fake[:n], real[:n], max_points=1000)
            result["mmd2"] = metrics.mmd2_unbiased(fake[:n], real[:n], bandwidth=bandwidth)
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
        if self.compile:
            self._step_function.reset()   # the recordings hold the arrays this state replaced
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


TRAINER_STATE_KEYS = ("format", "step", "config", "G", "D", "opt_G", "opt_D", "history")
"""What every checkpoint of Trainer.save_checkpoint holds (and "G_ema" when the run has a weight average)."""


def read_checkpoint(path, device=None):
    """The state that ``Trainer.save_checkpoint`` wrote to ``path`` (tensors on ``device``) and the TrainConfig it
    holds: (state, config), the config not yet validated. Raises CheckpointError for a damaged file, and ValueError
    for one that is not a checkpoint of a trainer made by ``from_config`` (another program's safetensors, a list,
    a state without a config), naming the file and what is missing."""
    state = load(path, device=device)
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not the state of a trainer")
    missing = [key for key in TRAINER_STATE_KEYS if key not in state]
    if missing or state["format"] != "tinygan.train/1":
        raise ValueError(f"{path} is not the checkpoint of a trainer (format tinygan.train/1 with "
                         f"{', '.join(TRAINER_STATE_KEYS)}); it lacks {', '.join(missing) or 'the format'}")
    if not state["config"]:
        raise ValueError(f"Trainer.from_checkpoint: {path} holds no config (the trainer was not made by "
                         f"from_config); build the same trainer yourself and call load_checkpoint")
    try:
        config = TrainConfig.from_json(state["config"])
    except ValueError as error:
        raise ValueError(f"{path}: the config it holds cannot be read: {error}") from None
    return state, config


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

_GENERATOR_COLUMNS = ("loss_g", "grad_norm_g")
"""The columns of a step without a discriminator (gmmn, energy); the discriminator's stay NaN (not a number: there
is none)."""


class GivenLabels(Module):
    """A network of a conditional GAN with one batch of labels given: forward(x) = net(concatenate([x, y], axis=1)),
    y the one-hot labels (batch, n_labels). G(z, y) and D(x, y) of Mirza and Osindero (2014) this way are modules of
    one input, so Algorithm 1 and the penalties (which differentiate D with respect to x alone) use them as they
    are. Its parameters are net's; the labels are not a parameter."""

    def __init__(self, net, labels):
        super().__init__()
        self.net = net
        self.labels = labels

    def forward(self, x):
        return self.net(_joined(x, self.labels))


def _joined(x, labels):
    """(x, one-hot labels) side by side: (batch, dim + n_labels)."""
    return ops.concatenate([x, labels], axis=1)


def _draw(source, n, generator, dtype):
    """n samples from a Distribution (in ``dtype``) or from a sampler callable(n, generator)."""
    if isinstance(source, distributions.Distribution):
        return source.sample(n, generator=generator, dtype=dtype)
    return source(n, generator)


def _gradient_norm(parameters):
    """||(all gradients concatenated)||_2 as a 0-d tensor on the device (no host transfer).

    A number for the history, not part of the step: computed on the gradients' arrays, the same arithmetic as
    sqrt(sum_p sum(g_p * g_p)) in tinygan ops without recording or checking two ops per parameter."""
    grads = [p.grad.array for p in parameters if p.grad is not None]
    xp = backend.array_namespace(grads[0])
    squares = xp.stack([(grad * grad).sum() for grad in grads])
    return Tensor._make(backend.as_array(xp.sqrt(squares.sum())))


def _copied(state):
    return {name: value.clone() for name, value in state.items()}


def _make_optimizer(name, parameters, lr, betas, compile):
    if name == "adam":
        return optim.Adam(parameters, lr=lr, betas=tuple(betas), fused=True, capturable=compile)
    if name == "rmsprop":
        return optim.RMSprop(parameters, lr=lr, capturable=compile)
    return optim.SGD(parameters, lr=lr)
