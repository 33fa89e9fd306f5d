"""Shared fixtures: the backend parametrisation and hypothesis profiles.

HYPOTHESIS_PROFILE=ci (default) keeps the whole suite within minutes on 2 cores;
HYPOTHESIS_PROFILE=thorough draws many more examples.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import minicnn
from minicnn import backend

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=10, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _unavailable_reason(name: str) -> str | None:
    try:
        backend._check_available(name)
    except backend.BackendUnavailable as exc:
        return str(exc)
    return None


BACKEND_PARAMS = [
    pytest.param(name, marks=([pytest.mark.skip(reason=f"{name} backend unavailable: {why}")]
                              if (why := _unavailable_reason(name)) else [])
                 + ([pytest.mark.gpu] if name == "cupy" else []),
                 id=name)
    for name in backend.BACKENDS
]


@pytest.fixture(params=BACKEND_PARAMS)
def backend_name(request: pytest.FixtureRequest):
    """Run the test once per backend available here (cupy skips with the reason when absent)."""
    with minicnn.use_backend(request.param):
        yield request.param


@pytest.fixture(autouse=True)
def _restore_backend_and_seed():
    before = minicnn.get_backend()
    minicnn.manual_seed(0)
    yield
    minicnn.set_backend(before)
