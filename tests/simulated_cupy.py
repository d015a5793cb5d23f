"""A simulated CuPy for the tests: device discipline without a GPU. A test double, not a backend anyone chooses.

With ``pytest --simulated-cuda`` (tests/conftest.py) this module is what ``import cupy`` gives, so tinygan's own
CuPy code path runs unchanged on it. Its arrays are a type of their own (``cupy.ndarray``) that holds a NumPy array
and behaves, where it matters for device discipline, the way CuPy's arrays do:

  - no implicit conversion to NumPy: ``numpy.asarray(a)``, ``numpy.array(a)`` and ``a.__array__()`` raise CuPy's
    TypeError; a NumPy array handed to a device function or mixed into device arithmetic raises CuPy's TypeError
    ("Unsupported type <class 'numpy.ndarray'>");
  - NumPy functions called on device arrays dispatch to the function of the same name here when there is one
    (as CuPy's ``__array_function__`` and ``__array_ufunc__`` do) and raise TypeError when there is none;
  - results stay on the device: reductions and indexing give 0-d arrays, never NumPy scalars;
  - CuPy's spellings and semantics where they differ from NumPy's: ``cupy.random.default_rng`` (a stream of its
    own, not NumPy's), ``ufunc.at`` only for add/maximum/minimum and scatter-add only for the dtypes CUDA's
    atomicAdd takes, integer array indices that wrap around instead of raising IndexError, no floating-point
    warnings, no ``writeable`` flag, only the functions listed below (a missing one is an AttributeError);
  - every crossing between host and device is recorded: ``.get()``, ``cupy.asnumpy``, ``.item()``, ``.tolist()``,
    ``float()``, ``int()``, ``bool()``, ``repr``/``str``/``format`` (device to host), ``cupy.asarray``/``cupy.array``
    of host data and host data used as an index or assigned into an array (host to device), and the operations
    after which CuPy waits for the GPU to size a result (boolean-mask indexing, ``nonzero``, ``bincount``), so a
    test can assert that a training step makes none (``watch()``); inside ``cupyx.allow_synchronize(False)`` a
    synchronisation raises ``cupyx.DeviceSynchronized``, as in CuPy.

What it does NOT simulate: CUDA's numerics (the arithmetic is NumPy's, in NumPy's order; a real GPU sums in another
order and may differ in the last bits), its speed, asynchronous execution, several devices, memory limits, or the
random streams of CuPy's real generators (``default_rng(seed)`` here draws from NumPy's PCG64 seeded differently
from the CPU stream, so the two devices' values differ as they do on real hardware, but not with CuPy's values).
Dtype promotion is NumPy's. Where it is lenient: a Python list of numbers given where CuPy wants an array is
converted as NumPy would, not refused. A real CuPy run on a GPU is the only check of all that.
"""

import builtins
import contextlib
import functools
import sys
import threading
import types
from collections import Counter, namedtuple

import numpy

# ---------------------------------------------------------------------------------------------------------------
# the transfer log: every crossing between host and device, and every synchronisation
# ---------------------------------------------------------------------------------------------------------------

Transfer = namedtuple("Transfer", "kind what where")
TO_HOST, TO_DEVICE, SYNCHRONISE = "device-to-host", "host-to-device", "synchronisation"

_active_logs = []
totals = Counter()   # every event since the module was loaded, by kind


class TransferLog:
    """The transfers and synchronisations recorded while a ``watch()`` block ran, in order."""

    def __init__(self):
        self.events = []

    def counts(self):
        return Counter(event.kind for event in self.events)

    def describe(self):
        """One line per event: its kind, what caused it, and the first caller outside this module."""
        if not self.events:
            return "no transfers and no synchronisations"
        return "\n".join(f"{event.kind}: {event.what} at {event.where}" for event in self.events)


@contextlib.contextmanager
def watch():
    """Record the transfers and synchronisations made inside the block: ``with watch() as log: ...``."""
    log = TransferLog()
    _active_logs.append(log)
    try:
        yield log
    finally:
        _active_logs.remove(log)


def _caller():
    """file:line (function) of the first frame outside this module: where the transfer was asked for."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} ({frame.f_code.co_name})"


def _record(kind, what):
    totals[kind] += 1
    if _active_logs:
        event = Transfer(kind, what, _caller())
        for log in _active_logs:
            log.events.append(event)
    if kind != TO_DEVICE and not getattr(_sync_permission, "allowed", True):
        raise DeviceSynchronized(f"Device synchronization was detected while disallowed: {what} at {_caller()}")


_sync_permission = threading.local()


class DeviceSynchronized(RuntimeError):
    """CuPy's error (cupyx.DeviceSynchronized) for a synchronisation inside ``cupyx.allow_synchronize(False)``."""


@contextlib.contextmanager
def allow_synchronize(allow):
    """CuPy's cupyx.allow_synchronize: inside ``allow_synchronize(False)`` a device-to-host transfer or another
    synchronisation raises DeviceSynchronized (a host-to-device copy does not, as in CuPy)."""
    previous = getattr(_sync_permission, "allowed", True)
    _sync_permission.allowed = allow
    try:
        yield
    finally:
        _sync_permission.allowed = previous


# ---------------------------------------------------------------------------------------------------------------
# the device array
# ---------------------------------------------------------------------------------------------------------------

_IMPLICIT_CONVERSION = ("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")   # CuPy's own message


