"""The backend: devices, dtypes, random generators and host transfer (tinygan/backend.py)."""

import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import tinygan as tg
from conftest import simulated_cuda_active
from tinygan import backend

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def restore_default_dtype():
    previous = tg.get_default_dtype()
    yield
    tg.set_default_dtype(previous)


@pytest.fixture
def restore_default_device():
    previous = tg.get_default_device()
    yield
    tg.set_default_device(previous)


def fake_cupy(device_count):
    """A stand-in for the cupy module whose getDeviceCount returns ``device_count`` (or raises it)."""

    def get_device_count():
        if isinstance(device_count, Exception):
            raise device_count
        return device_count

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime))


@pytest.fixture
def cupy_module(monkeypatch):
    """Lets a test decide what `import cupy` gives, and forgets any cupy already imported by the CUDA device."""
    monkeypatch.setattr(backend.CUDA, "_xp", None)

    def install(module):
        monkeypatch.setitem(sys.modules, "cupy", module)  # None makes `import cupy` raise ImportError
    return install


def run_python(code, **env):
    """Run ``python -c code`` in a fresh interpreter with these environment variables (None: unset it)."""
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    full_env.update(env)
    full_env = {name: value for name, value in full_env.items() if value is not None}
    return subprocess.run([sys.executable, "-c", code], env=full_env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)


def cuda_works():
    try:
        backend.as_device("cuda")
    except RuntimeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------------------------------------------

