"""Winograd tile transforms as Numba loops, parallel over (channel, block of images).

Same maps as ``kernels.numpy_ref.winograd`` (see there for the notation): ``winograd_gather`` cuts x into
k x k tiles at step s from offset o (zeros outside the image) and writes t d t^T into v (a^2, C, P);
``winograd_scatter`` is its adjoint.

One iteration owns one channel of a block of whole images (at least ``_RUN`` tiles), so the tiles
it handles are the contiguous run v[:, c, q0:q1] (q = (n, t_h, t_w)) and the planes it writes in
``winograd_scatter`` belong to no other iteration: overlapping tiles are added in a fixed order, without
races. It copies its planes into a zero-bordered buffer of the size the tiling reads (in
``winograd_scatter``: adds into one), moves every tile between that buffer and a (k, k, tiles) array through a
table of tile offsets (:func:`_tiling`), and applies t along both tile axes as loops over the
tiles, which LLVM vectorises, skipping t's zero coefficients.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import _OPTIONS, Twin, unsigned

__all__ = ["winograd_gather", "winograd_scatter", "WINOGRAD_CHUNK_BYTES", "WINOGRAD_MIN_TILES",
           "WINOGRAD_MIN_CHANNELS"]

WINOGRAD_MIN_CHANNELS = 16
"""conv2d takes the Winograd path for 3x3 stride-1 layers with at least this many input channels:
Numba: measured faster than im2col from 16 input channels (break-even near 8; 1.9x slower at 1)."""
WINOGRAD_CHUNK_BYTES = 1 << 21
WINOGRAD_MIN_TILES = 256
"""conv2d_winograd transforms a chunk of images at a time: at most WINOGRAD_CHUNK_BYTES of tiles (so that they stay
in cache between the transforms and the GEMMs), but at least WINOGRAD_MIN_TILES tiles per channel (wide GEMMs)."""

_RUN = 256
"""Tiles per parallel iteration (at least; whole images): long vector loops, buffers that fit in L2."""


@Twin
def _gather(x, t, step, offset, th, tw, per_block, v):
    """v[r a + q, c, (n T_h + t_h) T_w + t_w] = sum_{i,j} t[r, i] t[q, j] x[n, c, t_h s + o + i, t_w s + o + j]."""
    a, k = t.shape
    span_h, span_w, starts, rows, cols, blocks = _tiling(th, tw, step, k, per_block, x.shape, offset)
    for p in prange(x.shape[1] * blocks):
        ch, n0, n1, length, q0 = _block(p, blocks, per_block, x.shape[0], th * tw)
        planes = np.zeros((n1 - n0, span_h, span_w), x.dtype)   # the pixels the tiles read; 0 in the padding
        for b in range(n0, n1):
            for hh in range(rows[0], rows[1]):
                for ww in range(cols[0], cols[1]):
                    planes[b - n0, hh - offset, unsigned(ww - offset)] = x[b, ch, hh, unsigned(ww)]
        flat = planes.ravel()
        d = np.empty((k, k, length), x.dtype)                   # d[i, j, q]: pixel (i, j) of tile q
        for i in range(k):
            for j in range(k):
                for q in range(length):
                    d[i, j, unsigned(q)] = flat[unsigned(starts[q] + i * span_w + j)]
        e = np.zeros((a, k, length), x.dtype)                   # e[r, j, q] = sum_i t[r, i] d[i, j, q]
        _left_multiply(t, d, e)
        acc = np.empty(length, x.dtype)
        for r in range(a):
            for s in range(a):
                acc[:] = 0
                for j in range(k):
                    coef = t[s, j]
                    if coef != 0:
                        for q in range(length):
                            acc[unsigned(q)] += coef * e[r, j, unsigned(q)]
                for q in range(length):
                    v[r * a + s, ch, unsigned(q0 + q)] = acc[unsigned(q)]


@Twin
def _scatter(v, s, step, offset, th, tw, per_block, out):
    """out[n, c] = sum over tiles of s v[:, c, tile] s^T (k x k), added at (t_h s + o, t_w s + o), cropped."""
    span_h, span_w, starts, rows, cols, blocks = _tiling(th, tw, step, s.shape[0], per_block, out.shape, offset)
    k, a = s.shape
    for p in prange(out.shape[1] * blocks):
        ch, n0, n1, length, q0 = _block(p, blocks, per_block, out.shape[0], th * tw)
        f = np.zeros((a, k, length), v.dtype)                   # f[r, j, q] = sum_q' s[j, q'] v[r a + q', c, q]
        for r in range(a):
            for sq in range(a):
                for j in range(k):
                    coef = s[j, sq]
                    if coef != 0:
                        for q in range(length):
                            f[r, j, unsigned(q)] += coef * v[r * a + sq, ch, unsigned(q0 + q)]
        o = np.zeros((k, k, length), v.dtype)                   # o[i, j, q] = sum_r s[i, r] f[r, j, q]
        _left_multiply(s, f, o)
        planes = np.zeros((n1 - n0, span_h, span_w), v.dtype)   # tiles added where they were read
        flat = planes.ravel()
        for i in range(k):
            for j in range(k):
                for q in range(length):
                    flat[unsigned(starts[q] + i * span_w + j)] += o[i, j, unsigned(q)]
        for b in range(n0, n1):
            out[b, ch] = 0
            for hh in range(rows[0], rows[1]):
                for ww in range(cols[0], cols[1]):
                    out[b, ch, hh, unsigned(ww)] = planes[b - n0, hh - offset, unsigned(ww - offset)]


@njit(**_OPTIONS)
def _left_multiply(m, src, dst):
    """dst[r, j, q] += sum_i m[r, i] src[i, j, q], skipping the zero coefficients of the small matrix m."""
    for r in range(m.shape[0]):
        for i in range(m.shape[1]):
            coef = m[r, i]
            if coef != 0:
                for j in range(src.shape[1]):
                    for q in range(src.shape[2]):
                        dst[r, j, unsigned(q)] += coef * src[i, j, unsigned(q)]


@njit(**_OPTIONS)
def _block(p, blocks, per_block, n, tiles):
    """Parallel iteration p: (channel, first and end image of its block, its tiles, its first tile)."""
    ch, n0 = p // blocks, (p % blocks) * per_block
    n1 = min(n0 + per_block, n)
    return ch, n0, n1, (n1 - n0) * tiles, n0 * tiles


@njit(**_OPTIONS)
def _tiling(th, tw, step, k, per_block, shape, offset):
    """(span_h, span_w, starts, rows, cols, blocks): the padded plane a tiling reads; for the tiles
    (n, t_h, t_w) of ``per_block`` such planes laid end to end, the flat index of each tile's first
    pixel; the rows [lo, hi) and columns of the image that some tile reads; the blocks of images."""
    n, _, h, w = shape
    span_h, span_w = (th - 1) * step + k, (tw - 1) * step + k
    starts = np.empty(per_block * th * tw, np.intp)
    for b in range(per_block):
        for ti in range(th):
            for tj in range(tw):
                starts[(b * th + ti) * tw + tj] = (b * span_h + ti * step) * span_w + tj * step
    rows = (max(0, offset), min(h, span_h + offset))
    cols = (max(0, offset), min(w, span_w + offset))
    return span_h, span_w, starts, rows, cols, -(-n // per_block)


def _per_block(tiles: tuple[int, int]) -> int:
    return max(1, -(-_RUN // (tiles[0] * tiles[1])))


def winograd_gather(x: np.ndarray, t: np.ndarray, step: int, offset: int, tiles: tuple[int, int]) -> np.ndarray:
    """(a^2, C, N T_h T_w): every k x k tile d of x (zeros outside) as t d t^T, t (a, k)."""
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    a = t.shape[0]
    v = np.empty((a * a, c, n * tiles[0] * tiles[1]), dtype=x.dtype)
    _gather(v.size, x, np.asarray(t, x.dtype), step, offset, tiles[0], tiles[1], _per_block(tiles), v)
    return v


def winograd_scatter(v: np.ndarray, s: np.ndarray, step: int, offset: int, tiles: tuple[int, int],
            out: np.ndarray) -> np.ndarray:
    """Fill ``out`` (N, C, H, W) with the adjoint of :func:`winograd_gather` for t = s^T (s (k, a))."""
    v = np.ascontiguousarray(v)
    target = out if out.flags.c_contiguous else np.empty(out.shape, dtype=out.dtype)
    _scatter(v.size, v, np.asarray(s, v.dtype), step, offset, tiles[0], tiles[1], _per_block(tiles), target)
    if target is not out:
        out[...] = target
    return out
