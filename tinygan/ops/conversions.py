"""Copies, dtypes and devices: clone, cast (float32 <-> float64, ...) and to_device, each differentiable."""

from .. import backend
from ..autograd import Function


class Clone(Function):
    """out = a copy of a with its own memory;  dL/da = g."""

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class Cast(Function):
    """out = a converted to ``dtype``;  dL/da = g converted back to a's dtype."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.input_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return cast(grad, ctx.input_dtype), None


class ToDevice(Function):
    """out = a copied to another device;  dL/da = g copied back to a's device."""

    @staticmethod
    def forward(ctx, a, device):
        ctx.input_device = backend.device_of(a)
        return backend.to_array(a, a.dtype, device)

    @staticmethod
    def backward(ctx, grad):
        return to_device(grad, ctx.input_device), None


def clone(a):
    """A copy of a with its own memory; gradients pass straight through."""
    return Clone.apply(a)


def cast(a, dtype):
    """a converted to ``dtype``; differentiable between float dtypes. ``a`` itself when it has that dtype."""
    dtype = backend.as_dtype(dtype)
    if a.array.dtype == dtype:
        return a
    if a.requires_grad and not backend.is_floating(dtype):
        raise TypeError(f"cast: a tensor that requires grad cannot be converted to {dtype}; use .detach() first")
    return Cast.apply(a, dtype)


def to_device(a, device):
    """a copied to ``device`` ("cpu" or "cuda"); differentiable. ``a`` itself when it is there already."""
    device = backend.as_device(device)
    if backend.device_of(a.array) == device:
        return a
    return ToDevice.apply(a, device)
