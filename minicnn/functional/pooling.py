r"""Max, average and adaptive average pooling over NCHW input, and their backward.

Notation
--------
x  : (N, C, H, W)            input
k  = (k_h, k_w)              window, s = (s_h, s_w) stride (defaults to k), p = (p_h, p_w) padding
y  : (N, C, H_out, W_out)    output, H_out = floor((H + 2 p_h - k_h) / s_h) + 1
x_pad                        x with p_h rows above and below, p_w columns left and right

Pooling never mixes channels or images: every formula below holds for each
(n, c) plane separately. PyTorch requires p <= k // 2, so every window holds at
least one real pixel.

``ceil_mode=True`` takes the ceiling instead of the floor, so the rows (columns)
left over at the bottom (right) get a last, partial window, which may run past
x_pad; that window is dropped if it would start in the bottom (right) padding,
(H_out - 1) s_h >= H + p_h (``kernels.out_size``, PyTorch's rule). Its cells past
x_pad are no input: max pooling never picks them, and average pooling leaves them
out of its divisor.

Max pooling
-----------
Forward, with x_pad padded with -inf (a padded cell never wins)::

    y[n,c,oh,ow] = max_{i<k_h, j<k_w} x_pad[n, c, oh s_h + i, ow s_w + j]
    a[n,c,oh,ow] = h W + w of the FIRST maximum in row-major (i, j) order   (int64)

Backward. Near x, each output equals the one input pixel that won its window,
``y[n,c,oh,ow] = x[n,c,a[n,c,oh,ow]]``, so ``dy[n,c,oh,ow]/dx[n,c,q]`` is 1 when
q = a[n,c,oh,ow] and 0 otherwise (argmax routing). The chain rule sums over
every output whose window picked pixel q::

    dx[n,c,q] = sum_{oh,ow : a[n,c,oh,ow] = q} dy[n,c,oh,ow]          (N, C, H, W)

Overlapping windows (s < k) that pick the same pixel add their gradients. At a
tie the max is not differentiable; the subgradient we take sends everything to
the first maximum, exactly as PyTorch on the CPU does. Vectorised: the kernel
``max_pool2d_backward`` scatter-adds dout at the argmax (a bincount in NumPy).
Cache: the argmax a (int64, the size of y) and x's shape; x itself is not kept.

Average pooling
---------------
Forward, with x_pad padded with zeros::

    y[n,c,oh,ow] = 1/D[oh,ow] sum_{i,j} x_pad[n, c, oh s_h + i, ow s_w + j]

The divisor D counts the window's cells inside x_pad (``count_include_pad=True``,
PyTorch's default: k_h k_w, less the cells a ceil_mode window runs past x_pad)
or inside x only (``count_include_pad=False``). It factorises: with the window's
first row t = oh s_h - p_h and e = p_h (or 0 without count_include_pad),
``D = (min(t + k_h, H + e) - max(t, -e)) * (the same for the columns)``.

Backward. y is linear in x_pad with coefficient 1/D[oh,ow] for each window cell,
so each output spreads ``dy / D`` evenly over its window::

    dx_pad[n,c,r,q] = sum_{oh,ow,i,j : oh s_h + i = r, ow s_w + j = q} dy[n,c,oh,ow] / D[oh,ow]
    dx = dx_pad without its padding                                      (N, C, H, W)

Overlaps add; gradient sent to padded cells is dropped. That is col2im of
``dy / D`` broadcast over the k_h k_w rows of each channel (kernel
``avg_pool2d_backward``). Cache: x's shape and the geometry, nothing of x.

Adaptive average pooling
------------------------
The output size (H_o, W_o) is fixed and the windows follow from it, as in
PyTorch: output row i averages input rows R_i = [floor(i H / H_o), ceil((i+1) H / H_o)),
output column j the columns C_j = [floor(j W / W_o), ceil((j+1) W / W_o))::

    y[n,c,i,j] = 1/(|R_i| |C_j|) sum_{h in R_i, w in C_j} x[n,c,h,w]

The average is separable. With P (H_o, H), ``P[i,h] = 1/|R_i|`` for h in R_i and 0
elsewhere, and Q (W_o, W) built the same way from the C_j::

    y[n,c] = P x[n,c] Q^T                     (H_o, H) (H, W) (W, W_o) -> (H_o, W_o)

Backward. y is linear in x; the gradient of X -> P X Q^T is its transpose::

    dx[n,c] = P^T dy[n,c] Q                   (H, H_o) (H_o, W_o) (W_o, W) -> (H, W)

When H_o divides H and W_o divides W the bins are disjoint and equal, and the op
IS avg_pool2d with k = s = (H/H_o, W/W_o) and no padding; we then call those
kernels. Global average pooling (output 1x1) is simply the mean of each plane,
y[n,c] = mean(x[n,c]), whose gradient gives every pixel dy[n,c] / (H W). Cache: x's shape.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..checks import Pair, Where, check_dout, label, pair, require_float, require_ndim
from ..kernels import out_size
from .conv import conv_output_hw

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "MaxPool2dCache",
           "avg_pool2d_forward", "avg_pool2d_backward", "AvgPool2dCache",
           "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward", "AdaptiveAvgPool2dCache",
           "pool_output_size", "pool_hyperparameters", "pool_flag", "adaptive_output_size"]


def pool_output_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool = False) -> int:
    """``floor((size + 2 padding - kernel) / stride) + 1``, or with ``ceil_mode`` the ceiling, less a last
    window that would start in the right padding (``kernels.out_size``, the one rule)."""
    return out_size(size, kernel, stride, padding, 1, ceil_mode)


def pool_hyperparameters(kernel_size: int | Pair, stride: int | Pair | None, padding: int | Pair,
                         where: str) -> tuple[Pair, Pair, Pair]:
    """(kernel, stride, padding) as (h, w) pairs, stride defaulting to the kernel; ValueError naming
    ``where`` unless kernel and stride are >= 1 and 0 <= padding <= kernel // 2 (PyTorch's rule)."""
    kernel = pair(kernel_size, f"{where} kernel_size")
    stride = kernel if stride is None else pair(stride, f"{where} stride")
    padding = pair(padding, f"{where} padding")
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(f"{where}: kernel_size and stride must be >= 1, got kernel_size={kernel}, stride={stride}")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{where}: padding must be between 0 and half the kernel size (as in PyTorch), got "
                         f"padding={padding} for kernel_size={kernel}")
    return kernel, stride, padding


