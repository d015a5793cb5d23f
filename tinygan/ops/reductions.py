"""More reductions, written like those in basic.py: max, min, norm, var, std, logsumexp; and the ones without a
gradient (argmax, argmin, any, all)."""

from ..autograd import Function
from . import basic
from .arguments import as_float, constant, kept_shape, normalize_axes, product, xp_of
from .elementwise import sqrt, where


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


def var(a, axis=None, ddof=0, keepdims=False):
    """Variance over ``axis``: sum((a - mean)^2) / (n - ddof). ddof=0 is the population variance (NumPy's
    default; PyTorch's default is ddof=1)."""
    a = as_float(a)
    axes = normalize_axes("var", axis, a.ndim)
    count = a.size if axes is None else product(a.shape[i] for i in axes)
    centered = a - basic.mean(a, axes, keepdims=True)
    return basic.sum(centered * centered, axes, keepdims) / (count - ddof)


def std(a, axis=None, ddof=0, keepdims=False):
    """Standard deviation: sqrt(var(a, axis, ddof))."""
    return sqrt(var(a, axis, ddof, keepdims))


def max(a, axis=None, keepdims=False):
    """Largest value over ``axis`` (values only, as numpy.max)."""
    return Max.apply(a, normalize_axes("max", axis, a.ndim), keepdims)


def min(a, axis=None, keepdims=False):
    """Smallest value over ``axis`` (values only, as numpy.min)."""
    return Min.apply(a, normalize_axes("min", axis, a.ndim), keepdims)


def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) over ``axis``, computed as m + log(sum(exp(a - m))) with m the max, so it never
    overflows. m is held constant: the result does not depend on it, so its gradient through m is zero."""
    a = as_float(a)
    axes = normalize_axes("logsumexp", axis, a.ndim)
    shift = Max.apply(a, axes, True).detach()
    shift = where(constant(a, xp_of(shift.array).isfinite(shift.array)), shift, 0.0)
    out = basic.log(basic.sum(basic.exp(a - shift), axes, keepdims=True)) + shift
    return out if keepdims else out.reshape(tuple(n for i, n in enumerate(out.shape)
                                                  if axes is not None and i not in axes))


def norm(a, axis=None, keepdims=False):
    """The 2-norm sqrt(sum(a^2)) over ``axis`` (None: all elements), with a finite gradient (0) at a = 0."""
    return Norm.apply(as_float(a), normalize_axes("norm", axis, a.ndim), keepdims)


def _reduce_without_grad(op_name, array_function):
    def reduce(a, axis=None, keepdims=False):
        arg = op_name.startswith("arg")
        if axis is not None and arg and not isinstance(axis, int):
            raise ValueError(f"{op_name}: axis must be None or an int")
        axes = normalize_axes(op_name, axis, a.ndim)
        if arg and axes is not None:
            axes = axes[0]
        return constant(a, getattr(xp_of(a.array), array_function)(a.array, axis=axes, keepdims=keepdims))
    reduce.__name__ = op_name
    reduce.__doc__ = f"numpy.{array_function} over ``axis`` (carries no gradient)."
    return reduce


argmax = _reduce_without_grad("argmax", "argmax")
argmin = _reduce_without_grad("argmin", "argmin")
any = _reduce_without_grad("any", "any")
all = _reduce_without_grad("all", "all")

__all__ = ["Max", "Min", "Norm", "var", "std", "max", "min", "logsumexp", "norm", "argmax", "argmin", "any", "all"]
