"""Making tensors: tg.tensor(data) and the factories zeros, ones, full, the *_like ones, rand, randn, randint,
arange, linspace, eye. Each takes dtype (float32 unless asked), device ("cpu" unless asked) and, where it makes
sense, requires_grad and a random generator."""

from . import backend
from .tensor import Tensor, _shape_arg


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor from a number, a (nested) list, a numpy/cupy array or another tensor (its values are copied).

    dtype: tg.float32 (the default for Python floats), tg.float64, tg.int64, tg.bool_, or their names. A numpy
    float array keeps its dtype; Python ints become int64 and bools bool, as in PyTorch.
    """
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def _filled(fill, shape, dtype, device, requires_grad):
    device = backend.as_device(device)
    dtype = backend.as_dtype(dtype)
    array = device.xp.full(_shape_arg(shape), fill, dtype=dtype)
    return _wrapped(array, requires_grad)


def _wrapped(array, requires_grad=False):
    result = Tensor._make(array)
    result.requires_grad = requires_grad
    return result


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: tg.zeros(2, 3) or tg.zeros((2, 3))."""
    return _filled(0, shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of ones: tg.ones(2, 3) or tg.ones((2, 3))."""
    return _filled(1, shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value``."""
    return _filled(fill_value, (shape,) if isinstance(shape, int) else shape, dtype, device, requires_grad)


def zeros_like(other, dtype=None, device=None, requires_grad=False):
    """Zeros with the shape (and, unless given, dtype and device) of ``other``."""
    return _filled(0, other.shape, dtype or other.dtype, device or other.device, requires_grad)


def ones_like(other, dtype=None, device=None, requires_grad=False):
    """Ones with the shape (and, unless given, dtype and device) of ``other``."""
    return _filled(1, other.shape, dtype or other.dtype, device or other.device, requires_grad)


def full_like(other, fill_value, dtype=None, device=None, requires_grad=False):
    return _filled(fill_value, other.shape, dtype or other.dtype, device or other.device, requires_grad)


def from_numpy(array):
    """A tensor sharing ``array``'s memory (no copy), as torch.from_numpy: changing one changes the other. The
    array's dtype is kept if tinygan has it (float32, float64, int32, int64, bool)."""
    if not backend.is_array(array) or backend.device_of(array) != "cpu":
        raise TypeError(f"from_numpy: expects a numpy array, got {type(array).__name__}; for a list use tg.tensor")
    return Tensor._make(backend.to_array(array, None, "cpu"))


def randn_like(other, dtype=None, device=None, generator=None, requires_grad=False):
    """N(0, 1) draws with the shape (and, unless given, dtype and device) of ``other``."""
    return randn(*other.shape, dtype=dtype or other.dtype, device=device or other.device, generator=generator,
                 requires_grad=requires_grad)


def rand_like(other, dtype=None, device=None, generator=None, requires_grad=False):
    """U[0, 1) draws with the shape (and, unless given, dtype and device) of ``other``."""
    return rand(*other.shape, dtype=dtype or other.dtype, device=device or other.device, generator=generator,
                requires_grad=requires_grad)


def _random(draw, shape, dtype, device, generator, requires_grad):
    dtype = backend.as_dtype(dtype)
    if not backend.is_floating(dtype):
        raise TypeError(f"random floats need a float dtype, got {dtype}")
    if generator is None:
        generator = backend.default_generator(device)
    elif device is not None and backend.as_device(device) != generator.device:
        raise ValueError(f"the generator is on {generator.device} but device={device!r} was asked for; make the "
                         f"generator on that device: tg.Generator(seed, device={str(device)!r})")
    array = getattr(generator, draw)(_shape_arg(shape), dtype)
    return _wrapped(array, requires_grad)


def randn(*shape, dtype=None, device=None, generator=None, requires_grad=False):
    """Standard normal draws N(0, 1): tg.randn(64, 2, generator=tg.Generator(seed=0))."""
    return _random("normal", shape, dtype, device, generator, requires_grad)


def rand(*shape, dtype=None, device=None, generator=None, requires_grad=False):
    """Uniform draws on [0, 1)."""
    return _random("uniform", shape, dtype, device, generator, requires_grad)


def randint(low, high, shape, dtype=None, device=None, generator=None):
    """Uniform integers in [low, high) (int64 unless dtype says otherwise)."""
    if generator is None:
        generator = backend.default_generator(device)
    dtype = backend.int64 if dtype is None else backend.as_dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _wrapped(generator.integers(low, high, shape, dtype))


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in [start, stop), as numpy.arange: int64 for integer arguments, else float32."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        all_ints = all(isinstance(v, int) for v in (start, stop, step))
        dtype = backend.int64 if all_ints else backend.get_default_dtype()
    device = backend.as_device(device)
    array = device.xp.arange(start, stop, step, dtype=backend.as_dtype(dtype))
    return _wrapped(array, requires_grad)


def linspace(start, stop, num, dtype=None, device=None, requires_grad=False):
    """``num`` evenly spaced values from start to stop inclusive."""
    device = backend.as_device(device)
    array = device.xp.linspace(start, stop, num, dtype=backend.as_dtype(dtype))
    return _wrapped(array, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m identity matrix (m defaults to n)."""
    device = backend.as_device(device)
    return _wrapped(device.xp.eye(n, m, dtype=backend.as_dtype(dtype)), requires_grad)
