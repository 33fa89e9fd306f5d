"""NumPy versions of what the pointwise vocabulary needs beyond NumPy: erf and erfc (NumPy has neither), and a fast ``where``.

GELU's exact form needs erfc. :func:`erf` and :func:`erfc` are written here from two classical
expansions (see :func:`_erf_erfc_abs`); erf is within a few ulps of ``math.erf`` everywhere.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["erf", "erfc", "where"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_SERIES_TERMS = 40      # enough for |x| < _SWITCH to reach rounding level
_CF_DEPTH = 60          # enough for |x| >= _SWITCH to reach rounding level
_SWITCH = 2.0
_ERF_CLIP = 40.0        # erfc(40) underflows to 0; clipping keeps x^2 finite for any input


def where(condition, a, b):
    """``numpy.where(condition, a, b)``, with a select of an array or zero, ``where(c, a, 0)`` and
    ``where(c, 0, b)``, as a product with the 0/1 mask when the array is finite: NumPy's select is
    several times slower, and 0 * inf would be NaN, so a non-finite array takes the select."""
    if np.ndim(b) == 0 and b == 0 and np.ndim(a) > 0 and np.isfinite(a).all():
        return a * condition
    if np.ndim(a) == 0 and a == 0 and np.ndim(b) > 0 and np.isfinite(b).all():
        return b * np.logical_not(condition)
    return np.where(condition, a, b)


def _exp_neg_square(a: np.ndarray) -> np.ndarray:
    """exp(-a^2) without the rounding error of a^2: with h = a rounded down to 1/16ths,
    a^2 = h^2 + (a - h)(a + h) where h^2 is exact, so the relative error stays O(eps)."""
    h = np.floor(a * 16.0) / 16.0
    return np.exp(-h * h) * np.exp(-(a - h) * (a + h))


def _erf_series(a: np.ndarray) -> np.ndarray:
    """erf(a) = (2 / sqrt(pi)) exp(-a^2) sum_{n>=0} (2 a^2)^n a / (1 * 3 * ... * (2n + 1)).

    Every term is positive (no cancellation), and term n+1 is term n times
    2 a^2 / (2n + 3); 40 terms reach rounding level for 0 <= a < 2.
    """
    two_a2 = 2.0 * a * a
    term = total = a
    for n in range(1, _SERIES_TERMS):
        term = term * two_a2 / (2 * n + 1)
        total = total + term
    return _TWO_OVER_SQRT_PI * _exp_neg_square(a) * total


def _erfc_continued_fraction(a: np.ndarray) -> np.ndarray:
    """erfc(a) = exp(-a^2) / sqrt(pi) / (a + (1/2) / (a + 1 / (a + (3/2) / (a + 2 / (a + ...))))).

    The k-th partial numerator is k / 2. Evaluated bottom-up from a fixed depth;
    60 levels reach rounding level for a >= 2 (it converges faster as a grows).
    """
    f = a
    for k in range(_CF_DEPTH, 0, -1):
        f = a + (0.5 * k) / f
    return _INV_SQRT_PI * _exp_neg_square(a) / f


def _erf_erfc_abs(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(erf(a), erfc(a)) for a >= 0: the series below 2, the continued fraction from 2 on,
    each complement by 1 - (the other). erf is within a few ulps everywhere; erfc is within a
    few ulps from 2 on and within 1.1e-15 absolute (2e-13 relative) below 2."""
    a = np.minimum(a, _ERF_CLIP)
    small = a < _SWITCH
    e, c = np.empty_like(a), np.empty_like(a)
    e[small] = _erf_series(a[small])
    c[small] = 1.0 - e[small]
    c[~small] = _erfc_continued_fraction(a[~small])
    e[~small] = 1.0 - c[~small]
    return e, c


def erf(x: np.ndarray) -> np.ndarray:
    """The error function (2 / sqrt(pi)) int_0^x exp(-t^2) dt, elementwise (odd in x)."""
    x = np.asarray(x)
    e, _ = _erf_erfc_abs(np.abs(x))
    return np.copysign(e, x)


def erfc(x: np.ndarray) -> np.ndarray:
    """1 - erf(x) elementwise, accurate in the right tail; erfc(-x) = 2 - erfc(x)."""
    x = np.asarray(x)
    _, c = _erf_erfc_abs(np.abs(x))
    return np.where(x < 0, 2.0 - c, c)
