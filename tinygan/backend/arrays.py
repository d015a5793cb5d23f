"""The arrays: dtypes, devices, making and moving arrays. Part of the backend, the only layer that imports numpy
or cupy.

A tinygan Tensor wraps an array from one of two namespaces ("xp"):

    device "cpu"  -> numpy
    device "cuda" -> cupy   ("gpu" is accepted as an alias)

Everything above this layer asks a tensor's Device for its namespace (``device.xp``) instead of importing numpy,
so the same op code runs on either device. CuPy is imported lazily, the first time "cuda" is asked for, so a
CPU-only user never needs it installed.

This module also owns the dtype defaults and host transfer.
"""

import os

import numpy

# ---------------------------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------------------------

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
bool_ = numpy.dtype("bool")

_DTYPES_BY_NAME = {
    "float32": float32, "float": float32, "float64": float64, "double": float64,
    "int32": int32, "int64": int64, "long": int64, "bool": bool_,
}
FLOAT_DTYPES = (float32, float64)

_default_dtype = float32


def as_dtype(spec):
    """Turn a dtype given as a name ("float32"), a numpy dtype or a numpy scalar type into a numpy dtype.

    ``None`` means the default floating dtype. Only the dtypes tinygan supports are accepted.
    """
    if spec is None:
        return _default_dtype
    if isinstance(spec, str):
        if spec not in _DTYPES_BY_NAME:
            raise TypeError(f"unknown dtype {spec!r}; tinygan supports {sorted(_DTYPES_BY_NAME)}")
        return _DTYPES_BY_NAME[spec]
    if spec is float:
        return _default_dtype
    if spec is int:
        return int64
    if spec is bool:
        return bool_
    try:
        dtype = numpy.dtype(spec)
    except TypeError:
        raise TypeError(f"unknown dtype {spec!r}; tinygan supports {sorted(_DTYPES_BY_NAME)}") from None
    if dtype not in (float32, float64, int32, int64, bool_):
        raise TypeError(f"dtype {dtype} is not supported; use float32, float64, int32, int64 or bool")
    return dtype


def is_floating(dtype):
    return dtype == float32 or dtype == float64


def get_default_dtype():
    return _default_dtype


def set_default_dtype(dtype):
    """Set the dtype that Python numbers and lists become (float32 unless changed). Must be a float dtype."""
    global _default_dtype
    dtype = as_dtype(dtype)
    if not is_floating(dtype):
        raise TypeError(f"set_default_dtype: the default dtype must be float32 or float64, got {dtype}")
    _default_dtype = dtype


# ---------------------------------------------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------------------------------------------

_CUPY_INSTALL_HINT = ('install the CUDA extra that matches your CUDA toolkit, from the clone of tinygan: '
                      'pip install ".[cuda12]" or pip install ".[cuda13]"')


