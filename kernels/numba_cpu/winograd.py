"""Winograd tile transforms as Numba loops, parallel over (channel, block of images).

Same maps as ``kernels.numpy_ref.winograd`` (see there for the notation): ``gather`` reads k x k
tiles at step s from offset o straight from x (zeros outside the image, no padded copy) and
writes t d t^T into v (a^2, C, P); ``scatter`` is its adjoint.

One iteration owns one channel of a block of whole images, so the tiles it handles are the
contiguous run v[:, c, q0:q1] (q = (n, t_h, t_w)) and the planes it writes in ``scatter`` belong
to no other iteration: overlapping tiles are added in a fixed order, without races. Inside, the
two 1-D transforms run as loops over q, which LLVM vectorises (a block holds at least ``_RUN``
tiles), and skip the transform's zero coefficients.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from . import U, Twin
from .conv import _valid_range

__all__ = ["gather", "scatter", "CHUNK_BYTES"]

CHUNK_BYTES = 1 << 22
"""conv2d_winograd transforms at most this many bytes of tiles at once (they stay in cache for the GEMM)."""

_RUN = 256
"""Tiles per loop iteration (at least; whole images): long enough for vector loops."""


@Twin
def _gather(x, t, step, offset, th, tw, per_block, v):
    """v[r a + q, c, (n T_h + t_h) T_w + t_w] = sum_{i,j} t[r, i] t[q, j] x[n, c, t_h s + o + i, t_w s + o + j]."""
    n, c, h, w = x.shape
    a, k = t.shape
    blocks = -(-n // per_block)
    for p in prange(c * blocks):
        ch, n0 = p // blocks, (p % blocks) * per_block
        n1 = min(n0 + per_block, n)
        length, q0 = (n1 - n0) * th * tw, n0 * th * tw
        d = np.zeros((k, k, length), x.dtype)            # d[i, j, q]: the tiles' pixels
        for b in range(n0, n1):
            for ti in range(th):
                base = ((b - n0) * th + ti) * tw
                for i in range(k):
                    ih = ti * step + offset + i
                    if 0 <= ih < h:
                        for j in range(k):
                            lo, hi = _valid_range(offset + j, step, w, tw)
                            for tj in range(lo, hi):
                                d[i, j, U(base + tj)] = x[b, ch, ih, U(tj * step + offset + j)]
        e = np.zeros((a, k, length), x.dtype)            # e[r, j, q] = sum_i t[r, i] d[i, j, q]
        for r in range(a):
            for i in range(k):
                coef = t[r, i]
                if coef != 0:
                    for j in range(k):
                        for q in range(length):
                            e[r, j, q] += coef * d[i, j, q]
        for r in range(a):
            for s in range(a):
                for q in range(length):
                    v[r * a + s, ch, U(q0 + q)] = 0
                for j in range(k):
                    coef = t[s, j]
                    if coef != 0:
                        for q in range(length):
                            v[r * a + s, ch, U(q0 + q)] += coef * e[r, j, q]


@Twin
def _scatter(v, s, step, offset, th, tw, per_block, out):
    """out[n, c] = sum over tiles of s v[:, c, tile] s^T (k x k), added at (t_h s + o, t_w s + o), cropped."""
    n, c, h, w = out.shape
    k, a = s.shape
    blocks = -(-n // per_block)
    for p in prange(c * blocks):
        ch, n0 = p // blocks, (p % blocks) * per_block
        n1 = min(n0 + per_block, n)
        length, q0 = (n1 - n0) * th * tw, n0 * th * tw
        f = np.zeros((a, k, length), v.dtype)            # f[r, j, q] = sum_q' s[j, q'] v[r a + q', c, q]
        for r in range(a):
            for sq in range(a):
                for j in range(k):
                    coef = s[j, sq]
                    if coef != 0:
                        for q in range(length):
                            f[r, j, q] += coef * v[r * a + sq, ch, U(q0 + q)]
        o = np.zeros((k, k, length), v.dtype)            # o[i, j, q] = sum_r s[i, r] f[r, j, q]
        for i in range(k):
            for r in range(a):
                coef = s[i, r]
                if coef != 0:
                    for j in range(k):
                        for q in range(length):
                            o[i, j, q] += coef * f[r, j, q]
        for b in range(n0, n1):
            for hh in range(h):
                for ww in range(w):
                    out[b, ch, hh, ww] = 0
            for ti in range(th):
                base = ((b - n0) * th + ti) * tw
                for i in range(k):
                    ih = ti * step + offset + i
                    if 0 <= ih < h:
                        for j in range(k):
                            lo, hi = _valid_range(offset + j, step, w, tw)
                            for tj in range(lo, hi):
                                out[b, ch, ih, U(tj * step + offset + j)] += o[i, j, U(base + tj)]


def _per_block(tiles: tuple[int, int]) -> int:
    return max(1, -(-_RUN // (tiles[0] * tiles[1])))


def gather(x: np.ndarray, t: np.ndarray, step: int, offset: int, tiles: tuple[int, int]) -> np.ndarray:
    """(a^2, C, N T_h T_w): every k x k tile d of x (zeros outside) as t d t^T, t (a, k)."""
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    a = t.shape[0]
    v = np.empty((a * a, c, n * tiles[0] * tiles[1]), dtype=x.dtype)
    _gather(v.size, x, np.asarray(t, x.dtype), step, offset, tiles[0], tiles[1], _per_block(tiles), v)
    return v


def scatter(v: np.ndarray, s: np.ndarray, step: int, offset: int, tiles: tuple[int, int],
            out: np.ndarray) -> np.ndarray:
    """Fill ``out`` (N, C, H, W) with the adjoint of :func:`gather` for t = s^T (s (k, a))."""
    v = np.ascontiguousarray(v)
    target = out if out.flags.c_contiguous else np.empty(out.shape, dtype=out.dtype)
    _scatter(v.size, v, np.asarray(s, v.dtype), step, offset, tiles[0], tiles[1], _per_block(tiles), target)
    if target is not out:
        out[...] = target
    return out
