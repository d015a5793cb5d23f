"""LayerNorm: normalisation over each sample's last axes (the WGAN-GP paper's choice for critics)."""

from .. import ops
from .layers import _zeros
from .module import Module, Parameter


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, the statistics taken over the last axes
    (normalized_shape), per sample. The WGAN-GP paper recommends it over batch norm in critics, since a
    gradient penalty is taken per sample."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, *, dtype=None, device=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
            normalized_shape)
        self.eps = eps
        if elementwise_affine:
            self.weight = Parameter(_zeros(self.normalized_shape, dtype, device) + 1)
            self.bias = Parameter(_zeros(self.normalized_shape, dtype, device))
        else:
            self.weight = self.bias = None

    def forward(self, x):
        if tuple(x.shape[x.ndim - len(self.normalized_shape):]) != self.normalized_shape:
            raise ValueError(f"LayerNorm: input of shape {tuple(x.shape)} does not end with normalized_shape "
                             f"{self.normalized_shape}")
        axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        centered = x - x.mean(axis=axes, keepdims=True)
        normalized = centered / ops.sqrt((centered * centered).mean(axis=axes, keepdims=True) + self.eps)
        if self.weight is None:
            return normalized
        return normalized * self.weight + self.bias

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"
