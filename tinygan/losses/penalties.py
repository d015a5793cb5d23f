"""Gradient penalties: each differentiates through a gradient of the discriminator with respect to its input
(tg.grad with create_graph=True), so backward through a penalty is a double backward.

References: Gulrajani et al. 2017 (WGAN-GP), Mescheder et al. 2018 (R1 and R2, and why they make the game
locally convergent).
"""

from .. import ops
from ..autograd import grad
from ..factories import rand, zeros_like
from .checks import check_samples, flat_logits


def _input_gradient(function_name, discriminator, x):
    """dD/dx for a batch x: the gradient of every sample's logit with respect to that sample, of shape x.shape, kept
    in the graph (create_graph=True) so that a penalty on it can be differentiated. An x that needs no gradient is
    replaced by a leaf that does (the caller's tensor is left as it is).

    Summing the logits before differentiating gives each sample's own gradient because a sample's logit depends on
    no other sample (true of per-sample networks such as MLPs; not of batch normalisation).
    """
    if not x.requires_grad:
        x = x.detach().requires_grad_()  # a leaf to differentiate with respect to
    logits = flat_logits(function_name, discriminator(x), "the discriminator's output")
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


def gradient_penalty(critic, real, fake, *, weight=10.0, generator=None, eps=1e-12, t=None):
    """WGAN-GP's penalty (Gulrajani et al. 2017) on random interpolates of real and fake samples:

        x_hat = t * real + (1 - t) * fake,          t ~ U(0, 1), one t per sample
        GP    = weight * mean_i (sqrt(sum_j (d critic(x_hat_i) / d x_hat_ij)^2 + eps) - 1)^2

    critic: a callable from a batch (batch, ...) to logits (batch,) or (batch, 1). real and fake: (batch, ...) of one
    shape, dtype and device. t is drawn from ``generator`` (a tg.Generator on the data's device; None uses that
    device's default generator), or given: a tensor of shape (batch, 1, ...) (a compiled training step draws it
    outside the step, since a replay cannot draw). The norm of each sample's gradient is taken over all its
    axes, with eps inside the square root so the penalty has a finite derivative where the gradient is 0.
    Returns a 0-d tensor, differentiable with respect to the critic's parameters (and to real and fake, where
    they require grad).
    For a linear critic f(x) = w.x + b it equals weight * (sqrt(||w||^2 + eps) - 1)^2 for every t.
    """
    name = "gradient_penalty"
    check_samples(name, real, "real")
    check_samples(name, fake, "fake")
    if real.shape != fake.shape:
        raise ValueError(f"{name}: real and fake must have the same shape to be interpolated, got real "
                         f"{tuple(real.shape)} and fake {tuple(fake.shape)}")
    if t is None:
        t = interpolation_weights(real, generator)
    elif t.shape != _weight_shape(real):
        raise ValueError(f"{name}: t must have shape {_weight_shape(real)} (one weight per sample), got "
                         f"{tuple(t.shape)}")
    x_hat = t * real + (1.0 - t) * fake
    gradient = _input_gradient(name, critic, x_hat)
    norm = ops.sqrt(_per_sample_squared_norm(gradient) + eps)
    return weight * ((norm - 1.0) ** 2).mean()


def r1_penalty(discriminator, real, *, gamma=10.0):
    """R1 (Mescheder et al. 2018): gamma / 2 * E_real[||grad_x D(x)||^2], D the logit, the norm over all of a
    sample's axes.

    discriminator: a callable from (batch, ...) to logits (batch,) or (batch, 1); real: (batch, ...). Added to the
    discriminator's loss, it pushes the gradient on the data to zero, which makes the GAN game locally convergent
    (see the Dirac-GAN tests). Returns a 0-d tensor differentiable with respect to the discriminator's parameters.
    """
    check_samples("r1_penalty", real, "real")
    gradient = _input_gradient("r1_penalty", discriminator, real)
    return 0.5 * gamma * _per_sample_squared_norm(gradient).mean()


def r2_penalty(discriminator, fake, *, gamma=10.0):
    """R2 (Mescheder et al. 2018): gamma / 2 * E_fake[||grad_x D(x)||^2], R1 on generated samples.

    discriminator: a callable from (batch, ...) to logits (batch,) or (batch, 1); fake: (batch, ...) (pass
    G(z).detach() for the discriminator's step). Returns a 0-d tensor.
    """
    check_samples("r2_penalty", fake, "fake")
    gradient = _input_gradient("r2_penalty", discriminator, fake)
    return 0.5 * gamma * _per_sample_squared_norm(gradient).mean()


def interpolation_weights(real, generator=None):
    """WGAN-GP's t ~ U(0, 1), one per sample, of shape (batch, 1, ...) to broadcast over a sample's other axes."""
    return rand(*_weight_shape(real), dtype=real.dtype, device=real.device, generator=generator)


def _weight_shape(real):
    """(batch, 1, ...): one interpolation weight per sample, broadcast over its other axes."""
    return (real.shape[0],) + (1,) * (real.ndim - 1)
