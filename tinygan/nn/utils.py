"""Utilities for training GANs, as torch.nn.utils: spectral normalization, gradient-norm and weight clipping."""

from .. import init, ops
from ..factories import tensor, zeros
from ..autograd.grad_mode import no_grad
from .module import Module


class SpectralNorm(Module):
    """Wraps a module so that its weight W is used as W / sigma(W), sigma the largest singular value
    (Miyato et al. 2018, "Spectral Normalization for GANs"), which makes a layer 1-Lipschitz.

    sigma is estimated by power iteration: with W viewed as a matrix (shape[0], rest) and vectors u, v kept
    between calls (buffers weight_u, weight_v), each forward in training mode does
        v = normalize(W^T u),  u = normalize(W v)
    n_power_iterations times, then sigma = u^T W v. u and v are constants for the gradient (as in the paper and
    PyTorch), so dL/dW flows through W / sigma(W) with sigma's own dependence on W. In eval mode u and v are not
    updated. The trainable parameter is ``weight_orig``; the wrapped module's ``weight`` is recomputed each call.
    """

    def __init__(self, module, name="weight", n_power_iterations=1, eps=1e-12, generator=None):
        super().__init__()
        weight = getattr(module, name)
        if weight is None or weight.ndim < 2:
            raise ValueError(f"spectral_norm: {type(module).__name__}.{name} must be a matrix (at least 2 axes)")
        if n_power_iterations < 1:
            raise ValueError(f"spectral_norm: n_power_iterations must be at least 1, got {n_power_iterations}")
        self.module = module
        self.name = name
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        self.weight_orig = weight
        delattr(module, name)  # the module's weight becomes a computed tensor, not a parameter
        rows = weight.shape[0]
        cols = weight.numel() // rows
        # random starting vectors, drawn like initial weights (on the host, so a seed gives the same everywhere)
        u = init.normal_(zeros(rows, dtype=weight.dtype, device=weight.device), generator=generator)
        v = init.normal_(zeros(cols, dtype=weight.dtype, device=weight.device), generator=generator)
        self.register_buffer("weight_u", self._normalize(u))
        self.register_buffer("weight_v", self._normalize(v))
        setattr(module, name, self.normalized_weight().detach())

    def _normalize(self, vector):
        return vector / (ops.norm(vector) + self.eps)

    def normalized_weight(self):
        """W / sigma(W), updating the power-iteration vectors first in training mode."""
        matrix = self.weight_orig.reshape(self.weight_orig.shape[0], -1)
        if self.training:
            with no_grad():
                u, v = self.weight_u, self.weight_v
                for _ in range(self.n_power_iterations):
                    v = self._normalize(matrix.T @ u)
                    u = self._normalize(matrix @ v)
                self.weight_u.copy_(u)
                self.weight_v.copy_(v)
        # Clones: the buffers may be updated in place by the next forward before this graph's backward runs
        # (a GAN discriminator is called on real and fake batches before one backward).
        u, v = self.weight_u.clone(), self.weight_v.clone()
        sigma = (u * (matrix @ v)).sum()
        return self.weight_orig / sigma

    def forward(self, *args, **kwargs):
        setattr(self.module, self.name, self.normalized_weight())
        try:
            return self.module(*args, **kwargs)
        finally:
            # keep a value without graph between calls, so the module's weight holds no graph alive
            setattr(self.module, self.name, getattr(self.module, self.name).detach())

    def extra_repr(self):
        return f"name={self.name!r}, n_power_iterations={self.n_power_iterations}"


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, generator=None):
    """``module`` with its ``name`` weight spectrally normalised (see SpectralNorm): use the returned module in
    place of the original, e.g. tg.nn.Sequential(spectral_norm(tg.nn.Linear(2, 128)), tg.nn.ReLU(), ...)."""
    return SpectralNorm(module, name, n_power_iterations, eps, generator)


def _with_grads(parameters):
    parameters = [parameters] if hasattr(parameters, "grad") else list(parameters)
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, eps=1e-6):
    """Scale all gradients together so that their joint 2-norm is at most max_norm, in place.

    total = sqrt(sum over parameters of sum(grad^2));  each grad *= min(1, max_norm / (total + eps)).
    Returns ``total`` (before clipping) as a 0-d tensor, computed on the parameters' device without a host
    round trip (call .item() to print it).
    """
    parameters = [parameters] if hasattr(parameters, "grad") else list(parameters)
    with_grads = _with_grads(parameters)
    if not with_grads:  # nothing to clip: the norm of no gradients is 0, where the norm of some would be
        return zeros((), dtype=parameters[0].dtype, device=parameters[0].device) if parameters else tensor(0.0)
    with no_grad():
        total = ops.sqrt(sum((p.grad * p.grad).sum() for p in with_grads))
        scale = ops.minimum(max_norm / (total + eps), 1.0)
        for parameter in with_grads:
            parameter.grad.mul_(scale)
    return total


def clip_weights_(parameters, clip_value=0.01):
    """Clamp every parameter to [-clip_value, clip_value], in place: the original WGAN's way to keep the critic
    Lipschitz (Arjovsky et al. 2017, c = 0.01)."""
    parameters = [parameters] if hasattr(parameters, "grad") else list(parameters)
    with no_grad():
        for parameter in parameters:
            parameter.clamp_(-clip_value, clip_value)
    return parameters