def _on_device(function):
    """Run ``function`` the way a GPU kernel runs: CuPy never emits NumPy's floating-point warnings."""
    @functools.wraps(function)
    def quiet(*args, **kwargs):
        with numpy.errstate(all="ignore"):
            return function(*args, **kwargs)
    return quiet


def _wrap(result):
    """A NumPy result as device arrays (a NumPy scalar becomes a 0-d array, as CuPy returns)."""
    if isinstance(result, numpy.ndarray):
        return ndarray._adopt(result)
    if isinstance(result, numpy.generic):
        return ndarray._adopt(numpy.asarray(result))
    if isinstance(result, tuple):
        return tuple(_wrap(part) for part in result)
    if isinstance(result, list):
        return [_wrap(part) for part in result]
    return result


def _unsupported(value):
    return TypeError(f"Unsupported type {type(value)}")   # CuPy's kernels reject host arrays with this message


def _kernel_arg(value):
    """An elementwise kernel's argument: a device array's data, or a Python/NumPy scalar. Host arrays, lists and
    anything else raise CuPy's TypeError."""
    if isinstance(value, ndarray):
        return value._array
    if isinstance(value, (bool, int, float, complex, numpy.generic)):
        return value
    raise _unsupported(value)


def _device_args(value):
    """Arguments of a non-elementwise function: device arrays (also inside lists and tuples) become their data; a
    NumPy array anywhere raises CuPy's TypeError, and so does anything but a device array in a sequence that holds
    device arrays (cupy.concatenate([a, [1.0]])). Python numbers, shapes and axes pass as they are. (Lenient where
    CuPy is not: a list of numbers given for an array passes, and NumPy converts it.)"""
    if isinstance(value, ndarray):
        return value._array
    if isinstance(value, numpy.ndarray):
        raise _unsupported(value)
    if isinstance(value, (list, tuple)):
        if builtins.any(isinstance(part, ndarray) for part in value):
            for part in value:
                if not isinstance(part, ndarray):
                    raise _unsupported(part)
        return type(value)(_device_args(part) for part in value)
    return value


def _positional(args):
    return [_device_args(arg) for arg in args]


def _keywords(kwargs):
    return {name: _device_args(value) for name, value in kwargs.items()}


def _out_arg(out):
    if out is None:
        return None
    if isinstance(out, tuple):
        return tuple(_out_arg(part) for part in out)
    if not isinstance(out, ndarray):
        raise TypeError(f"Output arrays must be cupy.ndarray, got {type(out)}")
    return out._array


