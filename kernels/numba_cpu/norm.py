"""Normalisation as Numba loops: batch norm (parallel over channels), layer norm (over rows) and local
response norm (over (n, c) planes).

Batch norm
----------
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

Layer norm
----------
x (R, D); the statistics and xhat of ``numpy_ref.norm`` (corrected two-pass,
float64). Forward: each ``prange`` iteration owns a row: one pass for the plain
mean, one for the sums of the deviations and of their squares, one writing y
(in the array's dtype, from the stored mu and s). The row sums are compiled
with ``fastmath={"reassoc"}`` only: allowed to reorder the additions, LLVM
splits a sum over the lanes of a vector register (about 4x faster than the
four scalar accumulators above, measured on rows of 192 float32), and still
assumes nothing about NaN or inf. The order then depends on the vector width,
not on the thread count. Backward: the rows go in chunks of
:data:`LN_CHUNK_ROWS`, one ``prange`` iteration per chunk; a row takes one pass
for its two sums (of gamma dy and gamma dy xhat) and one writing dx and adding
dy xhat and dy into its chunk's float64 partial dgamma and dbeta (D,); the
chunks' partials are then added in chunk order. The chunking does not depend on
the thread count, so the parallel and serial twins add in the same order.

Local response norm
-------------------
x (N, C, L); each ``prange`` iteration owns an (n, c) plane of div and y (or
dx): the window sum is accumulated into the plane's own row of div, channel by
channel in ascending order (the reference's order). The backward takes two
kernels: the first writes t = dy x / (div^beta div) and div^beta (into dx),
the second adds t over the mirrored window and finishes dx in place.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import _OPTIONS, Twin, _contiguous, _split_plane

__all__ = ["batch_norm_train", "batch_norm_backward", "layer_norm", "layer_norm_backward", "local_response_norm",
           "local_response_norm_backward"]

LN_CHUNK_ROWS = 64
"""Rows per chunk of the layer-norm backward (each chunk keeps float64 partial dgamma and dbeta)."""
_REDUCE = dict(_OPTIONS, fastmath={"reassoc"})
"""The layer-norm row sums: ``reassoc`` alone (no assumption about NaN or inf) lets LLVM vectorise a sum."""


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
    x, gamma, beta = _contiguous(x, gamma, beta)
    y = np.empty_like(x)
    mean, var, inv_std = (np.empty(x.shape[1], dtype=x.dtype) for _ in range(3))
    _batch_norm_train(x.size, x, gamma, beta, float(eps), y, mean, var, inv_std)
    return y, mean, var, inv_std


def batch_norm_backward(dy: np.ndarray, x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                        gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta): dx = gamma s/M (M dy - dbeta - xhat dgamma), sums over n and l."""
    x, dy, mean, inv_std, gamma = _contiguous(x, dy, mean, inv_std, gamma)
    dx = np.empty_like(x)
    dgamma, dbeta = (np.empty(x.shape[1], dtype=x.dtype) for _ in range(2))
    _batch_norm_backward(x.size, dy, x, mean, inv_std, gamma, dx, dgamma, dbeta)
    return dx, dgamma, dbeta


@njit(**_REDUCE)
def _row_sum(x, r):
    """sum of row r of x, in float64."""
    total = 0.0
    for i in range(x.shape[1]):
        total += x[r, i]
    return total


@njit(**_REDUCE)
def _row_deviation_sums(x, r, mu):
    """(sum (x - mu), sum (x - mu)^2) over row r of x, in float64."""
    dev = sq = 0.0
    for i in range(x.shape[1]):
        e = x[r, i] - mu
        dev += e
        sq += e * e
    return dev, sq


@njit(**_REDUCE)
def _row_dot_sums(dy, x, gamma, r, mu, s):
    """(sum g, sum g xhat) over row r, g = gamma dy, xhat = (x - mu) s, in float64."""
    sum_g = sum_gx = 0.0
    for i in range(x.shape[1]):
        g = float(gamma[i] * dy[r, i])
        sum_g += g
        sum_gx += g * ((x[r, i] - mu) * s)
    return sum_g, sum_gx


@Twin
def _layer_norm(x, gamma, beta, eps, y, mean, inv_std):
    """Per row: mu and var (corrected two-pass, float64), s = 1 / sqrt(var + eps), y = (x - mu) s gamma + beta
    (in the array's dtype)."""
    rows, d = x.shape
    for r in prange(rows):
        mu0 = _row_sum(x, r) / d
        dev, sq = _row_deviation_sums(x, r, mu0)
        mean[r] = mu0 + dev / d
        inv_std[r] = 1.0 / math.sqrt(max(sq - dev * dev / d, 0.0) / d + eps)
        mu, s = mean[r], inv_std[r]
        for i in range(d):
            y[r, i] = (x[r, i] - mu) * s * gamma[i] + beta[i]


