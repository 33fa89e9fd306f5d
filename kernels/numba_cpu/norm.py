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
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from . import Twin

__all__ = ["batch_norm_train", "batch_norm_backward"]


@Twin
def _batch_norm_train(x, gamma, beta, eps, y, mean, var, inv_std):
    """Per channel: mu, var (two passes, float64), s = 1 / sqrt(var + eps), y = (x - mu) s gamma + beta."""
    n, c, length = x.shape
    m = n * length
    for ch in prange(c):
        total = 0.0
        for b in range(n):
            for i in range(length):
                total += x[b, ch, i]
        mu = total / m
        sq = 0.0
        for b in range(n):
            for i in range(length):
                d = x[b, ch, i] - mu
                sq += d * d
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
            for i in range(length):
                g = float(dy[b, ch, i])
                sum_dy += g
                sum_dy_xhat += g * ((x[b, ch, i] - mu) * s)
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
    c = x.shape[1]
    y = np.empty_like(x)
    mean, var, inv_std = (np.empty(c, dtype=x.dtype) for _ in range(3))
    _batch_norm_train(x.size, x, np.ascontiguousarray(gamma, dtype=x.dtype),
                      np.ascontiguousarray(beta, dtype=x.dtype), float(eps), y, mean, var, inv_std)
    return y, mean, var, inv_std


def batch_norm_backward(dy: np.ndarray, x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                        gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta): dx = gamma s/M (M dy - dbeta - xhat dgamma), sums over n and l."""
    x = np.ascontiguousarray(x)
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    c = x.shape[1]
    dx = np.empty_like(x)
    dgamma, dbeta = np.empty(c, dtype=x.dtype), np.empty(c, dtype=x.dtype)
    _batch_norm_backward(x.size, dy, x, np.ascontiguousarray(mean, dtype=x.dtype),
                         np.ascontiguousarray(inv_std, dtype=x.dtype), np.ascontiguousarray(gamma, dtype=x.dtype),
                         dx, dgamma, dbeta)
    return dx, dgamma, dbeta
