"""Max and average pooling in plain NumPy, on the same window view as im2col.

With ``ceil_mode`` the last window of an axis may run past the padded input
(:func:`overhang` cells). Appending those cells to x, below and to the right,
filled like the padding, makes it an ordinary window of the view; they are no
pixels: max pooling reads them as -inf, average pooling leaves them out of its
divisor (:func:`avg_divisor`), and the gradient sent there is dropped.
"""
from __future__ import annotations

import numpy as np

from .. import out_size
from .conv import add_windows, im2col, windows

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]

Pair = tuple[int, int]
_ONE = (1, 1)


def pooled_hw(x_hw: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, ceil_mode: bool) -> Pair:
    """(H_out, W_out): :func:`minicnn.kernels.out_size` with dilation 1."""
    return tuple(out_size(size, k, s, p, 1, ceil_mode) for size, k, s, p in zip(x_hw, kernel, stride, padding))


def overhang(x_hw: tuple[int, ...], out_hw: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair) -> Pair:
    """(e_h, e_w): how many cells the last window runs past the padded input, ``(out - 1) s + k - (size + 2p)``,
    or 0. Only a ``ceil_mode`` window does; x with e_h rows and e_w columns appended has exactly these
    windows in floor mode."""
    return (max((out_hw[0] - 1) * stride[0] + kernel[0] - x_hw[0] - 2 * padding[0], 0),
            max((out_hw[1] - 1) * stride[1] + kernel[1] - x_hw[1] - 2 * padding[1], 0))


def avg_divisor(x_hw: tuple[int, ...], out_hw: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair,
                count_include_pad: bool, dtype: type) -> np.ndarray:
    """The divisors of average pooling, (H_out, W_out): how many cells of each window count, those inside
    the padded input with ``count_include_pad`` (k_h k_w, but fewer for a window running past it), else
    those inside x. Along an axis, window o starts at ``t = o s - p``; with e = p (or 0) it counts
    ``min(t + k, size + e) - max(t, -e)`` cells, and the 2-D count is the product of the two.

    (1, 1) when every window counts all its k_h k_w cells (no ceil_mode overhang, and padding that
    counts or none): dividing by one number is twice as fast in NumPy, and vectorises in Numba."""
    if overhang(x_hw, out_hw, kernel, stride, padding) == (0, 0) and (count_include_pad or padding == (0, 0)):
        return np.full((1, 1), kernel[0] * kernel[1], dtype)
    counts = []
    for size, out, k, s, p in zip(x_hw, out_hw, kernel, stride, padding):
        e = p if count_include_pad else 0
        t = np.arange(out) * s - p
        counts.append(np.minimum(t + k, size + e) - np.maximum(t, -e))
    return np.outer(*counts).astype(dtype)


def _append(x: np.ndarray, extra: Pair, fill: float) -> np.ndarray:
    """x with extra[0] rows appended below and extra[1] columns to the right, all ``fill``."""
    return np.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=fill) if any(extra) else x


def max_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
               ceil_mode: bool) -> tuple[np.ndarray, np.ndarray]:
    """out = max over each window of x padded with -inf; argmax = flat h*W + w of its first maximum."""
    n, c, h, w = x.shape
    kh, kw = kernel
    out_hw = pooled_hw((h, w), kernel, stride, padding, ceil_mode)
    x = _append(x, overhang((h, w), out_hw, kernel, stride, padding), -np.inf)
    v = windows(x, kh, kw, stride, padding, _ONE, pad_value=-np.inf)
    ho, wo = out_hw
    slabs = v.transpose(2, 3, 0, 1, 4, 5).reshape(kh * kw, n, c, ho, wo)   # slab q: offset (q // k_w, q % k_w)
    out = slabs.max(axis=0)
    k = np.zeros(out.shape, np.int64)
    for q in range(kh * kw - 1, -1, -1):           # last offset first, so the first maximum (or nan) wins
        k = np.where((slabs[q] == out) | np.isnan(slabs[q]), q, k)
    top = np.arange(ho)[:, None] * stride[0] - padding[0]                  # window corners in the unpadded plane
    left = np.arange(wo)[None, :] * stride[1] - padding[1]
    if padding == (0, 0):      # a window's first cell is a pixel, and wins if every pixel is -inf
        offsets = (np.arange(kh)[:, None] * w + np.arange(kw)[None, :]).ravel()
        return out, top * w + left + offsets[k]
    i, j = np.divmod(k, kw)
    row, col = top + i, left + j
    # A window whose real pixels are all -inf ties with its padding; like PyTorch, its
    # argmax is then the window's first real pixel.
    in_padding = (row < 0) | (row >= h) | (col < 0) | (col >= w)
    row = np.where(in_padding, np.maximum(top, 0), row)
    col = np.where(in_padding, np.maximum(left, 0), col)
    return out, row * w + col


def max_pool2d_backward(dout: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """dx[n, c, argmax[n, c, oh, ow]] += dout[n, c, oh, ow], summed where windows overlap."""
    n, c, h, w = x_shape
    plane = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (h * w)
    dx = np.bincount((plane + argmax).ravel(), weights=dout.ravel(), minlength=n * c * h * w)
    return dx.astype(dout.dtype, copy=False).reshape(x_shape)


def avg_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, ceil_mode: bool,
               count_include_pad: bool) -> np.ndarray:
    """out = sum over each zero-padded window / its divisor (:func:`avg_divisor`)."""
    n, c, h, w = x.shape
    kh, kw = kernel
    ho, wo = pooled_hw((h, w), kernel, stride, padding, ceil_mode)
    x = _append(x, overhang((h, w), (ho, wo), kernel, stride, padding), 0.0)
    cols = im2col(x, kh, kw, stride, padding, _ONE).reshape(n, c, kh * kw, ho, wo)
    return cols.sum(axis=2) / avg_divisor((h, w), (ho, wo), kernel, stride, padding, count_include_pad, x.dtype)


def avg_pool2d_backward(dout: np.ndarray, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair,
                        count_include_pad: bool) -> np.ndarray:
    """Every pixel of a window gets dout / its divisor: col2im of that gradient broadcast over the kernel
    offsets (a stride-0 view, no k_h k_w copy), on x with the overhang appended, cut off again."""
    n, c, ho, wo = dout.shape
    h, w = x_shape[2:]
    kh, kw = kernel
    scaled = dout / avg_divisor((h, w), (ho, wo), kernel, stride, padding, count_include_pad, dout.dtype)
    eh, ew = overhang((h, w), (ho, wo), kernel, stride, padding)
    v = np.broadcast_to(scaled[:, :, None, None], (n, c, kh, kw, ho, wo))
    return add_windows(v, (n, c, h + eh, w + ew), stride, padding, _ONE)[:, :, :h, :w]
