"""Every differentiable op of tinygan: forward on raw arrays, backward in differentiable tinygan ops.

Read any op top to bottom: the docstring gives the math, ``forward`` computes it with the array namespace ``xp``
of the input's device (numpy or cupy), ``backward`` turns dL/d(output) into dL/d(input) using Tensor operations,
so the backward is recorded too when ``create_graph=True``. Gradients of broadcast inputs are summed back to the
input's shape by the engine (``autograd.sum_to``), not here.

After the Function classes come the functions users call (``tg.exp(x)``, ``tg.sum(x, axis=0)``): they check
arguments, turn Python numbers into tensors of the other operand's dtype, and call ``SomeOp.apply``.
"""

import builtins
import numbers
import operator

from . import backend
from .autograd import Function
from .tensor import Tensor, tensor_from_array


_xp = backend.array_namespace  # numpy or cupy for a raw array, so one forward serves both devices


def _constant(array):
    """A Tensor that holds ``array`` and carries no gradient (masks, signs, counts used inside backward).

    numpy gives scalars, not 0-d arrays, for results such as ``a > 0`` on a 0-d array; those are wrapped too.
    """
    return Tensor._make(array if backend.is_array(array) else backend.as_array(array), False, None, 0, None)


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


class Pow(Function):
    """out = a ** b;  dL/da = g * b * a^(b-1),  dL/db = g * out * log(a)  (only asked for when b needs it).

    At a = 0 the formulas can read 0 * inf: the limits are used instead, as PyTorch does. dL/da is 0 where
    a = b = 0 (a^0 is constant), and dL/db is 0 where a = 0 (out is 0 there for b > 0). They are computed from a
    with those entries replaced by 1, so neither the result nor its own derivative meets a NaN.
    """

    @staticmethod
    def forward(ctx, a, b):
        out = _xp(a).power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            # 0 ** -1 where a = b = 0; the term is multiplied by b = 0 there, so a can be replaced by 1
            a_safe = where(_constant((a.data == 0) & (b.data == 0)), 1.0, a)
            grad_a = grad * b * a_safe ** (b - 1)
        if ctx.needs_input_grad[1]:
            grad_b = grad * out * log(where(_constant(a.data == 0), 1.0, a))
        return grad_a, grad_b


class MatMul(Function):
    """out = a @ b, with NumPy's rules: 1-D operands are vectors, leading axes are batch axes and broadcast.

    For matrices (n, k) @ (k, m):  dL/da = g @ b^T,  dL/db = a^T @ g.  A 1-D operand is treated as a matrix
    with a unit axis put in (a row for a, a column for b) and the gradient's unit axis is taken out again;
    gradients over broadcast batch axes are summed back by the engine.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _xp(a).matmul(backend.blas_ready(a), backend.blas_ready(b))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if a.ndim == 2 and b.ndim == 2:  # the common case, as in the docstring
            return (grad @ b.T if ctx.needs_input_grad[0] else None,
                    a.T @ grad if ctx.needs_input_grad[1] else None)
        a_vector, b_vector = a.ndim == 1, b.ndim == 1
        a2 = a.reshape(1, a.shape[0]) if a_vector else a
        b2 = b.reshape(b.shape[0], 1) if b_vector else b
        grad2 = grad
        if a_vector:
            grad2 = unsqueeze(grad2, -1 if b_vector else -2)
        if b_vector:
            grad2 = unsqueeze(grad2, -1)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = grad2 @ swapaxes(b2, -1, -2)
            if a_vector:
                grad_a = squeeze(grad_a, -2)
        if ctx.needs_input_grad[1]:
            grad_b = swapaxes(a2, -1, -2) @ grad2
            if b_vector:
                grad_b = squeeze(grad_b, -1)
        return grad_a, grad_b


class Linear(Function):
    """out = x @ weight^T + bias, PyTorch's layout: x (..., in), weight (out, in), bias (out,) or None.

    The same result as transpose, matmul and add, in one graph node instead of three: networks are mostly these,
    so the fused node halves the graph and the Python overhead of a small MLP. Leading axes of x are batch axes;
    with g = dL/dout flattened to (batch, out) and x to (batch, in):
        dL/dx = g @ weight,   dL/dweight = g^T @ x,   dL/dbias = g summed over the batch.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        out = backend.blas_ready(x) @ weight.T
        if bias is not None:
            out += bias  # out is a fresh array, so adding in place is safe
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        return _linear_gradients(ctx.needs_input_grad, grad, x, weight)


def _linear_gradients(wanted, grad, x, weight, mask=None):
    """(dL/dx, dL/dweight, dL/dbias) of out = x @ weight^T + bias from g = dL/dout (times ``mask`` if given),
    each only if ``wanted``."""
    out_features, in_features = weight.shape
    batched = x.ndim != 2  # fold leading batch axes into one (a no-op for the usual 2-D x)
    grad_2d = grad.reshape(-1, out_features) if batched else grad
    x_2d = x.reshape(-1, in_features) if batched else x
    if batched and mask is not None:
        mask = mask.reshape(-1, out_features)
    grads = iter(LinearBackward.apply(grad_2d, x_2d, weight, wanted, mask))
    grad_x = next(grads) if wanted[0] else None
    grad_weight = next(grads) if wanted[1] else None
    grad_bias = next(grads) if wanted[2] else None
    if grad_x is not None and batched:
        grad_x = grad_x.reshape(x.shape)
    return grad_x, grad_weight, grad_bias


