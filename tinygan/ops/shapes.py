"""Shape ops: reshape, transpose, broadcasting and its adjoint (SumTo, which the engine uses to sum the gradient of a
broadcast input back to its shape), squeezing, indexing, joining. Written like the ops of basic.py."""

from .. import backend
from ..autograd import Function, TensorBase
from .arguments import (as_operand, broadcasts_to, constant, is_integer, normalize_axes, normalize_axis, permutation,
                        product, pytorch_or_numpy_axis, xp_of)


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
        return xp_of(a).transpose(a, axes)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.axes)
        for position, axis in enumerate(ctx.axes):
            inverse[axis] = position
        return transpose(grad, tuple(inverse)), None


class BroadcastTo(Function):
    """out = a repeated along new leading axes and along axes of size 1 to ``shape``;  dL/da = g summed back."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        return xp_of(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.input_shapes[0]), None


class SumTo(Function):
    """out = a summed over the axes that broadcasting from ``shape`` to a.shape added or stretched, so that
    out.shape == shape (the adjoint of BroadcastTo);  dL/da = g broadcast back to a.shape.

    If forward broadcast an input x of shape (3, 1) against (4, 3, 5), its gradient has shape (4, 3, 5), and
    dL/dx is that gradient summed over axis 0 and axis 2, kept as (3, 1).
    """

    @staticmethod
    def forward(ctx, a, shape):
        lead = a.ndim - len(shape)   # new leading axes, then axes stretched from 1
        stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1)
        return a.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)

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
        # zeros_like (not zeros): made from values, the new array is part of a tg.compile recording, and so is the
        # assignment below; xp.zeros would be a constant the recording cannot see written
        out = xp_of(values).zeros_like(values, shape=shape)
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
        return xp_of(arrays[0]).concatenate(arrays, axis=axis)

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
        return xp_of(arrays[0]).stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return (None, *[grad[lead + (i,)] if needed else None
                        for i, needed in enumerate(ctx.needs_input_grad[1:])])


# ===============================================================================================================
# the functions users call
# ===============================================================================================================


def reshape(a, shape):
    """The same elements in a new shape; one axis may be -1 (inferred). ``a`` itself when the shape is a's."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if shape == a.array.shape:
        return a
    known = product([n for n in shape if n != -1])
    count = a.numel()
    if shape.count(-1) > 1 or (-1 in shape and (known == 0 or count % known)) or \
            (-1 not in shape and known != count):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {tuple(a.shape)} ({count} elements) into "
                         f"{shape}")
    if -1 in shape:
        shape = tuple([count // known if n == -1 else n for n in shape])
    return a if shape == a.shape else Reshape.apply(a, shape)


def broadcast_to(a, shape):
    """Repeat a along new leading axes and along axes of size 1 to get ``shape`` (no copy)."""
    shape = tuple(shape)
    if shape == a.shape:
        return a
    if not broadcasts_to(a.shape, shape):
        raise ValueError(f"broadcast_to: a tensor of shape {tuple(a.shape)} cannot be broadcast to {shape}")
    return BroadcastTo.apply(a, shape)


def sum_to(a, shape):
    """Sum a over the axes that broadcasting from ``shape`` added or stretched (the adjoint of broadcast_to)."""
    shape = tuple(shape)
    if shape == a.shape:
        return a
    if not broadcasts_to(shape, a.shape):
        raise ValueError(f"sum_to: shape {tuple(a.shape)} cannot be summed to {shape}")
    return SumTo.apply(a, shape)


def transpose(a, *axes):
    """Permute the axes. ``a`` itself when the permutation changes nothing.

        transpose(a)                 the axes reversed (the matrix transpose for 2-D), as numpy.transpose
        transpose(a, (2, 0, 1))      out.shape[i] = a.shape[axes[i]], as numpy.transpose (also transpose(a, 2, 0, 1))
        transpose(a, dim0, dim1)     two axes exchanged, as torch.transpose (two ints are always read this way)
    """
    if not axes or axes == (None,):
        axes = tuple(range(a.ndim - 1, -1, -1))
    elif len(axes) == 2 and is_integer(axes[0]) and is_integer(axes[1]):
        return swapaxes(a, axes[0], axes[1])
    else:
        axes = permutation("transpose", axes[0] if len(axes) == 1 else axes, a.shape)
    return a if axes == tuple(range(a.ndim)) else Transpose.apply(a, axes)


def mm(a, b):
    """PyTorch's mm: the product of two matrices, (n, k) @ (k, m) -> (n, m) (matmul without broadcasting)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: multiplies two matrices, got shapes {tuple(a.shape)} and {tuple(b.shape)}; use matmul "
                         f"(or @) for vectors and batches")
    return a @ b


def t(a):
    """PyTorch's t(): the transpose of a matrix; a vector or a number as it is."""
    if a.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 axes, got shape {tuple(a.shape)}; use transpose(a, dim0, "
                         f"dim1) or permute")
    return transpose(a)


def with_unit_axis(t, axis):
    """t with an axis of size 1 put in at position -1 or -2."""
    cut = t.ndim + axis + 1
    return t.reshape(t.shape[:cut] + (1,) + t.shape[cut:])


def matrix_transpose(t):
    """t with its last two axes swapped (the transpose of a matrix, or of each matrix of a batch)."""
    axes = list(range(t.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return Transpose.apply(t, tuple(axes))


def expand(a, shape):
    """PyTorch's broadcast_to: -1 keeps an axis as it is."""
    shape = tuple(shape)
    lead = len(shape) - a.ndim
    if lead > 0 and -1 in shape[:lead]:
        raise ValueError(f"expand: -1 keeps an existing axis, so it cannot stand for a new leading axis; got "
                         f"{shape} for a tensor of shape {tuple(a.shape)}")
    return broadcast_to(a, tuple(a.shape[i - lead] if n == -1 else n for i, n in enumerate(shape)))


def permute(a, axes):
    """PyTorch's name for transpose with explicit axes: out.shape[i] = a.shape[axes[i]]."""
    return transpose(a, tuple(axes))


def swapaxes(a, axis1, axis2):
    """Exchange two axes (PyTorch's transpose(dim0, dim1))."""
    axes = list(range(a.ndim))
    axis1, axis2 = normalize_axis("swapaxes", axis1, a.ndim), normalize_axis("swapaxes", axis2, a.ndim)
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, tuple(axes))


def squeeze(a, axis=None, *, dim=None):
    """Remove axes of size 1 (all of them, or the given ones, which must have size 1; ``dim`` is PyTorch's name)."""
    axis, _ = pytorch_or_numpy_axis("squeeze", axis, False, dim, None)
    axes = normalize_axes("squeeze", axis, a.ndim)
    if axes is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    for i in axes:
        if a.shape[i] != 1:
            raise ValueError(f"squeeze: axis {i} of shape {tuple(a.shape)} has size {a.shape[i]}, not 1")
    return reshape(a, tuple(n for i, n in enumerate(a.shape) if i not in axes))


def unsqueeze(a, axis=None, *, dim=None):
    """Insert an axis of size 1 at position ``axis`` (``dim`` in PyTorch; numpy.expand_dims); negative counts from
    the end."""
    axis, _ = pytorch_or_numpy_axis("unsqueeze", axis, False, dim, None)
    if not is_integer(axis):
        raise TypeError(f"unsqueeze: give the position of the new axis as an int, got {axis!r}")
    if not -a.ndim - 1 <= axis <= a.ndim:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for a new axis in shape {tuple(a.shape)}")
    axis = axis % (a.ndim + 1)
    return reshape(a, a.shape[:axis] + (1,) + a.shape[axis:])


def flatten(a, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim (inclusive) into one, as torch.flatten."""
    if a.ndim == 0:
        return reshape(a, (1,))
    start, end = start_dim % a.ndim, end_dim % a.ndim
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {tuple(a.shape)}")
    return reshape(a, a.shape[:start] + (product(a.shape[start:end + 1]),) + a.shape[end + 1:])


def index_key(a, key):
    """An indexing key with tensors and lists replaced by arrays on a's device (Python ints, slices, None and
    Ellipsis stay as they are)."""
    parts = key if isinstance(key, tuple) else (key,)
    device = backend.device_of(a.array)
    converted = []
    for part in parts:
        if isinstance(part, TensorBase):
            if backend.is_floating(part.array.dtype):
                raise IndexError(f"getitem: an index tensor must be integer or bool, got {part.array.dtype}")
            part = backend.to_array(part.array, None, device)
        elif isinstance(part, list) or (backend.is_array(part) and backend.device_of(part) != device):
            part = backend.to_array(part, None, device)
        converted.append(part)
    return tuple(converted) if isinstance(key, tuple) else converted[0]


def getitem(a, key):
    """a[key] with NumPy indexing; the gradient is added back at the indexed positions."""
    parts = key if isinstance(key, tuple) else (key,)
    device = backend.device_of(a.array)
    index_tensors = [part for part in parts
                     if isinstance(part, TensorBase) and backend.device_of(part.array) == device]
    key = index_key(a, key)
    try:
        return GetItem.apply(a, key, *index_tensors)
    except IndexError as error:
        raise IndexError(f"getitem: index {key!r} does not fit a tensor of shape {tuple(a.shape)}: {error}") \
            from None


def _same_kind_tensors(op_name, tensors):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op_name}: needs at least one tensor")
    if any(not isinstance(t, TensorBase) for t in tensors):
        raise TypeError(f"{op_name}: expects a sequence of Tensors")
    dtypes = {t.array.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{op_name}: tensors have different dtypes {sorted(str(d) for d in dtypes)}; convert them "
                        f"to one dtype first")
    return tensors


def concatenate(tensors, axis=None, *, dim=None):
    """Join tensors along an existing axis (their other axes must match); ``dim`` is PyTorch's name, 0 by default."""
    axis, _ = pytorch_or_numpy_axis("concatenate", axis, False, dim, None)
    axis = 0 if axis is None else axis
    tensors = _same_kind_tensors("concatenate", tensors)
    axis = normalize_axis("concatenate", axis, tensors[0].ndim)
    shapes = [t.shape[:axis] + t.shape[axis + 1:] for t in tensors]
    if any(t.ndim != tensors[0].ndim for t in tensors) or any(s != shapes[0] for s in shapes):
        raise ValueError(f"concatenate: shapes {[tuple(t.shape) for t in tensors]} must match except on axis {axis}")
    return Concatenate.apply(axis, *tensors)


cat = concatenate   # PyTorch has both names


def stack(tensors, axis=None, *, dim=None):
    """Join tensors of one shape along a new axis (``dim`` is PyTorch's name, 0 by default)."""
    axis, _ = pytorch_or_numpy_axis("stack", axis, False, dim, None)
    axis = 0 if axis is None else axis
    tensors = _same_kind_tensors("stack", tensors)
    if any(t.shape != tensors[0].shape for t in tensors):
        raise ValueError(f"stack: all tensors must have one shape, got {[tuple(t.shape) for t in tensors]}")
    if not -tensors[0].ndim - 1 <= axis <= tensors[0].ndim:
        raise ValueError(f"stack: axis {axis} is out of range for a new axis of shape {tuple(tensors[0].shape)}")
    return Stack.apply(axis % (tensors[0].ndim + 1), *tensors)


def repeat(a, *sizes):
    """PyTorch's repeat (numpy.tile): a repeated sizes[i] times along axis i; more sizes than axes add leading axes.
    x.repeat(2, 1) stacks two copies of a matrix on top of each other. Differentiable (the copies' gradients are
    summed)."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if len(sizes) < a.ndim or not all(is_integer(size) and size >= 0 for size in sizes):
        raise ValueError(f"repeat: give a non-negative count for every axis of shape {tuple(a.shape)} (and any new "
                         f"leading axes), got {sizes}")
    shape = (1,) * (len(sizes) - a.ndim) + tuple(a.shape)
    interleaved, tiled = [], []   # (size_0, n_0, size_1, n_1, ...): each axis n_i repeated size_i times in blocks
    for size, n in zip(sizes, shape):
        interleaved += [1, n]
        tiled += [size, n]
    out = broadcast_to(reshape(a, tuple(interleaved)), tuple(tiled))
    return reshape(out, tuple(size * n for size, n in zip(sizes, shape)))


def split(a, split_size_or_sections, dim=0):
    """PyTorch's split: pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the sizes in a list."""
    axis = normalize_axis("split", dim, a.ndim)
    length = a.shape[axis]
    if is_integer(split_size_or_sections):
        if split_size_or_sections < 1:
            raise ValueError(f"split: split_size must be at least 1, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, length - start) for start in range(0, length, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ValueError(f"split: sections {sizes} add up to {sum(sizes)}, but axis {axis} has size {length}")
    pieces, start = [], 0
    lead = (slice(None),) * axis
    for size in sizes:
        pieces.append(getitem(a, lead + (slice(start, start + size),)))
        start += size
    return tuple(pieces)


def chunk(a, chunks, dim=0):
    """PyTorch's chunk: ``chunks`` pieces along ``dim`` of ceil(size / chunks) elements (the last may be smaller)."""
    if not is_integer(chunks) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    length = a.shape[normalize_axis("chunk", dim, a.ndim)]
    return split(a, max(1, -(-length // chunks)), dim)


class SetItem(Function):
    """out = a with out[key] = value (NumPy indexing; value broadcast to a[key]'s shape): what ``x[key] = value``
    records when autograd must see it.  dL/da = g with zeros at [key];  dL/dvalue = g[key] (summed back to value's
    shape by the engine). With an index that repeats a position the last write wins, and that position's gradient
    goes to every value written there (as in PyTorch's index_put without accumulate)."""

    @staticmethod
    def forward(ctx, a, value, key, *index_arrays):
        ctx.key = key
        ctx.save_for_backward(*index_arrays)   # so that changing an index tensor in place is caught
        out = a.copy()
        out[key] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors
        kept = xp_of(grad.array).ones(grad.shape, dtype=grad.dtype)
        kept[ctx.key] = 0
        return ((grad * constant(grad, kept) if ctx.needs_input_grad[0] else None),
                (grad[ctx.key] if ctx.needs_input_grad[1] else None), None) + (None,) * (len(ctx.next_edges) - 3)


def setitem(a, key, value):
    """a copy of a with [key] = value, recorded (the out-of-place form of ``a[key] = value``)."""
    value = as_operand("setitem", value, a)
    parts = key if isinstance(key, tuple) else (key,)
    device = backend.device_of(a.array)
    index_tensors = [part for part in parts if isinstance(part, TensorBase) and backend.device_of(part.array) == device]
    return SetItem.apply(a, value, index_key(a, key), *index_tensors)
