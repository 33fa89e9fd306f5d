"""im2col and col2im on the GPU: ``conv.cu`` (one thread per output position; col2im a gather per pixel)."""
from __future__ import annotations

from typing import Any

import cupy

from .. import out_size
from . import launch, raw_kernel

__all__ = ["im2col", "col2im", "COLUMN_CHUNK_BYTES"]

COLUMN_CHUNK_BYTES = 1 << 30
"""conv2d builds at most this many bytes of columns at once: the GPU wants whole batches per launch."""

Pair = tuple[int, int]


def im2col(x: Any, kh: int, kw: int, stride: Pair, padding: Pair, dilation: Pair) -> Any:
    """cols[n, c k_h k_w + i k_w + j, oh W_out + ow] = x_pad[n, c, oh s_h + i d_h, ow s_w + j d_w].

    A contiguous (N, C k_h k_w, H_out W_out) array (one thread per output position writes its
    k_h k_w entries, coalesced); the CPU backends return a channel-major view instead.
    """
    x = cupy.ascontiguousarray(x)
    n, c, h, w = x.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    cols = cupy.empty((n, c * kh * kw, ho * wo), dtype=x.dtype)
    launch(raw_kernel("conv.cu", "im2col", x.dtype), n * c * ho * wo,
           x, cols, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
    return cols


def col2im(cols: Any, x_shape: tuple[int, ...], kh: int, kw: int, stride: Pair, padding: Pair,
           dilation: Pair) -> Any:
    """The adjoint of :func:`im2col`: each pixel sums the column entries read from it, in (i, j) order.

    ``cols`` may have any strides (the kernel reads a contiguous copy).
    """
    cols = cupy.ascontiguousarray(cols)
    c, length = x_shape[1], cols.shape[2]
    steps = (kh * kw * length, length, c * kh * kw * length)
    return add_windows(cols, steps, x_shape, kh, kw, stride, padding, dilation)


def add_windows(src: Any, steps: tuple[int, int, int], x_shape: tuple[int, ...], kh: int, kw: int, stride: Pair,
                padding: Pair, dilation: Pair) -> Any:
    """col2im's gather on columns held in the contiguous array ``src``: the row of channel c, kernel
    offset (i, j) and image n starts at ``c step_c + (i k_w + j) step_k + n step_n`` for
    ``steps = (step_c, step_k, step_n)`` (see conv.cu)."""
    n, c, h, w = x_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    dx = cupy.empty((n, c, h, w), dtype=src.dtype)
    launch(raw_kernel("conv.cu", "col2im", src.dtype), dx.size,
           src, dx, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, *steps)
    return dx
