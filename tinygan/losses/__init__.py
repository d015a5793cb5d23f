"""GAN objectives and penalties, on discriminator logits.

    import tinygan as tg
    from tinygan import losses

    real_logits, fake_logits = D(x_real), D(G(z).detach())
    loss_D = losses.discriminator_loss(real_logits, fake_logits, kind="nonsaturating")
    loss_D = loss_D + losses.r1_penalty(D, x_real, gamma=10.0)         # optional, differentiates through a gradient
    loss_G = losses.generator_loss(D(G(z)), kind="nonsaturating")

    d_loss, g_loss = losses.LOSSES["hinge"]                              # the pairs, by name (for a trainer or CLI)

The losses live in gan.py (minimax, non-saturating, hinge, Wasserstein), least_squares.py, relativistic.py (RSGAN,
RaGAN), fgan.py (f-GAN: one pair of losses per f-divergence) and penalties.py (WGAN-GP, R1, R2); this module holds
them by name. Conventions, the same for all:

- A discriminator (critic) returns one real number per sample, a *logit* l: D(x) = sigmoid(l) is its probability that
  x is real. Logits are Tensors of shape (batch,) or (batch, 1); they are flattened to (batch,) before use, so a
  (batch,) tensor and a (batch, 1) tensor never broadcast against each other into a (batch, batch) matrix.
- Every loss is a quantity to *minimise* and returns the batch mean, a 0-d tensor.
- No loss computes log(sigmoid(l)): with sigmoid(l) rounded to 0 or 1 that is -inf or NaN. They use
      log D(x)       = log sigmoid(l)      = logsigmoid(l)  = -softplus(-l)
      log(1 - D(x))  = log sigmoid(-l)     = logsigmoid(-l) = -softplus(l)
  whose forward and backward are finite for any finite l (tested to |l| = 1e4).
- Losses that combine real and fake logits elementwise (RSGAN) need equal batch sizes; the others average the real
  and the fake batch separately, so the batch sizes may differ.

The integral probability metrics (ipm.py: MMD^2 and its witness, the GMMN, MMD GAN and energy-distance objectives)
compare two samples of points or features rather than logits, so they are not in LOSSES; each takes its kernel
(tinygan/kernels.py):

    loss_G = losses.gmmn_generator_loss(G(z), real, tg.kernels.gaussian([0.5, 1.0, 2.0]))

Penalties (gradient_penalty, r1_penalty, r2_penalty) take the discriminator itself and samples, compute the gradient
of the discriminator with respect to its input with tg.grad(..., create_graph=True), and return a differentiable
function of that gradient: backward through a penalty is a double backward.

References: Goodfellow et al. 2014 (the minimax game and its non-saturating variant), Arjovsky et al. 2017 (WGAN),
Gulrajani et al. 2017 (WGAN-GP), Mao et al. 2017 (LSGAN), Lim & Ye 2017 / Miyato et al. 2018 (hinge loss),
Jolicoeur-Martineau 2018 (relativistic GANs), Mescheder et al. 2018 (R1 and R2 penalties, Dirac-GAN), Nowozin et
al. 2016 (f-GAN), Gretton et al. 2012, Li et al. 2015, Dziugaite et al. 2015, Li et al. 2017, Binkowski et al. 2018
and Bellemare et al. 2017 (MMD, GMMN, MMD GAN, energy distance).
"""

import functools

from ..nn.utils import clip_weights_
from .fgan import F_DIVERGENCES, FDivergence, fgan_discriminator_loss, fgan_generator_loss, fgan_losses
from .gan import (bce_discriminator_loss, hinge_discriminator_loss, hinge_generator_loss, minimax_generator_loss,
                  nonsaturating_generator_loss, wasserstein_critic_loss, wasserstein_discriminator_loss,
                  wasserstein_generator_loss)
from .ipm import (energy_generator_loss, gmmn_generator_loss, mmd, mmd2, mmd_critic_loss, mmd_generator_loss,
                  mmd_witness, witness_penalty)
