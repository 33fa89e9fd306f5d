"""Batch normalisation over (N, C, L) arrays as Numba loops, parallel over channels.

Notation as in ``numpy_ref.norm``: M = N L values per channel, mu the mean, var
the biased variance, s = 1 / sqrt(var + eps), xhat = (x - mu) s,
y = gamma xhat + beta; backward
``dx = gamma s / M (M dy - dbeta - xhat dgamma)`` with ``dbeta = sum dy`` and
``dgamma = sum dy xhat`` over n and l.

Each ``prange`` iteration owns one channel c: it reads the N strips
``x[:, c, :]`` and writes only ``y[:, c, :]`` and the c-th statistics. The
statistics take two passes (mean, then the sum of squared deviations), not
``E[x^2] - E[x]^2``, and accumulate in float64, so float32 inputs with a large
mean keep their variance; results are stored in the input's dtype.

Sums run over each strip with four independent accumulators (elements i, i+1,
i+2, i+3 mod 4), added together at the end of the strip: one accumulator makes
every addition wait for the previous one, and without ``fastmath`` LLVM may not
reorder the additions itself. Four chains let the additions overlap (and pack
into one vector register), several times faster on the long strips of an early
layer.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import _OPTIONS, Twin

__all__ = ["batch_norm_train", "batch_norm_backward"]


@njit(inline="always", **_OPTIONS)
def _strip_sum(x, b, ch, length, mu, square):
    """sum over i of x[b, ch, i] - mu, or of its square when ``square``, in float64, with four
    interleaved accumulators."""
    a0 = a1 = a2 = a3 = 0.0
    top = length - length % 4
    for i in range(0, top, 4):
        d0 = x[b, ch, i] - mu
        d1 = x[b, ch, i + 1] - mu
        d2 = x[b, ch, i + 2] - mu
        d3 = x[b, ch, i + 3] - mu
        a0 += d0 * d0 if square else d0
        a1 += d1 * d1 if square else d1
        a2 += d2 * d2 if square else d2
        a3 += d3 * d3 if square else d3
    for i in range(top, length):
        d = x[b, ch, i] - mu
        a0 += d * d if square else d
    return (a0 + a1) + (a2 + a3)


@njit(inline="always", **_OPTIONS)
def _strip_dot_sums(dy, x, b, ch, length, mu, s):
    """(sum dy, sum dy xhat) over the strip, xhat = (x - mu) s, in float64, four accumulators each."""
    g0 = g1 = g2 = g3 = 0.0
    h0 = h1 = h2 = h3 = 0.0
    top = length - length % 4
    for i in range(0, top, 4):
        e0 = float(dy[b, ch, i])
        e1 = float(dy[b, ch, i + 1])
        e2 = float(dy[b, ch, i + 2])
        e3 = float(dy[b, ch, i + 3])
        g0 += e0
        g1 += e1
        g2 += e2
        g3 += e3
        h0 += e0 * ((x[b, ch, i] - mu) * s)
        h1 += e1 * ((x[b, ch, i + 1] - mu) * s)
        h2 += e2 * ((x[b, ch, i + 2] - mu) * s)
        h3 += e3 * ((x[b, ch, i + 3] - mu) * s)
    for i in range(top, length):
        e = float(dy[b, ch, i])
        g0 += e
        h0 += e * ((x[b, ch, i] - mu) * s)
    return (g0 + g1) + (g2 + g3), (h0 + h1) + (h2 + h3)


@Twin
def _batch_norm_train(x, gamma, beta, eps, y, mean, var, inv_std):
    """Per channel: mu, var (two passes, float64), s = 1 / sqrt(var + eps), y = (x - mu) s gamma + beta."""
    n, c, length = x.shape
    m = n * length
    for ch in prange(c):
        total = 0.0
        for b in range(n):
            total += _strip_sum(x, b, ch, length, 0.0, False)
        mu = total / m
        sq = 0.0
        for b in range(n):
            sq += _strip_sum(x, b, ch, length, mu, True)
        v = sq / m
        s = 1.0 / math.sqrt(v + eps)
        scale = s * gamma[ch]
        shift = float(beta[ch])
        for b in range(n):
            for i in range(length):
                y[b, ch, i] = (x[b, ch, i] - mu) * scale + shift
        mean[ch] = mu
        var[ch] = v
        inv_std[ch] = s


@Twin
def _batch_norm_backward(dy, x, mean, inv_std, gamma, dx, dgamma, dbeta):
    """Per channel: dbeta = sum dy, dgamma = sum dy xhat (float64), then
    dx = gamma s / M (M dy - dbeta - xhat dgamma)."""
    n, c, length = x.shape
    m = n * length
    for ch in prange(c):
        mu = float(mean[ch])
        s = float(inv_std[ch])
        sum_dy = 0.0
        sum_dy_xhat = 0.0
        for b in range(n):
            g, h = _strip_dot_sums(dy, x, b, ch, length, mu, s)
            sum_dy += g
            sum_dy_xhat += h
        k = gamma[ch] * s / m
        for b in range(n):
            for i in range(length):
                xhat = (x[b, ch, i] - mu) * s
                dx[b, ch, i] = k * (m * dy[b, ch, i] - sum_dy - xhat * sum_dy_xhat)
        dgamma[ch] = sum_dy_xhat
        dbeta[ch] = sum_dy


def batch_norm_train(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                     eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(y, mean, var, inv_std) for x (N, C, L): per-channel statistics over N and L, var biased."""
    x = np.ascontiguousarray(x)
    gamma, beta = (np.ascontiguousarray(a, dtype=x.dtype) for a in (gamma, beta))
    y = np.empty_like(x)
    mean, var, inv_std = (np.empty(x.shape[1], dtype=x.dtype) for _ in range(3))
    _batch_norm_train(x.size, x, gamma, beta, float(eps), y, mean, var, inv_std)
    return y, mean, var, inv_std


def batch_norm_backward(dy: np.ndarray, x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                        gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta): dx = gamma s/M (M dy - dbeta - xhat dgamma), sums over n and l."""
    x = np.ascontiguousarray(x)
    dy, mean, inv_std, gamma = (np.ascontiguousarray(a, dtype=x.dtype) for a in (dy, mean, inv_std, gamma))
    dx = np.empty_like(x)
    dgamma, dbeta = (np.empty(x.shape[1], dtype=x.dtype) for _ in range(2))
    _batch_norm_backward(x.size, dy, x, mean, inv_std, gamma, dx, dgamma, dbeta)
    return dx, dgamma, dbeta
