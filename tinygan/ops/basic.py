"""The elementary ops: each a Function with its forward (on raw arrays) and its backward (in tinygan ops).

Read any op top to bottom: the docstring gives the math, ``forward`` computes it with the array namespace ``xp`` of
the input's device (numpy or cupy), ``backward`` turns g = dL/d(output) into dL/d(input) with Tensor operations,
so the backward is itself recorded when ``create_graph=True`` (that is how second derivatives work). A gradient of
an input that forward broadcast is summed back to the input's shape by the engine, not here.

These are enough for an MLP, its GAN losses and their gradients; the other ops (reshape and the other shape ops,
pow, max, ...) live in the modules beside this one and are written the same way. After the Function classes
come the functions users call (``tg.exp(x)``, ``tg.sum(x, axis=0)``): they check the arguments
(ops/arguments.py) and apply the Function.
"""

from .. import backend
from ..autograd import Function
from .arguments import (as_float, as_tensor, binary_operands, broadcastable, constant, kept_shape, normalize_axes,
                        xp_of)
from .shapes import broadcast_to, matrix_transpose, with_unit_axis


# ===============================================================================================================
# arithmetic
# ===============================================================================================================


class Add(Function):
    """out = a + b;  dL/da = g,  dL/db = g."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """out = a - b;  dL/da = g,  dL/db = -g."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """out = a * b;  dL/da = g * b,  dL/db = g * a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    """out = a / b;  dL/da = g / b,  dL/db = -g * a / b^2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad / b if ctx.needs_input_grad[0] else None,
                -(grad * a) / (b * b) if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """out = -a;  dL/da = -g."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class MatMul(Function):
    """out = a @ b. For matrices (n, k) @ (k, m):  dL/da = g @ b^T,  dL/db = a^T @ g.

    NumPy's rules otherwise: leading axes are batch axes (they broadcast; the engine sums their gradients back),
    and a 1-D operand is a vector: a row for a, a column for b, put in as a unit axis and taken out of its
    gradient again.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp_of(a).matmul(backend.blas_ready(a), backend.blas_ready(b))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_is_vector, b_is_vector = a.ndim == 1, b.ndim == 1
        a2 = a.reshape(1, a.shape[0]) if a_is_vector else a       # a vector a is the row (1, k)
        b2 = b.reshape(b.shape[0], 1) if b_is_vector else b       # a vector b is the column (k, 1)
        grad2 = grad                                               # and the product lost their unit axes
        if a_is_vector:
            grad2 = with_unit_axis(grad2, -1 if b_is_vector else -2)
        if b_is_vector:
            grad2 = with_unit_axis(grad2, -1)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = grad2 @ matrix_transpose(b2)
            if a_is_vector:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if ctx.needs_input_grad[1]:
            grad_b = matrix_transpose(a2) @ grad2
            if b_is_vector:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b


# ===============================================================================================================
# elementwise functions
# ===============================================================================================================


class Exp(Function):
    """out = exp(a);  dL/da = g * out."""

    @staticmethod
    def forward(ctx, a):
        out = xp_of(a).exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """out = log(a);  dL/da = g / a."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Tanh(Function):
    """out = tanh(a);  dL/da = g * (1 - out^2)."""

    @staticmethod
    def forward(ctx, a):
        out = xp_of(a).tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


def stable_sigmoid(xp, a):
    """sigmoid(a) = exp(-softplus(-a)): no overflow for any a, and full relative precision in both tails."""
    return xp.exp(-xp.logaddexp(0, -a))


