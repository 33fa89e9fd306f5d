"""Pointwise activations and their backward as Numba loops over the flat arrays.

Each kernel is one ``prange`` loop over element indices (element i writes only
y[i]), the same formulas as ``numpy_ref.activation`` element by element, with
the same subgradients at the kinks: relu'(0) = 0, leaky_relu'(0) = slope,
elu'(0) = alpha, prelu'(0) = weight, softplus is the identity where
``beta x > threshold`` (strictly).

Piecewise-linear maps (relu, leaky_relu, prelu) compute in the input's dtype,
their hyper-parameters converted to it first (as NumPy does with a Python
float); the transcendental ones (elu, sigmoid, tanh, softplus, gelu) evaluate
exp/log1p/erfc in float64 and round once on the store. NaN propagates as in
the reference.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from . import _OPTIONS, Twin

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "elu", "elu_backward", "prelu", "prelu_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "softplus", "softplus_backward", "gelu", "gelu_backward",
]

_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _unary(kernel: Twin, x: np.ndarray, *scalars: Any) -> np.ndarray:
    """y = kernel(x, *scalars) elementwise, y with x's shape and dtype."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    kernel(x.size, x.reshape(-1), *scalars, y.reshape(-1))
    return y


def _binary(kernel: Twin, a: np.ndarray, b: np.ndarray, *scalars: Any) -> np.ndarray:
    """out = kernel(a, b, *scalars) elementwise for two arrays of one shape; out has a's dtype."""
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b, dtype=a.dtype)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    out = np.empty_like(a)
    kernel(a.size, a.reshape(-1), b.reshape(-1), *scalars, out.reshape(-1))
    return out


def _ternary(kernel: Twin, a: np.ndarray, b: np.ndarray, c: np.ndarray, *scalars: Any) -> np.ndarray:
    """out = kernel(a, b, c, *scalars) elementwise for three arrays of one shape."""
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b, dtype=a.dtype)
    c = np.ascontiguousarray(c, dtype=a.dtype)
    if not a.shape == b.shape == c.shape:
        raise ValueError(f"shapes differ: {a.shape}, {b.shape} and {c.shape}")
    out = np.empty_like(a)
    kernel(a.size, a.reshape(-1), b.reshape(-1), c.reshape(-1), *scalars, out.reshape(-1))
    return out


# ---- relu, leaky_relu --------------------------------------------------------------------------
@Twin
def _relu(x, y):
    """y = max(x, 0) (NaN stays NaN)."""
    for i in prange(x.size):
        v = x[i]
        y[i] = v if (v > 0 or v != v) else 0


@Twin
def _relu_backward(dy, y, dx):
    """dx = dy where y > 0, else 0."""
    for i in prange(dy.size):
        dx[i] = dy[i] if y[i] > 0 else 0


@Twin
def _leaky_relu(x, slope, y):
    """y = x if x > 0 else slope x."""
    for i in prange(x.size):
        v = x[i]
        y[i] = v if v > 0 else v * slope


@Twin
def _leaky_relu_backward(dy, x, slope, dx):
    """dx = dy if x > 0 else slope dy."""
    for i in prange(dy.size):
        dx[i] = dy[i] if x[i] > 0 else dy[i] * slope


def relu(x: np.ndarray) -> np.ndarray:
    """y = max(x, 0)."""
    return _unary(_relu, x)


