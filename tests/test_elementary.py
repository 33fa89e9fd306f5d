"""The Numba backend's vectorisable exp, expm1, log1p, tanh and float32 erfc against NumPy and the C library.

Each function runs inside a compiled loop, as the pointwise kernels call it, over dense grids that
cross every switch and clamp of its construction, the float limits, and the special values; then
over hypothesis draws. Errors are counted in ulps of the float64 reference.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

numba = pytest.importorskip("numba", reason="the numba backend needs Numba")
from minicnn.kernels.numba_cpu import elementary  # noqa: E402

SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-300, -1e-300, 1.0, -1.0])


@numba.njit
def _apply(f, x):
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = f(x[i])
    return out


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in units of the spacing of float64 at want (the smallest subnormal at 0)."""
    return np.abs(got - want) / np.maximum(np.spacing(np.abs(want)), 5e-324)


def _check(name: str, x: np.ndarray, reference, max_ulps: float) -> None:
    """``elementary.<name>`` agrees with ``reference`` (a NumPy ufunc) on x: the same non-finite values
    and signs of zero, and at most ``max_ulps`` apart elsewhere."""
    got = _apply(getattr(elementary, name), x)
    with np.errstate(all="ignore"):
        want = reference(x)
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{name}: NaN at other places"
    special = ~np.isfinite(want) | (want == 0.0)
    assert np.array_equal(got[special & ~np.isnan(want)], want[special & ~np.isnan(want)]), f"{name}: inf or 0"
    assert np.array_equal(np.signbit(got[want == 0.0]), np.signbit(want[want == 0.0])), f"{name}: sign of 0"
    finite = np.isfinite(want)
    if not finite.any():
        return
    err = _ulps(got[finite], want[finite])
    worst = int(np.argmax(err))
    assert err[worst] <= max_ulps, (f"{name}({x[finite][worst]!r}) = {got[finite][worst]!r}, expected "
                                    f"{want[finite][worst]!r}: {err[worst]:.1f} ulps")


def _grid(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate([*parts, SPECIALS])


def test_exp_within_an_ulp_down_to_the_subnormals_and_up_to_overflow():
    x = _grid(np.linspace(-750.0, 720.0, 200_001), np.linspace(-1.0, 1.0, 20_001),
              np.linspace(-745.2, -708.0, 2001), np.linspace(709.0, 710.0, 2001),
              (np.arange(-1080, 1030) * math.log(2.0)))                      # k ln 2: the reduction's edges
    _check("exp", x, np.exp, 1.0)


def test_expm1_keeps_its_relative_precision_near_zero():
    x = _grid(np.linspace(-60.0, 720.0, 100_001), np.linspace(-1.0, 1.0, 40_001),
              np.logspace(-300, 0, 601), -np.logspace(-300, 0, 601),
              np.linspace(35.0, 37.0, 2001), -np.linspace(35.0, 37.0, 2001))  # the switch at |x| = 36
    _check("expm1", x, np.expm1, 2.0)


def test_log1p_over_its_domain():
    x = _grid(np.linspace(-1.0, 3.0, 100_001), np.logspace(-300, 308, 1217), -np.logspace(-300, -1e-9, 601),
              np.linspace(-0.3, 0.5, 20_001), [-2.0, -1.0 + 1e-16, 1e308, np.finfo(np.float64).max])
    _check("log1p", x, np.log1p, 3.0)


def test_tanh_is_odd_and_saturates():
    x = _grid(np.linspace(-25.0, 25.0, 200_001), np.logspace(-300, 2, 603), -np.logspace(-300, 2, 603),
              [0.01547346480823153, 0.031127527827512238, 0.007784064076972961])   # 4 ulps: just below 2^-k
    _check("tanh", x, np.tanh, 4.0)


def test_erfc32_rounds_within_an_ulp_of_float32():
    x = np.concatenate([np.linspace(-12.0, 12.0, 400_001), np.linspace(9.0, 10.5, 10_001),
                        [0.0, -0.0, 26.0, 30.0, -30.0, np.inf, -np.inf, np.nan]]).astype(np.float32)
    got = _apply(elementary.erfc32, x).astype(np.float32)
    want = np.array([math.erfc(float(v)) for v in x])
    assert np.array_equal(np.isnan(got), np.isnan(want))
    finite = np.isfinite(want)
    want32 = want[finite].astype(np.float32)
    spacing = np.spacing(np.abs(want32)).astype(np.float64)
    err = np.abs(got[finite].astype(np.float64) - want[finite]) / spacing
    worst = int(np.argmax(err))
    assert err[worst] <= 1.0, f"erfc32({x[finite][worst]!r}): {got[finite][worst]!r} vs {want[finite][worst]!r}"


@given(st.floats(allow_nan=True, allow_infinity=True, width=64))
def test_every_function_on_any_float(v):
    x = np.array([v])
    _check("exp", x, np.exp, 1.0)
    _check("expm1", x, np.expm1, 2.0)
    _check("log1p", x, np.log1p, 3.0)
    _check("tanh", x, np.tanh, 4.0)