class Sigmoid(Function):
    """out = 1 / (1 + exp(-a)), computed stably;  dL/da = g * out * (1 - out)."""

    @staticmethod
    def forward(ctx, a):
        out = stable_sigmoid(xp_of(a), a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Softplus(Function):
    """out = log(1 + exp(a)), computed as logaddexp(0, a) so it never overflows;  dL/da = g * sigmoid(a).

    The GAN losses are made of it: log D(x) = log sigmoid(l) = -softplus(-l) for a logit l, finite for any l.
    """

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).logaddexp(0, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sigmoid(a)


class ReLU(Function):
    """out = max(a, 0);  dL/da = g where a > 0, else 0."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).maximum(a, 0)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * constant(a, a.array > 0)  # a bool mask multiplies as 0/1; it is a constant of the graph


# ===============================================================================================================
# reductions
# ===============================================================================================================


def spread_over_reduced_axes(grad, in_shape, axes):
    """A reduction's gradient copied back along the reduced axes: reshaped to keepdims form, then broadcast.
    (The gradient of a reduction over all axes is 0-d, which broadcasts as it is.)"""
    if axes is not None:
        grad = grad.reshape(kept_shape(in_shape, axes))
    return broadcast_to(grad, in_shape)


class Sum(Function):
    """out = sum of a over axes;  dL/da = g copied along the summed axes."""

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        ctx.axes = axes
        return a.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return spread_over_reduced_axes(grad, ctx.input_shapes[0], ctx.axes), None, None


class Mean(Function):
    """out = sum of a over axes / n, n the number of elements summed;  dL/da = g / n copied along the axes."""

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        ctx.axes = axes
        total = a.sum(axis=axes, keepdims=keepdims)
        ctx.count = a.size // total.size if total.size else 0
        if ctx.count == 0:
            return total * xp_of(a).nan  # the mean of no numbers is NaN, as in numpy (without its warning)
        return total / ctx.count

    @staticmethod
    def backward(ctx, grad):
        scale = 1.0 / ctx.count if ctx.count else 0.0   # count 0: the input has no elements
        return spread_over_reduced_axes(grad, ctx.input_shapes[0], ctx.axes) * scale, None, None


# ===============================================================================================================
# the functions users call
# ===============================================================================================================


def add(a, b):
    """a + b, broadcasting as NumPy does."""
    a, b = binary_operands("add", a, b)
    return Add.apply(a, b)


def sub(a, b):
    """a - b, broadcasting as NumPy does."""
    a, b = binary_operands("sub", a, b)
    return Sub.apply(a, b)


def mul(a, b):
    """a * b elementwise, broadcasting as NumPy does."""
    a, b = binary_operands("mul", a, b)
    return Mul.apply(a, b)


def div(a, b):
    """a / b elementwise (true division: integer tensors give the default float dtype)."""
    a, b = binary_operands("div", a, b)
    if not backend.is_floating(a.array.dtype) and not backend.is_floating(b.array.dtype):
        a, b = as_float(a), as_float(b)
    return Div.apply(a, b)


def neg(a):
    """-a."""
    return Neg.apply(as_tensor("neg", a))


def matmul(a, b):
    """Matrix product with NumPy's rules: (n, k) @ (k, m) -> (n, m); 1-D operands are vectors; leading axes
    are batch axes that broadcast, e.g. (b, n, k) @ (k, m) -> (b, n, m)."""
    a, b = binary_operands("matmul", a, b, elementwise=False)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one axis, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}; use * for scalars")
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner_b:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not align: the last axis of the "
                         f"first ({a.shape[-1]}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} axis "
                         f"of the second ({inner_b})")
    if not broadcastable(a.shape[:-2], b.shape[:-2]):
        raise ValueError(f"matmul: batch axes of shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast "
                         f"together")
    return MatMul.apply(a, b)


def exp(a):
    """e^a elementwise."""
    return Exp.apply(as_float(as_tensor("exp", a)))


def log(a):
    """The natural logarithm elementwise."""
    return Log.apply(as_float(as_tensor("log", a)))


def tanh(a):
    """tanh(a) elementwise."""
    return Tanh.apply(as_float(as_tensor("tanh", a)))


def sigmoid(a):
    """1 / (1 + exp(-a)) elementwise, stable for any a. For losses, keep logits and use softplus instead."""
    return Sigmoid.apply(as_float(as_tensor("sigmoid", a)))


def softplus(a):
    """log(1 + exp(a)) elementwise, never overflowing."""
    return Softplus.apply(as_float(as_tensor("softplus", a)))


def relu(a):
    """max(a, 0) elementwise."""
    return ReLU.apply(as_float(as_tensor("relu", a)))


def sum(a, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all; an int or a tuple), as numpy.sum."""
    return Sum.apply(a, normalize_axes("sum", axis, a.ndim), keepdims)


def mean(a, axis=None, keepdims=False):
    """Mean over ``axis`` (None: all; an int or a tuple), as numpy.mean."""
    return Mean.apply(as_float(a), normalize_axes("mean", axis, a.ndim), keepdims)
