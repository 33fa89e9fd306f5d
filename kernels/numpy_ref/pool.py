"""Max and average pooling in plain NumPy, on the same window view as im2col."""
from __future__ import annotations

import numpy as np

from .. import check_pool_padding, out_size
from .conv import add_windows, im2col, windows

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]

Pair = tuple[int, int]
_ONE = (1, 1)


def max_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> tuple[np.ndarray, np.ndarray]:
    """out = max over each window of x padded with -inf; argmax = flat h*W + w of its first maximum."""
    check_pool_padding(kernel, padding)
    n, c, h, w = x.shape
    kh, kw = kernel
    v = windows(x, kh, kw, stride, padding, _ONE, pad_value=-np.inf)
    ho, wo = v.shape[4], v.shape[5]
    slabs = v.transpose(2, 3, 0, 1, 4, 5).reshape(kh * kw, n, c, ho, wo)   # slab q: offset (q // k_w, q % k_w)
    out = slabs.max(axis=0)
    k = np.zeros(out.shape, np.int64)
    for q in range(kh * kw - 1, -1, -1):           # last offset first, so the first maximum (or nan) wins
        k = np.where((slabs[q] == out) | np.isnan(slabs[q]), q, k)
    top = np.arange(ho)[:, None] * stride[0] - padding[0]                  # window corners in the unpadded plane
    left = np.arange(wo)[None, :] * stride[1] - padding[1]
    if padding == (0, 0):
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


def avg_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """out = sum over each zero-padded window / (k_h k_w): padding counts, as in PyTorch's default."""
    check_pool_padding(kernel, padding)
    n, c, h, w = x.shape
    kh, kw = kernel
    ho, wo = out_size(h, kh, stride[0], padding[0], 1), out_size(w, kw, stride[1], padding[1], 1)
    cols = im2col(x, kh, kw, stride, padding, _ONE).reshape(n, c, kh * kw, ho, wo)
    return cols.mean(axis=2)


def avg_pool2d_backward(dout: np.ndarray, x_shape: tuple[int, ...], kernel: Pair, stride: Pair,
                        padding: Pair) -> np.ndarray:
    """Every pixel of a window gets dout / (k_h k_w): col2im of that gradient broadcast over the
    kernel offsets (a stride-0 view, no k_h k_w copy)."""
    n, c, ho, wo = dout.shape
    kh, kw = kernel
    v = np.broadcast_to((dout / (kh * kw))[:, :, None, None], (n, c, kh, kw, ho, wo))
    return add_windows(v, x_shape, stride, padding, _ONE)