@Twin
def _layer_norm_backward(dy, x, mean, inv_std, gamma, dx, partial):
    """Per row: dx = s/D (D g - sum g - xhat sum(g xhat)), g = gamma dy; per chunk of rows: partial[chunk] =
    (sum dy xhat, sum dy) over its rows, in float64."""
    rows, d = x.shape
    for chunk in prange(partial.shape[0]):
        part_g, part_b = partial[chunk, 0], partial[chunk, 1]
        part_g[:] = 0.0
        part_b[:] = 0.0
        for r in range(chunk * LN_CHUNK_ROWS, min(rows, (chunk + 1) * LN_CHUNK_ROWS)):
            mu, s = float(mean[r]), float(inv_std[r])
            sum_g, sum_gx = _row_dot_sums(dy, x, gamma, r, mu, s)
            k = s / d
            for i in range(d):
                xhat = (x[r, i] - mu) * s
                dx[r, i] = k * (d * (gamma[i] * dy[r, i]) - sum_g - xhat * sum_gx)
                part_g[i] += dy[r, i] * xhat
                part_b[i] += dy[r, i]


@njit(**_OPTIONS)
def _sum_chunks(partial, dgamma, dbeta):
    """dgamma, dbeta = the chunks' partial sums added in chunk order."""
    for j in range(partial.shape[2]):
        g = b = 0.0
        for chunk in range(partial.shape[0]):
            g += partial[chunk, 0, j]
            b += partial[chunk, 1, j]
        dgamma[j] = g
        dbeta[j] = b


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
               eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, mean, inv_std) for x (R, D): statistics of each row (corrected two-pass, var biased)."""
    x, gamma, beta = _contiguous(x, gamma, beta)
    y = np.empty_like(x)
    mean, inv_std = (np.empty(x.shape[0], dtype=x.dtype) for _ in range(2))
    _layer_norm(x.size, x, gamma, beta, float(eps), y, mean, inv_std)
    return y, mean, inv_std


def layer_norm_backward(dy: np.ndarray, x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                        gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta): dx = s/D (D dxhat - sum dxhat - xhat sum(dxhat xhat)), dxhat = gamma dy."""
    x, dy, mean, inv_std, gamma = _contiguous(x, dy, mean, inv_std, gamma)
    dx = np.empty_like(x)
    partial = np.empty((-(-x.shape[0] // LN_CHUNK_ROWS), 2, x.shape[1]))
    dgamma, dbeta = (np.empty(x.shape[1], dtype=x.dtype) for _ in range(2))
    _layer_norm_backward(x.size, dy, x, mean, inv_std, gamma, dx, partial)
    _sum_chunks(partial, dgamma, dbeta)
    return dx, dgamma, dbeta


@Twin
def _local_response_norm(x, size, alpha, beta, k, y, div):
    """Per (n, c) plane: div = k + alpha/size * (sum of x^2 over channels c - size//2 .. c + (size-1)//2),
    y = x / div^beta."""
    n, c, length = x.shape
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        for i in range(length):
            div[b, ch, i] = 0
        for j in range(max(ch - size // 2, 0), min(ch + (size - 1) // 2 + 1, c)):
            for i in range(length):
                div[b, ch, i] += x[b, j, i] * x[b, j, i]
        for i in range(length):
            v = k + alpha * (div[b, ch, i] / size)
            div[b, ch, i] = v
            y[b, ch, i] = x[b, ch, i] / v ** beta


@Twin
def _local_response_norm_terms(dy, x, div, beta, t, scale):
    """Per element: scale = div^beta, t = dy x / (scale div)."""
    n, c, length = x.shape
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        for i in range(length):
            sc = div[b, ch, i] ** beta
            scale[b, ch, i] = sc
            t[b, ch, i] = dy[b, ch, i] * x[b, ch, i] / (sc * div[b, ch, i])


@Twin
def _local_response_norm_backward(dy, x, t, size, coef, dx):
    """Per (n, c) plane, dx holding div^beta: dx = dy / div^beta - coef x (sum of t over channels
    c - (size-1)//2 .. c + size//2)."""
    n, c, length = x.shape
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        lo, hi = max(ch - (size - 1) // 2, 0), min(ch + size // 2 + 1, c)
        for i in range(length):
            r = 0.0
            for j in range(lo, hi):
                r += t[b, j, i]
            dx[b, ch, i] = dy[b, ch, i] / dx[b, ch, i] - coef * x[b, ch, i] * r


def local_response_norm(x: np.ndarray, size: int, alpha: float, beta: float,
                        k: float) -> tuple[np.ndarray, np.ndarray]:
    """(y, div) for x (N, C, L): div = k + alpha/size * (window sum of x^2), y = x / div^beta."""
    x = np.ascontiguousarray(x)
    y, div = np.empty_like(x), np.empty_like(x)
    _local_response_norm(x.size, x, int(size), float(alpha), float(beta), float(k), y, div)
    return y, div


def local_response_norm_backward(dy: np.ndarray, x: np.ndarray, div: np.ndarray, size: int, alpha: float,
                                 beta: float) -> np.ndarray:
    """dx = dy / div^beta - (2 alpha beta / size) x (mirrored window sum of dy x / (div^beta div))."""
    x, dy, div = _contiguous(x, dy, div)
    t, dx = np.empty_like(x), np.empty_like(x)
    _local_response_norm_terms(x.size, dy, x, div, float(beta), t, dx)
    _local_response_norm_backward(x.size, dy, x, t, int(size), 2 * alpha * beta / size, dx)
    return dx
