"""More reductions, written like those in basic.py: max, min, norm, var, std, logsumexp; and the ones without a
gradient (argmax, argmin, any, all)."""

import collections

from ..autograd import Function, TensorBase
from . import basic
from .arguments import (as_float, constant, is_integer, kept_shape, normalize_axes, product, pytorch_or_numpy_axis,
                        xp_of)
from .elementwise import maximum, minimum, sqrt, where


class Max(Function):
    """out = max of a over axes;  dL/da = g at the positions that hold the max, shared equally among ties."""

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        return _extremum_forward(ctx, a, a.max(axis=axes, keepdims=keepdims), axes)

    @staticmethod
    def backward(ctx, grad):
        return _extremum_backward(ctx, grad), None, None


class Min(Function):
    """out = min of a over axes;  dL/da = g at the positions that hold the min, shared equally among ties."""

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        return _extremum_forward(ctx, a, a.min(axis=axes, keepdims=keepdims), axes)

    @staticmethod
    def backward(ctx, grad):
        return _extremum_backward(ctx, grad), None, None


def _extremum_forward(ctx, a, out, axes):
    ctx.axes = axes
    ctx.save_for_backward(a, out)
    return out


def _extremum_backward(ctx, grad):
    a, out = ctx.saved_tensors
    kept = kept_shape(a.shape, ctx.axes)
    hits = (a.array == out.array.reshape(kept)).astype(a.dtype)
    share = hits / hits.sum(axis=ctx.axes, keepdims=True)
    return grad.reshape(kept) * constant(a, share)


class Norm(Function):
    """out = sqrt(sum of a^2 over axes), the 2-norm;  dL/da = g * a / out, taken as 0 where out = 0.

    At a = 0 the norm has no derivative; we return the subgradient 0 (finite, as PyTorch does) instead of
    0/0 = NaN. Gradient penalties that need a smooth norm add an epsilon inside the square root themselves.
    """

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        xp = xp_of(a)
        out = xp.sqrt(xp.sum(a * a, axis=axes, keepdims=keepdims))
        ctx.axes = axes
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        kept = kept_shape(a.shape, ctx.axes)
        out = out.reshape(kept)
        safe_out = out + constant(a, (out.array == 0).astype(out.dtype))  # out where out > 0, else 1
        return grad.reshape(kept) * a / safe_out, None, None


def var(a, axis=None, ddof=0, keepdims=False, *, dim=None, keepdim=None, correction=None, unbiased=None):
    """Variance over ``axis``: sum((a - mean)^2) / (n - ddof). ddof=0, the population variance, is NumPy's default;
    PyTorch's default is the sample variance, ddof=1, which its spellings ask for: ``correction=1`` or
    ``unbiased=True`` (and PyTorch's dim= and keepdim=)."""
    axis, keepdims = pytorch_or_numpy_axis("var", axis, keepdims, dim, keepdim)
    ddof = _degrees_of_freedom(ddof, correction, unbiased)
    a = as_float(a)
    axes = normalize_axes("var", axis, a.ndim)
    count = a.numel() if axes is None else product([a.shape[i] for i in axes])
    centered = a - basic.mean(a, axes, keepdims=True)
    return basic.sum(centered * centered, axes, keepdims) / (count - ddof)


def std(a, axis=None, ddof=0, keepdims=False, *, dim=None, keepdim=None, correction=None, unbiased=None):
    """Standard deviation: sqrt(var(a, axis, ddof)); the arguments as for var."""
    return sqrt(var(a, axis, ddof, keepdims, dim=dim, keepdim=keepdim, correction=correction, unbiased=unbiased))


def _degrees_of_freedom(ddof, correction, unbiased):
    if correction is not None:
        return correction
    if unbiased is not None:
        return 1 if unbiased else 0
    return ddof


MaxMin = collections.namedtuple("MaxMin", ["values", "indices"])
"""What max(a, dim) and min(a, dim) return, as PyTorch's torch.max(input, dim): the values and their indices."""


