"""The simulated CuPy (tests/simulated_cupy.py) behaves like CuPy where device discipline is concerned.

The simulation is only worth running tinygan on if it is as strict as CuPy: each test here would pass on a lenient
stand-in only if the stand-in refused, recorded or wrapped exactly what CuPy does (the CuPy behaviour each test
copies is named in its docstring). It checks device discipline, not CUDA's numerics or speed.
"""

import warnings

import numpy as np
import pytest

import simulated_cupy as cp
import tinygan as tg


def device_array(values, dtype=np.float64):
    return cp.asarray(np.asarray(values, dtype=dtype))


# ---------------------------------------------------------------------------------------------------------------
# no implicit conversion, no host arrays in device work
# ---------------------------------------------------------------------------------------------------------------

CUPY_MESSAGE = ("Implicit conversion to a NumPy array is not allowed. "
                "Please use `.get()` to construct a NumPy array explicitly.")


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda a: a.__array__(), lambda a: np.asarray([a, a])],
                         ids=["numpy.asarray", "numpy.array", "__array__", "a list of device arrays"])
def test_implicit_conversion_to_numpy_raises_cupys_type_error(convert):
    """cupy.ndarray.__array__ raises TypeError with this message: NumPy cannot read device memory."""
    with pytest.raises(TypeError) as error:
        convert(device_array([1.0, 2.0]))
    assert str(error.value) == CUPY_MESSAGE


@pytest.mark.parametrize("mix", [
    lambda a, h: a + h, lambda a, h: h + a, lambda a, h: a * h, lambda a, h: cp.add(a, h),
    lambda a, h: cp.where(a > 0, h, 0.0), lambda a, h: cp.concatenate([a, h]), lambda a, h: cp.maximum(a, h),
    lambda a, h: cp.add(a, h[0:1].reshape(())), lambda a, h: cp.stack([a, h.tolist()]),
], ids=["a + host", "host + a", "a * host", "cupy.add", "cupy.where", "cupy.concatenate", "cupy.maximum",
        "a 0-d host array", "a list beside a device array"])
def test_host_arrays_in_device_work_raise_cupys_type_error(mix):
    """CuPy's kernels accept device arrays and scalars only: "Unsupported type <class 'numpy.ndarray'>"."""
    with pytest.raises(TypeError, match="Unsupported type <class '(numpy.ndarray|list)'>"):
        mix(device_array([1.0, 2.0]), np.ones(2))


def test_numpy_functions_dispatch_to_the_device_or_refuse():
    """__array_function__/__array_ufunc__: numpy.exp(a) runs cupy.exp; a NumPy function CuPy lacks raises
    TypeError, and so do ufunc methods (numpy.add.at) on device arrays."""
    a = device_array([1.0, 2.0])
    assert isinstance(np.exp(a), cp.ndarray) and isinstance(np.sum(a), cp.ndarray)
    with pytest.raises(TypeError, match="no implementation found for 'numpy.array2string'"):
        np.array2string(a)
    with pytest.raises(TypeError):
        np.add.at(a, device_array([0], np.int64), 1.0)


def test_only_cupys_functions_exist():
    """A NumPy function CuPy does not have is an AttributeError, not a silent host computation."""
    for name in ("errstate", "array2string", "set_printoptions", "seterr"):
        assert not hasattr(cp, name), name
    for name in ("normal", "seed", "RandomState", "choice"):
        assert not hasattr(cp.random, name), name
    assert isinstance(cp.random.default_rng(0), cp.random.Generator)


def test_results_stay_on_the_device_as_0d_arrays():
    """CuPy returns 0-d device arrays where NumPy returns scalars: reductions, an element, scalar ufuncs."""
    a = device_array([[1.0, 2.0], [3.0, 4.0]])
    for result in (a.sum(), a.max(), a[0, 1], cp.sqrt(2.0), cp.sum(a), a.mean() + 1.0, cp.linalg.inv(a)[0, 0]):
        assert isinstance(result, cp.ndarray) and result.ndim == 0


def test_tinygan_recognises_a_simulated_array_as_a_cupy_array(simulated_cuda):
    a = device_array([1.0])
    assert type(a).__module__ == "cupy" and type(a).__name__ == "ndarray"
    assert tg.backend.is_array(a) and tg.backend.device_of(a) == "cuda"
    assert tg.backend.array_namespace(a) is cp