class LinearReLU(Function):
    """out = relu(x @ weight^T + bias): a Linear layer and the ReLU after it, in one graph node.

    Fast path (what it fuses and why): an MLP is mostly Linear layers each followed by a ReLU. As one node the
    pair records one graph node instead of two and its backward runs one node instead of two, which for small
    layers (where Python overhead, not arithmetic, dominates) is a sizable share of a training step. The numbers
    are those of linear followed by relu, bit for bit. nn.Sequential uses it for a Linear followed by a ReLU.

    With m = [out > 0] (the units the ReLU let through: out > 0 exactly where x @ weight^T + bias > 0):
        dL/d(x @ weight^T + bias) = g * m,  and from it Linear's gradients,
    all in one LinearBackward node (given the mask). The mask is a constant, as in ReLU's own backward, and
    LinearBackward has its own backward: second derivatives work.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        out = Linear.forward(ctx, x, weight, bias)  # saves x and weight; out is a fresh array
        _xp(out).maximum(out, 0, out=out)
        ctx.save_for_backward(x, weight, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, out = ctx.saved_tensors
        return _linear_gradients(ctx.needs_input_grad, grad, x, weight, mask=out.data > 0)


class LinearBackward(Function):
    """The gradients of Linear in one node: with g = dL/dout (batch, out), x (batch, in), weight (out, in),

        grad_x = g @ weight,   grad_weight = g^T @ x,   grad_bias = g summed over the batch,

    computing only those in ``wanted`` (flags for x, weight, bias) and returning them in that order. One node
    instead of four ops (a transpose, two matmuls, a sum) makes a first-order backward cheaper. ``mask`` (None,
    or a constant array of g's shape, for LinearReLU the ReLU's 0/1 mask) replaces g by g * mask first.

    Its own backward gives second derivatives (gradient penalties need them). The three outputs are bilinear in
    (g, x, weight), so for cotangents a, b, c of grad_x, grad_weight, grad_bias:
        d/dg = a @ weight^T + x @ b^T + c,   d/dx = g @ b,   d/dweight = g^T @ a,
    with g * mask in place of g and d/dg multiplied by the mask when there is one.
    """

    @staticmethod
    def forward(ctx, grad, x, weight, wanted, mask):
        ctx.save_for_backward(grad, x, weight)
        ctx.wanted, ctx.mask = wanted, mask
        xp = _xp(grad)
        grad = backend.blas_ready(grad) if mask is None else grad * mask
        outputs = []
        if wanted[0]:
            outputs.append(xp.matmul(grad, weight))
        if wanted[1]:
            outputs.append(xp.matmul(grad.T, x))
        if wanted[2]:
            outputs.append(grad.sum(axis=0))
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *cotangents):
        grad, x, weight = ctx.saved_tensors
        mask = None if ctx.mask is None else _constant(ctx.mask)
        if mask is not None:
            grad = grad * mask  # the g of the formulas
        given = iter(cotangents)
        a = next(given) if ctx.wanted[0] else None
        b = next(given) if ctx.wanted[1] else None
        c = next(given) if ctx.wanted[2] else None
        # The engine gives every output a cotangent (zeros for unused ones), so a, b, c exist when wanted.
        d_grad = d_x = d_weight = None
        if ctx.needs_input_grad[0]:
            terms = [a @ weight.T] if a is not None else []
            terms += [x @ b.T] if b is not None else []
            terms += [c] if c is not None else []
            d_grad = terms[0]
            for term in terms[1:]:
                d_grad = d_grad + term
            d_grad = broadcast_to(d_grad, grad.shape)  # c alone is one row, the same for every sample
            if mask is not None:
                d_grad = d_grad * mask
        if ctx.needs_input_grad[1] and b is not None:
            d_x = grad @ b
        if ctx.needs_input_grad[2] and a is not None:
            d_weight = grad.T @ a
        return d_grad, d_x, d_weight, None, None


# ===============================================================================================================
# elementwise functions
# ===============================================================================================================


class Exp(Function):
    """out = exp(a);  dL/da = g * out."""

    @staticmethod
    def forward(ctx, a):
        out = _xp(a).exp(a)
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
        return _xp(a).log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Log1p(Function):
    """out = log(1 + a), accurate for small a;  dL/da = g / (1 + a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _xp(a).log1p(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a + 1)


class Sqrt(Function):
    """out = sqrt(a);  dL/da = g / (2 out)."""

    @staticmethod
    def forward(ctx, a):
        out = _xp(a).sqrt(a)
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
        return _xp(a).abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * _constant(_xp(a.data).sign(a.data))


class Sin(Function):
    """out = sin(a);  dL/da = g * cos(a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _xp(a).sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * cos(a)


class Cos(Function):
    """out = cos(a);  dL/da = -g * sin(a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _xp(a).cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -(grad * sin(a))


class Tanh(Function):
    """out = tanh(a);  dL/da = g * (1 - out^2)."""

    @staticmethod
    def forward(ctx, a):
        out = _xp(a).tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


def _stable_sigmoid(xp, a):
    """sigmoid(a) = exp(-softplus(-a)): no overflow for any a, and full relative precision in both tails."""
    return xp.exp(-xp.logaddexp(0, -a))


class Sigmoid(Function):
    """out = 1 / (1 + exp(-a)), computed stably;  dL/da = g * out * (1 - out)."""

    @staticmethod
    def forward(ctx, a):
        out = _stable_sigmoid(_xp(a), a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Softplus(Function):
    """out = log(1 + exp(a)), computed as logaddexp(0, a) so it never overflows;  dL/da = g * sigmoid(a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _xp(a).logaddexp(0, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sigmoid(a)


class LogSigmoid(Function):
    """out = log(sigmoid(a)) = -softplus(-a), never log of a rounded-to-zero sigmoid;  dL/da = g * sigmoid(-a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return -_xp(a).logaddexp(0, -a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sigmoid(-a)


class BinaryCrossEntropyWithLogits(Function):
    """The mean binary cross-entropy of probabilities sigmoid(l) against targets t, from the logits l:

        out = mean over all n elements of  -[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))]
            = mean( t * softplus(-l) + (1 - t) * softplus(l) )                     (a 0-d array)
        dL/dl = g / n * ((1 - t) * sigmoid(l) - t * sigmoid(-l))                  (= g / n * (sigmoid(l) - t))
        dL/dt = g / n * (softplus(-l) - softplus(l)) = -g * l / n

    PyTorch's F.binary_cross_entropy_with_logits with reduction="mean". ``target`` is a Python number in [0, 1]
    or an array of l's shape. Fast path (what it fuses and why): the GAN losses are made of these, and as one node
    a loss records one graph node where softplus, a negation and a mean record three, and its backward is one
    node too (BinaryCrossEntropyWithLogitsBackward); that matters when Python overhead dominates a small model's
    step. For a target of exactly 0 or 1 only one softplus term is computed: the values are those of
    softplus(l).mean() and softplus(-l).mean(), precise in both tails (no log of a rounded sigmoid, and no
    cancellation as in softplus(l) - l).
    """

    @staticmethod
    def forward(ctx, logits, target):
        xp = _xp(logits)
        ctx.count = logits.size
        if isinstance(target, numbers.Number):
            ctx.target = target  # a number is kept as it is, an array is saved (it may need a gradient)
            ctx.save_for_backward(logits)
        else:
            ctx.target = None
            ctx.save_for_backward(logits, target)
        if ctx.target == 1:
            values = xp.logaddexp(0, -logits)
        elif ctx.target == 0:
            values = xp.logaddexp(0, logits)
        else:
            values = target * xp.logaddexp(0, -logits) + (1 - target) * xp.logaddexp(0, logits)
        return values.sum() / ctx.count  # the mean as Mean computes it (sum / n)

    @staticmethod
    def backward(ctx, grad):
        logits, *saved_target = ctx.saved_tensors
        target = ctx.target if ctx.target is not None else saved_target[0]
        grad_logits = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_logits = BinaryCrossEntropyWithLogitsBackward.apply(grad, logits, target)
        if ctx.needs_input_grad[1]:
            grad_target = logits * (grad * (-1.0 / ctx.count))
        return grad_logits, grad_target


class BinaryCrossEntropyWithLogitsBackward(Function):
    """dL/dl of BinaryCrossEntropyWithLogits in one node: with g = dL/dout (0-d), n = l.size and targets t,

        out = g / n * ((1 - t) * sigmoid(l) - t * sigmoid(-l))        (for t = 1: -g / n * sigmoid(-l);
                                                                        for t = 0:  g / n * sigmoid(l))
    One node where sigmoid, a negation and two products would be four. Its own backward gives second derivatives
    (the Dirac-GAN Jacobian and gradgradcheck need them): for a cotangent c of l's shape, with
    s = (1 - t) * sigmoid(l) - t * sigmoid(-l) and sigmoid'(l) = sigmoid(l) * sigmoid(-l),
        d/dg = sum(c * s) / n,   d/dl = c * g / n * sigmoid(l) * sigmoid(-l),   d/dt = -c * g / n.
    """

    @staticmethod
    def forward(ctx, grad, logits, target):
        xp = _xp(logits)
        ctx.count = logits.size
        ctx.target = target if isinstance(target, numbers.Number) else None
        ctx.save_for_backward(grad, logits, None if ctx.target is not None else target)
        if ctx.target == 1:
            slope = -_stable_sigmoid(xp, -logits)
        elif ctx.target == 0:
            slope = _stable_sigmoid(xp, logits)
        else:
            slope = (1 - target) * _stable_sigmoid(xp, logits) - target * _stable_sigmoid(xp, -logits)
        return slope * (grad / ctx.count)

    @staticmethod
    def backward(ctx, cotangent):
        grad, logits, target = ctx.saved_tensors
        target = ctx.target if ctx.target is not None else target
        scale = grad * (1.0 / ctx.count)
        d_grad = d_logits = d_target = None
        if ctx.needs_input_grad[0]:
            if ctx.target == 1:
                slope = -sigmoid(-logits)
            elif ctx.target == 0:
                slope = sigmoid(logits)
            else:
                slope = (1 - target) * sigmoid(logits) - target * sigmoid(-logits)
            d_grad = (cotangent * slope).sum() * (1.0 / ctx.count)
        if ctx.needs_input_grad[1]:
            d_logits = cotangent * scale * sigmoid(logits) * sigmoid(-logits)
        if ctx.needs_input_grad[2]:
            d_target = -(cotangent * scale)
        return d_grad, d_logits, d_target


class ReLU(Function):
    """out = max(a, 0);  dL/da = g where a > 0, else 0."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _xp(a).maximum(a, 0)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * _constant(a.data > 0)  # a bool mask multiplies as 0/1: cheaper than where()


class LeakyReLU(Function):
    """out = a if a > 0 else slope * a;  dL/da = g if a > 0 else slope * g."""

    @staticmethod
    def forward(ctx, a, negative_slope):
        ctx.save_for_backward(a)
        ctx.negative_slope = negative_slope
        return _xp(a).where(a > 0, a, a * a.dtype.type(negative_slope))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        slopes = _xp(a.data).where(a.data > 0, 1, ctx.negative_slope).astype(a.dtype)
        return grad * _constant(slopes), None


class Clamp(Function):
    """out = min(max(a, low), high);  dL/da = g where low <= a <= high, else 0 (either bound may be None)."""

    @staticmethod
    def forward(ctx, a, low, high):
        ctx.save_for_backward(a)
        ctx.low, ctx.high = low, high
        return _xp(a).clip(a, low, high)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        inside = _xp(a.data).ones(a.shape, dtype=bool)
        if ctx.low is not None:
            inside &= a.data >= ctx.low
        if ctx.high is not None:
            inside &= a.data <= ctx.high
        return where(_constant(inside), grad, 0.0), None, None


class Maximum(Function):
    """out = max(a, b) elementwise;  the gradient goes to the larger input, split half and half on ties."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _xp(a).maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_by_share(ctx, grad, _winner_share(a.data, b.data, a.data > b.data))


class Minimum(Function):
    """out = min(a, b) elementwise;  the gradient goes to the smaller input, split half and half on ties."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _xp(a).minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_by_share(ctx, grad, _winner_share(a.data, b.data, a.data < b.data))


def _winner_share(a, b, a_wins):
    """1 where a wins, 0 where b wins, 1/2 on ties: a's share of the gradient of max/min (broadcast shape)."""
    dtype = a.dtype if backend.is_floating(a.dtype) else b.dtype
    return a_wins.astype(dtype) + (a == b).astype(dtype) * dtype.type(0.5)


def _split_by_share(ctx, grad, share_of_a):
    share = _constant(share_of_a)
    return (grad * share if ctx.needs_input_grad[0] else None,
            grad * (1 - share) if ctx.needs_input_grad[1] else None)


class Where(Function):
    """out = a where condition else b;  dL/da = g where condition else 0,  dL/db = the rest."""

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)  # saved so that changing the condition in place before backward is caught
        return _xp(a).where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        return (None,
                where(condition, grad, 0.0) if ctx.needs_input_grad[1] else None,
                where(condition, 0.0, grad) if ctx.needs_input_grad[2] else None)


# ===============================================================================================================
# reductions
# ===============================================================================================================


def _kept_shape(shape, axes):
    """The shape a reduction over ``axes`` has with keepdims=True (reduced axes become 1)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand_reduced(grad, in_shape, axes):
    """Spread a reduction's gradient back over the reduced axes: reshape to keepdims form, then broadcast.

    When the reduced axes are the leading ones (or all of them) the gradient already broadcasts correctly, so
    the reshape is skipped.
    """
    if not (axes is None or axes == tuple(range(len(axes)))):
        grad = grad.reshape(_kept_shape(in_shape, axes))
    return broadcast_to(grad, in_shape)


class Sum(Function):
    """out = sum of a over axes;  dL/da = g copied along the summed axes."""

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        ctx.axes = axes
        return a.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return _expand_reduced(grad, ctx.input_shapes[0], ctx.axes), None, None


class Mean(Function):
    """out = sum of a over axes / n, n the number of elements summed;  dL/da = g / n copied along the axes."""

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        total = a.sum(axis=axes, keepdims=keepdims)  # sum / n: numpy's own mean, without its dispatch cost
        ctx.axes = axes
        ctx.count = a.size // total.size if total.size else 0
        if ctx.count == 0:
            return total * _xp(a).nan  # the mean of no numbers is NaN, as in numpy (without its warning)
        return total / ctx.count

    @staticmethod
    def backward(ctx, grad):
        # g (in keepdims form) times a constant array of 1/n with the input's shape: one op, and broadcasting
        # does the spreading. The result is a compact array, which keeps a following matmul on its fast path.
        in_shape = ctx.input_shapes[0]
        if not (ctx.axes is None or ctx.axes == tuple(range(len(ctx.axes)))):
            grad = grad.reshape(_kept_shape(in_shape, ctx.axes))
        scale = 1.0 / ctx.count if ctx.count else 0.0  # count 0: the input has no elements
        return grad * _constant(_xp(grad.data).full(in_shape, scale, dtype=grad.dtype)), None, None


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
    kept = _kept_shape(a.shape, ctx.axes)
    hits = (a.data == out.data.reshape(kept)).astype(a.dtype)
    share = hits / hits.sum(axis=ctx.axes, keepdims=True)
    return grad.reshape(kept) * _constant(share)


class Norm(Function):
    """out = sqrt(sum of a^2 over axes), the 2-norm;  dL/da = g * a / out, taken as 0 where out = 0.

    At a = 0 the norm has no derivative; we return the subgradient 0 (finite, as PyTorch does) instead of
    0/0 = NaN. Gradient penalties that need a smooth norm add an epsilon inside the square root themselves.
    """

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        xp = _xp(a)
        out = xp.sqrt(xp.sum(a * a, axis=axes, keepdims=keepdims))
        ctx.axes = axes
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        kept = _kept_shape(a.shape, ctx.axes)
        out = out.reshape(kept)
        safe_out = out + _constant((out.data == 0).astype(out.dtype))  # out where out > 0, else 1
        return grad.reshape(kept) * a / safe_out, None, None


# ===============================================================================================================
# shapes
# ===============================================================================================================


class Reshape(Function):
    """out = a with a new shape (same elements in the same order);  dL/da = g reshaped back."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shapes[0]), None


class Transpose(Function):
    """out = a with its axes permuted (out.shape[i] = a.shape[axes[i]]);  dL/da = g with the inverse permutation."""

    is_view = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return _xp(a).transpose(a, axes)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.axes)
        for position, axis in enumerate(ctx.axes):
            inverse[axis] = position
        return transpose(grad, tuple(inverse)), None


class BroadcastTo(Function):
    """out = a repeated along stretched or new leading axes to ``shape``;  dL/da = g summed back to a's shape."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        return _xp(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.input_shapes[0]), None


class SumTo(Function):
    """out = a summed over the axes that broadcasting to a.shape would have added or stretched from ``shape``.

    The adjoint of BroadcastTo, and what the engine uses to unbroadcast gradients;  dL/da = g broadcast back.
    """

    @staticmethod
    def forward(ctx, a, shape):
        if a.ndim == 2 and shape == a.shape[1:]:  # the common case: a bias gradient summed over the batch
            return a.sum(axis=0)
        lead = a.ndim - len(shape)
        if lead < 0 or builtins.any(n not in (1, m) for n, m in zip(shape, a.shape[lead:])):
            raise ValueError(f"sum_to: shape {tuple(a.shape)} cannot be summed to {tuple(shape)}")
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1)
        summed = _xp(a).sum(a, axis=axes, keepdims=True) if axes else a
        return summed.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad, ctx.input_shapes[0]), None


class GetItem(Function):
    """out = a[key] with NumPy indexing (ints, slices, None, Ellipsis, integer arrays, boolean masks).

    dL/da = zeros of a's shape with g added at the indexed positions. Adding (not assigning) is what makes
    repeated indices right: a[[0, 0]] uses a[0] twice, so a[0] gets both gradients.
    """

    is_view = True

    @staticmethod
    def forward(ctx, a, key, *index_arrays):
        ctx.key = key
        # The index tensors are passed and saved only so that changing one in place before backward is caught.
        ctx.save_for_backward(*index_arrays)
        return a[key]

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors  # checks the index tensors were not changed in place
        return (IndexAdd.apply(grad, ctx.input_shapes[0], ctx.key), None) + (None,) * (len(ctx.next_edges) - 2)


class IndexAdd(Function):
    """out = zeros(shape) with values added at [key] (the adjoint of GetItem);  dL/dvalues = g[key]."""

    @staticmethod
    def forward(ctx, values, shape, key):
        ctx.key = key
        out = _xp(values).zeros(shape, dtype=values.dtype)
        if backend.has_advanced_index(key):
            backend.scatter_add(out, key, values)
        else:
            out[key] = values  # plain slicing never repeats a position
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.key], None, None


class Concatenate(Function):
    """out = the inputs joined along ``axis``;  each input's gradient is its slice of g along that axis."""

    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.sizes = [array.shape[axis] for array in arrays]
        return _xp(arrays[0]).concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        grads, start = [], 0
        lead = (slice(None),) * ctx.axis
        for size, needed in zip(ctx.sizes, ctx.needs_input_grad[1:]):
            grads.append(grad[lead + (slice(start, start + size),)] if needed else None)
            start += size
        return (None, *grads)


class Stack(Function):
    """out = the inputs stacked along a new ``axis``;  input i's gradient is g indexed at i along that axis."""

    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        return _xp(arrays[0]).stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return (None, *[grad[lead + (i,)] if needed else None
                        for i, needed in enumerate(ctx.needs_input_grad[1:])])


# ===============================================================================================================
# copies, dtypes and devices
# ===============================================================================================================


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


# ===============================================================================================================
# the functions users call
# ===============================================================================================================


def _scalar_as_tensor(value, like):
    """A Python number as a 0-d tensor of ``like``'s dtype (a float with an integer tensor: the default float)."""
    dtype = like.data.dtype
    if isinstance(value, float) and not backend.is_floating(dtype):
        dtype = backend.get_default_dtype()
    return _constant(backend.scalar_array(like.data, value, dtype))


def _as_operand(op_name, value, like):
    if isinstance(value, Tensor):
        return value
    if backend.is_scalar(value):
        return _scalar_as_tensor(value, like)
    if backend.is_array(value) or isinstance(value, (list, tuple)):
        return _constant(backend.to_array(value, None, like.device))
    raise TypeError(f"{op_name}: expected a Tensor or a number, got {type(value).__name__}")


def _binary_operands(op_name, a, b):
    """Both operands as Tensors the op can combine without changing the float dtype. Python numbers take the
    tensor's dtype; an integer tensor is converted to a float tensor's dtype (numpy would make int64 with float32
    float64); a bool tensor is left as it is (numpy treats it as 0/1 and keeps the float dtype); two different
    float dtypes are an error (no silent promotion)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype == b.data.dtype:
        return a, b
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{op_name}: at least one operand must be a Tensor")
        a = _as_operand(op_name, a, b)
    else:
        b = _as_operand(op_name, b, a)
    dtype_a, dtype_b = a.data.dtype, b.data.dtype
    if dtype_a != dtype_b:
        float_a, float_b = backend.is_floating(dtype_a), backend.is_floating(dtype_b)
        if float_a and float_b:
            raise TypeError(f"{op_name}: operands have different float dtypes, {dtype_a} and {dtype_b}; convert one "
                            f"with .float() or .double() (tinygan does not promote silently)")
        if float_a and dtype_b != backend.bool_:
            b = cast(b, dtype_a)
        elif float_b and dtype_a != backend.bool_:
            a = cast(a, dtype_b)
    return a, b


def _broadcast_error(op_name, a, b):
    return ValueError(f"{op_name}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together "
                      f"(trailing axes must be equal or 1)")


def _apply_binary(function, op_name, a, b):
    a, b = _binary_operands(op_name, a, b)
    if a.data.shape != b.data.shape and not _broadcastable(a.data.shape, b.data.shape):
        raise _broadcast_error(op_name, a, b)
    return function.apply(a, b)


def _broadcastable(shape_a, shape_b):
    return builtins.all(m == n or m == 1 or n == 1 for m, n in zip(shape_a[::-1], shape_b[::-1]))


def add(a, b):
    """a + b, broadcasting as NumPy does."""
    return _apply_binary(Add, "add", a, b)


def sub(a, b):
    """a - b, broadcasting as NumPy does."""
    return _apply_binary(Sub, "sub", a, b)


def mul(a, b):
    """a * b elementwise, broadcasting as NumPy does."""
    return _apply_binary(Mul, "mul", a, b)


def div(a, b):
    """a / b elementwise (true division: integer tensors give the default float dtype)."""
    a, b = _binary_operands("div", a, b)
    if not backend.is_floating(a.dtype) and not backend.is_floating(b.dtype):
        a, b = _as_float(a), _as_float(b)
    return _apply_binary(Div, "div", a, b)


def neg(a):
    """-a."""
    return Neg.apply(a)


def pow(a, b):
    """a ** b elementwise; either may be a number."""
    return _apply_binary(Pow, "pow", a, b)


def matmul(a, b):
    """Matrix product with NumPy's rules: (n, k) @ (k, m) -> (n, m); 1-D operands are vectors; leading axes
    are batch axes that broadcast, e.g. (b, n, k) @ (k, m) -> (b, n, m)."""
    a, b = _binary_operands("matmul", a, b)
    if a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[0]:
        return MatMul.apply(a, b)  # the common case, checked cheaply
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one axis, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}; use * for scalars")
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner_b:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not align: the last axis of the "
                         f"first ({a.shape[-1]}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} axis "
                         f"of the second ({inner_b})")
    if not _broadcastable(a.shape[:-2], b.shape[:-2]):
        raise ValueError(f"matmul: batch axes of shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast "
                         f"together")
    return MatMul.apply(a, b)


def linear(x, weight, bias=None):
    """x @ weight.T + bias as one op (PyTorch's F.linear): x (..., in), weight (out, in), bias (out,) -> (..., out)."""
    return Linear.apply(*_linear_operands("linear", x, weight, bias))


def linear_relu(x, weight, bias=None):
    """relu(x @ weight.T + bias) as one op (a fused graph node, see LinearReLU); arguments as for ``linear``."""
    return LinearReLU.apply(*_linear_operands("linear_relu", x, weight, bias))


def _linear_operands(op_name, x, weight, bias):
    """x, weight and bias checked to fit: x (..., in), weight (out, in), bias (out,) or None, one float dtype."""
    x, weight = _binary_operands(op_name, x, weight)
    x_shape, weight_shape = x.data.shape, weight.data.shape
    if bias is not None and bias.data.dtype != weight.data.dtype:
        raise TypeError(f"{op_name}: bias is {bias.dtype} but weight is {weight.dtype}; convert one of them")
    if len(weight_shape) != 2 or not x_shape or x_shape[-1] != weight_shape[1] or \
            (bias is not None and bias.data.shape != (weight_shape[0],)):
        raise ValueError(f"{op_name}: x {tuple(x.shape)}, weight {tuple(weight.shape)} and bias "
                         f"{None if bias is None else tuple(bias.shape)} do not fit; expected x (..., in), "
                         f"weight (out, in) and bias (out,)")
    return x, weight, bias


def _as_float(a):
    """An integer or bool tensor converted to the default float dtype (float tensors are returned as they are):
    functions such as exp are real-valued, and numpy would otherwise compute them in float64."""
    return a if backend.is_floating(a.data.dtype) else cast(a, backend.get_default_dtype())


def _unary(function):
    def op(a):
        return function.apply(_as_float(a if isinstance(a, Tensor) else Tensor(a)))
    op.__name__ = function.__name__.lower()
    op.__doc__ = function.__doc__
    return op


exp = _unary(Exp)
log = _unary(Log)
log1p = _unary(Log1p)
sqrt = _unary(Sqrt)
abs = _unary(Abs)
sin = _unary(Sin)
cos = _unary(Cos)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)
softplus = _unary(Softplus)
logsigmoid = _unary(LogSigmoid)
relu = _unary(ReLU)


def binary_cross_entropy_with_logits(logits, target):
    """mean(-[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))]) from logits l, never through a rounded sigmoid.

    logits: a float Tensor of any non-empty shape; target: a number in [0, 1] (the same target for every element,
    1 for "real" and 0 for "fake" in a GAN) or a Tensor of the logits' shape and dtype. Returns a 0-d Tensor,
    PyTorch's F.binary_cross_entropy_with_logits(logits, target) with reduction="mean". One graph node (see
    BinaryCrossEntropyWithLogits for the formulas).
    """
    name = "binary_cross_entropy_with_logits"
    if not isinstance(logits, Tensor) or not backend.is_floating(logits.data.dtype):
        raise TypeError(f"{name}: logits must be a floating-point tinygan Tensor, got "
                        f"{logits.dtype if isinstance(logits, Tensor) else type(logits).__name__}")
    if logits.data.size == 0:
        raise ValueError(f"{name}: logits of shape {tuple(logits.shape)} hold no elements; the mean of none is "
                         f"undefined")
    if isinstance(target, Tensor):
        if target.data.shape != logits.data.shape or target.data.dtype != logits.data.dtype:
            raise ValueError(f"{name}: target must have the logits' shape and dtype (no broadcasting), got target "
                             f"{tuple(target.shape)} {target.dtype} and logits {tuple(logits.shape)} {logits.dtype}")
        return BinaryCrossEntropyWithLogits.apply(logits, target)
    if isinstance(target, bool) or not isinstance(target, numbers.Real) or not 0 <= target <= 1:
        raise ValueError(f"{name}: target must be a number in [0, 1] or a Tensor like the logits, got {target!r}")
    return BinaryCrossEntropyWithLogits.apply(logits, float(target))


def elu(a, alpha=1.0):
    """a if a > 0 else alpha * (exp(a) - 1), built from where and exp (so it is differentiable to any order).

    exp is taken of min(a, 0) so the branch that where() discards never overflows for large a.
    """
    a = _as_float(a if isinstance(a, Tensor) else Tensor(a))
    negative_part = (exp(minimum(a, 0.0)) - 1) * alpha
    return where(a > 0, a, negative_part)


def leaky_relu(a, negative_slope=0.01):
    """a if a > 0 else negative_slope * a (PyTorch's default slope 0.01; GANs often use 0.2)."""
    return LeakyReLU.apply(a, float(negative_slope))


def clamp(a, min=None, max=None):
    """Limit a to [min, max]; either bound may be None. Gradient 1 inside the interval (bounds included), else 0."""
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    for bound in (min, max):
        if bound is not None and not backend.is_scalar(bound):
            raise TypeError(f"clamp: bounds must be numbers, got {type(bound).__name__}")
    if builtins.any(bound is not None and not _is_integer(bound) for bound in (min, max)):
        a = _as_float(a)  # an integer tensor clamped to a fractional bound becomes the default float dtype
    # Python numbers of the tensor's kind, so a numpy float64 bound cannot promote a float32 tensor
    to_number = float if backend.is_floating(a.dtype) else int
    low = None if min is None else to_number(min)
    high = None if max is None else to_number(max)
    return Clamp.apply(a, low, high)


clip = clamp


def maximum(a, b):
    """Elementwise max of a and b (ties share the gradient equally)."""
    return _apply_binary(Maximum, "maximum", a, b)


def minimum(a, b):
    """Elementwise min of a and b (ties share the gradient equally)."""
    return _apply_binary(Minimum, "minimum", a, b)


def where(condition, a, b):
    """a where condition is True, else b; condition is a bool tensor (no gradient flows to it)."""
    if not isinstance(condition, Tensor):
        condition = _constant(condition) if backend.is_array(condition) else None
    if condition is None or condition.dtype != backend.bool_:
        raise TypeError("where: the condition must be a bool tensor, e.g. x > 0")
    a, b = _binary_operands("where", a, b)
    if condition.device != a.device:
        raise ValueError(f"where: the condition is on {condition.device} but the values are on {a.device}; move "
                         f"them to one device first")
    return Where.apply(condition, a, b)


def _normalize_axes(op_name, axis, ndim):
    """axis given as None, an int or a tuple of ints (negative allowed) -> None or a sorted tuple of axes."""
    if axis is None:
        return None
    if type(axis) is int and 0 <= axis < ndim:  # the common case, already normal
        return (axis,)
    axes = (axis,) if _is_integer(axis) else tuple(axis)
    normalized = []
    for one in axes:
        if not _is_integer(one) or not -ndim <= one < ndim:
            raise ValueError(f"{op_name}: axis {one!r} is out of range for a tensor with {ndim} axes"
                             + (" (a 0-d tensor has no axes: use axis=None)" if ndim == 0 else ""))
        normalized.append(operator.index(one) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op_name}: axis {axis} repeats an axis")
    return tuple(sorted(normalized))


def _is_integer(value):
    """True for Python and numpy integers (not bools)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def sum(a, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all; an int or a tuple), as numpy.sum."""
    return Sum.apply(a, _normalize_axes("sum", axis, a.ndim), keepdims)


def mean(a, axis=None, keepdims=False):
    """Mean over ``axis`` (None: all; an int or a tuple), as numpy.mean."""
    return Mean.apply(_as_float(a), _normalize_axes("mean", axis, a.ndim), keepdims)


def var(a, axis=None, ddof=0, keepdims=False):
    """Variance over ``axis``: sum((a - mean)^2) / (n - ddof). ddof=0 is the population variance (NumPy's
    default; PyTorch's default is ddof=1)."""
    a = _as_float(a)
    axes = _normalize_axes("var", axis, a.ndim)
    count = a.size if axes is None else _product(a.shape[i] for i in axes)
    centered = a - mean(a, axes, keepdims=True)
    return sum(centered * centered, axes, keepdims) / (count - ddof)


def std(a, axis=None, ddof=0, keepdims=False):
    """Standard deviation: sqrt(var(a, axis, ddof))."""
    return sqrt(var(a, axis, ddof, keepdims))


def max(a, axis=None, keepdims=False):
    """Largest value over ``axis`` (values only, as numpy.max)."""
    return Max.apply(a, _normalize_axes("max", axis, a.ndim), keepdims)


def min(a, axis=None, keepdims=False):
    """Smallest value over ``axis`` (values only, as numpy.min)."""
    return Min.apply(a, _normalize_axes("min", axis, a.ndim), keepdims)


def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) over ``axis``, computed as m + log(sum(exp(a - m))) with m the max, so it never
    overflows. m is held constant: the result does not depend on it, so its gradient through m is zero."""
    a = _as_float(a)
    axes = _normalize_axes("logsumexp", axis, a.ndim)
    shift = max(a, axes, keepdims=True).detach()
    shift = where(_constant(a.device.xp.isfinite(shift.data)), shift, 0.0)
    out = log(sum(exp(a - shift), axes, keepdims=True)) + shift
    return out if keepdims else out.reshape(tuple(n for i, n in enumerate(out.shape)
                                                  if axes is not None and i not in axes))


def norm(a, axis=None, keepdims=False):
    """The 2-norm sqrt(sum(a^2)) over ``axis`` (None: all elements), with a finite gradient (0) at a = 0."""
    return Norm.apply(_as_float(a), _normalize_axes("norm", axis, a.ndim), keepdims)


def _product(values):
    result = 1
    for value in values:
        result *= value
    return result


def reshape(a, shape):
    """The same elements in a new shape; one axis may be -1 (inferred)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if shape == a.data.shape:
        return a
    known = _product(n for n in shape if n != -1)
    if shape.count(-1) > 1 or (-1 in shape and (known == 0 or a.size % known)) or \
            (-1 not in shape and known != a.size):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {tuple(a.shape)} ({a.size} elements) into "
                         f"{shape}")
    if -1 in shape:
        shape = tuple(a.size // known if n == -1 else n for n in shape)
    if shape == a.shape:
        return a
    return Reshape.apply(a, shape)


def transpose(a, axes=None):
    """Permute the axes as numpy.transpose: reversed when ``axes`` is None (the matrix transpose for 2-D)."""
    if axes is None:
        if a.ndim < 2:
            return a
        if a.ndim == 2:
            return Transpose.apply(a, (1, 0))
        axes = tuple(range(a.ndim - 1, -1, -1))
    axes = tuple(axes)
    if sorted(i % builtins.max(a.ndim, 1) for i in axes) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {a.ndim} axes of shape "
                         f"{tuple(a.shape)}")
    axes = tuple(i % a.ndim for i in axes)
    if axes == tuple(range(a.ndim)):
        return a
    return Transpose.apply(a, axes)


def permute(a, axes):
    """PyTorch's name for transpose with explicit axes: out.shape[i] = a.shape[axes[i]]."""
    return transpose(a, axes)


def swapaxes(a, axis1, axis2):
    """Exchange two axes (PyTorch's transpose(dim0, dim1))."""
    axes = list(range(a.ndim))
    axis1, axis2 = _normalize_axes("swapaxes", axis1, a.ndim)[0], _normalize_axes("swapaxes", axis2, a.ndim)[0]
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


def broadcast_to(a, shape):
    """Repeat a along new leading axes and along axes of size 1 to get ``shape`` (no copy)."""
    shape = tuple(shape)
    if len(shape) < a.ndim or not builtins.all(m == n or m == 1 for m, n in zip(a.shape[::-1], shape[::-1])):
        raise ValueError(f"broadcast_to: a tensor of shape {tuple(a.shape)} cannot be broadcast to {shape}")
    if shape == a.shape:
        return a
    return BroadcastTo.apply(a, shape)


def expand(a, shape):
    """PyTorch's broadcast_to: -1 keeps an axis as it is."""
    shape = tuple(shape)
    lead = len(shape) - a.ndim
    if builtins.any(n == -1 for n in shape[:builtins.max(lead, 0)]):
        raise ValueError(f"expand: -1 keeps an existing axis, so it cannot stand for a new leading axis; got "
                         f"{shape} for a tensor of shape {tuple(a.shape)}")
    return broadcast_to(a, tuple(a.shape[i - lead] if n == -1 else n for i, n in enumerate(shape)))


def sum_to(a, shape):
    """Sum a over the axes that broadcasting from ``shape`` added or stretched (the adjoint of broadcast_to)."""
    shape = tuple(shape)
    return a if a.shape == shape else SumTo.apply(a, shape)


def squeeze(a, axis=None):
    """Remove axes of size 1 (all of them, or the given ones, which must have size 1)."""
    axes = _normalize_axes("squeeze", axis, a.ndim)
    if axes is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    for i in axes:
        if a.shape[i] != 1:
            raise ValueError(f"squeeze: axis {i} of shape {tuple(a.shape)} has size {a.shape[i]}, not 1")
    return reshape(a, tuple(n for i, n in enumerate(a.shape) if i not in axes))


def unsqueeze(a, axis):
    """Insert an axis of size 1 at position ``axis`` (numpy.expand_dims); negative counts from the end."""
    if not -a.ndim - 1 <= axis <= a.ndim:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for a new axis in shape {tuple(a.shape)}")
    axis = axis % (a.ndim + 1)
    return reshape(a, a.shape[:axis] + (1,) + a.shape[axis:])


expand_dims = unsqueeze


def flatten(a, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim (inclusive) into one, as torch.flatten."""
    if a.ndim == 0:
        return reshape(a, (1,))
    start, end = start_dim % a.ndim, end_dim % a.ndim
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {tuple(a.shape)}")
    merged = _product(a.shape[start:end + 1])
    return reshape(a, a.shape[:start] + (merged,) + a.shape[end + 1:])


def _index_key(a, key):
    """An indexing key with tensors and lists replaced by arrays on a's device (Python ints, slices, None and
    Ellipsis stay as they are)."""
    parts = key if isinstance(key, tuple) else (key,)
    converted = []
    for part in parts:
        if isinstance(part, Tensor):
            if backend.is_floating(part.dtype):
                raise IndexError(f"getitem: an index tensor must be integer or bool, got {part.dtype}")
            part = part.data if part.device == a.device else backend.to_array(part.data, None, a.device)
        elif isinstance(part, list):
            part = backend.to_array(part, None, a.device)
        elif backend.is_array(part) and backend.device_of(part) != a.device:
            part = backend.to_array(part, None, a.device)
        converted.append(part)
    return tuple(converted) if isinstance(key, tuple) else converted[0]


def getitem(a, key):
    """a[key] with NumPy indexing; the gradient is added back at the indexed positions."""
    parts = key if isinstance(key, tuple) else (key,)
    index_tensors = [part for part in parts if isinstance(part, Tensor) and part.device == a.device]
    key = _index_key(a, key)
    try:
        return GetItem.apply(a, key, *index_tensors)
    except IndexError as error:
        raise IndexError(f"getitem: index {key!r} does not fit a tensor of shape {tuple(a.shape)}: {error}") \
            from None


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (their other axes must match)."""
    tensors = _same_kind_tensors("concatenate", tensors)
    axis = _normalize_axes("concatenate", axis, tensors[0].ndim)[0]
    shapes = [t.shape[:axis] + t.shape[axis + 1:] for t in tensors]
    if builtins.any(t.ndim != tensors[0].ndim for t in tensors) or builtins.any(s != shapes[0] for s in shapes):
        raise ValueError(f"concatenate: shapes {[tuple(t.shape) for t in tensors]} must match except on axis {axis}")
    return Concatenate.apply(axis, *tensors)


cat = concatenate


def stack(tensors, axis=0):
    """Join tensors of one shape along a new axis."""
    tensors = _same_kind_tensors("stack", tensors)
    if builtins.any(t.shape != tensors[0].shape for t in tensors):
        raise ValueError(f"stack: all tensors must have one shape, got {[tuple(t.shape) for t in tensors]}")
    if not -tensors[0].ndim - 1 <= axis <= tensors[0].ndim:
        raise ValueError(f"stack: axis {axis} is out of range for a new axis of shape {tuple(tensors[0].shape)}")
    return Stack.apply(axis % (tensors[0].ndim + 1), *tensors)


def _same_kind_tensors(op_name, tensors):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op_name}: needs at least one tensor")
    if builtins.any(not isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{op_name}: expects a sequence of Tensors")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{op_name}: tensors have different dtypes {sorted(str(d) for d in dtypes)}; convert them "
                        f"to one dtype first")
    return tensors


