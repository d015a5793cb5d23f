"""Functions of tensors that layers and losses are made of, PyTorch's ``torch.nn.functional`` by name.

    import tinygan.nn.functional as F
    h = F.relu(F.linear(x, weight, bias))
    loss = F.binary_cross_entropy_with_logits(logits, 1.0)

Each is written with the plain ops of tinygan/ops/, so its gradient (of any order) comes from theirs.
"""

import numbers

from .. import backend, ops
from ..autograd import TensorBase
from ..ops.arguments import binary_operands


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


def binary_cross_entropy_with_logits(logits, target):
    """The mean binary cross-entropy of the probabilities sigmoid(l) against targets t, from the logits l:

        mean(-[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))]) = mean(t softplus(-l) + (1 - t) softplus(l))

    never through a rounded sigmoid. logits: a float Tensor of any non-empty shape; target: a number in [0, 1]
    (the same for every element: 1 for "real" and 0 for "fake" in a GAN) or a Tensor of the logits' shape and
    dtype. Returns a 0-d Tensor, PyTorch's F.binary_cross_entropy_with_logits with reduction="mean". For a target
    of exactly 1 or 0 only one softplus term is computed, precise in both tails.
    """
    logits, target = check_bce_arguments("binary_cross_entropy_with_logits", logits, target)
    if isinstance(target, numbers.Number) and target == 1:
        return ops.softplus(-logits).mean()
    if isinstance(target, numbers.Number) and target == 0:
        return ops.softplus(logits).mean()
    return (target * ops.softplus(-logits) + (1 - target) * ops.softplus(logits)).mean()


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