# ---------------------------------------------------------------------------------------------------------------
# every crossing between host and device is recorded
# ---------------------------------------------------------------------------------------------------------------

TO_HOST = [
    ("float()", lambda a: float(a[0])), ("int()", lambda a: int(a[0])), ("bool()", lambda a: bool(a[0])),
    (".item()", lambda a: a[0].item()), (".tolist()", lambda a: a.tolist()), (".get()", lambda a: a.get()),
    (".get()", lambda a: cp.asnumpy(a)), ("repr()", repr), ("str()", str), ("format()", lambda a: f"{a[0]:.2f}"),
    (".tobytes()", lambda a: a.tobytes()), ("pickle", lambda a: a.__reduce__()),
]


@pytest.mark.parametrize("what, convert", TO_HOST, ids=[f"{i}-{what}" for i, (what, _) in enumerate(TO_HOST)])
def test_each_conversion_to_the_host_is_one_recorded_transfer(what, convert):
    """Each of these copies device memory to the host, which waits for the GPU (CuPy's .get())."""
    a = device_array([1.0, 2.0])
    with cp.watch() as log:
        convert(a)
    assert [(event.kind, event.what) for event in log.events] == [(cp.TO_HOST, what)]
    assert __file__ in log.events[0].where    # the caller, not the simulation, is named


TO_DEVICE = [
    lambda a: cp.asarray(np.ones(2)), lambda a: cp.array([1.0, 2.0]), lambda a: a[[0, 1]],
    lambda a: a[np.array([1])], lambda a: a.__setitem__(slice(None), np.zeros(2)),
]


@pytest.mark.parametrize("copy", TO_DEVICE, ids=["asarray", "array", "list index", "numpy index", "assign host"])
def test_each_copy_of_host_data_to_the_device_is_recorded(copy):
    a = device_array([1.0, 2.0])
    with cp.watch() as log:
        copy(a)
    assert log.counts() == {cp.TO_DEVICE: 1}, log.describe()


SIZED_ON_THE_HOST = {
    "mask": lambda a: a[a > 1.0],
    "nonzero": lambda a: cp.nonzero(a),
    "bincount": lambda a: cp.bincount((a > 1.0).astype(np.int64)),
    "mask assign": lambda a: a.__setitem__(a > 1.0, 0.0),
}


@pytest.mark.parametrize("work", SIZED_ON_THE_HOST.values(), ids=SIZED_ON_THE_HOST.keys())
def test_operations_that_size_their_result_on_the_host_synchronise(work):
    """CuPy counts a mask's True values (or reads a maximum) on the host to allocate the result."""
    a = device_array([1.0, 2.0, 3.0])
    with cp.watch() as log:
        work(a)
    assert log.counts() == {cp.SYNCHRONISE: 1}, log.describe()


def test_device_work_records_nothing():
    a = device_array([[1.0, -2.0], [3.0, 4.0]])
    index, repeated = device_array([1, 0, 1], np.int64), device_array([0, 0], np.int64)
    with cp.watch() as log:
        b = (a @ a.T + 1.0) * 2 - cp.exp(a) / (1 + cp.abs(a))
        c = b.sum(axis=0, keepdims=True) + b.max() + b[index].mean() + b[:, 0:1] + b[None, ..., 1:][0]
        cp.add.at(c, (0, repeated), 1.0)
        d = cp.where(c > 0, c, 0.0) + cp.random.default_rng(0).standard_normal((2, 2), dtype=np.float64)
        e = cp.concatenate([d, cp.zeros_like(d), cp.full((1, 2), 3.0)]).astype(np.float32)
        e[0] = e[1]
        e += 1
        list(e)
    assert log.events == [], log.describe()


def test_allow_synchronize_false_raises_on_a_synchronisation_but_not_on_a_copy_to_the_device():
    """cupyx.allow_synchronize(False) (CuPy's own check) raises DeviceSynchronized at a device-to-host transfer or
    another synchronisation; a host-to-device copy does not wait for the device's results and is allowed."""
    a = device_array([1.0, 2.0])
    with cp.cupyx.allow_synchronize(False):
        cp.asarray(np.ones(2))
        a + 1
        for synchronise in (lambda: float(a[0]), lambda: a[a > 1.0], lambda: a.get()):
            with pytest.raises(cp.cupyx.DeviceSynchronized):
                synchronise()
    float(a[0])   # allowed again outside the block


