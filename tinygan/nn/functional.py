"""Functions of tensors that layers and losses are made of, PyTorch's ``torch.nn.functional`` by name.

    import tinygan.nn.functional as F
    h = F.relu(F.linear(x, weight, bias))
    loss = F.binary_cross_entropy_with_logits(logits, 1.0)

Each is written with the plain ops of tinygan/ops/, so its gradient (of any order) comes from theirs. PyTorch's
``inplace=True`` is accepted and computes out of place (the result is the same; autograd never sees a difference).
The losses take PyTorch's ``reduction``: "mean" (the default), "sum" or "none".
"""

import numbers

from .. import backend, ops
from ..autograd import TensorBase
from ..ops.arguments import binary_operands


def relu(input, inplace=False):
    """max(input, 0)."""
    return ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input if input > 0 else negative_slope * input."""
    return ops.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """input if input > 0 else alpha * (exp(input) - 1)."""
    return ops.elu(input, alpha)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta input)) / beta, and input itself where beta * input > threshold, as PyTorch computes it
    (the two agree there to float precision)."""
    smooth = ops.softplus(input, beta)
    return ops.where(input * beta > threshold, input, smooth)


def sigmoid(input):
    """1 / (1 + exp(-input)), stable for any input."""
    return ops.sigmoid(input)


def tanh(input):
    """tanh(input)."""
    return ops.tanh(input)


def softmax(input, dim):
    """exp(input) / sum(exp(input)) along ``dim``, computed as exp(input - logsumexp(input, dim))."""
    return ops.exp(log_softmax(input, dim))


def log_softmax(input, dim):
    """input - logsumexp(input) along ``dim``: log-probabilities that never overflow."""
    return input - ops.logsumexp(input, dim, keepdims=True)


def linear(x, weight, bias=None):
    """x @ weight.T + bias, PyTorch's layout: x (..., in), weight (out, in), bias (out,) or None -> (..., out)."""
    x, weight, bias = check_linear_arguments("linear", x, weight, bias)
    out = x @ weight.T
    return out if bias is None else out + bias


def check_linear_arguments(op_name, x, weight, bias):
    """x, weight and bias checked to fit: x (..., in), weight (out, in), bias (out,) or None, one float dtype."""
    x, weight = binary_operands(op_name, x, weight, elementwise=False)
    x_shape, weight_shape = x.array.shape, weight.array.shape
    if bias is not None and bias.array.dtype != weight.array.dtype:
        raise TypeError(f"{op_name}: bias is {bias.dtype} but weight is {weight.dtype}; convert one of them")
    if len(weight_shape) != 2 or not x_shape or x_shape[-1] != weight_shape[1] or \
            (bias is not None and bias.array.shape != (weight_shape[0],)):
        raise ValueError(f"{op_name}: x {tuple(x.shape)}, weight {tuple(weight.shape)} and bias "
                         f"{None if bias is None else tuple(bias.shape)} do not fit; expected x (..., in), "
                         f"weight (out, in) and bias (out,)")
    return x, weight, bias


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """The mean binary cross-entropy of the probabilities sigmoid(l) against targets t, from the logits l:

        mean(-[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))]) = mean(t softplus(-l) + (1 - t) softplus(l))

    never through a rounded sigmoid. logits: a float Tensor of any non-empty shape; target: a number in [0, 1]
    (the same for every element: 1 for "real" and 0 for "fake" in a GAN) or a Tensor of the logits' shape and
    dtype. Returns a 0-d Tensor with reduction="mean" (PyTorch's default; "sum" and "none" too). For a target of
    exactly 1 or 0 only one softplus term is computed, precise in both tails.
    """
    logits, target = check_bce_arguments("binary_cross_entropy_with_logits", logits, target)
    if isinstance(target, numbers.Number) and target == 1:
        losses = ops.softplus(-logits)
    elif isinstance(target, numbers.Number) and target == 0:
        losses = ops.softplus(logits)
    else:
        losses = target * ops.softplus(-logits) + (1 - target) * ops.softplus(logits)
    return _reduced("binary_cross_entropy_with_logits", losses, reduction)


def binary_cross_entropy(input, target, reduction="mean"):
    """-[t log p + (1 - t) log(1 - p)] for probabilities p = input in [0, 1], each log clamped at -100 as PyTorch
    clamps it (so p = 0 or 1 gives a large, finite loss). From logits, binary_cross_entropy_with_logits is exact."""
    input, target = check_bce_arguments("binary_cross_entropy", input, target)
    log_p = ops.clamp(ops.log(input), min=-100.0)
    log_not_p = ops.clamp(ops.log(1 - input), min=-100.0)
    return _reduced("binary_cross_entropy", -(target * log_p + (1 - target) * log_not_p), reduction)


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2, the mean by default."""
    input, target = binary_operands("mse_loss", input, target)
    if input.shape != target.shape:
        raise ValueError(f"mse_loss: input {tuple(input.shape)} and target {tuple(target.shape)} must have one "
                         f"shape (PyTorch would broadcast them and warn; that is almost always a mistake)")
    difference = input - target
    return _reduced("mse_loss", difference * difference, reduction)


def _reduced(name, losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def check_bce_arguments(name, logits, target):
    """(logits, target) checked: float logits with elements; target a number in [0, 1] (as a float) or a Tensor
    of the logits' shape and dtype."""
    if not isinstance(logits, TensorBase) or not backend.is_floating(logits.array.dtype):
        raise TypeError(f"{name}: logits must be a floating-point tinygan Tensor, got "
                        f"{logits.dtype if isinstance(logits, TensorBase) else type(logits).__name__}")
    if logits.array.size == 0:
        raise ValueError(f"{name}: logits of shape {tuple(logits.shape)} hold no elements; the mean of none is "
                         f"undefined")
    if isinstance(target, TensorBase):
        if target.array.shape != logits.array.shape or target.array.dtype != logits.array.dtype:
            raise ValueError(f"{name}: target must have the logits' shape and dtype (no broadcasting), got target "
                             f"{tuple(target.shape)} {target.dtype} and logits {tuple(logits.shape)} {logits.dtype}")
        return logits, target
    if isinstance(target, bool) or not isinstance(target, numbers.Real) or not 0 <= target <= 1:
        raise ValueError(f"{name}: target must be a number in [0, 1] or a Tensor like the logits, got {target!r}")
    return logits, float(target)
