"""GAN objectives and penalties, on discriminator logits.

    import tinygan as tg
    from tinygan import losses

    real_logits, fake_logits = D(x_real), D(G(z).detach())
    loss_D = losses.discriminator_loss(real_logits, fake_logits, kind="bce")
    loss_D = loss_D + losses.r1_penalty(D, x_real, gamma=10.0)         # optional, differentiates through a gradient
    loss_G = losses.generator_loss(D(G(z)), kind="nonsaturating")

    d_loss, g_loss = losses.LOSSES["hinge"]                              # the pairs, by name (for a trainer or CLI)

Conventions, the same for every function here:

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

from . import backend, ops
from .autograd import grad
from .nn.utils import clip_weights_
from .tensor import Tensor, rand, zeros_like

__all__ = [
    "bce_discriminator_loss", "nonsaturating_generator_loss", "minimax_generator_loss",
    "hinge_discriminator_loss", "hinge_generator_loss",
    "wasserstein_critic_loss", "wasserstein_discriminator_loss", "wasserstein_generator_loss", "clip_weights_",
    "lsgan_discriminator_loss", "lsgan_generator_loss",
    "rsgan_discriminator_loss", "rsgan_generator_loss", "ragan_discriminator_loss", "ragan_generator_loss",
    "gradient_penalty", "r1_penalty", "r2_penalty",
    "discriminator_loss", "generator_loss", "LOSSES", "DISCRIMINATOR_LOSSES", "GENERATOR_LOSSES",
]


# ---------------------------------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------------------------------


def _checked_logits(function_name, logits, argument="logits"):
    """``logits`` as given, after checking it is a float Tensor of shape (batch,) or (batch, 1), batch > 0."""
    if not isinstance(logits, Tensor):
        raise TypeError(f"{function_name}: {argument} must be a tinygan Tensor of shape (batch,) or (batch, 1), "
                        f"got {type(logits).__name__}")
    if not backend.is_floating(logits.dtype):
        raise TypeError(f"{function_name}: {argument} must be a floating-point tensor, got {logits.dtype}")
    shape = tuple(logits.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise ValueError(f"{function_name}: {argument} must have shape (batch,) or (batch, 1), one logit per sample, "
                         f"got {shape}")
    if shape[0] == 0:
        raise ValueError(f"{function_name}: {argument} is an empty batch (shape {shape}); the mean of no samples "
                         f"is undefined")
    return logits


def _logits(function_name, logits, argument="logits"):
    """``logits`` checked as by _checked_logits and flattened to (batch,), for losses that combine logits
    elementwise (a (batch,) and a (batch, 1) tensor must not broadcast into a (batch, batch) matrix)."""
    logits = _checked_logits(function_name, logits, argument)
    return logits.reshape(logits.shape[0]) if logits.ndim == 2 else logits


def _pair(function_name, real_logits, fake_logits, same_batch=False):
    """Both logit tensors as (batch,) tensors; with same_batch, their batch sizes must match."""
    real = _logits(function_name, real_logits, "real_logits")
    fake = _logits(function_name, fake_logits, "fake_logits")
    if same_batch and real.shape != fake.shape:
        raise ValueError(f"{function_name}: compares each real logit with one fake logit, so the batches must have "
                         f"equal sizes; got real_logits of shape {tuple(real_logits.shape)} and fake_logits of "
                         f"shape {tuple(fake_logits.shape)}")
    return real, fake


def _needs_real(function_name, real_logits):
    if real_logits is None:
        raise ValueError(f"{function_name}: a relativistic generator loss compares fake with real logits; pass "
                         f"real_logits (the discriminator's logits on a real batch)")


# ---------------------------------------------------------------------------------------------------------------
# the original GAN (Goodfellow et al. 2014)
# ---------------------------------------------------------------------------------------------------------------


def bce_discriminator_loss(real_logits, fake_logits):
    """The discriminator's binary cross-entropy, -V(D, G) of the GAN game:

        L_D = -E_real[log D(x)] - E_fake[log(1 - D(G(z)))]
            = mean(softplus(-real_logits)) + mean(softplus(fake_logits))

    real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1); returns a 0-d tensor. Minimising it maximises V; the
    optimum for a fixed G is D*(x) = p_data(x) / (p_data(x) + p_g(x)), where L_D = log 4 - 2 JSD(p_data || p_g),
    so log 4 when p_g = p_data (every logit 0).
    """
    # each term is one fused node, mean(softplus(-l)) and mean(softplus(l)); a mean over (n,) or (n, 1) is the same
    real = _checked_logits("bce_discriminator_loss", real_logits, "real_logits")
    fake = _checked_logits("bce_discriminator_loss", fake_logits, "fake_logits")
    return ops.binary_cross_entropy_with_logits(real, 1.0) + ops.binary_cross_entropy_with_logits(fake, 0.0)


def nonsaturating_generator_loss(fake_logits, real_logits=None):
    """The non-saturating generator loss (the one the GAN paper recommends in practice):

        L_G = -E_fake[log D(G(z))] = mean(softplus(-fake_logits))

    fake_logits (m,) or (m, 1); real_logits is not used (accepted so every generator loss has one signature).
    dL/dl = -sigmoid(-l) / m: close to -1/m for a fake that D rejects confidently (l << 0), so G keeps learning.
    log 2 at logit 0.
    """
    fake = _checked_logits("nonsaturating_generator_loss", fake_logits, "fake_logits")
    return ops.binary_cross_entropy_with_logits(fake, 1.0)  # one fused node for mean(softplus(-l))


def minimax_generator_loss(fake_logits, real_logits=None):
    """The minimax (saturating) generator loss, G's side of min_G max_D V(D, G):

        L_G = E_fake[log(1 - D(G(z)))] = mean(logsigmoid(-fake_logits)) = -mean(softplus(fake_logits))

    fake_logits (m,) or (m, 1); real_logits is not used. dL/dl = -sigmoid(l) / m: it vanishes for a fake that D
    rejects confidently (about 4.5e-5 at l = -10), which is why it saturates early in training. -log 2 at logit 0.
    """
    fake = _checked_logits("minimax_generator_loss", fake_logits, "fake_logits")
    return -ops.binary_cross_entropy_with_logits(fake, 0.0)  # -mean(softplus(l)), a fused node and a negation


# ---------------------------------------------------------------------------------------------------------------
# hinge (Lim & Ye 2017; Miyato et al. 2018)
# ---------------------------------------------------------------------------------------------------------------


def hinge_discriminator_loss(real_logits, fake_logits):
    """L_D = E_real[relu(1 - l_real)] + E_fake[relu(1 + l_fake)].

    real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1); a 0-d tensor. 2 at logit 0.
    """
    real, fake = _pair("hinge_discriminator_loss", real_logits, fake_logits)
    return ops.relu(1.0 - real).mean() + ops.relu(1.0 + fake).mean()


def hinge_generator_loss(fake_logits, real_logits=None):
    """L_G = -E_fake[l_fake].  fake_logits (m,) or (m, 1); real_logits is not used."""
    return -_logits("hinge_generator_loss", fake_logits, "fake_logits").mean()


# ---------------------------------------------------------------------------------------------------------------
# Wasserstein (Arjovsky et al. 2017)
# ---------------------------------------------------------------------------------------------------------------


def wasserstein_critic_loss(real_logits, fake_logits):
    """L_critic = E_fake[f(G(z))] - E_real[f(x)], f the critic (its outputs are scores, not probabilities).

    Minimising it maximises E_real[f] - E_fake[f], which estimates the Wasserstein-1 distance (up to a constant
    factor) when f is kept Lipschitz: by weight clipping after each critic step (``clip_weights_(critic.parameters(),
    0.01)``, the paper's c = 0.01), by ``gradient_penalty`` (WGAN-GP) or by spectral normalisation.
    real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1); a 0-d tensor. 0 when the scores agree.
    """
    real, fake = _pair("wasserstein_critic_loss", real_logits, fake_logits)
    return fake.mean() - real.mean()


wasserstein_discriminator_loss = wasserstein_critic_loss


def wasserstein_generator_loss(fake_logits, real_logits=None):
    """L_G = -E_fake[f(G(z))].  fake_logits (m,) or (m, 1); real_logits is not used."""
    return -_logits("wasserstein_generator_loss", fake_logits, "fake_logits").mean()


# ---------------------------------------------------------------------------------------------------------------
# least squares (Mao et al. 2017)
# ---------------------------------------------------------------------------------------------------------------


def lsgan_discriminator_loss(real_logits, fake_logits, a=0.0, b=1.0):
    """L_D = 1/2 E_real[(D(x) - b)^2] + 1/2 E_fake[(D(G(z)) - a)^2], with the fake label a = 0, real label b = 1.

    As in the paper, D here is the discriminator's raw output (its last layer without a sigmoid): pass the logits
    as they are. real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1); a 0-d tensor. The optimal output for a
    fixed G is D*(x) = (b p_data + a p_g) / (p_data + p_g), so 1/2 when p_g = p_data, where L_D = 0.25.
    """
    real, fake = _pair("lsgan_discriminator_loss", real_logits, fake_logits)
    return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()


def lsgan_generator_loss(fake_logits, real_logits=None, c=1.0):
    """L_G = 1/2 E_fake[(D(G(z)) - c)^2], c = 1 (the generator wants its samples labelled real).

    fake_logits (m,) or (m, 1), raw outputs as in lsgan_discriminator_loss; real_logits is not used. 0.125 at the
    equilibrium output 1/2.
    """
    fake = _logits("lsgan_generator_loss", fake_logits, "fake_logits")
    return 0.5 * ((fake - c) ** 2).mean()


# ---------------------------------------------------------------------------------------------------------------
# relativistic (Jolicoeur-Martineau 2018)
# ---------------------------------------------------------------------------------------------------------------


def rsgan_discriminator_loss(real_logits, fake_logits):
    """Relativistic standard GAN, D: the probability that a real sample is more realistic than a paired fake one.

        L_D = -E[log sigmoid(l_real - l_fake)] = mean(softplus(-(real_logits - fake_logits)))

    real_logits and fake_logits (n,) or (n, 1) with the same n (sample i of one batch is paired with sample i of
    the other); a 0-d tensor. log 2 when the logits agree.
    """
    real, fake = _pair("rsgan_discriminator_loss", real_logits, fake_logits, same_batch=True)
    return ops.softplus(fake - real).mean()


def rsgan_generator_loss(fake_logits, real_logits=None):
    """Relativistic standard GAN, G: L_G = -E[log sigmoid(l_fake - l_real)] = mean(softplus(real_logits - fake_logits)).

    fake_logits and real_logits (n,) or (n, 1) with the same n; real_logits is required. log 2 when they agree.
    """
    _needs_real("rsgan_generator_loss", real_logits)
    real, fake = _pair("rsgan_generator_loss", real_logits, fake_logits, same_batch=True)
    return ops.softplus(real - fake).mean()


def ragan_discriminator_loss(real_logits, fake_logits):
    """Relativistic average GAN (RaSGAN), D: each sample is compared with the mean logit of the other batch.

        L_D = -E_real[log sigmoid(l_real - mean(l_fake))] - E_fake[log(1 - sigmoid(l_fake - mean(l_real)))]
            = mean(softplus(mean(l_fake) - l_real)) + mean(softplus(l_fake - mean(l_real)))

    real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1) (n and m may differ); a 0-d tensor. log 4 when all the
    logits agree.
    """
    real, fake = _pair("ragan_discriminator_loss", real_logits, fake_logits)
    return ops.softplus(fake.mean() - real).mean() + ops.softplus(fake - real.mean()).mean()


def ragan_generator_loss(fake_logits, real_logits=None):
    """Relativistic average GAN, G: the discriminator's loss with the roles of real and fake exchanged.

        L_G = -E_fake[log sigmoid(l_fake - mean(l_real))] - E_real[log(1 - sigmoid(l_real - mean(l_fake)))]
            = mean(softplus(mean(l_real) - l_fake)) + mean(softplus(l_real - mean(l_fake)))

    fake_logits (m,) or (m, 1), real_logits (n,) or (n, 1), required; a 0-d tensor. log 4 when all agree.
    """
    _needs_real("ragan_generator_loss", real_logits)
    real, fake = _pair("ragan_generator_loss", real_logits, fake_logits)
    return ops.softplus(real.mean() - fake).mean() + ops.softplus(real - fake.mean()).mean()


# ---------------------------------------------------------------------------------------------------------------
# by name
# ---------------------------------------------------------------------------------------------------------------

DISCRIMINATOR_LOSSES = {
    "bce": bce_discriminator_loss,
    "hinge": hinge_discriminator_loss,
    "wasserstein": wasserstein_critic_loss,
    "lsgan": lsgan_discriminator_loss,
    "rsgan": rsgan_discriminator_loss,
    "ragan": ragan_discriminator_loss,
}
"""kind -> discriminator loss f(real_logits, fake_logits)."""

GENERATOR_LOSSES = {
    "nonsaturating": nonsaturating_generator_loss,
    "minimax": minimax_generator_loss,
    "hinge": hinge_generator_loss,
    "wasserstein": wasserstein_generator_loss,
    "lsgan": lsgan_generator_loss,
    "rsgan": rsgan_generator_loss,
    "ragan": ragan_generator_loss,
}
"""kind -> generator loss f(fake_logits, real_logits=None) (only the relativistic ones use real_logits)."""

LOSSES = {
    "nonsaturating": (bce_discriminator_loss, nonsaturating_generator_loss),
    "minimax": (bce_discriminator_loss, minimax_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "wasserstein": (wasserstein_critic_loss, wasserstein_generator_loss),
    "lsgan": (lsgan_discriminator_loss, lsgan_generator_loss),
    "rsgan": (rsgan_discriminator_loss, rsgan_generator_loss),
    "ragan": (ragan_discriminator_loss, ragan_generator_loss),
}
"""GAN name -> (d_loss(real_logits, fake_logits), g_loss(fake_logits, real_logits=None)), for a trainer or CLI.
"wasserstein" needs a Lipschitz critic: clip_weights_ after each critic step, or add gradient_penalty."""


def _lookup(function_name, table, kind):
    if kind not in table:
        raise ValueError(f"{function_name}: unknown kind {kind!r}; choose one of {', '.join(map(repr, table))}")
    return table[kind]


def discriminator_loss(real_logits, fake_logits, kind="bce"):
    """The discriminator loss of ``kind``: "bce", "hinge", "wasserstein", "lsgan", "rsgan" or "ragan" (see the
    functions in DISCRIMINATOR_LOSSES). Returns a 0-d tensor, the batch mean."""
    return _lookup("discriminator_loss", DISCRIMINATOR_LOSSES, kind)(real_logits, fake_logits)


def generator_loss(fake_logits, kind="nonsaturating", real_logits=None):
    """The generator loss of ``kind``: "nonsaturating", "minimax", "hinge", "wasserstein", "lsgan", "rsgan" or
    "ragan" (see GENERATOR_LOSSES); the relativistic kinds need real_logits. Returns a 0-d tensor."""
    return _lookup("generator_loss", GENERATOR_LOSSES, kind)(fake_logits, real_logits)


# ---------------------------------------------------------------------------------------------------------------
# penalties: each differentiates through a gradient of the discriminator (double backward)
# ---------------------------------------------------------------------------------------------------------------


def _check_samples(function_name, samples, argument):
    if not isinstance(samples, Tensor):
        raise TypeError(f"{function_name}: {argument} must be a tinygan Tensor of shape (batch, ...), got "
                        f"{type(samples).__name__}")
    if samples.ndim < 1 or samples.shape[0] == 0 or not backend.is_floating(samples.dtype):
        raise ValueError(f"{function_name}: {argument} must be a non-empty float batch of shape (batch, ...), got "
                         f"shape {tuple(samples.shape)} and dtype {samples.dtype}")


def _input_gradient(function_name, discriminator, x):
    """dD/dx for a batch x: the gradient of every sample's logit with respect to that sample, of shape x.shape, kept
    in the graph (create_graph=True) so that a penalty on it can be differentiated. An x that needs no gradient is
    replaced by a leaf that does (the caller's tensor is left as it is).

    Summing the logits before differentiating gives each sample's own gradient because a sample's logit depends on
    no other sample (true of per-sample networks such as MLPs; not of batch normalisation).
    """
    if not x.requires_grad:
        x = x.detach().requires_grad_()  # a leaf to differentiate with respect to
    logits = _logits(function_name, discriminator(x), "the discriminator's output")
    if logits.shape[0] != x.shape[0]:
        raise ValueError(f"{function_name}: the discriminator returned {logits.shape[0]} logits for a batch of "
                         f"{x.shape[0]} samples; it must return one logit per sample")
    (gradient,) = grad(logits.sum(), [x], create_graph=True, allow_unused=True)
    if gradient is None:  # a discriminator that ignores its input has a zero gradient
        gradient = zeros_like(x)
    return gradient


def _per_sample_squared_norm(gradient):
    """sum of gradient^2 over every axis but the batch axis: shape (batch,)."""
    return (gradient * gradient).reshape(gradient.shape[0], -1).sum(axis=1)


def gradient_penalty(critic, real, fake, generator=None, weight=10.0, eps=1e-12):
    """WGAN-GP's penalty (Gulrajani et al. 2017) on random interpolates of real and fake samples:

        x_hat = t * real + (1 - t) * fake,          t ~ U(0, 1), one t per sample
        GP    = weight * mean_i (sqrt(sum_j (d critic(x_hat_i) / d x_hat_ij)^2 + eps) - 1)^2

    critic: a callable from a batch (batch, ...) to logits (batch,) or (batch, 1). real and fake: (batch, ...) of one
    shape, dtype and device. t is drawn from ``generator`` (a tg.Generator on the data's device; None uses that
    device's default generator). The norm of each sample's gradient is taken over all its axes, with eps inside
    the square root so the penalty has a finite derivative where the gradient is 0. Returns a 0-d tensor,
    differentiable with respect to the critic's parameters (and to real and fake, where they require grad).
    For a linear critic f(x) = w.x + b it equals weight * (sqrt(||w||^2 + eps) - 1)^2 for every t.
    """
    name = "gradient_penalty"
    _check_samples(name, real, "real")
    _check_samples(name, fake, "fake")
    if real.shape != fake.shape:
        raise ValueError(f"{name}: real and fake must have the same shape to be interpolated, got real "
                         f"{tuple(real.shape)} and fake {tuple(fake.shape)}")
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)  # one t per sample, broadcast over its other axes
    t = rand(*shape, dtype=real.dtype, device=real.device, generator=generator)
    x_hat = t * real + (1.0 - t) * fake
    gradient = _input_gradient(name, critic, x_hat)
    norm = ops.sqrt(_per_sample_squared_norm(gradient) + eps)
    return weight * ((norm - 1.0) ** 2).mean()


def r1_penalty(discriminator, real, gamma=10.0):
    """R1 (Mescheder et al. 2018): gamma / 2 * E_real[||grad_x D(x)||^2], D the logit, the norm over all of a
    sample's axes.

    discriminator: a callable from (batch, ...) to logits (batch,) or (batch, 1); real: (batch, ...). Added to the
    discriminator's loss, it pushes the gradient on the data to zero, which makes the GAN game locally convergent
    (see the Dirac-GAN tests). Returns a 0-d tensor differentiable with respect to the discriminator's parameters.
    """
    _check_samples("r1_penalty", real, "real")
    gradient = _input_gradient("r1_penalty", discriminator, real)
    return 0.5 * gamma * _per_sample_squared_norm(gradient).mean()


def r2_penalty(discriminator, fake, gamma=10.0):
    """R2 (Mescheder et al. 2018): gamma / 2 * E_fake[||grad_x D(x)||^2], R1 on generated samples.

    discriminator: a callable from (batch, ...) to logits (batch,) or (batch, 1); fake: (batch, ...) (pass
    G(z).detach() for the discriminator's step). Returns a 0-d tensor.
    """
    _check_samples("r2_penalty", fake, "fake")
    gradient = _input_gradient("r2_penalty", discriminator, fake)
    return 0.5 * gamma * _per_sample_squared_norm(gradient).mean()
