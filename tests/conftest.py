"""Shared test settings: hypothesis profiles, the device fixture and the simulated CUDA device.

Profiles: "dev" (the default: quick, random) and "ci" (derandomized, no deadline, more examples), chosen with
the environment variable HYPOTHESIS_PROFILE or automatically when CI is set.

``pytest --simulated-cuda`` makes ``import cupy`` give tests/simulated_cupy.py, a simulation of a GPU's device
discipline (no implicit host transfers, CuPy's spellings and semantics, every transfer recorded) built on NumPy:
every test for the "cuda" device then runs on it instead of skipping. It checks device discipline, not CUDA's
numerics or speed; a real GPU with CuPy is the only check of those. Tests for the "cuda" device carry the marker
``cuda`` (given here to every test the ``device`` fixture runs on "cuda"), so ``-m cuda`` selects them.
"""

import os
import sys

import pytest
from hypothesis import HealthCheck, settings

import simulated_cupy
import tinygan as tg

settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_addoption(parser):
    parser.addoption("--simulated-cuda", action="store_true",
                     help="run the tests for device 'cuda' on a simulated CuPy (tests/simulated_cupy.py): a check of "
                          "device discipline without a GPU, not of CUDA's numerics or speed")


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: the test runs tinygan on the device 'cuda' (real or simulated)")
    if config.getoption("--simulated-cuda"):
        sys.modules.update(simulated_cupy.modules())
        tg.backend.CUDA._xp = None   # forget a real cupy imported before the option took effect


def pytest_report_header(config):
    if config.getoption("--simulated-cuda"):
        return ('device "cuda": SIMULATED (tests/simulated_cupy.py, device discipline on NumPy; '
                "not CUDA's numerics or speed)")
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("device") == "cuda":
            item.add_marker(pytest.mark.cuda)


def simulated_cuda_active():
    """True when the "cuda" device is the simulation (pytest --simulated-cuda)."""
    return getattr(sys.modules.get("cupy"), "SIMULATED", False)


@pytest.fixture
def simulated_cuda(monkeypatch):
    """The simulated CuPy (tests/simulated_cupy.py) as the device "cuda" for this test: the one installed by
    --simulated-cuda, or, without the option, installed for this test only (in place of a real CuPy, if any).
    Returns the module, for its ``watch()`` and its ``cupyx.allow_synchronize``."""
    if not simulated_cuda_active():
        for name, module in simulated_cupy.modules().items():
            monkeypatch.setitem(sys.modules, name, module)
        monkeypatch.setattr(tg.backend.CUDA, "_xp", None)
        monkeypatch.setattr(tg.backend.random, "_default_generators", {})   # none made on another device's cupy
    return simulated_cupy


def cuda_missing_reason():
    """None when a CUDA device works here, else why not (CuPy missing, or no GPU)."""
    try:
        tg.backend.as_device("cuda")
    except RuntimeError as error:
        return str(error)
    return None


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """Runs a test once on the CPU and once on the GPU; the GPU run skips with the reason when there is none."""
    if request.param == "cuda":
        reason = cuda_missing_reason()
        if reason:
            pytest.skip(f"cuda: {reason}")
    return request.param