def clone(a):
    """A copy of a with its own memory; gradients pass straight through."""
    return Clone.apply(a)


def cast(a, dtype):
    """a converted to ``dtype``; differentiable between float dtypes."""
    dtype = backend.as_dtype(dtype)
    if a.dtype == dtype:
        return a
    if a.requires_grad and not backend.is_floating(dtype):
        raise TypeError(f"cast: a tensor that requires grad cannot be converted to {dtype}; use .detach() first")
    return Cast.apply(a, dtype)


def to_device(a, device):
    """a copied to ``device`` ("cpu" or "cuda"); differentiable."""
    device = backend.as_device(device)
    if a.device == device:
        return a
    return ToDevice.apply(a, device)


# ---------------------------------------------------------------------------------------------------------------
# results without gradients: comparisons, logic, indices
# ---------------------------------------------------------------------------------------------------------------


def _compare(op_name, array_function):
    def compare(a, b):
        a, b = _binary_operands(op_name, a, b)
        if not _broadcastable(a.shape, b.shape):
            raise _broadcast_error(op_name, a, b)
        return tensor_from_array(getattr(a.device.xp, array_function)(a.data, b.data))
    compare.__name__ = op_name
    compare.__doc__ = f"Elementwise {op_name} as a bool tensor (carries no gradient)."
    return compare


