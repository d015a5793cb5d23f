"""Shared test settings: hypothesis profiles and the device fixture.

Profiles: "dev" (the default: quick, random) and "ci" (derandomized, no deadline, more examples), chosen with
the environment variable HYPOTHESIS_PROFILE or automatically when CI is set.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

import tinygan as tg

settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


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
