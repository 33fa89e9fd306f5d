"""Winograd tile transforms in plain NumPy: k^2 strided copies and two small GEMMs each way.

Notation: x is (N, C, H, W); a tiling with ``step`` s and ``offset`` o cuts x (read as 0
outside the image) into T_h x T_w tiles of k x k pixels, tile (t_h, t_w) starting at
pixel (t_h s + o, t_w s + o); P = N T_h T_w tiles per channel, ordered (n, t_h, t_w).

``winograd_gather(x, t, ...)`` with t (a, k) transforms every tile d into t d t^T (a x a) and
returns them as (a^2, C, P); ``winograd_scatter(v, t^T, ...)`` is its adjoint: it transforms every
a x a tile back to t^T v t (k x k) and ADDS it where the tile was read from. The same
code runs on CuPy arrays: ``kernels.cupy_cuda.winograd`` calls :func:`gather_tiles` and
:func:`scatter_tiles` with cupy.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["winograd_gather", "winograd_scatter", "WINOGRAD_CHUNK_BYTES", "WINOGRAD_MIN_TILES",
           "WINOGRAD_MIN_CHANNELS"]

WINOGRAD_MIN_CHANNELS = 32
"""conv2d takes the Winograd path for 3x3 stride-1 layers with at least this many input channels:
NumPy: measured faster than im2col from 32 input channels (break-even at 16-32 on 14x14)."""
WINOGRAD_CHUNK_BYTES = 1 << 22
WINOGRAD_MIN_TILES = 256
"""conv2d_winograd transforms a chunk of images at a time: at most WINOGRAD_CHUNK_BYTES of tiles (so that they stay
in cache between the transforms and the GEMMs), but at least WINOGRAD_MIN_TILES tiles per channel (wide GEMMs)."""


def _inside(size: int, tiles: int, step: int, offset: int, k: int) -> tuple[int, int]:
    """[lo, hi): the pixels of a side of ``size`` that some tile covers."""
    return max(0, offset), min(size, (tiles - 1) * step + k + offset)


def winograd_gather(x: Any, t: Any, step: int, offset: int, tiles: tuple[int, int]) -> Any:
    """The input transform of every tile: see :func:`gather_tiles`."""
    return gather_tiles(np, x, t, step, offset, tiles)


def winograd_scatter(v: Any, s: Any, step: int, offset: int, tiles: tuple[int, int], out: Any) -> Any:
    """The adjoint of :func:`winograd_gather`: see :func:`scatter_tiles`."""
    return scatter_tiles(np, v, s, step, offset, tiles, out)


def gather_tiles(xp: Any, x: Any, t: Any, step: int, offset: int, tiles: tuple[int, int]) -> Any:
    """v[r a + q, c, (n T_h + t_h) T_w + t_w] = sum_{i,j} t[r, i] t[q, j] x[n, c, t_h s + o + i, t_w s + o + j]."""
    n, c, h, w = x.shape
    a, k = t.shape
    (th, tw), t = tiles, xp.asarray(t, dtype=x.dtype)
    span_h, span_w = (th - 1) * step + k, (tw - 1) * step + k
    (h0, h1), (w0, w1) = _inside(h, th, step, offset, k), _inside(w, tw, step, offset, k)
    x_pad = xp.zeros((c, n, span_h, span_w), dtype=x.dtype)
    x_pad[:, :, h0 - offset:h1 - offset, w0 - offset:w1 - offset] = x[:, :, h0:h1, w0:w1].transpose(1, 0, 2, 3)
    d = xp.empty((k, k, c, n, th, tw), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            d[i, j] = x_pad[:, :, i:i + (th - 1) * step + 1:step, j:j + (tw - 1) * step + 1:step]
    d_t = xp.matmul(t, d.reshape(k, k, -1))                     # [i, q, .] = sum_j t[q, j] d[i, j, .]
    return xp.matmul(t, d_t.reshape(k, -1)).reshape(a * a, c, n * th * tw)


def scatter_tiles(xp: Any, v: Any, s: Any, step: int, offset: int, tiles: tuple[int, int], out: Any) -> Any:
    """Fill ``out`` (N, C, H, W) with the adjoint of :func:`gather_tiles` for t = s^T:
    out[n, c, t_h s + o + i, t_w s + o + j] += sum_{r,q} s[i, r] s[j, q] v[r a + q, c, tile], over all tiles."""
    n, c, h, w = out.shape
    k, a = s.shape
    (th, tw), s = tiles, xp.asarray(s, dtype=v.dtype)
    span_h, span_w = (th - 1) * step + k, (tw - 1) * step + k
    (h0, h1), (w0, w1) = _inside(h, th, step, offset, k), _inside(w, tw, step, offset, k)
    v_s = xp.matmul(s, v.reshape(a, a, -1))                     # [r, j, .] = sum_q s[j, q] v[r, q, .]
    o = xp.matmul(s, v_s.reshape(a, -1)).reshape(k, k, c, n, th, tw)
    acc = xp.zeros((c, n, span_h, span_w), dtype=v.dtype)
    for i in range(k):
        for j in range(k):
            acc[:, :, i:i + (th - 1) * step + 1:step, j:j + (tw - 1) * step + 1:step] += o[i, j]
    out[...] = 0
    out[:, :, h0:h1, w0:w1] = acc[:, :, h0 - offset:h1 - offset, w0 - offset:w1 - offset].transpose(1, 0, 2, 3)
    return out