less = _compare("less", "less")
less_equal = _compare("less_equal", "less_equal")
greater = _compare("greater", "greater")
greater_equal = _compare("greater_equal", "greater_equal")
equal = _compare("equal", "equal")
not_equal = _compare("not_equal", "not_equal")
logical_and = _compare("logical_and", "logical_and")
logical_or = _compare("logical_or", "logical_or")


def logical_not(a):
    """Elementwise not of a bool tensor."""
    return tensor_from_array(a.device.xp.logical_not(a.data))


def isfinite(a):
    """True where a is neither inf nor NaN."""
    return tensor_from_array(a.device.xp.isfinite(a.data))


def isnan(a):
    return tensor_from_array(a.device.xp.isnan(a.data))


def sign(a):
    """-1, 0 or 1 elementwise (no gradient: its derivative is 0 almost everywhere)."""
    return tensor_from_array(a.device.xp.sign(a.data))


def _reduce_without_grad(op_name, array_function):
    def reduce(a, axis=None, keepdims=False):
        if axis is not None and not isinstance(axis, int) and op_name.startswith("arg"):
            raise ValueError(f"{op_name}: axis must be None or an int")
        axes = _normalize_axes(op_name, axis, a.ndim)
        if op_name.startswith("arg") and axes is not None:
            axes = axes[0]
        result = getattr(a.device.xp, array_function)(a.data, axis=axes, keepdims=keepdims)
        return tensor_from_array(result if backend.is_array(result) else backend.as_array(result))
    reduce.__name__ = op_name
    reduce.__doc__ = f"numpy.{array_function} over ``axis`` (carries no gradient)."
    return reduce


argmax = _reduce_without_grad("argmax", "argmax")
argmin = _reduce_without_grad("argmin", "argmin")
any = _reduce_without_grad("any", "any")
all = _reduce_without_grad("all", "all")
