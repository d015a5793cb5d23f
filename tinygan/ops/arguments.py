"""What the op functions do with their arguments before they apply a Function: check them, make tensors of numbers,
settle the dtype, normalise axes. Kept here so that each op's own code shows only its math.

The dtype rules (the ones users rely on to avoid silent float64):
  - a Python number takes the tensor's dtype (a float with an integer tensor: the default float dtype);
  - an integer tensor combined with a float tensor is converted to that float dtype (numpy would make int64 with
    float32 into float64); a bool tensor stays as it is (numpy treats it as 0/1 and keeps the float dtype);
  - two different float dtypes are an error: tinygan never promotes silently.
"""

import numbers
import operator

from .. import backend
from ..autograd import TensorBase
from .conversions import cast

xp_of = backend.array_namespace   # numpy or cupy for a raw array, so one forward serves both devices


def constant(like, array):
    """A tensor that holds ``array`` (or a numpy scalar, as a 0-d array) and carries no gradient, made like
    ``like``: masks, signs and counts inside a backward, results without gradients (comparisons)."""
    return like._make(array if backend.is_array(array) else backend.as_array(array))


def as_tensor(op_name, value):
    """``value`` itself when it is a tensor; anything else is refused with a message saying how to make one."""
    if isinstance(value, TensorBase):
        return value
    raise TypeError(f"{op_name}: expected a tinygan Tensor, got {type(value).__name__}; make one with "
                    f"tg.tensor(...)")


def as_float(a):
    """An integer or bool tensor converted to the default float dtype (float tensors are returned as they are):
    functions such as exp are real-valued, and numpy would otherwise compute them in float64."""
    return a if backend.is_floating(a.array.dtype) else cast(a, backend.get_default_dtype())


def _scalar_as_tensor(value, like):
    """A Python number as a 0-d tensor of ``like``'s dtype (a float with an integer tensor: the default float)."""
    dtype = like.array.dtype
    if isinstance(value, float) and not backend.is_floating(dtype):
        dtype = backend.get_default_dtype()
    return constant(like, backend.scalar_array(like.array, value, dtype))


def as_operand(op_name, value, like):
    """The other operand of a binary op as a tensor: a tensor as it is, a number in ``like``'s dtype, a list or
    array as a constant on ``like``'s device."""
    if isinstance(value, TensorBase):
        return value
    if backend.is_scalar(value):
        return _scalar_as_tensor(value, like)
    if backend.is_array(value) or isinstance(value, (list, tuple)):
        return constant(like, backend.to_array(value, None, backend.device_of(like.array)))
    raise TypeError(f"{op_name}: expected a Tensor or a number, got {type(value).__name__}")


def binary_operands(op_name, a, b, elementwise=True):
    """Both operands as tensors the op can combine without changing the float dtype (see the module docstring),
    and, for an ``elementwise`` op, of shapes that broadcast together."""
    if not (isinstance(a, TensorBase) and isinstance(b, TensorBase) and a.array.dtype == b.array.dtype):
        a, b = _converted_operands(op_name, a, b)
    if elementwise and a.array.shape != b.array.shape and not broadcastable(a.array.shape, b.array.shape):
        raise ValueError(f"{op_name}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together "
                         f"(trailing axes must be equal or 1)")
    return a, b


def _converted_operands(op_name, a, b):
    if not isinstance(a, TensorBase):
        if not isinstance(b, TensorBase):
            raise TypeError(f"{op_name}: at least one operand must be a Tensor")
        a = as_operand(op_name, a, b)
    else:
        b = as_operand(op_name, b, a)
    dtype_a, dtype_b = a.array.dtype, b.array.dtype
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


def broadcastable(shape_a, shape_b):
    """True if two shapes broadcast together (each trailing pair of sizes equal, or one of them 1)."""
    for m, n in zip(shape_a[::-1], shape_b[::-1]):
        if m != n and m != 1 and n != 1:
            return False
    return True


def is_integer(value):
    """True for Python and numpy integers (not bools)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_axes(op_name, axis, ndim):
    """axis given as None, an int or a tuple of ints (negative allowed) -> None or a sorted tuple of axes."""
    if axis is None:
        return None
    axes = (axis,) if is_integer(axis) else tuple(axis)
    normalized = []
    for one in axes:
        if not is_integer(one) or not -ndim <= one < ndim:
            raise ValueError(f"{op_name}: axis {one!r} is out of range for a tensor with {ndim} axes"
                             + (" (a 0-d tensor has no axes: use axis=None)" if ndim == 0 else ""))
        normalized.append(operator.index(one) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op_name}: axis {axis} repeats an axis")
    return tuple(sorted(normalized))


def normalize_axis(op_name, axis, ndim):
    """One axis (an int, negative allowed) as a non-negative int."""
    return normalize_axes(op_name, axis, ndim)[0]


def product(values):
    result = 1
    for value in values:
        result *= value
    return result


def kept_shape(shape, axes):
    """The shape a reduction over ``axes`` has with keepdims=True (reduced axes become 1; None: all of them)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple([1 if i in axes else n for i, n in enumerate(shape)])


def broadcasts_to(shape, target):
    """True if an array of ``shape`` broadcasts to ``target`` (new leading axes, and axes of size 1 stretched)."""
    lead = len(target) - len(shape)
    if lead < 0:
        return False
    for n, m in zip(shape, target[lead:]):
        if n != m and n != 1:
            return False
    return True


def permutation(op_name, axes, shape):
    """``axes`` (negative allowed) as a tuple of non-negative axes, checked to be a permutation of shape's axes."""
    ndim = len(shape)
    normalized = tuple([axis % ndim if is_integer(axis) and -ndim <= axis < ndim else None for axis in axes])
    if sorted(normalized, key=lambda axis: -1 if axis is None else axis) != list(range(ndim)):
        raise ValueError(f"{op_name}: axes {tuple(axes)} are not a permutation of the {ndim} axes of shape "
                         f"{tuple(shape)}")
    return normalized
