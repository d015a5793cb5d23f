"""More elementwise ops, written like those in basic.py: pow, log1p, sqrt, abs, sin, cos, logsigmoid, leaky_relu,
elu, clamp, maximum, minimum and where."""

from .. import backend
from ..autograd import Function, TensorBase
from .arguments import as_float, as_tensor, binary_operands, constant, is_integer, xp_of
from .basic import exp, log, sigmoid


class Pow(Function):
    """out = a ** b;  dL/da = g * b * a^(b-1),  dL/db = g * out * log(a)  (only asked for when b needs it).

    At a = 0 the formulas can read 0 * inf: the limits are used instead, as PyTorch does. dL/da is 0 where
    a = b = 0 (a^0 is constant), and dL/db is 0 where a = 0 (out is 0 there for b > 0). They are computed from a
    with those entries replaced by 1, so neither the result nor its own derivative meets a NaN.
    """

    @staticmethod
    def forward(ctx, a, b):
        out = xp_of(a).power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            # 0 ** -1 where a = b = 0; the term is multiplied by b = 0 there, so a can be replaced by 1
            a_safe = where(constant(a, (a.array == 0) & (b.array == 0)), 1.0, a)
            grad_a = grad * b * a_safe ** (b - 1)
        if ctx.needs_input_grad[1]:
            grad_b = grad * out * log(where(constant(a, a.array == 0), 1.0, a))
        return grad_a, grad_b


