"""The checks that keep autograd honest, called by the engine (autograd.py) at the points where misuse shows.

Each turns a mistake that would otherwise give a silently wrong gradient, or a confusing error deep inside numpy,
into one clear message that names the op, what was given and what to do:

- version counters: a tensor saved for backward and changed in place afterwards makes backward raise
  (``raise_changed_in_place``), and the output of a view op shares its input's counter (``view_version_counter``);
- freed graphs: backward through a graph that an earlier backward freed (``graph_not_freed``);
- devices and dtypes: tensors of one op on different devices, a backward gradient that does not fit its output,
  ``requires_grad`` on an integer tensor or a non-leaf;
- what a Function returns: forward must return arrays, backward one gradient (a Tensor or None) per argument, of
  a shape that can be summed to the input's;
- ``once_differentiable``: a backward that is not itself differentiable raises on double backward instead of
  returning wrong (missing) second derivatives.

This module sits below autograd.py (which imports it), so it knows tensors and nodes only by what they hold.
"""

import functools

from . import backend
from .grad_mode import is_grad_enabled, no_grad

# ---------------------------------------------------------------------------------------------------------------
# Function.apply
# ---------------------------------------------------------------------------------------------------------------


def second_tensor_array(function, earlier_tensors, tensor):
    """``tensor``'s array for forward, checked to be on the device of the earlier tensor arguments; a view of its
    own when an earlier argument holds the same array (x and x.detach())."""
    if type(tensor.array) is not type(earlier_tensors[0].array):
        devices = ", ".join(str(backend.device_of(t.array)) for t in earlier_tensors + [tensor])
        raise ValueError(f"{function.__name__}: its tensors are on different devices ({devices}); move them to "
                         f"one device with .to('cpu') or .to('cuda') first")
    for earlier in earlier_tensors:
        if earlier.array is tensor.array and earlier is not tensor:
            return tensor.array.view()
    return tensor.array


def no_tensor_argument(function, args):
    raise TypeError(f"{function.__name__}.apply: needs at least one tinygan Tensor argument (got "
                    f"{', '.join(type(arg).__name__ for arg in args) or 'no arguments'})")


def forward_outputs(function, outputs):
    """forward's results as arrays (numpy returns scalars, not 0-d arrays, from some ops on 0-d input)."""
    if len(outputs) == 1 and type(outputs[0]) is backend.HOST_ARRAY:
        return outputs   # the usual result: one numpy array
    arrays = []
    for output in outputs:
        if backend.is_array(output):
            arrays.append(output)
        elif backend.is_scalar(output):
            arrays.append(backend.as_array(output))
        else:
            raise TypeError(f"{function.__name__}.forward returned a {type(output).__name__}; forward works on raw "
                            f"arrays and must return an array (or a tuple of arrays): compute with the array "
                            f"namespace (tg.backend.array_namespace(x)), not with tinygan ops")
    return arrays


def view_version_counter(args, out):
    """The version counter the output of a view op (``is_view``) shares with its first input, or None for a new one.

    A view op may return a view (reshape of a contiguous array, basic slicing) or a copy (advanced indexing,
    reshape of a transposed array). Only an output that really shares memory with its input shares its counter:
    then an in-place change through either is seen by both, and copies raise no false alarm.
    """
    return args[0]._version_counter if backend.shares_memory(out, args[0].array) else None


# ---------------------------------------------------------------------------------------------------------------
# saved tensors and freed graphs
# ---------------------------------------------------------------------------------------------------------------

def graph_not_freed(node):
    if node.freed:
        raise_freed_graph(node)


def raise_freed_graph(node):
    raise RuntimeError(
        f"{node.function.__name__}: trying to run backward through the graph a second time, but it was freed "
        f"(with its saved tensors) by the first backward. Pass retain_graph=True to the first backward (or "
        f"tg.grad) if you need to backward through the graph again.")


def raise_changed_in_place(node, kind, value, counter, version):
    """A tensor saved for backward was changed in place since (its version counter moved on): its gradient would
    be wrong."""
    if kind == "output":
        what = f"its own output of shape {tuple(value[0].shape)}"
    elif value.grad_fn is not None:
        what = f"a tensor of shape {tuple(value.shape)} made by {value.grad_fn.function.__name__}"
    else:
        what = f"a leaf tensor of shape {tuple(value.shape)}"
    raise RuntimeError(
        f"{node.function.__name__}: {what}, saved for backward, was changed by an in-place operation (its version "
        f"is {counter[0]}, it was {version} when saved). Do the in-place update after backward, or on a copy "
        f"(.clone()).")


def requires_grad_can_change(tensor, value):
    if value and not backend.is_floating(tensor.array.dtype):
        raise TypeError(f"requires_grad: only floating-point tensors can require gradients, this one is "
                        f"{tensor.array.dtype}; convert it with .float() or .double() first")
    if not value and tensor.grad_fn is not None:
        raise RuntimeError("requires_grad: you can only change requires_grad of a leaf tensor; use .detach() to "
                           "get a tensor that does not require grad")


# ---------------------------------------------------------------------------------------------------------------
# backward and grad
# ---------------------------------------------------------------------------------------------------------------

def output_requires_grad(output):
    if not output.requires_grad:
        raise RuntimeError(f"backward: a tensor of shape {tuple(output.array.shape)} does not require grad and has "
                           f"no grad_fn, so there is nothing to differentiate. Did you create it under no_grad, or "
                           f"forget requires_grad=True on its inputs?")