from .least_squares import lsgan_discriminator_loss, lsgan_generator_loss
from .penalties import gradient_penalty, interpolation_weights, r1_penalty, r2_penalty
from .relativistic import (ragan_discriminator_loss, ragan_generator_loss, rsgan_discriminator_loss,
                           rsgan_generator_loss)

__all__ = [
    "bce_discriminator_loss", "nonsaturating_generator_loss", "minimax_generator_loss",
    "hinge_discriminator_loss", "hinge_generator_loss",
    "wasserstein_critic_loss", "wasserstein_discriminator_loss", "wasserstein_generator_loss", "clip_weights_",
    "lsgan_discriminator_loss", "lsgan_generator_loss",
    "rsgan_discriminator_loss", "rsgan_generator_loss", "ragan_discriminator_loss", "ragan_generator_loss",
    "gradient_penalty", "r1_penalty", "r2_penalty",
    "fgan_discriminator_loss", "fgan_generator_loss", "fgan_losses", "F_DIVERGENCES", "FDivergence",
    "mmd2", "mmd", "mmd_witness", "gmmn_generator_loss", "mmd_generator_loss", "mmd_critic_loss", "witness_penalty",
    "energy_generator_loss",
    "discriminator_loss", "generator_loss", "loss_pair", "LOSSES", "DISCRIMINATOR_LOSSES", "GENERATOR_LOSSES",
    "LOGIT_LOSSES", "RELATIVISTIC_LOSSES", "d_output_kind",
    "IPM_LOSSES", "DISCRIMINATOR_FREE_LOSSES", "TRAINING_LOSSES", "ipm_losses", "check_training_loss",
]