def relu_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dx = dy where y > 0, else 0 (relu'(0) = 0)."""
    return _binary(_relu_backward, dy, y)


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    """y = x if x > 0 else slope * x."""
    return _unary(_leaky_relu, x, np.asarray(x).dtype.type(slope))


def leaky_relu_backward(dy: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray:
    """dx = dy if x > 0 else slope * dy (the derivative at 0 is slope)."""
    return _binary(_leaky_relu_backward, dy, x, np.asarray(dy).dtype.type(slope))


# ---- elu -----------------------------------------------------------------------------------------
@Twin
def _elu(x, alpha, y):
    """y = x if x > 0 else alpha expm1(x)."""
    for i in prange(x.size):
        v = x[i]
        y[i] = v if v > 0 else alpha * math.expm1(float(v))


@Twin
def _elu_backward(dy, x, y, alpha, dx):
    """dx = dy if x > 0 else dy (y + alpha)."""
    for i in prange(dy.size):
        dx[i] = dy[i] if x[i] > 0 else dy[i] * (y[i] + alpha)


def elu(x: np.ndarray, alpha: float) -> np.ndarray:
    """y = x if x > 0 else alpha (exp(x) - 1)."""
    return _unary(_elu, x, float(alpha))


def elu_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """dx = dy if x > 0 else dy * alpha exp(x) = dy * (y + alpha) (elu'(0) = alpha)."""
    return _ternary(_elu_backward, dy, x, y, np.asarray(dy).dtype.type(alpha))


# ---- prelu ---------------------------------------------------------------------------------------
@Twin
def _prelu(x, weight, y):
    """y[n, c, l] = x if x > 0 else weight[c] x, over (N, C, L) arrays."""
    n, c, length = x.shape
    for p in prange(n * c):
        b = p // c
        ch = p - b * c
        a = weight[ch]
        for i in range(length):
            v = x[b, ch, i]
            y[b, ch, i] = v if v > 0 else a * v


@Twin
def _prelu_backward(dy, x, weight, dx, partial):
    """dx = dy if x > 0 else weight[c] dy;  partial[n, c] = sum_l (x dy where x <= 0), in float64."""
    n, c, length = x.shape
    for p in prange(n * c):
        b = p // c
        ch = p - b * c
        a = weight[ch]
        total = 0.0
        for i in range(length):
            v = x[b, ch, i]
            g = dy[b, ch, i]
            if v > 0:
                dx[b, ch, i] = g
            else:
                dx[b, ch, i] = a * g
                total += v * g
        partial[b, ch] = total


def _as_ncl(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """x as (N, C, L) with C = weight.size (channel axis 1), or (N, 1, L) for a shared (1,) weight."""
    if weight.size > 1 and (x.ndim < 2 or x.shape[1] != weight.size):
        raise ValueError(f"prelu: {weight.size} slopes need an input with {weight.size} channels on axis 1, "
                         f"got shape {x.shape}")
    lead = x.shape[0] if x.ndim else 1
    channels = weight.size if weight.size > 1 else 1
    return x.reshape(lead, channels, x.size // max(lead * channels, 1))      # no -1: ambiguous for an empty batch


def prelu(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """y = x if x > 0 else weight[c] * x, c the index along axis 1 (weight (C,) or shared (1,))."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(weight, dtype=x.dtype).reshape(-1)
    y = np.empty_like(x)
    _prelu(x.size, _as_ncl(x, w), w, _as_ncl(y, w))
    return y


def prelu_backward(dy: np.ndarray, x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dx = dy if x > 0 else weight[c] dy;  dweight[c] = sum of x dy over x <= 0 in channel c.

    dweight has weight's shape and x's dtype; per-(n, c) partial sums are
    formed in parallel, then added over n.
    """
    x = np.ascontiguousarray(x)
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    w = np.ascontiguousarray(weight, dtype=x.dtype).reshape(-1)
    x3 = _as_ncl(x, w)
    dx = np.empty_like(x)
    partial = np.empty(x3.shape[:2], dtype=np.float64)
    _prelu_backward(x.size, _as_ncl(dy, w), x3, w, _as_ncl(dx, w), partial)
    return dx, partial.sum(axis=0).astype(x.dtype).reshape(np.shape(weight))


# ---- sigmoid, tanh -------------------------------------------------------------------------------
@njit(inline="always", **_OPTIONS)
def _logistic(u):
    """1 / (1 + exp(-u)) for u >= 0, exp(u) / (1 + exp(u)) below (no overflow), u a float64."""
    if u >= 0:
        return 1.0 / (1.0 + math.exp(-u))
    z = math.exp(u)
    return z / (1.0 + z)


@Twin
def _sigmoid(x, y):
    """y = 1 / (1 + exp(-x)), evaluated in float64 by ``_logistic``."""
    for i in prange(x.size):
        y[i] = _logistic(float(x[i]))


@Twin
def _sigmoid_backward(dy, y, dx):
    """dx = dy y (1 - y)."""
    for i in prange(dy.size):
        dx[i] = dy[i] * y[i] * (1 - y[i])


@Twin
def _tanh(x, y):
    """y = tanh(x)."""
    for i in prange(x.size):
        y[i] = math.tanh(float(x[i]))


@Twin
def _tanh_backward(dy, y, dx):
    """dx = dy (1 - y^2)."""
    for i in prange(dy.size):
        dx[i] = dy[i] * (1 - y[i] * y[i])


def sigmoid(x: np.ndarray) -> np.ndarray:
    """y = 1 / (1 + exp(-x)), evaluated without overflow."""
    return _unary(_sigmoid, x)


def sigmoid_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dx = dy * y (1 - y), since sigma' = sigma (1 - sigma)."""
    return _binary(_sigmoid_backward, dy, y)


def tanh(x: np.ndarray) -> np.ndarray:
    """y = tanh(x)."""
    return _unary(_tanh, x)


def tanh_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dx = dy * (1 - y^2), since tanh' = 1 - tanh^2."""
    return _binary(_tanh_backward, dy, y)


# ---- softplus ------------------------------------------------------------------------------------
@Twin
def _softplus(x, beta, threshold, y):
    """t = beta x (in x's dtype); y = x where t > threshold, else (max(t, 0) + log1p(exp(-|t|))) / beta."""
    for i in prange(x.size):
        t = x[i] * beta
        if t > threshold:
            y[i] = x[i]
        else:
            u = float(t)
            y[i] = (max(u, 0.0) + math.log1p(math.exp(-abs(u)))) / float(beta)


@Twin
def _softplus_backward(dy, x, beta, threshold, dx):
    """dx = dy where beta x > threshold, else dy sigmoid(beta x)."""
    for i in prange(dy.size):
        t = x[i] * beta
        if t > threshold:
            dx[i] = dy[i]
        else:
            dx[i] = dy[i] * _logistic(float(t))


def softplus(x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    """y = x where beta x > threshold, else log(1 + exp(beta x)) / beta."""
    dt = np.asarray(x).dtype.type
    return _unary(_softplus, x, dt(beta), dt(threshold))


def softplus_backward(dy: np.ndarray, x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    """dx = dy where beta x > threshold, else dy * sigmoid(beta x)."""
    dt = np.asarray(dy).dtype.type
    return _binary(_softplus_backward, dy, x, dt(beta), dt(threshold))


# ---- gelu ----------------------------------------------------------------------------------------
@njit(inline="always", **_OPTIONS)
def _normal_cdf(v):
    """Phi(v) = erfc(-v / sqrt 2) / 2 for a float64 v (exact in the left tail)."""
    return 0.5 * math.erfc(-v * _INV_SQRT_2)


@Twin
def _gelu(x, y):
    """y = x Phi(x)."""
    for i in prange(x.size):
        v = float(x[i])
        y[i] = v * _normal_cdf(v)


@Twin
def _gelu_backward(dy, x, dx):
    """dx = dy (Phi(x) + x phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi); x clipped to +-40 in x phi(x)."""
    for i in prange(dy.size):
        v = float(x[i])
        c = min(max(v, -40.0), 40.0)
        dx[i] = dy[i] * (_normal_cdf(v) + c * _INV_SQRT_2PI * math.exp(-0.5 * c * c))


def gelu(x: np.ndarray) -> np.ndarray:
    """y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, the exact (erf) form."""
    return _unary(_gelu, x)


def gelu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx = dy * (Phi(x) + x phi(x)) (product rule)."""
    return _binary(_gelu_backward, dy, x)