def root_gradient(root, gradient, tensor_class):
    """dL/d(root) as a Tensor: ones for a one-element root when none is given, else ``gradient`` checked."""
    shape = tuple(root.array.shape)
    if gradient is None:
        if root.array.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {shape}; a gradient can be created implicitly only for a "
                f"single-element output. Pass gradient= (a tensor of shape {shape}), or reduce the output first, "
                f"e.g. out.sum().backward().")
        return root._make(backend.array_namespace(root.array).ones_like(root.array))
    if not isinstance(gradient, tensor_class):   # a number, list or array: a constant of the root's dtype and device
        gradient = root._make(backend.to_array(gradient, root.array.dtype, backend.device_of(root.array)))
    if tuple(gradient.array.shape) != shape:
        raise RuntimeError(f"backward: gradient has shape {tuple(gradient.array.shape)} but the output has shape "
                           f"{shape}; they must match")
    if gradient.array.dtype != root.array.dtype or type(gradient.array) is not type(root.array):
        raise RuntimeError(f"backward: gradient is {gradient.array.dtype} on {backend.device_of(gradient.array)} but "
                           f"the output is {root.array.dtype} on {backend.device_of(root.array)}; they must match")
    return gradient


def backward_results(node, results, tensor_class):
    """A node's backward results as a tuple of one gradient per forward argument, each checked."""
    name = node.function.__name__
    results = results if isinstance(results, tuple) else (results,)
    if len(results) != len(node.next_edges):
        raise RuntimeError(f"{name}.backward returned {len(results)} gradients but forward took "
                           f"{len(node.next_edges)} arguments; return one per argument (None for non-tensors)")
    for edge, grad, shape in zip(node.next_edges, results, node.input_shapes):
        if edge is None or grad is None:
            continue
        if not isinstance(grad, tensor_class):
            raise TypeError(f"{name}.backward must return Tensors (or None), got {type(grad).__name__}")
        if grad.array.shape != shape and not _can_sum_to(grad.array.shape, shape):
            raise RuntimeError(f"{name}: its backward returned a gradient of shape {tuple(grad.array.shape)}, which "
                               f"cannot be summed to the input's shape {tuple(shape)}")
    return results


def _can_sum_to(shape, target):
    """True if ``target`` broadcast could have given ``shape`` (so summing gives ``target`` back)."""
    lead = len(shape) - len(target)
    return lead >= 0 and all(n == m or n == 1 for n, m in zip(target, shape[lead:]))


def owning_its_memory(grad, handed_out, create_graph):
    """A leaf's gradient that owns its memory, so that clipping or zeroing a .grad in place stays local: a
    gradient whose array is the caller's own, was handed to another leaf (``handed_out``, ids of arrays) or is a
    view (the gradient of a sum is a broadcast view) is copied. Without create_graph it is detached."""
    if id(grad.array) in handed_out or grad.array.base is not None:
        grad = grad.clone() if create_graph else grad._make(grad.array.copy())
    elif not create_graph:
        grad = grad.detach()
    handed_out.add(id(grad.array))
    return grad


def grad_arguments(outputs, inputs, grad_outputs, tensor_class):
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for position, tensor in enumerate(inputs):
        if not isinstance(tensor, tensor_class) or not tensor.requires_grad:
            raise RuntimeError(f"grad: input {position} does not require grad; differentiate only with respect to "
                               f"tensors created with requires_grad=True or computed from them")


def input_was_used(position, tensor, grad, allow_unused):
    if grad is None and not allow_unused:
        raise RuntimeError(f"grad: input {position} (shape {tuple(tensor.array.shape)}) was not used to compute the "
                           f"outputs, so it has no gradient. Pass allow_unused=True to get None for it.")


# ---------------------------------------------------------------------------------------------------------------
# once_differentiable
# ---------------------------------------------------------------------------------------------------------------

class _OnceDifferentiableError:
    """The graph node behind the gradients of a once-differentiable op under create_graph=True: its backward,
    the second derivative, raises instead of returning wrong numbers."""

    __name__ = "OnceDifferentiableError"

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(
            f"{ctx.op_name} is marked once_differentiable: its backward is not written in differentiable ops, so "
            f"it has no second derivative. Do not differentiate through its gradient (create_graph=True), or "
            f"rewrite its backward with tinygan ops.")


def once_differentiable(backward):
    """Decorator for a Function's backward that is not itself differentiable (it works on raw arrays, say).

    The backward runs under no_grad. When a caller asks for create_graph=True, the gradients it returns are
    connected to the op's inputs and to the incoming gradients through a node whose backward raises a
    RuntimeError naming the op, so differentiating them fails loudly instead of silently giving wrong
    (missing) second derivatives.
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        recording = is_grad_enabled()
        with no_grad():
            results = backward(ctx, *grads)
        if not recording:
            return results
        single = not isinstance(results, tuple)
        results = (results,) if single else results
        edges = [edge for edge in ctx.next_edges if edge is not None]
        edges += [(g, -1) if g.grad_fn is None else (g.grad_fn, g.output_nr) for g in grads if g.requires_grad]
        if not edges:
            return results[0] if single else results
        error_node = type(ctx)(_OnceDifferentiableError, (), True)
        error_node.op_name = ctx.function.__name__
        error_node.next_edges = tuple(edges)
        error_node.input_shapes = (None,) * len(edges)
        error_node.needs_input_grad = (True,) * len(edges)
        error_node.output_meta = tuple((r.array.shape, r.array.dtype) for r in results if r is not None)
        wrapped, index = [], 0
        for result in results:
            if result is not None:
                result = result._make(result.array, True, error_node, index, None)
                index += 1
            wrapped.append(result)
        return wrapped[0] if single else tuple(wrapped)

    return wrapper
