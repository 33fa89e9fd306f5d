"""Winograd tile transforms on the GPU: the NumPy reference's array expressions run on CuPy arrays.

Each transform is k^2 strided copies (or adds) and two small matrix products (cuBLAS), whole
batches at a time; see ``kernels.numpy_ref.winograd`` for the maps.
"""
from __future__ import annotations

from typing import Any

import cupy

from ..numpy_ref import winograd as ref

__all__ = ["gather", "scatter", "CHUNK_BYTES", "MIN_TILES"]

CHUNK_BYTES = 1 << 30
MIN_TILES = 1
"""conv2d_winograd transforms whole batches at once on the GPU (up to CHUNK_BYTES of tiles)."""


def gather(x: Any, t: Any, step: int, offset: int, tiles: tuple[int, int]) -> Any:
    """(a^2, C, N T_h T_w): every k x k tile d of x (zeros outside) as t d t^T, t (a, k)."""
    return ref.gather(x, t, step, offset, tiles, xp=cupy)


def scatter(v: Any, s: Any, step: int, offset: int, tiles: tuple[int, int], out: Any) -> Any:
    """Fill ``out`` (N, C, H, W) with the adjoint of :func:`gather` for t = s^T (s (k, a))."""
    return ref.scatter(v, s, step, offset, tiles, out, xp=cupy)