def max(a, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """The largest values of ``a``, in PyTorch's three forms and NumPy's:

        max(a)                    the largest element (0-d)
        max(a, dim, keepdim)      (values, indices) along dim (a named tuple, as torch.max)
        max(a, other)             the elementwise maximum of two tensors (as torch.max(input, other))
        max(a, axis=1)            the values along axis only, as numpy.max

    The gradient goes to the positions that hold the max, shared equally among ties."""
    return _extremum("max", Max, argmax, elementwise=maximum, a=a, dim=dim, keepdim=keepdim, axis=axis,
                     keepdims=keepdims)


def min(a, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """The smallest values of ``a``: max's forms, for the minimum."""
    return _extremum("min", Min, argmin, elementwise=minimum, a=a, dim=dim, keepdim=keepdim, axis=axis,
                     keepdims=keepdims)


def _extremum(op_name, function, arg_function, elementwise, a, dim, keepdim, axis, keepdims):
    if isinstance(dim, TensorBase):
        return elementwise(a, dim)
    if dim is None:
        return function.apply(a, normalize_axes(op_name, axis, a.ndim), keepdims)
    if axis is not None:
        raise TypeError(f"{op_name}: give the axis once, as axis= (NumPy's name: values) or dim (PyTorch's: values "
                        f"and indices), not both")
    if not is_integer(dim):
        raise TypeError(f"{op_name}: dim must be one int (PyTorch returns values and indices along one dim), got "
                        f"{dim!r}; for several axes use axis=, which returns the values")
    values = function.apply(a, normalize_axes(op_name, dim, a.ndim), keepdim)
    return MaxMin(values, arg_function(a, dim, keepdim))


def logsumexp(a, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """log(sum(exp(a))) over ``axis``, computed as m + log(sum(exp(a - m))) with m the max, so it never
    overflows. m is held constant: the result does not depend on it, so its gradient through m is zero."""
    axis, keepdims = pytorch_or_numpy_axis("logsumexp", axis, keepdims, dim, keepdim)
    a = as_float(a)
    axes = normalize_axes("logsumexp", axis, a.ndim)
    shift = Max.apply(a, axes, True).detach()
    shift = where(constant(a, xp_of(shift.array).isfinite(shift.array)), shift, 0.0)
    out = basic.log(basic.sum(basic.exp(a - shift), axes, keepdims=True)) + shift
    return out if keepdims else out.reshape(tuple([n for i, n in enumerate(out.shape)
                                                   if axes is not None and i not in axes]))


def norm(a, p=2, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """The 2-norm sqrt(sum(a^2)) over ``axis`` (None: all elements), with a finite gradient (0) at a = 0.

    ``p`` comes second, as in torch.norm and numpy.linalg.norm (g.norm(2, dim=1) is the gradient norm of each
    sample); only p = 2 (or "fro", the same for the flattened tensor) is implemented."""
    if p not in (2, "fro"):
        raise ValueError(f"norm: p={p!r} is not implemented; tinygan has the 2-norm (p=2 or 'fro'). For p=1 write "
                         f"x.abs().sum(dim)")
    axis, keepdims = pytorch_or_numpy_axis("norm", axis, keepdims, dim, keepdim)
    return Norm.apply(as_float(a), normalize_axes("norm", axis, a.ndim), keepdims)


def _reduce_without_grad(op_name, array_function):
    def reduce(a, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = pytorch_or_numpy_axis(op_name, axis, keepdims, dim, keepdim)
        arg = op_name.startswith("arg")
        if axis is not None and arg and not is_integer(axis):
            raise ValueError(f"{op_name}: axis must be None or an int")
        axes = normalize_axes(op_name, axis, a.ndim)
        if arg and axes is not None:
            axes = axes[0]
        return constant(a, getattr(xp_of(a.array), array_function)(a.array, axis=axes, keepdims=keepdims))
    reduce.__name__ = op_name
    reduce.__doc__ = f"numpy.{array_function} over ``axis`` (or PyTorch's dim=, keepdim=); carries no gradient."
    return reduce


argmax = _reduce_without_grad("argmax", "argmax")
argmin = _reduce_without_grad("argmin", "argmin")
any = _reduce_without_grad("any", "any")
all = _reduce_without_grad("all", "all")