def pool_flag(value: Any, name: str, where: Where) -> bool:
    """``ceil_mode`` or ``count_include_pad`` as a bool; TypeError naming ``where`` unless it is one (as torch)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{label(where)}: {name} must be a bool, got {value!r}")
    return bool(value)


def _geometry(x: Any, kernel_size: int | Pair, stride: int | Pair | None, padding: int | Pair, ceil_mode: bool,
              op: str) -> tuple[Pair, Pair, Pair, bool]:
    """Validate ``x`` and the hyper-parameters of pooling op ``op``; return (kernel, stride, padding, ceil_mode)."""
    require_float(x, op)
    require_ndim(x, (4,), op, "(N, C, H, W)")
    kernel, stride, padding = pool_hyperparameters(kernel_size, stride, padding, op)
    ceil_mode = pool_flag(ceil_mode, "ceil_mode", op)
    conv_output_hw(x.shape, kernel, stride, padding, (1, 1), op, ceil_mode)
    return kernel, stride, padding, ceil_mode


class MaxPool2dCache(NamedTuple):
    argmax: Any                          # int64 (N, C, H_out, W_out): h*W + w of each window's first maximum
    x_shape: tuple[int, int, int, int]
    dtype: Any                           # of x and y


def max_pool2d_forward(x: Any, kernel_size: int | Pair, stride: int | Pair | None = None, padding: int | Pair = 0,
                       ceil_mode: bool = False) -> tuple[Any, MaxPool2dCache]:
    """y = the maximum of each window of x padded with -inf, as ``torch.nn.functional.max_pool2d``."""
    kernel, stride, padding, ceil_mode = _geometry(x, kernel_size, stride, padding, ceil_mode, "max_pool2d")
    y, argmax = backend.kernels().max_pool2d(x, kernel, stride, padding, ceil_mode)
    return y, MaxPool2dCache(argmax, tuple(x.shape), x.dtype)


def max_pool2d_backward(dout: Any, cache: MaxPool2dCache) -> Any:
    """dx of :func:`max_pool2d_forward`: each dout goes to its window's first maximum; overlaps add."""
    check_dout(dout, (cache.argmax.shape, cache.dtype), "max_pool2d")
    return backend.kernels().max_pool2d_backward(dout, cache.argmax, cache.x_shape)


class AvgPool2dCache(NamedTuple):
    x_shape: tuple[int, int, int, int]
    out: tuple[tuple[int, ...], Any]     # the output's shape (ceil_mode's windows included) and dtype
    kernel: Pair
    stride: Pair
    padding: Pair
    count_include_pad: bool