def _import_cupy():
    """Import cupy and check a GPU is usable; raise a RuntimeError saying which of the two is missing."""
    try:
        import cupy
    except ImportError as error:
        raise RuntimeError(f'device "cuda" needs CuPy, which is not installed ({error}); '
                           f"{_CUPY_INSTALL_HINT}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # cupy raises CUDARuntimeError, or an ImportError of libcudart
        raise RuntimeError(f'device "cuda": CuPy is installed but no usable GPU was found ({error}); '
                           f'use device "cpu" or run on a machine with an NVIDIA GPU') from None
    if count == 0:
        raise RuntimeError('device "cuda": CuPy is installed but no GPU is visible; use device "cpu"')
    return cupy


class Device:
    """Where a tensor's data lives: "cpu" (a numpy array) or "cuda" (a cupy array).

    ``device.xp`` is the array namespace to call (numpy or cupy). A Device compares equal to its name, so
    ``t.device == "cpu"`` works.
    """

    __slots__ = ("type", "_xp")

    def __init__(self, type_name):
        self.type = type_name
        self._xp = numpy if type_name == "cpu" else None

    @property
    def xp(self):
        if self._xp is None:
            self._xp = _import_cupy()
        return self._xp

    def __eq__(self, other):
        if isinstance(other, Device):
            return self.type == other.type
        if isinstance(other, str):
            return self.type == _DEVICE_ALIASES.get(other, other)
        return NotImplemented

    def __hash__(self):
        return hash(self.type)

    def __repr__(self):
        return f"device(type='{self.type}')"

    def __str__(self):
        return self.type


CPU = Device("cpu")
CUDA = Device("cuda")
_DEVICE_ALIASES = {"cpu": "cpu", "cuda": "cuda", "gpu": "cuda", "cuda:0": "cuda"}


def as_device(spec):
    """Turn "cpu", "cuda", "gpu" or a Device into a Device (``None`` means the default device).

    Asking for "cuda" checks CuPy and a GPU are there, and raises a RuntimeError naming what is missing.
    """
    if spec is None:
        return get_default_device()
    if isinstance(spec, Device):
        name = spec.type
    elif isinstance(spec, str):
        name = _DEVICE_ALIASES.get(spec.strip().lower())
        if name is None:
            raise ValueError(f"unknown device {spec!r}; use 'cpu' or 'cuda' (alias 'gpu')")
    else:
        raise TypeError(f"a device is given as 'cpu', 'cuda' or a tinygan Device, got {type(spec).__name__}")
    if name == "cuda":
        CUDA.xp  # import cupy now so a missing GPU is reported where the device was asked for
        return CUDA
    return CPU


_default_device = None  # resolved on first use, from TINYGAN_DEVICE


def cuda_available():
    """True when CuPy is installed and sees a GPU (so device "cuda" can be used)."""
    try:
        as_device("cuda")
    except RuntimeError:
        return False
    return True


def cuda_device_count():
    """The number of GPUs CuPy sees (0 when CuPy or a GPU is missing)."""
    return CUDA.xp.cuda.runtime.getDeviceCount() if cuda_available() else 0


def is_device_spec(value):
    """True for a Device or a device name ("cpu", "cuda", "gpu"), as opposed to a dtype."""
    return isinstance(value, Device) or (isinstance(value, str) and value.strip().lower() in _DEVICE_ALIASES)


def is_dtype_spec(value):
    """True for what as_dtype accepts: a dtype name ("float32", "double", ...), a numpy dtype or type, float,
    int, bool."""
    if isinstance(value, str):
        return value in _DTYPES_BY_NAME
    try:
        as_dtype(value)
    except TypeError:
        return False
    return value is not None


def get_default_device():
    global _default_device
    if _default_device is None:
        _default_device = as_device(os.environ.get("TINYGAN_DEVICE", "cpu"))
    return _default_device


def set_default_device(device):
    """Set the device that factories (tensor, zeros, randn, ...) use when none is given."""
    global _default_device
    _default_device = as_device(device)


def device_of(array):
    """The Device an array (or a numpy scalar) lives on."""
    return CPU if isinstance(array, (numpy.ndarray, numpy.generic)) else CUDA


def array_namespace(array):
    """numpy or cupy, whichever ``array`` belongs to: what a Function's forward calls on its raw arrays."""
    return numpy if isinstance(array, (numpy.ndarray, numpy.generic)) else CUDA.xp


# ---------------------------------------------------------------------------------------------------------------
# arrays: creation, conversion, host transfer
# ---------------------------------------------------------------------------------------------------------------

HOST_ARRAY = numpy.ndarray   # the type of a CPU tensor's data


def is_array(value):
    """True for a numpy or cupy ndarray (a cupy array is recognised even before tinygan has imported cupy)."""
    if isinstance(value, numpy.ndarray):
        return True
    if CUDA._xp is None:
        return type(value).__module__.split(".")[0] == "cupy" and hasattr(value, "shape")
    return isinstance(value, CUDA._xp.ndarray)


def scalar_array(like, value, dtype):
    """A 0-d array holding ``value`` on ``like``'s device. On the GPU it is filled by a kernel, so a Python
    number in an op (x * 2.0) costs no host-to-device copy and no synchronisation."""
    if isinstance(like, numpy.ndarray):
        return numpy.asarray(value, dtype=dtype)
    return CUDA.xp.full((), value, dtype=dtype)


def is_scalar(value):
    """True for a Python or numpy number (what adopts a tensor's dtype in an op)."""
    return isinstance(value, (int, float, bool, numpy.number, numpy.bool_))


def to_array(data, dtype=None, device=None):
    """Make a backend array on ``device`` from a Python number, a nested list, a numpy or a cupy array.

    dtype rules (the ones users rely on to avoid silent float64):
      - an explicit ``dtype`` wins;
      - a numpy/cupy float or integer/bool array keeps its dtype;
      - Python floats and lists of them become the default float dtype; Python ints become int64 and bools bool
        (as in PyTorch).
    The result is a fresh array unless ``data`` is already an array of the right dtype on the right device.
    """
    if isinstance(data, numpy.generic):
        data = numpy.asarray(data)  # a numpy scalar keeps its dtype, like a 0-d array
    if device is None and is_array(data):
        device = device_of(data)  # an array stays where it is unless a device is asked for
    device = as_device(device)
    xp = device.xp
    if is_array(data):
        dtype = as_dtype(dtype) if dtype is not None else _supported_array_dtype(data.dtype)
        if device_of(data) != device:
            data = to_host(data) if device.type == "cpu" else xp.asarray(data)
        return data.astype(dtype, copy=False)
    if dtype is None:
        dtype = _infer_python_dtype(data)
    else:
        dtype = as_dtype(dtype)
    return xp.asarray(numpy.asarray(data, dtype=dtype))


def _supported_array_dtype(dtype):
    """Map an incoming array dtype onto the ones tinygan supports (float16 -> float32, uint8 -> int64, ...)."""
    if dtype in (float32, float64, int32, int64, bool_):
        return dtype
    if dtype.kind == "f":
        return float32
    if dtype.kind in "iu":
        return int64
    raise TypeError(f"arrays of dtype {dtype} are not supported; use float32, float64, int32, int64 or bool")


def _infer_python_dtype(data):
    """dtype for a Python number or nested list: default float if any float, int64 for ints, bool for bools."""
    probe = numpy.asarray(data)
    if probe.dtype.kind == "b":
        return bool_
    if probe.dtype.kind in "iu":
        return int64
    if probe.dtype.kind == "f":
        return _default_dtype
    raise TypeError(f"cannot make a tensor from {type(data).__name__} data of numpy kind {probe.dtype}")


def as_array(value):
    """``value`` as an array: an array as it is, a numpy scalar (what numpy returns from some ops on 0-d arrays)
    as a 0-d array of the same dtype."""
    return value if is_array(value) else numpy.asarray(value)


def shares_memory(a, b):
    """True if two arrays may overlap in memory (a cheap bounds check, exact for views of one buffer)."""
    return array_namespace(a).may_share_memory(a, b)


def blas_ready(array):
    """``array``, or a compact copy when it has a zero stride (a broadcast view): BLAS matrix products fall back
    to a slow loop on zero-stride operands, and the copy of such a (usually tiny) view is cheap."""
    if 0 in array.strides and array.size > 1:
        return array_namespace(array).ascontiguousarray(array)
    return array


def to_host(array):
    """A numpy array with the same values (a copy from the GPU, the array itself on the CPU)."""
    if isinstance(array, numpy.ndarray):
        return array
    return array.get()


def read_only_view(array):
    """A host view of a CPU array that cannot be written through (so .numpy() cannot bypass autograd)."""
    view = array.view()
    view.flags.writeable = False
    return view


def format_array(array):
    """Values as text for a tensor's repr."""
    return numpy.array2string(to_host(array), separator=", ", precision=4, threshold=200, prefix="tensor(")


def scatter_add(target, index, values):
    """target[index] += values, adding every value even when ``index`` repeats a position (numpy.add.at; CuPy has
    the same ufunc method, which it recommends over the older cupyx.scatter_add)."""
    array_namespace(target).add.at(target, index, values)


def has_advanced_index(key):
    """True if an indexing key holds an integer or boolean array (NumPy's "advanced" indexing)."""
    parts = key if isinstance(key, tuple) else (key,)
    return any(is_array(part) or isinstance(part, list) for part in parts)


def ignore_float_errors():
    """A context manager silencing NumPy's floating-point warnings (overflow, invalid value, divide by zero).

    For code that checks its own numbers for NaN and inf and reports them better than a warning can: the trainer
    runs its steps under it and raises DivergenceError naming the step. CuPy never warns, so nothing changes there.
    """
    return numpy.errstate(all="ignore")
