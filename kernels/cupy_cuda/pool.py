"""Max and average pooling on the GPU: ``pool.cu`` (one thread per output; max backward one thread
per plane; average backward col2im's gather from ``conv.cu``)."""
from __future__ import annotations

from typing import Any

import cupy

from .. import check_pool_padding, out_size
from . import launch, raw_kernel
from .conv import add_windows

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]

Pair = tuple[int, int]


def _forward(name: str, x: Any, kernel: Pair, stride: Pair, padding: Pair, *dtypes: Any) -> list[Any]:
    """Run the forward kernel ``name`` of pool.cu, one thread per output; its (N, C, H_out, W_out)
    outputs have ``dtypes`` (None: x's dtype)."""
    check_pool_padding(kernel, padding)
    x = cupy.ascontiguousarray(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = out_size(h, kh, sh, ph, 1), out_size(w, kw, sw, pw, 1)
    outs = [cupy.empty((n, c, ho, wo), dtype=d or x.dtype) for d in dtypes]
    launch(raw_kernel("pool.cu", name, x.dtype), n * c * ho * wo,
           x, *outs, n, c, h, w, kh, kw, sh, sw, ph, pw, ho, wo)
    return outs


def max_pool2d(x: Any, kernel: Pair, stride: Pair, padding: Pair) -> tuple[Any, Any]:
    """out = max over each window of x padded with -inf; argmax (int64) = flat h W + w of its first maximum."""
    out, argmax = _forward("max_pool2d", x, kernel, stride, padding, None, cupy.int64)
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
    return _forward("avg_pool2d", x, kernel, stride, padding, None)[0]


def avg_pool2d_backward(dout: Any, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair) -> Any:
    """dx[n, c, h, w] = sum of dout / (k_h k_w) over the windows covering (h, w): col2im's gather,
    reading dout / (k_h k_w) as the column row of every kernel offset (no k_h k_w copy)."""
    n, c, ho, wo = dout.shape
    kh, kw = kernel
    dscaled = cupy.ascontiguousarray(dout / (kh * kw))
    return add_windows(dscaled, (ho * wo, 0, c * ho * wo), x_shape, kh, kw, stride, padding, (1, 1))