# ---------------------------------------------------------------------------------------------------------------
# CuPy's semantics where they differ from NumPy's
# ---------------------------------------------------------------------------------------------------------------

def test_scatter_add_adds_every_value_and_takes_only_atomic_dtypes():
    """ufunc.at exists for add, maximum and minimum (cupy/cupy#7082); scatter-add with an index array takes the
    dtypes CUDA's atomicAdd takes, so float32/float64 work and int64 raises CuPy's TypeError."""
    a = cp.zeros(3, dtype=np.float32)
    cp.add.at(a, device_array([0, 0, 2], np.int64), device_array([1.0, 2.0, 5.0], np.float32))
    assert a.get().tolist() == [3.0, 0.0, 5.0]
    cp.cupyx.scatter_add(a, device_array([1, 1], np.int64), 1.0)
    assert a.get().tolist() == [3.0, 2.0, 5.0]
    with pytest.raises(TypeError, match="scatter_add only supports int32, float16, float32, float64, uint32, uint64"):
        cp.add.at(cp.zeros(3, dtype=np.int64), device_array([0, 0], np.int64), 1)
    with pytest.raises(NotImplementedError, match="`cupy_subtract.at` is not supported yet"):
        cp.subtract.at(a, device_array([0], np.int64), 1.0)


def test_integer_index_arrays_wrap_around_instead_of_raising():
    """CuPy's take and scatter kernels use the index modulo the axis length: a[[1, 3]] of 3 elements is a[[1, 0]],
    where NumPy raises IndexError. A Python int out of range still raises, as in CuPy."""
    a = device_array([10.0, 11.0, 12.0])
    assert a[device_array([1, 3, -1, -4], np.int64)].get().tolist() == [11.0, 10.0, 12.0, 12.0]
    b = device_array([[0.0, 1.0], [2.0, 3.0]])
    assert b[:, device_array([2], np.int64)].get().tolist() == [[0.0], [2.0]]
    a[device_array([4], np.int64)] = 0.0
    assert a.get().tolist() == [10.0, 0.0, 12.0]
    with pytest.raises(IndexError):
        a[3]


def test_random_generator_is_cupys_api_with_a_stream_of_its_own():
    """cupy.random.default_rng(seed).standard_normal/random/integers: the same seed gives the same draws, which
    differ from NumPy's stream with that seed (as CuPy's XORWOW does); standard_normal takes float dtypes only."""
    first = cp.random.default_rng(7).standard_normal((4,), dtype=np.float32)
    again = cp.random.default_rng(7).standard_normal((4,), dtype=np.float32)
    assert first.dtype == np.float32 and np.array_equal(first.get(), again.get())
    assert not np.array_equal(first.get(), np.random.default_rng(7).standard_normal(4, dtype=np.float32))
    uniform = cp.random.default_rng(7).random((1000,), dtype=np.float32)
    assert uniform.dtype == np.float32 and 0.0 <= float(uniform.min()) and float(uniform.max()) < 1.0
    integers = cp.random.default_rng(7).integers(2, 5, size=(1000,))
    assert integers.dtype == np.int64 and set(integers.get().tolist()) == {2, 3, 4}
    with pytest.raises(TypeError, match="Unsupported dtype int64 for standard_normal"):
        cp.random.default_rng(7).standard_normal((2,), dtype=np.int64)


def test_no_floating_point_warnings_on_the_device():
    """A GPU kernel never warns: log(0) is -inf and 0/0 is NaN without NumPy's RuntimeWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zero = cp.zeros(1)
        assert float(cp.log(zero)[0]) == -np.inf and np.isnan(float((zero / zero)[0]))


def test_flags_are_cupys_read_only_ones():
    """A CuPy array has c_contiguous, f_contiguous and owndata flags, but no writeable flag to turn off."""
    flags = device_array([[1.0, 2.0], [3.0, 4.0]]).T.flags
    assert not flags.c_contiguous and flags.f_contiguous
    assert not hasattr(flags, "writeable")
