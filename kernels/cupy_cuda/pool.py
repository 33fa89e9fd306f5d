"""Max and average pooling on the GPU: ``pool.cu`` (one thread per output; max backward one thread
per plane; average backward col2im's gather from ``conv.cu``). The output size, the ``ceil_mode``
overhang and the average's divisors are the reference's (``numpy_ref.pool``)."""
from __future__ import annotations

from typing import Any

import cupy
import numpy as np

from ..numpy_ref.pool import avg_divisor, overhang, pooled_hw
from . import launch, raw_kernel
from .conv import add_windows

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]

Pair = tuple[int, int]


def _forward(name: str, x: Any, kernel: Pair, stride: Pair, padding: Pair, ho: int, wo: int, *arrays: Any) -> None:
    """Run the forward kernel ``name`` of pool.cu on contiguous x, one thread per (N, C, H_out, W_out)
    output; ``arrays`` are the kernel's array arguments after x."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    launch(raw_kernel("pool.cu", name, x.dtype), n * c * ho * wo,
           x, *arrays, n, c, h, w, kh, kw, sh, sw, ph, pw, ho, wo)


def max_pool2d(x: Any, kernel: Pair, stride: Pair, padding: Pair, ceil_mode: bool) -> tuple[Any, Any]:
    """out = max over each window of x padded with -inf; argmax (int64) = flat h W + w of its first maximum."""
    x = cupy.ascontiguousarray(x)
    ho, wo = pooled_hw(x.shape[2:], kernel, stride, padding, ceil_mode)
    out = cupy.empty(x.shape[:2] + (ho, wo), dtype=x.dtype)
    argmax = cupy.empty(out.shape, dtype=cupy.int64)
    _forward("max_pool2d", x, kernel, stride, padding, ho, wo, out, argmax)
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


def avg_pool2d(x: Any, kernel: Pair, stride: Pair, padding: Pair, ceil_mode: bool, count_include_pad: bool) -> Any:
    """out = sum over each zero-padded window / its divisor (``numpy_ref.pool.avg_divisor``)."""
    x = cupy.ascontiguousarray(x)
    ho, wo = pooled_hw(x.shape[2:], kernel, stride, padding, ceil_mode)
    divisor = avg_divisor(x.shape[2:], (ho, wo), kernel, stride, padding, count_include_pad, x.dtype)
    divisor = cupy.asarray(np.full((ho, wo), divisor))          # (1, 1) or (H_out, W_out), filled out
    out = cupy.empty(x.shape[:2] + (ho, wo), dtype=x.dtype)
    _forward("avg_pool2d", x, kernel, stride, padding, ho, wo, divisor, out)
    return out


def avg_pool2d_backward(dout: Any, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair,
                        count_include_pad: bool) -> Any:
    """dx[n, c, h, w] = sum of dout / divisor over the windows covering (h, w): col2im's gather, reading
    dout / divisor as the column row of every kernel offset (no k_h k_w copy), on x with the ``ceil_mode``
    overhang appended, cut off again."""
    n, c, ho, wo = dout.shape
    h, w = x_shape[2:]
    kh, kw = kernel
    eh, ew = overhang((h, w), (ho, wo), kernel, stride, padding)
    divisor = avg_divisor((h, w), (ho, wo), kernel, stride, padding, count_include_pad, dout.dtype)
    dscaled = cupy.ascontiguousarray(dout / cupy.asarray(divisor))
    dx = add_windows(dscaled, (ho * wo, 0, c * ho * wo), (n, c, h + eh, w + ew), kh, kw, stride, padding, (1, 1))
    return dx[:, :, :h, :w]