def avg_pool2d_forward(x: Any, kernel_size: int | Pair, stride: int | Pair | None = None, padding: int | Pair = 0,
                       ceil_mode: bool = False, count_include_pad: bool = True) -> tuple[Any, AvgPool2dCache]:
    """y = the sum of each zero-padded window over its divisor D, as ``torch.nn.functional.avg_pool2d``."""
    kernel, stride, padding, ceil_mode = _geometry(x, kernel_size, stride, padding, ceil_mode, "avg_pool2d")
    count_include_pad = pool_flag(count_include_pad, "count_include_pad", "avg_pool2d")
    y = backend.kernels().avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad)
    return y, AvgPool2dCache(tuple(x.shape), (tuple(y.shape), y.dtype), kernel, stride, padding, count_include_pad)


def avg_pool2d_backward(dout: Any, cache: AvgPool2dCache) -> Any:
    """dx of :func:`avg_pool2d_forward`: dout / D spread over each window; overlaps add."""
    check_dout(dout, cache.out, "avg_pool2d")
    return backend.kernels().avg_pool2d_backward(dout, cache.x_shape, cache.kernel, cache.stride, cache.padding,
                                                 cache.count_include_pad)


class AdaptiveAvgPool2dCache(NamedTuple):
    x_shape: tuple[int, int, int, int]
    output_size: Pair
    dtype: Any


def adaptive_output_size(output_size: int | Pair, where: str) -> Pair:
    """(H_o, W_o); ValueError naming ``where`` unless both are ints >= 1."""
    size = pair(output_size, f"{where} output_size")
    if min(size) < 1:
        raise ValueError(f"{where}: output_size must be >= 1, got {output_size!r}")
    return size


def _bin_matrix(size: int, out: int, dtype: Any) -> Any:
    """(out, size) averaging matrix: row i is 1/|B_i| on B_i = [floor(i size/out), ceil((i+1) size/out))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return backend.asarray(inside / (end - start)[:, None], dtype=dtype)


def _uniform_kernel(x_shape: tuple[int, ...], output_size: Pair) -> Pair | None:
    """(H/H_o, W/W_o) when both divide exactly (equal disjoint bins), else None."""
    h, w = x_shape[2:]
    ho, wo = output_size
    return (h // ho, w // wo) if h % ho == 0 and w % wo == 0 else None


def adaptive_avg_pool2d_forward(x: Any, output_size: int | Pair) -> tuple[Any, AdaptiveAvgPool2dCache]:
    """y (N, C, H_o, W_o) = the mean of each of PyTorch's adaptive bins, as
    ``torch.nn.functional.adaptive_avg_pool2d``. See the module docstring."""
    require_float(x, "adaptive_avg_pool2d")
    require_ndim(x, (4,), "adaptive_avg_pool2d", "(N, C, H, W)")
    size = adaptive_output_size(output_size, "adaptive_avg_pool2d")
    cache = AdaptiveAvgPool2dCache(tuple(x.shape), size, x.dtype)
    if size == (1, 1):                                      # global average pooling: the plane's mean
        return x.mean(axis=(2, 3), keepdims=True), cache
    kernel = _uniform_kernel(cache.x_shape, size)
    if kernel is not None:
        return backend.kernels().avg_pool2d(x, kernel, kernel, (0, 0), False, True), cache
    h, w = x.shape[2:]
    p, q = _bin_matrix(h, size[0], x.dtype), _bin_matrix(w, size[1], x.dtype)
    xp = backend.xp()
    return xp.matmul(xp.matmul(p, x), q.T), cache


def adaptive_avg_pool2d_backward(dout: Any, cache: AdaptiveAvgPool2dCache) -> Any:
    """dx of :func:`adaptive_avg_pool2d_forward`: ``P^T dy Q`` (each dy spread evenly over its bin)."""
    check_dout(dout, (cache.x_shape[:2] + cache.output_size, cache.dtype), "adaptive_avg_pool2d")
    if cache.output_size == (1, 1):                         # each pixel gets dy / (H W)
        dx = backend.xp().empty(cache.x_shape, dtype=dout.dtype)
        dx[...] = dout / (cache.x_shape[2] * cache.x_shape[3])
        return dx
    kernel = _uniform_kernel(cache.x_shape, cache.output_size)
    if kernel is not None:
        return backend.kernels().avg_pool2d_backward(dout, cache.x_shape, kernel, kernel, (0, 0), True)
    h, w = cache.x_shape[2:]
    p, q = _bin_matrix(h, cache.output_size[0], dout.dtype), _bin_matrix(w, cache.output_size[1], dout.dtype)
    xp = backend.xp()
    return xp.matmul(xp.matmul(p.T, dout), q)