LOSSES = {
    "nonsaturating": (bce_discriminator_loss, nonsaturating_generator_loss),
    "minimax": (bce_discriminator_loss, minimax_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "wasserstein": (wasserstein_critic_loss, wasserstein_generator_loss),
    "lsgan": (lsgan_discriminator_loss, lsgan_generator_loss),
    "rsgan": (rsgan_discriminator_loss, rsgan_generator_loss),
    "ragan": (ragan_discriminator_loss, ragan_generator_loss),
    "fgan-kl": fgan_losses("kl"),
    "fgan-reverse-kl": fgan_losses("reverse-kl"),
    "fgan-pearson": fgan_losses("pearson"),
    "fgan-hellinger": fgan_losses("hellinger"),
    "fgan-js": fgan_losses("js"),
    "fgan-gan": fgan_losses("gan"),
    "fgan-tv": fgan_losses("tv"),
}
"""The GANs by name -> (d_loss(real_logits, fake_logits), g_loss(fake_logits, real_logits=None)). These names are
the one set every place takes: discriminator_loss, generator_loss, the Trainer's loss= and `tinygan train --loss`.
"nonsaturating" and "minimax" are the original GAN (the discriminator's BCE loss) with the two generator losses of
the paper. "wasserstein" needs a Lipschitz critic: clip_weights_ after each critic step, or add gradient_penalty.
"fgan-<divergence>" are the f-GAN's, one per divergence of fgan.F_DIVERGENCES (fgan-gan is the non-saturating GAN
written in the f-GAN's terms: the same numbers)."""

DISCRIMINATOR_LOSSES = {name: pair[0] for name, pair in LOSSES.items()}
"""GAN name -> its discriminator (critic) loss f(real_logits, fake_logits)."""

GENERATOR_LOSSES = {name: pair[1] for name, pair in LOSSES.items()}
"""GAN name -> its generator loss f(fake_logits, real_logits=None) (only the relativistic ones use real_logits)."""


def loss_pair(function_name, kind, argument="kind"):
    """LOSSES[kind], or a ValueError naming the function and its ``argument``, listing the names (and saying what
    "bce" is called here)."""
    if kind not in LOSSES:
        hint = (" (the discriminator's binary cross-entropy is the original GAN: 'nonsaturating', or 'minimax' for "
                "the paper's saturating generator loss)" if kind == "bce" else "")
        raise ValueError(f"{function_name}: unknown {argument} {kind!r}; choose one of "
                         f"{', '.join(map(repr, LOSSES))}{hint}")
    return LOSSES[kind]


def discriminator_loss(real_logits, fake_logits, kind="nonsaturating"):
    """The discriminator loss of the GAN ``kind`` (a name of LOSSES). Returns a 0-d tensor, the batch mean."""
    return loss_pair("discriminator_loss", kind)[0](real_logits, fake_logits)


def generator_loss(fake_logits, kind="nonsaturating", real_logits=None):
    """The generator loss of the GAN ``kind`` (a name of LOSSES); the relativistic kinds need real_logits.
    Returns a 0-d tensor, the batch mean."""
    return loss_pair("generator_loss", kind)[1](fake_logits, real_logits)


LOGIT_LOSSES = ("nonsaturating", "minimax", "rsgan", "ragan", "fgan-js", "fgan-gan")
"""Losses whose discriminator output is a logit: histories and pictures report sigmoid(logit), a probability. (The
optimal logit of fgan-js and fgan-gan is log(p_data / p_g), so sigmoid of it is D* = p_data / (p_data + p_g).)"""

RELATIVISTIC_LOSSES = ("rsgan", "ragan")
"""Losses whose generator loss also compares with the discriminator's output on real samples."""

IPM_LOSSES = ("gmmn", "mmd-gan", "energy")
"""The integral-probability-metric objectives a Trainer (and `tinygan train --loss`) takes beside LOSSES. They
compare samples, not logits, so they are not in LOSSES; ``ipm_losses(name, kernel)`` gives their pair.

- "gmmn": G minimises MMD(G(z), x) under a fixed kernel (gmmn_generator_loss); no discriminator.
- "mmd-gan": the discriminator is a critic h with several outputs, features; it maximises the unbiased MMD^2
  between h(x) and h(G(z)) (mmd_critic_loss), G minimises it (mmd_generator_loss); its "gp" penalty is the
  gradient penalty on the witness (witness_penalty, Binkowski et al. 2018).
- "energy": G minimises the energy distance to the data (energy_generator_loss); no discriminator."""

DISCRIMINATOR_FREE_LOSSES = ("gmmn", "energy")
"""Losses that train G alone: the Trainer makes no discriminator step for them (its D is left untouched)."""

TRAINING_LOSSES = tuple(LOSSES) + IPM_LOSSES
"""Every name a Trainer's loss= takes."""


def check_training_loss(owner, loss):
    """Raise ValueError, naming ``owner``, when ``loss`` is not a name of TRAINING_LOSSES."""
    if loss not in IPM_LOSSES:
        loss_pair(owner, loss, "loss")


def ipm_losses(name, kernel):
    """The pair (d_loss(real_features, fake_features) or None, g_loss(fake, real)) of the IPM objective ``name``
    (one of IPM_LOSSES) under ``kernel`` (a tg.kernels callable; "energy" always uses the distance kernel).
    d_loss is None for the objectives without a discriminator. For "mmd-gan" g_loss takes the critic's features
    h(G(z)) and h(x); for "gmmn" and "energy" the samples G(z) and x themselves."""
    if name == "gmmn":
        return None, functools.partial(gmmn_generator_loss, kernel=kernel)
    if name == "energy":
        return None, energy_generator_loss
    if name == "mmd-gan":
        return (functools.partial(mmd_critic_loss, kernel=kernel),
                functools.partial(mmd_generator_loss, kernel=kernel))
    raise ValueError(f"ipm_losses: unknown objective {name!r}; choose one of {', '.join(map(repr, IPM_LOSSES))}")


def d_output_kind(loss):
    """What the discriminator of ``loss`` outputs, as histories and pictures report it: "probability" (sigmoid of
    a logit) for the logit losses, "witness" for the IPM objectives (pictures show the MMD witness function; their
    histories have no discriminator numbers, or for mmd-gan the mean of the critic's features), "critic" (the raw
    value) for hinge, Wasserstein, least squares and the other f-GAN losses."""
    if loss in IPM_LOSSES:
        return "witness"
    return "probability" if loss in LOGIT_LOSSES else "critic"
