"""GAN objectives and penalties, on discriminator logits.

    import tinygan as tg
    from tinygan import losses

    real_logits, fake_logits = D(x_real), D(G(z).detach())
    loss_D = losses.discriminator_loss(real_logits, fake_logits, kind="nonsaturating")
    loss_D = loss_D + losses.r1_penalty(D, x_real, gamma=10.0)         # optional, differentiates through a gradient
    loss_G = losses.generator_loss(D(G(z)), kind="nonsaturating")

    d_loss, g_loss = losses.LOSSES["hinge"]                              # the pairs, by name (for a trainer or CLI)

The losses live in gan.py (minimax, non-saturating, hinge, Wasserstein), least_squares.py, relativistic.py (RSGAN,
RaGAN) and penalties.py (WGAN-GP, R1, R2); this module holds them by name. Conventions, the same for all:

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

Penalties (gradient_penalty, r1_penalty, r2_penalty) take the discriminator itself and samples, compute the gradient
of the discriminator with respect to its input with tg.grad(..., create_graph=True), and return a differentiable
function of that gradient: backward through a penalty is a double backward.

References: Goodfellow et al. 2014 (the minimax game and its non-saturating variant), Arjovsky et al. 2017 (WGAN),
Gulrajani et al. 2017 (WGAN-GP), Mao et al. 2017 (LSGAN), Lim & Ye 2017 / Miyato et al. 2018 (hinge loss),
Jolicoeur-Martineau 2018 (relativistic GANs), Mescheder et al. 2018 (R1 and R2 penalties, Dirac-GAN).
"""

from ..nn.utils import clip_weights_
from .gan import (bce_discriminator_loss, hinge_discriminator_loss, hinge_generator_loss, minimax_generator_loss,
                  nonsaturating_generator_loss, wasserstein_critic_loss, wasserstein_discriminator_loss,
                  wasserstein_generator_loss)
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
    "discriminator_loss", "generator_loss", "loss_pair", "LOSSES", "DISCRIMINATOR_LOSSES", "GENERATOR_LOSSES",
    "LOGIT_LOSSES", "RELATIVISTIC_LOSSES", "d_output_kind",
]


LOSSES = {
    "nonsaturating": (bce_discriminator_loss, nonsaturating_generator_loss),
    "minimax": (bce_discriminator_loss, minimax_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "wasserstein": (wasserstein_critic_loss, wasserstein_generator_loss),
    "lsgan": (lsgan_discriminator_loss, lsgan_generator_loss),
    "rsgan": (rsgan_discriminator_loss, rsgan_generator_loss),
    "ragan": (ragan_discriminator_loss, ragan_generator_loss),
}
"""The GANs by name -> (d_loss(real_logits, fake_logits), g_loss(fake_logits, real_logits=None)). These names are
the one set every place takes: discriminator_loss, generator_loss, the Trainer's loss= and `tinygan train --loss`.
"nonsaturating" and "minimax" are the original GAN (the discriminator's BCE loss) with the two generator losses of
the paper. "wasserstein" needs a Lipschitz critic: clip_weights_ after each critic step, or add gradient_penalty."""

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


LOGIT_LOSSES = ("nonsaturating", "minimax", "rsgan", "ragan")
"""Losses whose discriminator output is a logit: histories and pictures report sigmoid(logit), a probability."""

RELATIVISTIC_LOSSES = ("rsgan", "ragan")
"""Losses whose generator loss also compares with the discriminator's output on real samples."""


def d_output_kind(loss):
    """What the discriminator of ``loss`` outputs, as histories and pictures report it: "probability" (sigmoid of
    a logit) for the logit losses, "critic" (the raw value) for hinge, Wasserstein and least squares."""
    return "probability" if loss in LOGIT_LOSSES else "critic"
