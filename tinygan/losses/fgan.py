"""f-GAN (Nowozin, Cseke and Tomioka 2016): a GAN for every f-divergence, on discriminator logits.

    from tinygan import losses
    loss_D = losses.discriminator_loss(D(real), D(fake.detach()), kind="fgan-kl")
    loss_G = losses.generator_loss(D(fake), kind="fgan-kl")
    losses.fgan_discriminator_loss(real_logits, fake_logits, divergence="kl")      # the same, by divergence

Theory. An f-divergence is D_f(P || Q) = E_Q[f(p(x) / q(x))] for a convex f with f(1) = 0 (the paper's "gan" row
has f(1) = -log 4, hence its D_f = 2 JSD - log 4, which is -log 4 at P = Q). Its convex conjugate
f*(t) = sup_u (u t - f(u)) satisfies u t - f*(t) <= f(u) for all u and t (Fenchel-Young), with equality at
t = f'(u). Put u = p(x)/q(x), t = T(x) and take E_Q: for every function T,

    D_f(P || Q) >= E_P[T(x)] - E_Q[f*(T(x))],        with equality at T*(x) = f'(p(x) / q(x)).

So a discriminator that maximises the right-hand side estimates D_f, and a generator that then lowers it lowers
D_f. The discriminator outputs a logit v(x), any real number; an output activation g_f maps it into the domain of
f*, T = g_f(v). Here, with the logits of real (P, the data) and fake (Q, the generator) samples:

    discriminator loss  L_D = -(E_real[g_f(v)] - E_fake[f*(g_f(v))])       (minimised: the bound rises to D_f)
    generator loss      L_G = -E_fake[g_f(v)]

L_G is the paper's alternative generator objective (Section 3.2: maximise E_Q[g_f(V(G(z)))]), the f-GAN
analogue of the non-saturating GAN loss: for "gan" it is exactly -E log D(G(z)) = mean(softplus(-v)). (The
saddle-point form would have G minimise E_real[g_f(v)] - E_fake[f*(g_f(v))], i.e. maximise E_fake[f*(g_f(v))].)

The table (f from the paper's Table 1; g_f and f* from its Table 2), with f*(g_f(v)) written out in v so that no
intermediate rounds off (e.g. for "js", -log(2 - exp(t)) at t = log 2 - softplus(-v) would be log(0) for large v):

    name         f(u)                          g_f(v)                f*(g_f(v))            D_f(P || Q)
    kl           u log u                       v                     exp(v - 1)            KL(P || Q)
    reverse-kl   -log u                        -exp(-v)              v - 1                 KL(Q || P)
    pearson      (u - 1)^2                     v                     v^2 / 4 + v           E_Q[(p/q - 1)^2]
    hellinger    (sqrt(u) - 1)^2               1 - exp(-v)           exp(v) - 1            int (sqrt p - sqrt q)^2
    js           u log u - (u+1) log((u+1)/2)  log 2 - softplus(-v)  softplus(v) - log 2   2 JSD(P, Q)
    gan          u log u - (u+1) log(u+1)      -softplus(-v)         softplus(v)           2 JSD(P, Q) - log 4
    tv           |u - 1| / 2                   tanh(v) / 2           tanh(v) / 2           1/2 int |p - q|

Pearson is the chi^2 divergence, hellinger the squared Hellinger distance without the factor 1/2 (so at most 2),
js twice the Jensen-Shannon divergence JSD = (KL(P || M) + KL(Q || M)) / 2, M = (P + Q) / 2 (at most 2 log 2),
tv the total variation distance (at most 1); f* of tv is t on |t| <= 1/2. The optimal logits, from T* = f'(p/q),
with r(x) = log(p(x)/q(x)): kl 1 + r; reverse-kl r; pearson 2 (exp(r) - 1); hellinger r / 2; js and gan r (so
sigmoid(v*) = p/(p + q) = D*, as in the original GAN); tv +-infinity (T* = sign(r) / 2, approached as tanh
saturates). At P = Q they are f'(1) in T: every L_D is then -D_f = 0, except gan's log 4 (D_f = -log 4).

Numerics. The softplus forms (js, gan) and the bounded ones (tv) are finite, with finite gradients, for any finite
logit. The losses of kl, reverse-kl and hellinger contain exp(+-v): that is the objective itself, not a way of
computing it, and it is unbounded (kl's E_fake[exp(v - 1)] at v = 1e4 is e^9999). They overflow to +inf, never
NaN, once |v| passes about 88 (float32) or 709 (float64); a trainer's divergence check then stops the run. Their
optimal logits are 1 + r, r and r/2, moderate wherever the two densities overlap. pearson's is quadratic: finite
at 1e4 (2.5e7).
"""

import math
from typing import Callable, NamedTuple

from .. import ops
from .checks import flat_logits, logit_pair

LOG2 = math.log(2.0)


class FDivergence(NamedTuple):
    """One row of the f-GAN table: functions of tensors (f and conjugate for the theory, for u > 0 and t in the
    domain of f*; activation and conjugate_of_activation for the losses, for any logit v)."""

    f: Callable                          # f(u), the divergence's generator: D_f(P || Q) = E_Q[f(p/q)]
    conjugate: Callable                  # f*(t) = sup_u (u t - f(u)), on its domain
    activation: Callable                 # g_f(v): a logit into the domain of f*
    conjugate_of_activation: Callable    # f*(g_f(v)), written out in v (stable)


