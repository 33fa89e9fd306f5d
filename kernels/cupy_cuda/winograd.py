"""Winograd tile transforms on the GPU: the NumPy reference's array expressions run on CuPy arrays.

Each transform is k^2 strided copies (or adds) and two small matrix products (cuBLAS), whole
batches at a time; see ``kernels.numpy_ref.winograd`` for the maps.
"""
from __future__ import annotations

from typing import Any

import cupy

from ..numpy_ref import winograd as ref

__all__ = ["winograd_gather", "winograd_scatter", "WINOGRAD_CHUNK_BYTES", "WINOGRAD_MIN_TILES",
           "WINOGRAD_MIN_CHANNELS"]

WINOGRAD_MIN_CHANNELS = 1 << 62
"""conv2d takes the Winograd path for 3x3 stride-1 layers with at least this many input channels:
never on the GPU: it has not been measured against cuBLAS's im2col product there."""
WINOGRAD_CHUNK_BYTES = 1 << 30
WINOGRAD_MIN_TILES = 1
"""conv2d_winograd transforms whole batches at once on the GPU (up to WINOGRAD_CHUNK_BYTES of tiles)."""


def winograd_gather(x: Any, t: Any, step: int, offset: int, tiles: tuple[int, int]) -> Any:
    """(a^2, C, N T_h T_w): every k x k tile d of x (zeros outside) as t d t^T, t (a, k)."""
    return ref.gather_tiles(cupy, x, t, step, offset, tiles)


def winograd_scatter(v: Any, s: Any, step: int, offset: int, tiles: tuple[int, int], out: Any) -> Any:
    """Fill ``out`` (N, C, H, W) with the adjoint of :func:`winograd_gather` for t = s^T (s (k, a))."""
    return ref.scatter_tiles(cupy, v, s, step, offset, tiles, out)
