"""Fused graph nodes: several elementary ops computed as one node each way, for speed.

Each gives the same numbers as the plain ops it replaces (tested against them in tests/test_fast.py, bit for bit
where the arithmetic is the same) and has its own hand-derived backward, itself differentiable, so second
derivatives (gradient penalties) still work:

    linear(x, weight, bias)        = x @ weight.T + bias             (one node instead of a transpose, a matmul
                                                                      and an add; its backward one node too)
    linear_relu(x, weight, bias)   = relu(x @ weight.T + bias)       (a Linear layer and the ReLU after it)
    binary_cross_entropy_with_logits(logits, target)                 (the BCE of the GAN losses, mean reduction)

Why: for the small networks of a toy GAN, Python overhead per graph node, not arithmetic, is much of a training
step; a fused node halves the graph of an MLP. Nothing uses them unless asked: ``tinygan.fast.FusedMLP`` builds on
them, and the trainer chooses that model explicitly. The plain ops (tinygan/ops/) are what a reader should read.
"""

import numbers

from .. import backend
from ..autograd import Function
from ..ops.arguments import constant
from ..nn.functional import check_bce_arguments, check_linear_arguments
from ..ops.arguments import xp_of
from ..ops.basic import sigmoid, stable_sigmoid
from ..ops.shapes import broadcast_to


# ===============================================================================================================
# Linear layers
# ===============================================================================================================


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
    are those of linear followed by relu, bit for bit. FusedMLP uses it for each hidden layer.

    With m = [out > 0] (the units the ReLU let through: out > 0 exactly where x @ weight^T + bias > 0):
        dL/d(x @ weight^T + bias) = g * m,  and from it Linear's gradients,
    all in one LinearBackward node (given the mask). The mask is a constant, as in ReLU's own backward, and
    LinearBackward has its own backward: second derivatives work.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        out = Linear.forward(ctx, x, weight, bias)  # saves x and weight; out is a fresh array
        xp_of(out).maximum(out, 0, out=out)
        ctx.save_for_backward(x, weight, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, out = ctx.saved_tensors
        return _linear_gradients(ctx.needs_input_grad, grad, x, weight, mask=out.array > 0)


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
        xp = xp_of(grad)
        grad = backend.blas_ready(grad) if mask is None else grad * mask
        outputs = []
        if wanted[0]:
            # one output (D's last layer): g @ weight is an outer product, which BLAS computes ten times slower
            # than the elementwise product (the same values: each entry is one product, no sum; only a zero's
            # sign can differ, 0 * -w being -0.0 where the matmul's sum gives +0.0)
            outputs.append(grad * weight if weight.shape[0] == 1 else xp.matmul(grad, weight))
        if wanted[1]:
            outputs.append(xp.matmul(grad.T, x))
        if wanted[2]:
            outputs.append(grad.sum(axis=0))
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *cotangents):
        grad, x, weight = ctx.saved_tensors
        mask = None if ctx.mask is None else constant(grad, ctx.mask)
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
# the binary cross-entropy
# ===============================================================================================================


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
        xp = xp_of(logits)
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
        xp = xp_of(logits)
        ctx.count = logits.size
        ctx.target = target if isinstance(target, numbers.Number) else None
        ctx.save_for_backward(grad, logits, None if ctx.target is not None else target)
        if ctx.target == 1:
            slope = -stable_sigmoid(xp, -logits)
        elif ctx.target == 0:
            slope = stable_sigmoid(xp, logits)
        else:
            slope = (1 - target) * stable_sigmoid(xp, logits) - target * stable_sigmoid(xp, -logits)
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


# ===============================================================================================================
# the functions
# ===============================================================================================================


def linear(x, weight, bias=None):
    """x @ weight.T + bias as one fused node: x (..., in), weight (out, in), bias (out,) or None -> (..., out)."""
    return Linear.apply(*check_linear_arguments("linear", x, weight, bias))


def linear_relu(x, weight, bias=None):
    """relu(x @ weight.T + bias) as one fused node (see LinearReLU); arguments as for ``linear``."""
    return LinearReLU.apply(*check_linear_arguments("linear_relu", x, weight, bias))


def binary_cross_entropy_with_logits(logits, target):
    """mean(-[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))]) as one fused node each way; the arguments and the
    result are those of tinygan.nn.functional.binary_cross_entropy_with_logits (the plain version)."""
    logits, target = check_bce_arguments("binary_cross_entropy_with_logits", logits, target)
    return BinaryCrossEntropyWithLogits.apply(logits, target)