class Log1p(Function):
    """out = log(1 + a), accurate for small a;  dL/da = g / (1 + a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).log1p(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a + 1)


class Sqrt(Function):
    """out = sqrt(a);  dL/da = g / (2 out)."""

    @staticmethod
    def forward(ctx, a):
        out = xp_of(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (out * 2)


class Abs(Function):
    """out = |a|;  dL/da = g * sign(a)  (0 at a = 0, as in PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * constant(a, xp_of(a.array).sign(a.array))


class Sin(Function):
    """out = sin(a);  dL/da = g * cos(a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * cos(a)


class Cos(Function):
    """out = cos(a);  dL/da = -g * sin(a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -(grad * sin(a))


class LogSigmoid(Function):
    """out = log(sigmoid(a)) = -softplus(-a), never log of a rounded-to-zero sigmoid;  dL/da = g * sigmoid(-a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return -xp_of(a).logaddexp(0, -a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sigmoid(-a)


class LeakyReLU(Function):
    """out = a if a > 0 else slope * a;  dL/da = g if a > 0 else slope * g."""

    @staticmethod
    def forward(ctx, a, negative_slope):
        ctx.save_for_backward(a)
        ctx.negative_slope = negative_slope
        return xp_of(a).where(a > 0, a, a * a.dtype.type(negative_slope))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        slopes = xp_of(a.array).where(a.array > 0, 1, ctx.negative_slope).astype(a.dtype)
        return grad * constant(a, slopes), None


class Clamp(Function):
    """out = min(max(a, low), high);  dL/da = g where low <= a <= high, else 0 (either bound may be None)."""

    @staticmethod
    def forward(ctx, a, low, high):
        ctx.save_for_backward(a)
        ctx.low, ctx.high = low, high
        return xp_of(a).clip(a, low, high)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        inside = xp_of(a.array).ones(a.shape, dtype=bool)
        if ctx.low is not None:
            inside &= a.array >= ctx.low
        if ctx.high is not None:
            inside &= a.array <= ctx.high
        return where(constant(a, inside), grad, 0.0), None, None


class Maximum(Function):
    """out = max(a, b) elementwise;  the gradient goes to the larger input, split half and half on ties."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp_of(a).maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_by_share(ctx, grad, a, _winner_share(a.array, b.array, a.array > b.array))


class Minimum(Function):
    """out = min(a, b) elementwise;  the gradient goes to the smaller input, split half and half on ties."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp_of(a).minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_by_share(ctx, grad, a, _winner_share(a.array, b.array, a.array < b.array))


def _winner_share(a, b, a_wins):
    """1 where a wins, 0 where b wins, 1/2 on ties: a's share of the gradient of max/min (broadcast shape)."""
    dtype = a.dtype if backend.is_floating(a.dtype) else b.dtype
    return a_wins.astype(dtype) + (a == b).astype(dtype) * dtype.type(0.5)


def _split_by_share(ctx, grad, like, share_of_a):
    share = constant(like, share_of_a)
    return (grad * share if ctx.needs_input_grad[0] else None,
            grad * (1 - share) if ctx.needs_input_grad[1] else None)


class Where(Function):
    """out = a where condition else b;  dL/da = g where condition else 0,  dL/db = the rest."""

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)  # saved so that changing the condition in place before backward is caught
        return xp_of(a).where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        return (None,
                where(condition, grad, 0.0) if ctx.needs_input_grad[1] else None,
                where(condition, 0.0, grad) if ctx.needs_input_grad[2] else None)


# ===============================================================================================================
# the functions users call
# ===============================================================================================================


def _float_input(op_name, a):
    return as_float(as_tensor(op_name, a))


def pow(a, b):
    """a ** b elementwise; either may be a number."""
    a, b = binary_operands("pow", a, b)
    return Pow.apply(a, b)


def log1p(a):
    """log(1 + a) elementwise, accurate for small a."""
    return Log1p.apply(_float_input("log1p", a))


def sqrt(a):
    """The square root elementwise."""
    return Sqrt.apply(_float_input("sqrt", a))


def abs(a):
    """|a| elementwise."""
    return Abs.apply(_float_input("abs", a))


def sin(a):
    """sin(a) elementwise."""
    return Sin.apply(_float_input("sin", a))


def cos(a):
    """cos(a) elementwise."""
    return Cos.apply(_float_input("cos", a))


def logsigmoid(a):
    """log(sigmoid(a)) = -softplus(-a) elementwise, finite for any a."""
    return LogSigmoid.apply(_float_input("logsigmoid", a))


def leaky_relu(a, negative_slope=0.01):
    """a if a > 0 else negative_slope * a (PyTorch's default slope 0.01; GANs often use 0.2)."""
    return LeakyReLU.apply(_float_input("leaky_relu", a), float(negative_slope))


def elu(a, alpha=1.0):
    """a if a > 0 else alpha * (exp(a) - 1), built from where and exp (so it is differentiable to any order).

    exp is taken of min(a, 0) so the branch that where() discards never overflows for large a.
    """
    a = _float_input("elu", a)
    negative_part = (exp(minimum(a, 0.0)) - 1) * alpha
    return where(a > 0, a, negative_part)


def clamp(a, min=None, max=None):
    """Limit a to [min, max]; either bound may be None. Gradient 1 inside the interval (bounds included), else 0."""
    low, high = min, max   # PyTorch names the bounds min and max; inside, they are low and high
    a = as_tensor("clamp", a)
    if low is None and high is None:
        raise ValueError("clamp: give at least one of min and max")
    for bound in (low, high):
        if bound is not None and not backend.is_scalar(bound):
            raise TypeError(f"clamp: bounds must be numbers, got {type(bound).__name__}")
    if any(bound is not None and not is_integer(bound) for bound in (low, high)):
        a = as_float(a)  # an integer tensor clamped to a fractional bound becomes the default float dtype
    # Python numbers of the tensor's kind, so a numpy float64 bound cannot promote a float32 tensor
    to_number = float if backend.is_floating(a.dtype) else int
    return Clamp.apply(a, None if low is None else to_number(low), None if high is None else to_number(high))


clip = clamp   # PyTorch has both names


def maximum(a, b):
    """Elementwise max of a and b (ties share the gradient equally)."""
    a, b = binary_operands("maximum", a, b)
    return Maximum.apply(a, b)


def minimum(a, b):
    """Elementwise min of a and b (ties share the gradient equally)."""
    a, b = binary_operands("minimum", a, b)
    return Minimum.apply(a, b)


def where(condition, a, b):
    """a where condition is True, else b; condition is a bool tensor (no gradient flows to it)."""
    a, b = binary_operands("where", a, b, elementwise=False)
    if backend.is_array(condition):
        condition = constant(a, condition)
    if not isinstance(condition, TensorBase) or condition.array.dtype != backend.bool_:
        raise TypeError("where: the condition must be a bool tensor, e.g. x > 0")
    if condition.device != a.device:
        raise ValueError(f"where: the condition is on {condition.device} but the values are on {a.device}; move "
                         f"them to one device first")
    return Where.apply(condition, a, b)