def test_cpu_is_the_default_device_without_the_env_var():
    result = run_python("import tinygan as tg; print(tg.get_default_device(), tg.zeros(1).device)",
                        TINYGAN_DEVICE=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cpu", "cpu"]


def test_device_compares_equal_to_its_name_and_prints_it():
    assert tg.CPU == "cpu"
    assert tg.CPU != "cuda"
    assert str(tg.CPU) == "cpu"
    assert repr(tg.CPU) == "device(type='cpu')"


def test_gpu_is_an_alias_of_cuda():
    assert backend.CUDA == "gpu"
    assert backend.CUDA == "cuda"


def test_factories_put_tensors_on_the_requested_device(device):
    assert tg.zeros(2, device=device).device == device
    assert tg.tensor([1.0], device=device).device == device


def test_gpu_alias_gives_the_cuda_device(cupy_module):
    cupy_module(fake_cupy(device_count=1))
    assert backend.as_device("gpu") is backend.CUDA
    assert backend.as_device("cuda") is backend.CUDA


@pytest.mark.parametrize("name", ["tpu", "cuda:7", "", "cpu0"])
def test_unknown_device_raises_value_error(name):
    with pytest.raises(ValueError, match="unknown device"):
        tg.zeros(2, device=name)


def test_cuda_without_cupy_says_cupy_is_missing_and_names_the_extra(cupy_module):
    cupy_module(None)
    with pytest.raises(RuntimeError) as error:
        backend.as_device("cuda")
    message = str(error.value)
    assert "CuPy" in message and "not installed" in message
    assert 'pip install ".[cuda12]"' in message   # the README's own spelling of the install


def test_gpu_alias_without_cupy_raises_the_same_error(cupy_module):
    cupy_module(None)
    with pytest.raises(RuntimeError, match=r'pip install "\.\[cuda12\]"'):
        tg.zeros(2, device="gpu")


def test_cuda_with_cupy_but_no_gpu_says_the_gpu_is_missing(cupy_module):
    cupy_module(fake_cupy(device_count=RuntimeError("cudaErrorNoDevice")))
    with pytest.raises(RuntimeError, match="CuPy is installed but no usable GPU"):
        backend.as_device("cuda")


def test_cuda_with_zero_visible_gpus_says_so(cupy_module):
    cupy_module(fake_cupy(device_count=0))
    with pytest.raises(RuntimeError, match="no GPU is visible"):
        backend.as_device("cuda")


def test_set_default_device_changes_where_factories_put_tensors(device, restore_default_device):
    tg.set_default_device(device)
    assert tg.get_default_device() == device
    assert tg.zeros(2).device == device
    assert tg.tensor([1.0, 2.0]).device == device
    assert tg.randn(3).device == device


def test_set_default_device_rejects_unknown_names_and_keeps_the_old_default(restore_default_device):
    before = tg.get_default_device()
    with pytest.raises(ValueError, match="unknown device"):
        tg.set_default_device("tpu")
    assert tg.get_default_device() == before


def test_env_var_sets_the_default_device():
    result = run_python("import tinygan as tg; print(tg.zeros(1).device)", TINYGAN_DEVICE="cpu")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cpu"


def test_invalid_env_var_device_raises_value_error_naming_it():
    result = run_python("import tinygan as tg; tg.zeros(1)", TINYGAN_DEVICE="tpu")
    assert result.returncode != 0
    assert "ValueError" in result.stderr
    assert "unknown device 'tpu'" in result.stderr


@pytest.mark.cuda
def test_env_var_cuda_gives_cuda_or_explains_what_is_missing():
    code = "import tinygan as tg; print(tg.zeros(1).device)"
    if simulated_cuda_active():   # the fresh interpreter gets the simulated CuPy too
        code = (f"import sys; sys.path.insert(0, {str(REPO_ROOT / 'tests')!r}); import simulated_cupy; "
                f"sys.modules.update(simulated_cupy.modules()); {code}")
    result = run_python(code, TINYGAN_DEVICE="cuda")
    if cuda_works():
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "cuda"
    else:
        assert result.returncode != 0
        assert "RuntimeError" in result.stderr and 'device "cuda"' in result.stderr


# ---------------------------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------------------------

def test_float32_is_the_default_dtype():
    assert tg.get_default_dtype() == tg.float32
    assert tg.zeros(2).dtype == tg.float32


@pytest.mark.parametrize("dtype, expected", [
    (tg.float32, np.float32), (tg.float64, np.float64), (tg.int32, np.int32), (tg.int64, np.int64),
    (tg.bool_, np.bool_), ("float32", np.float32), ("float64", np.float64), ("int64", np.int64),
    ("bool", np.bool_), (np.float64, np.float64),
])
def test_supported_dtypes_are_accepted_as_objects_and_names(dtype, expected, device):
    assert tg.zeros(2, dtype=dtype, device=device).dtype == np.dtype(expected)


@pytest.mark.parametrize("dtype", ["float16", "complex64", np.complex128, np.uint8, "half"])
def test_unsupported_dtypes_raise_type_error(dtype):
    with pytest.raises(TypeError):
        tg.zeros(2, dtype=dtype)


def test_set_default_dtype_changes_what_python_numbers_become(restore_default_dtype):
    tg.set_default_dtype(tg.float64)
    assert tg.get_default_dtype() == tg.float64
    assert tg.tensor([1.0, 2.0]).dtype == tg.float64
    assert tg.tensor(2.5).dtype == tg.float64
    assert tg.zeros(2).dtype == tg.float64
    assert tg.randn(2, generator=tg.Generator(0)).dtype == tg.float64


def test_set_default_dtype_accepts_a_name(restore_default_dtype):
    tg.set_default_dtype("float64")
    assert tg.get_default_dtype() == tg.float64


@pytest.mark.parametrize("dtype", [tg.int64, "int32", tg.bool_])
def test_default_dtype_must_be_floating(dtype, restore_default_dtype):
    with pytest.raises(TypeError, match="float32 or float64"):
        tg.set_default_dtype(dtype)
    assert tg.get_default_dtype() == tg.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_tensor_from_numpy_array_keeps_its_dtype(dtype, device):
    array = np.arange(4).astype(dtype)
    assert tg.tensor(array, device=device).dtype == np.dtype(dtype)


def test_float64_numpy_array_stays_float64_even_when_the_default_is_float32():
    assert tg.tensor(np.linspace(0, 1, 5)).dtype == tg.float64


def test_python_floats_and_lists_become_the_default_dtype(device):
    assert tg.tensor(1.5, device=device).dtype == tg.float32
    assert tg.tensor([1.0, 2.0], device=device).dtype == tg.float32
    assert tg.tensor([[1, 2.5]], device=device).dtype == tg.float32


def test_python_ints_become_int64_and_bools_bool(device):
    assert tg.tensor(3, device=device).dtype == tg.int64
    assert tg.tensor([1, 2], device=device).dtype == tg.int64
    assert tg.tensor([True, False], device=device).dtype == tg.bool_


def test_explicit_dtype_wins(device):
    assert tg.tensor([1, 2], dtype=tg.float64, device=device).dtype == tg.float64
    assert tg.tensor(np.ones(2, dtype=np.float64), dtype="float32", device=device).dtype == tg.float32


# ---------------------------------------------------------------------------------------------------------------
# random generators
# ---------------------------------------------------------------------------------------------------------------

DRAWS = {
    "normal": lambda g: tg.randn(50, generator=g),
    "uniform": lambda g: tg.rand(50, generator=g),
    "integers": lambda g: tg.randint(0, 1000, 50, generator=g),
}


@pytest.mark.parametrize("draw", DRAWS)
def test_same_seed_gives_the_same_values(draw, device):
    first = DRAWS[draw](tg.Generator(seed=7, device=device)).numpy()
    second = DRAWS[draw](tg.Generator(seed=7, device=device)).numpy()
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("draw", DRAWS)
def test_different_seeds_give_different_values(draw, device):
    first = DRAWS[draw](tg.Generator(seed=7, device=device)).numpy()
    second = DRAWS[draw](tg.Generator(seed=8, device=device)).numpy()
    assert not np.array_equal(first, second)


def test_a_generator_moves_on_between_draws(device):
    generator = tg.Generator(seed=0, device=device)
    assert not np.array_equal(tg.randn(10, generator=generator).numpy(), tg.randn(10, generator=generator).numpy())


def test_manual_seed_restarts_the_stream(device):
    generator = tg.Generator(seed=3, device=device)
    first = tg.rand(10, generator=generator).numpy()
    generator.manual_seed(3)
    np.testing.assert_array_equal(tg.rand(10, generator=generator).numpy(), first)


def test_generator_draws_land_on_its_device(device):
    generator = tg.Generator(seed=0, device=device)
    assert tg.randn(3, generator=generator).device == device
    assert tg.randint(0, 5, 3, generator=generator).device == device


def test_normal_draws_have_mean_0_and_std_1(device):
    values = tg.randn(100_000, dtype=tg.float64, generator=tg.Generator(0, device=device)).numpy()
    assert abs(values.mean()) < 0.02  # standard error 0.003
    assert abs(values.std() - 1) < 0.02


def test_uniform_draws_lie_in_0_1_with_mean_one_half(device):
    values = tg.rand(100_000, generator=tg.Generator(0, device=device)).numpy()
    assert values.min() >= 0 and values.max() < 1
    assert abs(values.mean() - 0.5) < 0.01
    assert abs(values.var() - 1 / 12) < 0.005


def test_integer_draws_cover_low_to_high_exclusive(device):
    values = tg.randint(-3, 4, 10_000, generator=tg.Generator(0, device=device)).numpy()
    assert values.dtype == np.int64
    assert set(np.unique(values).tolist()) == set(range(-3, 4))


def test_random_draws_honour_the_dtype(device):
    generator = tg.Generator(0, device=device)
    assert tg.randn(3, generator=generator).dtype == tg.float32
    assert tg.randn(3, dtype=tg.float64, generator=generator).dtype == tg.float64
    assert tg.rand(3, dtype="float64", generator=generator).dtype == tg.float64


def test_random_floats_refuse_integer_dtypes():
    with pytest.raises(TypeError, match="float"):
        tg.randn(3, dtype=tg.int64)


def test_global_manual_seed_makes_default_draws_reproducible():
    try:
        tg.manual_seed(123)
        first = tg.randn(5).numpy()
        tg.manual_seed(123)
        np.testing.assert_array_equal(tg.randn(5).numpy(), first)
    finally:
        tg.manual_seed(None)


# ---------------------------------------------------------------------------------------------------------------
# host transfer
# ---------------------------------------------------------------------------------------------------------------

def test_numpy_returns_a_host_array_with_the_values(device):
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    array = t.numpy()
    assert isinstance(array, np.ndarray)
    np.testing.assert_array_equal(array, [[1.0, 2.0], [3.0, 4.0]])


def test_numpy_on_cpu_is_read_only():
    t = tg.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="read-only"):
        t.numpy()[0] = 5.0
    assert t.numpy()[0] == 1.0


def test_item_returns_a_python_number(device):
    assert tg.tensor(2.5, device=device).item() == 2.5
    assert type(tg.tensor([2.5], device=device).item()) is float
    assert type(tg.tensor(3, device=device).item()) is int


def test_to_cpu_moves_the_values_to_the_host(device):
    t = tg.tensor([1.0, 2.0], device=device)
    on_cpu = t.to("cpu")
    assert on_cpu.device == "cpu"
    np.testing.assert_array_equal(on_cpu.numpy(), [1.0, 2.0])


def test_to_the_same_device_returns_the_tensor_itself(device):
    t = tg.tensor([1.0, 2.0], device=device)
    assert t.to(device) is t


def test_limit_blas_threads_sets_and_restores_the_thread_count():
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl is a dependency of the command line")
    tg.tensor([[1.0]]) @ tg.tensor([[1.0]])              # make sure numpy's BLAS is loaded

    def blas_threads():
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):     # a known starting point above 1
        before = blas_threads()
        if not before or min(before) < 2:
            pytest.skip(f"this numpy's BLAS cannot run 2 threads here (thread counts {before})")
        with tg.backend.limit_blas_threads(1):
            assert blas_threads() == [1] * len(before)
        assert blas_threads() == before
