r"""Pointwise activations and their backward, in plain vectorised NumPy.

Every function maps arrays elementwise and keeps the input's floating dtype
(hyper-parameters are Python floats, which never promote float32). Each
``*_backward`` returns ``dx = dy * f'(x)`` computed from whatever the forward
left (the input x, the output y, or both); none modifies its arguments.

Subgradients at the kinks are PyTorch's: relu'(0) = 0, leaky_relu'(0) = slope,
elu'(0) = alpha, prelu'(0) = weight (and d/dweight = x = 0 there); softplus
switches to the identity where ``beta x > threshold`` (strictly).

NumPy has no erf, and GELU's exact form needs one, so :func:`erf` and
:func:`erfc` are written here from two classical expansions (see
:func:`_erf_erfc_abs`); erf is within a few ulps of ``math.erf`` everywhere.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "elu", "elu_backward", "prelu", "prelu_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "softplus", "softplus_backward", "gelu", "gelu_backward",
]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SERIES_TERMS = 40      # enough for |x| < _SWITCH to reach rounding level
_CF_DEPTH = 60          # enough for |x| >= _SWITCH to reach rounding level
_SWITCH = 2.0
_ERF_CLIP = 40.0        # erfc(40) underflows to 0; clipping keeps x^2 finite for any input


def relu(x: np.ndarray) -> np.ndarray:
    """y = max(x, 0)."""
    return np.maximum(x, 0)


def relu_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dx = dy where y > 0, else 0 (so relu'(0) = 0, as in PyTorch), even where dy is inf or NaN.

    dy times the 0/1 mask is that select, several times faster than ``np.where``,
    as long as dy is finite: 0 * inf would be NaN, so a non-finite dy takes the select.
    """
    mask = y > 0
    if np.isfinite(dy).all():
        return dy * mask
    return np.where(mask, dy, 0)


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    """y = x if x > 0 else slope * x."""
    return np.where(x > 0, x, x * slope)


def leaky_relu_backward(dy: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray:
    """dx = dy if x > 0 else slope * dy (so the derivative at 0 is slope)."""
    return np.where(x > 0, dy, dy * slope)


def elu(x: np.ndarray, alpha: float) -> np.ndarray:
    """y = x if x > 0 else alpha (exp(x) - 1), via expm1 on min(x, 0) (exact near 0, no overflow)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """dx = dy if x > 0 else dy * alpha exp(x) = dy * (y + alpha) (so elu'(0) = alpha).

    Reusing y saves an exp (PyTorch's result form does the same); the absolute
    error of y + alpha is at most |alpha| times the rounding unit.
    """
    return np.where(x > 0, dy, dy * (y + alpha))


def _per_channel(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """weight (C,) shaped to broadcast along axis 1 of x; a (1,) weight broadcasts everywhere."""
    w = weight.astype(x.dtype, copy=False)
    if w.size == 1:
        return w.reshape(())
    return w.reshape((1, -1) + (1,) * (x.ndim - 2))


def prelu(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """y = x if x > 0 else weight[c] * x, c the index along axis 1."""
    return np.where(x > 0, x, _per_channel(weight, x) * x)


def prelu_backward(dy: np.ndarray, x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dx = dy if x > 0 else weight[c] dy;  dweight[c] = sum of x dy over x <= 0 in channel c.

    dweight has weight's shape: summed over every axis but 1, or over all of
    them for a shared (1,) weight. At x = 0 the slope is weight (dx) and the
    weight's contribution is x dy = 0.
    """
    positive = x > 0
    dx = np.where(positive, dy, _per_channel(weight, x) * dy)
    contrib = np.where(positive, 0, x * dy)
    if weight.size == 1:
        dweight = contrib.sum().reshape(weight.shape)
    else:
        dweight = contrib.sum(axis=(0,) + tuple(range(2, x.ndim)))
    return dx, dweight


def sigmoid(x: np.ndarray) -> np.ndarray:
    """y = 1 / (1 + exp(-x)), with z = exp(-|x|) <= 1 so nothing overflows:
    y = 1 / (1 + z) for x >= 0 and z / (1 + z) for x < 0."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dx = dy * y (1 - y), since sigma' = sigma (1 - sigma)."""
    return dy * y * (1 - y)


def tanh(x: np.ndarray) -> np.ndarray:
    """y = tanh(x)."""
    return np.tanh(x)


def tanh_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dx = dy * (1 - y^2), since tanh' = 1 - tanh^2."""
    return dy * (1 - y * y)


def softplus(x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    """y = x where beta x > threshold, else log(1 + exp(beta x)) / beta.

    log(1 + e^t) = max(t, 0) + log1p(e^{-|t|}) never overflows and keeps full
    precision for large negative t.
    """
    t = x * beta
    smooth = (np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))) / beta
    return np.where(t > threshold, x, smooth)


def softplus_backward(dy: np.ndarray, x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    """dx = dy where beta x > threshold, else dy * sigmoid(beta x) (d/dx log(1 + e^{bx}) / b)."""
    t = x * beta
    return np.where(t > threshold, dy, dy * sigmoid(t))


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
    term = a.copy()
    total = a.copy()
    for n in range(1, _SERIES_TERMS):
        term = term * two_a2 / (2 * n + 1)
        total = total + term
    return _TWO_OVER_SQRT_PI * _exp_neg_square(a) * total


def _erfc_continued_fraction(a: np.ndarray) -> np.ndarray:
    """erfc(a) = exp(-a^2) / sqrt(pi) / (a + (1/2) / (a + 1 / (a + (3/2) / (a + 2 / (a + ...))))).

    The k-th partial numerator is k / 2. Evaluated bottom-up from a fixed depth;
    60 levels reach rounding level for a >= 2 (it converges faster as a grows).
    """
    f = a.copy()
    for k in range(_CF_DEPTH, 0, -1):
        f = a + (0.5 * k) / f
    return _INV_SQRT_PI * _exp_neg_square(a) / f


def _erf_erfc_abs(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(erf(a), erfc(a)) for a >= 0: the series below 2, the continued fraction from 2 on,
    each complement by 1 - (the other). erf is within a few ulps everywhere; erfc is within a
    few ulps from 2 on and within 1.1e-15 absolute (2e-13 relative) below 2."""
    a = np.minimum(a, _ERF_CLIP)
    small = a < _SWITCH
    e = np.empty_like(a)
    c = np.empty_like(a)
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


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 = erfc(-x / sqrt 2) / 2 (exact in the left tail)."""
    return 0.5 * erfc(-x * _INV_SQRT_2)


def gelu(x: np.ndarray) -> np.ndarray:
    """y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, the exact (erf) form."""
    return x * _normal_cdf(x)


def gelu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx = dy * (Phi(x) + x phi(x)) with phi(x) = exp(-x^2 / 2) / sqrt(2 pi) (product rule).

    x is clipped to +-40 inside the x phi(x) term, where it is 0 anyway, so
    that x^2 never overflows.
    """
    xc = np.clip(x, -_ERF_CLIP, _ERF_CLIP)
    return dy * (_normal_cdf(x) + xc * (_INV_SQRT_2PI * np.exp(-0.5 * xc * xc)))
