"""Max and average pooling on the GPU: ``pool.cu`` (one thread per output; backward a gather per pixel)."""
from __future__ import annotations

from typing import Any

import cupy

from .. import check_pool_padding, out_size
from . import launch, raw_kernel

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]

Pair = tuple[int, int]


def max_pool2d(x: Any, kernel: Pair, stride: Pair, padding: Pair) -> tuple[Any, Any]:
    """out = max over each window of x padded with -inf; argmax (int64) = flat h W + w of its first maximum."""
    check_pool_padding(kernel, padding)
    x = cupy.ascontiguousarray(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = out_size(h, kh, sh, ph, 1), out_size(w, kw, sw, pw, 1)
    out = cupy.empty((n, c, ho, wo), dtype=x.dtype)
    argmax = cupy.empty((n, c, ho, wo), dtype=cupy.int64)
    launch(raw_kernel("pool.cu", "max_pool2d", x.dtype), out.size,
           x, out, argmax, n, c, h, w, kh, kw, sh, sw, ph, pw, ho, wo)
    return out, argmax


def max_pool2d_backward(dout: Any, argmax: Any, x_shape: tuple[int, ...]) -> Any:
    """dx[n, c, argmax[n, c, oh, ow]] += dout[n, c, oh, ow]: one thread per (n, c) plane, outputs in order."""
    dout = cupy.ascontiguousarray(dout)
    argmax = cupy.ascontiguousarray(argmax, dtype=cupy.int64)
    n, c, h, w = x_shape
    dx = cupy.zeros((n, c, h, w), dtype=dout.dtype)
    launch(raw_kernel("pool.cu", "max_pool2d_backward", dout.dtype), n * c,
           dout, argmax, dx, n * c, h * w, dout.size // max(n * c, 1))
    return dx


def avg_pool2d(x: Any, kernel: Pair, stride: Pair, padding: Pair) -> Any:
    """out = sum over each zero-padded window / (k_h k_w): padding counts, as in PyTorch's default."""
    check_pool_padding(kernel, padding)
    x = cupy.ascontiguousarray(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = out_size(h, kh, sh, ph, 1), out_size(w, kw, sw, pw, 1)
    out = cupy.empty((n, c, ho, wo), dtype=x.dtype)
    launch(raw_kernel("pool.cu", "avg_pool2d", x.dtype), out.size,
           x, out, n, c, h, w, kh, kw, sh, sw, ph, pw, ho, wo)
    return out


def avg_pool2d_backward(dout: Any, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair) -> Any:
    """dx[n, c, h, w] = sum of dout over the windows covering (h, w), / (k_h k_w)."""
    dout = cupy.ascontiguousarray(dout)
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = dout.shape[2], dout.shape[3]
    dx = cupy.empty((n, c, h, w), dtype=dout.dtype)
    launch(raw_kernel("pool.cu", "avg_pool2d_backward", dout.dtype), dx.size,
           dout, dx, n, c, h, w, kh, kw, sh, sw, ph, pw, ho, wo)
    return dx