class Flags:
    """CuPy's flags: c_contiguous, f_contiguous and owndata, read-only (CuPy arrays have no ``writeable``)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, array):
        self.c_contiguous = array.flags.c_contiguous
        self.f_contiguous = array.flags.f_contiguous
        self.owndata = array.flags.owndata

    def __getitem__(self, name):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}[name])


class ndarray:
    """An array on the simulated device: NumPy data that the host can reach only by an explicit, recorded copy."""

    __module__ = "cupy"            # as CuPy's arrays report (tinygan recognises a cupy array by its module)
    __slots__ = ("_array",)
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("the simulated device has no raw memory pointers")
        self._array = numpy.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _adopt(cls, array):
        """A device array holding ``array`` (no copy: views of one device array share its memory, as on a GPU)."""
        new = cls.__new__(cls)
        new._array = array
        return new

    # -- what lives on the host anyway: shape, dtype, strides ------------------------------------------------

    shape = property(lambda self: self._array.shape)
    dtype = property(lambda self: self._array.dtype)
    ndim = property(lambda self: self._array.ndim)
    size = property(lambda self: self._array.size)
    strides = property(lambda self: self._array.strides)
    itemsize = property(lambda self: self._array.itemsize)
    nbytes = property(lambda self: self._array.nbytes)
    flags = property(lambda self: Flags(self._array))
    device = property(lambda self: cuda.Device(0))

    @property
    def base(self):
        return None if self._array.base is None else ndarray._adopt(self._array.base)

    @property
    def T(self):
        return ndarray._adopt(self._array.T)

    def __len__(self):
        if self._array.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._array)

    def __iter__(self):
        if self._array.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._array)))

    # -- the refused implicit conversion, and the explicit (recorded) ones ---------------------------------------

    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT_CONVERSION)

    def get(self, stream=None, order="C", out=None):
        """A NumPy copy of the data on the host: a device-to-host transfer, which waits for the device."""
        _record(TO_HOST, ".get()")
        host = numpy.array(self._array, order=order)
        if out is not None:
            out[...] = host
            return out
        return host

    def set(self, arr, stream=None):
        if not isinstance(arr, numpy.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        _record(TO_DEVICE, ".set()")
        self._array[...] = arr

    def item(self):
        if self._array.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        _record(TO_HOST, ".item()")
        return self._array.item()

    def tolist(self):
        _record(TO_HOST, ".tolist()")
        return self._array.tolist()

    def tobytes(self, order="C"):
        _record(TO_HOST, ".tobytes()")
        return self._array.tobytes(order)

    def __float__(self):
        _record(TO_HOST, "float()")
        return float(self._array)

    def __int__(self):
        _record(TO_HOST, "int()")
        return int(self._array)

    def __complex__(self):
        _record(TO_HOST, "complex()")
        return complex(self._array)

    def __bool__(self):
        if self._array.size > 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous. "
                             "Use a.any() or a.all()")
        _record(TO_HOST, "bool()")
        return bool(self._array)

    def __repr__(self):
        _record(TO_HOST, "repr()")
        return repr(self._array)

    def __str__(self):
        _record(TO_HOST, "str()")
        return str(self._array)

    def __format__(self, format_spec):
        _record(TO_HOST, "format()")
        return format(self._array, format_spec)

    def __reduce__(self):
        _record(TO_HOST, "pickle")
        return array, (self._array.copy(),)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    # -- NumPy's dispatch protocols, as CuPy implements them -----------------------------------------------------

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy.exp(device_array) runs cupy.exp; a host array among the inputs then raises CuPy's TypeError.
        Only plain calls dispatch (CuPy returns NotImplemented for numpy's ufunc methods such as numpy.add.at)."""
        if method != "__call__":
            return NotImplemented
        device_ufunc = getattr(sys.modules[__name__], ufunc.__name__, None)
        if not isinstance(device_ufunc, ufunc_type):
            return NotImplemented
        for value in inputs + tuple(kwargs.get("out", ())):
            if not isinstance(value, (ndarray, numpy.ndarray, bool, int, float, complex, numpy.generic)):
                return NotImplemented
        if "out" in kwargs:
            out = kwargs["out"]
            kwargs["out"] = out[0] if len(out) == 1 else out
        return device_ufunc(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        """numpy.concatenate([device arrays]) runs cupy.concatenate; a NumPy function this module does not offer
        returns NotImplemented, so NumPy raises TypeError, as with CuPy."""
        namespace = sys.modules[__name__]
        for part in func.__module__.split(".")[1:]:
            namespace = getattr(namespace, part, None)
        device_function = getattr(namespace, func.__name__, None)
        if device_function is None or device_function is func:
            return NotImplemented
        if not builtins.all(issubclass(t, (ndarray, numpy.ndarray)) for t in types_):
            return NotImplemented
        return device_function(*args, **kwargs)

    # -- indexing ----------------------------------------------------------------------------------------------

    def _device_key(self, key):
        """The key on the device: index arrays given as lists or NumPy arrays are copied to the device (recorded);
        integer index arrays wrap around (CuPy's kernels take indices modulo the axis length instead of raising
        IndexError); a boolean mask makes CuPy count its True values on the host first (recorded)."""
        parts = list(key) if isinstance(key, tuple) else [key]
        for i, part in enumerate(parts):
            if isinstance(part, ndarray):
                parts[i] = part._array
            elif isinstance(part, (list, tuple, numpy.ndarray)):
                _record(TO_DEVICE, f"an index given as a host {type(part).__name__}")
                parts[i] = numpy.asarray(part)
                if isinstance(part, (list, tuple)) and parts[i].size == 0:
                    parts[i] = parts[i].astype(numpy.int32)   # an empty list means no indices, not an empty mask
        consumed = builtins.sum(part.ndim if isinstance(part, numpy.ndarray) and part.dtype.kind == "b" else 1
                                for part in parts if part is not None and part is not Ellipsis)
        axis = 0
        for i, part in enumerate(parts):
            if part is None:
                continue
            if part is Ellipsis:
                axis += builtins.max(self._array.ndim - consumed, 0)
            elif isinstance(part, numpy.ndarray) and part.dtype.kind == "b":
                _record(SYNCHRONISE, "boolean-mask indexing (CuPy counts the mask's True values on the host)")
                axis += part.ndim
            else:
                if (isinstance(part, numpy.ndarray) and part.dtype.kind in "iu" and axis < self._array.ndim
                        and self._array.shape[axis] > 0):
                    parts[i] = numpy.mod(part, self._array.shape[axis])
                axis += 1
        return tuple(parts)

    def __getitem__(self, key):
        return _wrap(self._array[self._device_key(key)])

    def __setitem__(self, key, value):
        self._array[self._device_key(key)] = _assigned_value(value)

    def scatter_add(self, slices, value):
        _scatter("add", self, slices, value)

    def scatter_max(self, slices, value):
        _scatter("maximum", self, slices, value)

    def scatter_min(self, slices, value):
        _scatter("minimum", self, slices, value)

    # -- methods -----------------------------------------------------------------------------------------------

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        if casting is not None:
            raise TypeError("casting is not supported yet")
        if subok is not None:
            raise TypeError("subok is not supported yet")
        result = self._array.astype(dtype, order=order, copy=copy)
        return self if result is self._array else ndarray._adopt(result)

    def copy(self, order="C"):
        return ndarray._adopt(self._array.copy(order=order))

    def view(self, dtype=None):
        return ndarray._adopt(self._array.view() if dtype is None else self._array.view(dtype))

    def fill(self, value):
        if isinstance(value, numpy.ndarray):
            if value.shape != ():
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            value = value.item()
        self._array.fill(_kernel_arg(value))

    def reshape(self, *shape, order="C"):
        return ndarray._adopt(self._array.reshape(*shape, order=order))

    def transpose(self, *axes):
        return ndarray._adopt(self._array.transpose(*axes))

    def swapaxes(self, axis1, axis2):
        return ndarray._adopt(self._array.swapaxes(axis1, axis2))

    def flatten(self):
        return ndarray._adopt(self._array.flatten())

    def ravel(self, order="C"):
        return ndarray._adopt(self._array.ravel(order))

    def squeeze(self, axis=None):
        return ndarray._adopt(self._array.squeeze(axis))

    def take(self, indices, axis=None, out=None):
        return take(self, indices, axis=axis, out=out)

    def repeat(self, repeats, axis=None):
        return ndarray._adopt(self._array.repeat(repeats, axis))

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return ndarray._adopt(self._array.diagonal(offset, axis1, axis2))

    def nonzero(self):
        _record(SYNCHRONISE, "nonzero() (CuPy counts the non-zero values on the host)")
        return _wrap(self._array.nonzero())

    def dot(self, b, out=None):
        return dot(self, b, out=out)

    def conj(self):
        return ndarray._adopt(self._array.conj())

    def sort(self, axis=-1):
        self._array.sort(axis=axis)

    def argsort(self, axis=-1):
        return ndarray._adopt(self._array.argsort(axis=axis))

    @_on_device
    def _reduce(self, name, *args, out=None, **kwargs):
        if out is None:
            return _wrap(getattr(self._array, name)(*_positional(args), **_keywords(kwargs)))
        getattr(self._array, name)(*_positional(args), out=_out_arg(out), **_keywords(kwargs))
        return out

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return self._reduce("sum", axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False):
        return self._reduce("prod", axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return self._reduce("mean", axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return self._reduce("var", axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return self._reduce("std", axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        return self._reduce("max", axis=axis, out=out, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return self._reduce("min", axis=axis, out=out, keepdims=keepdims)

    def argmax(self, axis=None, out=None, keepdims=False):
        return self._reduce("argmax", axis=axis, out=out, keepdims=keepdims)

    def argmin(self, axis=None, out=None, keepdims=False):
        return self._reduce("argmin", axis=axis, out=out, keepdims=keepdims)

    def all(self, axis=None, out=None, keepdims=False):
        return self._reduce("all", axis=axis, out=out, keepdims=keepdims)

    def any(self, axis=None, out=None, keepdims=False):
        return self._reduce("any", axis=axis, out=out, keepdims=keepdims)

    def cumsum(self, axis=None, dtype=None, out=None):
        return self._reduce("cumsum", axis=axis, dtype=dtype, out=out)

    def clip(self, min=None, max=None, out=None):
        return clip(self, min, max, out=out)

    def round(self, decimals=0, out=None):
        return around(self, decimals, out=out)

    # -- arithmetic: the ufuncs below, as in CuPy ----------------------------------------------------------------

    def __neg__(self):
        return negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return absolute(self)

    def __invert__(self):
        return invert(self)

    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return subtract(self, other)

    def __rsub__(self, other):
        return subtract(other, self)

    def __mul__(self, other):
        return multiply(self, other)

    def __rmul__(self, other):
        return multiply(other, self)

    def __truediv__(self, other):
        return true_divide(self, other)

    def __rtruediv__(self, other):
        return true_divide(other, self)

    def __floordiv__(self, other):
        return floor_divide(self, other)

    def __rfloordiv__(self, other):
        return floor_divide(other, self)

    def __mod__(self, other):
        return remainder(self, other)

    def __rmod__(self, other):
        return remainder(other, self)

    def __pow__(self, other):
        return power(self, other)

    def __rpow__(self, other):
        return power(other, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __and__(self, other):
        return bitwise_and(self, other)

    def __rand__(self, other):
        return bitwise_and(other, self)

    def __or__(self, other):
        return bitwise_or(self, other)

    def __ror__(self, other):
        return bitwise_or(other, self)

    def __xor__(self, other):
        return bitwise_xor(self, other)

    def __rxor__(self, other):
        return bitwise_xor(other, self)

    def __iadd__(self, other):
        return add(self, other, out=self)

    def __isub__(self, other):
        return subtract(self, other, out=self)

    def __imul__(self, other):
        return multiply(self, other, out=self)

    def __itruediv__(self, other):
        return true_divide(self, other, out=self)

    def __ipow__(self, other):
        return power(self, other, out=self)

    def __iand__(self, other):
        return bitwise_and(self, other, out=self)

    def __ior__(self, other):
        return bitwise_or(self, other, out=self)

    def __ixor__(self, other):
        return bitwise_xor(self, other, out=self)

    def __lt__(self, other):
        return less(self, other)

    def __le__(self, other):
        return less_equal(self, other)

    def __eq__(self, other):
        return equal(self, other)

    def __ne__(self, other):
        return not_equal(self, other)

    def __gt__(self, other):
        return greater(self, other)

    def __ge__(self, other):
        return greater_equal(self, other)

    __hash__ = None


def _assigned_value(value):
    """A value written into a device array: device data as it is; host arrays and lists are copied (recorded)."""
    if isinstance(value, ndarray):
        return value._array
    if isinstance(value, (numpy.ndarray, list, tuple)):
        _record(TO_DEVICE, f"a host {type(value).__name__} assigned into a device array")
        return value
    return _kernel_arg(value)


# ---------------------------------------------------------------------------------------------------------------
# ufuncs
# ---------------------------------------------------------------------------------------------------------------

# CuPy's ufunc.at exists for these (the scatter kernels), with the dtypes CUDA's atomic operations take
_SCATTER_DTYPES = {
    "add": (numpy.int32, numpy.float16, numpy.float32, numpy.float64, numpy.uint32, numpy.uint64),
    "maximum": (numpy.int32, numpy.float32, numpy.float64, numpy.uint32, numpy.uint64),
    "minimum": (numpy.int32, numpy.float32, numpy.float64, numpy.uint32, numpy.uint64),
}


class ufunc_type:
    """A universal function on device arrays: its inputs are device arrays or scalars, never host arrays."""

    def __init__(self, numpy_ufunc):
        self._numpy_ufunc = numpy_ufunc
        self.__name__ = numpy_ufunc.__name__
        self.name = "cupy_" + numpy_ufunc.__name__
        self.nin, self.nout, self.nargs = numpy_ufunc.nin, numpy_ufunc.nout, numpy_ufunc.nargs

    @_on_device
    def __call__(self, *args, out=None, **kwargs):
        if len(args) > self.nin:
            if out is not None:
                raise TypeError("out is given both as a positional and a keyword argument")
            args, out = args[:self.nin], args[self.nin:]
            out = out[0] if len(out) == 1 else out
        inputs = [_kernel_arg(value) for value in args]
        if kwargs.get("where") is not None:
            kwargs["where"] = _kernel_arg(kwargs["where"])
        if out is None:
            return _wrap(self._numpy_ufunc(*inputs, **kwargs))
        self._numpy_ufunc(*inputs, out=_out_arg(out), **kwargs)
        return out

    def at(self, a, indices, b=None):
        if self.__name__ not in _SCATTER_DTYPES:
            raise NotImplementedError(f"`{self.name}.at` is not supported yet")
        _scatter(self.__name__, a, indices, b)

    def reduce(self, array, axis=0, dtype=None, out=None, keepdims=False):
        if self.__name__ == "add":
            return array.sum(axis, dtype, out, keepdims)
        if self.__name__ == "multiply":
            return array.prod(axis, dtype, out, keepdims)
        raise NotImplementedError(f"`{self.name}.reduce` is not supported yet")

    def outer(self, A, B, **kwargs):
        A, B = asarray(A), asarray(B)
        return self(A.reshape(A.shape + (1,) * B.ndim), B.reshape((1,) * A.ndim + B.shape), **kwargs)

    def __repr__(self):
        return f"<ufunc '{self.name}'>"


@_on_device
def _scatter(name, a, slices, value):
    """a[slices] op= value, every value taking effect even where slices repeat a position (CuPy's scatter
    kernels). Integer index arrays need a dtype CUDA's atomic operations take; they wrap around like indexing."""
    if not isinstance(a, ndarray):
        raise TypeError(f"Unsupported type {type(a)}")
    key = a._device_key(slices)
    has_index_array = builtins.any(isinstance(part, numpy.ndarray) and part.dtype.kind in "iu" for part in key)
    if has_index_array and not issubclass(a.dtype.type, _SCATTER_DTYPES[name]):
        names = ", ".join(numpy.dtype(t).name for t in _SCATTER_DTYPES[name])
        raise TypeError(f"scatter_{name.replace('imum', '')} only supports {names} as data type")
    values = a.dtype.type(0) if value is None else _assigned_value(value)
    getattr(numpy, name).at(a._array, key, values)


add = ufunc_type(numpy.add)
subtract = ufunc_type(numpy.subtract)
multiply = ufunc_type(numpy.multiply)
divide = ufunc_type(numpy.divide)
true_divide = ufunc_type(numpy.true_divide)
floor_divide = ufunc_type(numpy.floor_divide)
negative = ufunc_type(numpy.negative)
positive = ufunc_type(numpy.positive)
power = ufunc_type(numpy.power)
float_power = ufunc_type(numpy.float_power)
remainder = ufunc_type(numpy.remainder)
mod = ufunc_type(numpy.mod)
fmod = ufunc_type(numpy.fmod)
absolute = ufunc_type(numpy.absolute)
abs = ufunc_type(numpy.abs)
rint = ufunc_type(numpy.rint)
sign = ufunc_type(numpy.sign)
exp = ufunc_type(numpy.exp)
exp2 = ufunc_type(numpy.exp2)
expm1 = ufunc_type(numpy.expm1)
log = ufunc_type(numpy.log)
log2 = ufunc_type(numpy.log2)
log10 = ufunc_type(numpy.log10)
log1p = ufunc_type(numpy.log1p)
logaddexp = ufunc_type(numpy.logaddexp)
logaddexp2 = ufunc_type(numpy.logaddexp2)
sqrt = ufunc_type(numpy.sqrt)
square = ufunc_type(numpy.square)
cbrt = ufunc_type(numpy.cbrt)
reciprocal = ufunc_type(numpy.reciprocal)
sin = ufunc_type(numpy.sin)
cos = ufunc_type(numpy.cos)
tan = ufunc_type(numpy.tan)
arcsin = ufunc_type(numpy.arcsin)
arccos = ufunc_type(numpy.arccos)
arctan = ufunc_type(numpy.arctan)
arctan2 = ufunc_type(numpy.arctan2)
hypot = ufunc_type(numpy.hypot)
sinh = ufunc_type(numpy.sinh)
cosh = ufunc_type(numpy.cosh)
tanh = ufunc_type(numpy.tanh)
arcsinh = ufunc_type(numpy.arcsinh)
arccosh = ufunc_type(numpy.arccosh)
arctanh = ufunc_type(numpy.arctanh)
deg2rad = ufunc_type(numpy.deg2rad)
rad2deg = ufunc_type(numpy.rad2deg)
bitwise_and = ufunc_type(numpy.bitwise_and)
bitwise_or = ufunc_type(numpy.bitwise_or)
bitwise_xor = ufunc_type(numpy.bitwise_xor)
invert = ufunc_type(numpy.invert)
left_shift = ufunc_type(numpy.left_shift)
right_shift = ufunc_type(numpy.right_shift)
greater = ufunc_type(numpy.greater)
greater_equal = ufunc_type(numpy.greater_equal)
less = ufunc_type(numpy.less)
less_equal = ufunc_type(numpy.less_equal)
equal = ufunc_type(numpy.equal)
not_equal = ufunc_type(numpy.not_equal)
logical_and = ufunc_type(numpy.logical_and)
logical_or = ufunc_type(numpy.logical_or)
logical_xor = ufunc_type(numpy.logical_xor)
logical_not = ufunc_type(numpy.logical_not)
maximum = ufunc_type(numpy.maximum)
minimum = ufunc_type(numpy.minimum)
fmax = ufunc_type(numpy.fmax)
fmin = ufunc_type(numpy.fmin)
isfinite = ufunc_type(numpy.isfinite)
isinf = ufunc_type(numpy.isinf)
isnan = ufunc_type(numpy.isnan)
signbit = ufunc_type(numpy.signbit)
copysign = ufunc_type(numpy.copysign)
nextafter = ufunc_type(numpy.nextafter)
floor = ufunc_type(numpy.floor)
ceil = ufunc_type(numpy.ceil)
trunc = ufunc_type(numpy.trunc)
matmul = ufunc_type(numpy.matmul)
ufunc = ufunc_type


# ---------------------------------------------------------------------------------------------------------------
# creating arrays, and the host <-> device copies
# ---------------------------------------------------------------------------------------------------------------

def asarray(a, dtype=None, order=None, *, blocking=False):
    """``a`` on the device: a device array as it is (cast if asked), host data copied over (recorded)."""
    if isinstance(a, ndarray):
        return a.astype(dtype, copy=False) if dtype is not None else a
    if isinstance(a, (list, tuple)) and builtins.any(isinstance(part, ndarray) for part in a):
        return stack(list(a)).astype(dtype, copy=False) if dtype is not None else stack(list(a))
    _record(TO_DEVICE, f"cupy.asarray of a host {type(a).__name__}")
    return ndarray._adopt(numpy.array(a, dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        result = obj._array.astype(dtype or obj.dtype, order=order, copy=copy)
        return ndarray._adopt(result.reshape((1,) * (ndmin - result.ndim) + result.shape) if ndmin else result)
    _record(TO_DEVICE, f"cupy.array of a host {type(obj).__name__}")
    return ndarray._adopt(numpy.array(obj, dtype=dtype, order=order, ndmin=ndmin))


asanyarray = asarray


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """A host copy of ``a`` (a device-to-host transfer, recorded); host data is returned as numpy.asarray does."""
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    return numpy.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if builtins.any(isinstance(arg, ndarray) for arg in args) else numpy


def _creation(numpy_function):
    """A function that makes a new device array (zeros, arange, ...): no host data crosses to the device."""
    @_on_device
    @functools.wraps(numpy_function)
    def make(*args, **kwargs):
        return _wrap(numpy_function(*_positional(args), **_keywords(kwargs)))
    return make


def _routine(numpy_function):
    """A function of device arrays (sum, concatenate, where, ...): device arrays in, device arrays out, and a NumPy
    array anywhere among the arguments raises CuPy's TypeError."""
    @_on_device
    @functools.wraps(numpy_function)
    def run(*args, **kwargs):
        out = kwargs.pop("out", None)
        if out is None:
            return _wrap(numpy_function(*_positional(args), **_keywords(kwargs)))
        numpy_function(*_positional(args), out=_out_arg(out), **_keywords(kwargs))
        return out
    return run


empty = _creation(numpy.empty)
empty_like = _creation(numpy.empty_like)
eye = _creation(numpy.eye)
identity = _creation(numpy.identity)
full = _creation(numpy.full)
full_like = _creation(numpy.full_like)
ones = _creation(numpy.ones)
ones_like = _creation(numpy.ones_like)
zeros = _creation(numpy.zeros)
zeros_like = _creation(numpy.zeros_like)
arange = _creation(numpy.arange)
linspace = _creation(numpy.linspace)
logspace = _creation(numpy.logspace)
tri = _creation(numpy.tri)

# shapes and joining
reshape = _routine(numpy.reshape)
ravel = _routine(numpy.ravel)
transpose = _routine(numpy.transpose)
swapaxes = _routine(numpy.swapaxes)
moveaxis = _routine(numpy.moveaxis)
rollaxis = _routine(numpy.rollaxis)
expand_dims = _routine(numpy.expand_dims)
squeeze = _routine(numpy.squeeze)
broadcast_to = _routine(numpy.broadcast_to)
broadcast_arrays = _routine(numpy.broadcast_arrays)
atleast_1d = _routine(numpy.atleast_1d)
atleast_2d = _routine(numpy.atleast_2d)
atleast_3d = _routine(numpy.atleast_3d)
concatenate = _routine(numpy.concatenate)
stack = _routine(numpy.stack)
hstack = _routine(numpy.hstack)
vstack = _routine(numpy.vstack)
dstack = _routine(numpy.dstack)
column_stack = _routine(numpy.column_stack)
split = _routine(numpy.split)
array_split = _routine(numpy.array_split)
tile = _routine(numpy.tile)
repeat = _routine(numpy.repeat)
flip = _routine(numpy.flip)
fliplr = _routine(numpy.fliplr)
flipud = _routine(numpy.flipud)
roll = _routine(numpy.roll)
meshgrid = _routine(numpy.meshgrid)
tril = _routine(numpy.tril)
triu = _routine(numpy.triu)
diag = _routine(numpy.diag)
diagonal = _routine(numpy.diagonal)
copy = _routine(numpy.copy)
ascontiguousarray = _routine(numpy.ascontiguousarray)
asfortranarray = _routine(numpy.asfortranarray)
# selection
where = _routine(numpy.where)
take = _routine(numpy.take)
take_along_axis = _routine(numpy.take_along_axis)
choose = _routine(numpy.choose)
select = _routine(numpy.select)
clip = _routine(numpy.clip)
around = _routine(numpy.around)
round = _routine(numpy.round)
nan_to_num = _routine(numpy.nan_to_num)
copyto = _routine(numpy.copyto)
# reductions and statistics
sum = _routine(numpy.sum)
prod = _routine(numpy.prod)
cumsum = _routine(numpy.cumsum)
cumprod = _routine(numpy.cumprod)
mean = _routine(numpy.mean)
var = _routine(numpy.var)
std = _routine(numpy.std)
median = _routine(numpy.median)
partition = _routine(numpy.partition)
average = _routine(numpy.average)
amax = _routine(numpy.amax)
amin = _routine(numpy.amin)
max = _routine(numpy.max)
min = _routine(numpy.min)
argmax = _routine(numpy.argmax)
argmin = _routine(numpy.argmin)
nanmax = _routine(numpy.nanmax)
nanmin = _routine(numpy.nanmin)
nansum = _routine(numpy.nansum)
nanmean = _routine(numpy.nanmean)
all = _routine(numpy.all)
any = _routine(numpy.any)
count_nonzero = _routine(numpy.count_nonzero)
ptp = _routine(numpy.ptp)
percentile = _routine(numpy.percentile)
quantile = _routine(numpy.quantile)
cov = _routine(numpy.cov)
corrcoef = _routine(numpy.corrcoef)
histogram = _routine(numpy.histogram)
# products and comparisons
dot = _routine(numpy.dot)
vdot = _routine(numpy.vdot)
inner = _routine(numpy.inner)
outer = _routine(numpy.outer)
tensordot = _routine(numpy.tensordot)
einsum = _routine(numpy.einsum)
kron = _routine(numpy.kron)
cross = _routine(numpy.cross)
allclose = _routine(numpy.allclose)
isclose = _routine(numpy.isclose)
array_equal = _routine(numpy.array_equal)
sort = _routine(numpy.sort)
argsort = _routine(numpy.argsort)
searchsorted = _routine(numpy.searchsorted)
may_share_memory = _routine(numpy.may_share_memory)
shares_memory = _routine(numpy.shares_memory)


def bincount(x, weights=None, minlength=None):
    """CuPy reads the largest value on the host to size the result (a synchronisation, recorded)."""
    if not isinstance(x, ndarray) or (weights is not None and not isinstance(weights, ndarray)):
        raise TypeError("bincount: the arguments must be cupy.ndarray")
    if x.ndim != 1:
        raise ValueError("object too deep for desired array")
    _record(SYNCHRONISE, "bincount (CuPy reads the largest value on the host to size the result)")
    if x.size and int(x._array.min()) < 0:
        raise ValueError("The first argument of bincount must be non-negative")
    return _wrap(numpy.bincount(x._array, None if weights is None else weights._array, minlength or 0))


def nonzero(a):
    return a.nonzero()


def flatnonzero(a):
    return a.ravel().nonzero()[0]


def argwhere(a):
    _record(SYNCHRONISE, "argwhere (CuPy counts the non-zero values on the host)")
    return _wrap(numpy.argwhere(a._array))


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    _record(SYNCHRONISE, "unique (CuPy counts the distinct values on the host)")
    return _wrap(numpy.unique(_device_args(ar), return_index, return_inverse, return_counts, axis))


def result_type(*arrays_and_dtypes):
    return numpy.result_type(*[a.dtype if isinstance(a, ndarray) else a for a in arrays_and_dtypes])


def isscalar(element):
    return numpy.isscalar(element)


def ndim(a):
    return a.ndim if isinstance(a, ndarray) else numpy.ndim(a)


def shape(a):
    return a.shape if isinstance(a, ndarray) else numpy.shape(a)


def size(a, axis=None):
    return (a.size if axis is None else a.shape[axis]) if isinstance(a, ndarray) else numpy.size(a, axis)


# dtypes and constants (CuPy re-exports NumPy's)
bool_ = numpy.bool_
int8 = numpy.int8
int16 = numpy.int16
int32 = numpy.int32
int64 = numpy.int64
uint8 = numpy.uint8
uint16 = numpy.uint16
uint32 = numpy.uint32
uint64 = numpy.uint64
intp = numpy.intp
float16 = numpy.float16
float32 = numpy.float32
float64 = numpy.float64
complex64 = numpy.complex64
complex128 = numpy.complex128
dtype = numpy.dtype
finfo = numpy.finfo
iinfo = numpy.iinfo
can_cast = numpy.can_cast
promote_types = numpy.promote_types
issubdtype = numpy.issubdtype
floating = numpy.floating
integer = numpy.integer
number = numpy.number
generic = numpy.generic
inexact = numpy.inexact
signedinteger = numpy.signedinteger
unsignedinteger = numpy.unsignedinteger
e = numpy.e
pi = numpy.pi
inf = numpy.inf
nan = numpy.nan
newaxis = numpy.newaxis
euler_gamma = numpy.euler_gamma


# ---------------------------------------------------------------------------------------------------------------
# cupy.linalg, cupy.random, cupy.cuda and cupyx
# ---------------------------------------------------------------------------------------------------------------

linalg = types.ModuleType("cupy.linalg", "The simulated cupy.linalg (NumPy's linear algebra on device arrays).")
linalg.inv = _routine(numpy.linalg.inv)
linalg.pinv = _routine(numpy.linalg.pinv)
linalg.solve = _routine(numpy.linalg.solve)
linalg.cholesky = _routine(numpy.linalg.cholesky)
linalg.eigh = _routine(numpy.linalg.eigh)
linalg.eigvalsh = _routine(numpy.linalg.eigvalsh)
linalg.qr = _routine(numpy.linalg.qr)
linalg.svd = _routine(numpy.linalg.svd)
linalg.det = _routine(numpy.linalg.det)
linalg.slogdet = _routine(numpy.linalg.slogdet)
linalg.norm = _routine(numpy.linalg.norm)
linalg.matrix_power = _routine(numpy.linalg.matrix_power)
linalg.lstsq = _routine(numpy.linalg.lstsq)
linalg.tensorsolve = _routine(numpy.linalg.tensorsolve)
linalg.tensorinv = _routine(numpy.linalg.tensorinv)
linalg.LinAlgError = numpy.linalg.LinAlgError

_DEVICE_STREAM_KEY = 0x5C0DA   # mixed into the seed: the simulated device's stream differs from the CPU's


class Generator:
    """The simulated ``cupy.random.Generator`` (CuPy's Generator API, its draws made by NumPy's PCG64 seeded from
    the seed and a device key; CuPy's real generators use XORWOW and give other values)."""

    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, (int, numpy.integer)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        entropy = None if seed is None else [int(seed), _DEVICE_STREAM_KEY]
        self._rng = numpy.random.Generator(numpy.random.PCG64(numpy.random.SeedSequence(entropy)))

    def random(self, size=None, dtype=numpy.float64, out=None):
        dtype = numpy.dtype(dtype)
        draw = self._rng.random(size=size, dtype=numpy.float64 if dtype.char == "d" else numpy.float32)
        return _drawn(draw.astype(dtype, copy=False), out)

    def standard_normal(self, size=None, dtype=numpy.float64, out=None):
        dtype = numpy.dtype(dtype)
        if dtype.char not in ("f", "d"):
            raise TypeError(f"Unsupported dtype {dtype.name} for standard_normal")
        return _drawn(self._rng.standard_normal(size=size, dtype=dtype), out)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=numpy.float64):
        return asarray(low) + (asarray(high) - asarray(low)) * self.random(size, dtype)

    def integers(self, low, high=None, size=None, dtype=numpy.int64, endpoint=False):
        low, high = (0, int(low)) if high is None else (int(low), int(high))   # int(): CuPy's bounds are on the host
        if not endpoint:
            high -= 1
        if low > high:
            raise ValueError("low >= high")
        return _wrap(self._rng.integers(low, high, size=size, dtype=dtype, endpoint=True))


def _drawn(values, out):
    if out is None:
        return _wrap(numpy.asarray(values))
    out._array[...] = values
    return out


random = types.ModuleType("cupy.random", "The simulated cupy.random: default_rng and Generator only.")
random.Generator = Generator
random.default_rng = Generator

cuda = types.ModuleType("cupy.cuda", "The simulated cupy.cuda: one device, always there.")


SIMULATED_MEMORY = 80 * 2 ** 30


class _Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)

    def synchronize(self):
        _record(SYNCHRONISE, "Device.synchronize()")

    @property
    def mem_info(self):
        """(free, total) bytes, as CuPy's: a simulated 80 GiB card (the host's memory is what the arrays use)."""
        return SIMULATED_MEMORY, SIMULATED_MEMORY

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def __repr__(self):
        return f"<CUDA Device {self.id} (simulated)>"


class _Stream:
    def synchronize(self):
        _record(SYNCHRONISE, "Stream.synchronize()")


cuda.Device = _Device
cuda.Stream = _Stream
cuda.Stream.null = _Stream()
cuda.get_current_stream = lambda device=None: cuda.Stream.null
cuda.is_available = lambda: True
cuda.runtime = types.SimpleNamespace(
    getDeviceCount=lambda: 1,
    getDeviceProperties=lambda device: {"name": b"simulated device (tests/simulated_cupy.py)"})

cupyx = types.ModuleType("cupyx", "The simulated cupyx: the scatter functions and allow_synchronize.")
cupyx.scatter_add = lambda a, slices, value: _scatter("add", a, slices, value)
cupyx.scatter_max = lambda a, slices, value: _scatter("maximum", a, slices, value)
cupyx.scatter_min = lambda a, slices, value: _scatter("minimum", a, slices, value)
cupyx.allow_synchronize = allow_synchronize
cupyx.DeviceSynchronized = DeviceSynchronized

SIMULATED = True   # so a test can tell this module from a real CuPy
__version__ = "13.0.0+simulated"


def modules():
    """{module name: module} that make ``import cupy`` (and cupyx, cupy.random, cupy.linalg, cupy.cuda) give this
    simulation, to be put into sys.modules (tests/conftest.py does, for --simulated-cuda or one test)."""
    return {"cupy": sys.modules[__name__], "cupy.linalg": linalg, "cupy.random": random, "cupy.cuda": cuda,
            "cupyx": cupyx}