F_DIVERGENCES = {
    "kl": FDivergence(
        f=lambda u: u * ops.log(u),
        conjugate=lambda t: ops.exp(t - 1.0),
        activation=lambda v: v,
        conjugate_of_activation=lambda v: ops.exp(v - 1.0)),
    "reverse-kl": FDivergence(
        f=lambda u: -ops.log(u),
        conjugate=lambda t: -1.0 - ops.log(-t),                          # t < 0
        activation=lambda v: -ops.exp(-v),
        conjugate_of_activation=lambda v: v - 1.0),
    "pearson": FDivergence(
        f=lambda u: (u - 1.0) ** 2,
        conjugate=lambda t: t * t / 4.0 + t,
        activation=lambda v: v,
        conjugate_of_activation=lambda v: v * v / 4.0 + v),
    "hellinger": FDivergence(
        f=lambda u: (ops.sqrt(u) - 1.0) ** 2,
        conjugate=lambda t: t / (1.0 - t),                               # t < 1
        activation=lambda v: 1.0 - ops.exp(-v),
        conjugate_of_activation=lambda v: ops.exp(v) - 1.0),
    "js": FDivergence(
        f=lambda u: u * ops.log(u) - (u + 1.0) * ops.log((u + 1.0) / 2.0),
        conjugate=lambda t: -ops.log(2.0 - ops.exp(t)),                  # t < log 2
        activation=lambda v: LOG2 - ops.softplus(-v),
        conjugate_of_activation=lambda v: ops.softplus(v) - LOG2),
    "gan": FDivergence(
        f=lambda u: u * ops.log(u) - (u + 1.0) * ops.log(u + 1.0),
        conjugate=lambda t: -ops.log(1.0 - ops.exp(t)),                  # t < 0
        activation=lambda v: -ops.softplus(-v),
        conjugate_of_activation=lambda v: ops.softplus(v)),
    "tv": FDivergence(
        f=lambda u: ops.abs(u - 1.0) / 2.0,
        conjugate=lambda t: t,                                           # |t| <= 1/2
        activation=lambda v: ops.tanh(v) / 2.0,
        conjugate_of_activation=lambda v: ops.tanh(v) / 2.0),
}
"""The f-divergences of the f-GAN paper by name (the loss names are "fgan-" + these)."""


def f_divergence(function_name, divergence):
    """F_DIVERGENCES[divergence], or a ValueError naming the function and listing the names."""
    if divergence not in F_DIVERGENCES:
        raise ValueError(f"{function_name}: unknown divergence {divergence!r}; choose one of "
                         f"{', '.join(map(repr, F_DIVERGENCES))}")
    return F_DIVERGENCES[divergence]


def fgan_discriminator_loss(real_logits, fake_logits, divergence="kl"):
    """L_D = E_fake[f*(g_f(v))] - E_real[g_f(v)], minus the f-GAN's variational lower bound of D_f(P_real || Q_fake).

    real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1); divergence: a name of F_DIVERGENCES. Returns a 0-d
    tensor; at the optimal logits (see the module docstring) it is -D_f.
    """
    name = f"fgan_discriminator_loss (divergence {divergence!r})"
    row = f_divergence(name, divergence)
    real, fake = logit_pair(name, real_logits, fake_logits)
    return row.conjugate_of_activation(fake).mean() - row.activation(real).mean()


def fgan_generator_loss(fake_logits, real_logits=None, divergence="kl"):
    """L_G = -E_fake[g_f(v)], the f-GAN paper's alternative (non-saturating) generator objective.

    fake_logits (m,) or (m, 1); real_logits is not used (accepted so every generator loss has one signature);
    divergence: a name of F_DIVERGENCES. Returns a 0-d tensor.
    """
    name = f"fgan_generator_loss (divergence {divergence!r})"
    row = f_divergence(name, divergence)
    return -row.activation(flat_logits(name, fake_logits, "fake_logits")).mean()


def fgan_losses(divergence):
    """The pair (discriminator loss, generator loss) of one divergence, with the signatures of tinygan.losses.LOSSES:
    d_loss(real_logits, fake_logits) and g_loss(fake_logits, real_logits=None), named after the divergence (the
    names are what `tinygan list` prints)."""
    f_divergence("fgan_losses", divergence)

    def d_loss(real_logits, fake_logits):
        return fgan_discriminator_loss(real_logits, fake_logits, divergence=divergence)

    def g_loss(fake_logits, real_logits=None):
        return fgan_generator_loss(fake_logits, real_logits, divergence=divergence)

    d_loss.__name__ = d_loss.__qualname__ = f"fgan_discriminator_loss(divergence={divergence!r})"
    g_loss.__name__ = g_loss.__qualname__ = f"fgan_generator_loss(divergence={divergence!r})"
    d_loss.__doc__, g_loss.__doc__ = fgan_discriminator_loss.__doc__, fgan_generator_loss.__doc__
    return d_loss, g_loss
