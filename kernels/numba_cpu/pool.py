"""Max and average pooling as Numba loops, parallel over (n, c) planes.

Notation: x is (N, C, H, W), the window k_h x k_w moves with stride s over x
padded by p; output (N, C, H_out, W_out). Window (oh, ow) covers image rows
``[oh s_h - p_h, oh s_h - p_h + k_h)`` clipped to ``[0, H)`` (and likewise for
columns): the clipped part is padding, which max pooling reads as -inf (it can
never win) and average pooling as 0 (it adds nothing but still counts in the
divisor k_h k_w, as PyTorch's default ``count_include_pad=True``).

Max pooling keeps the argmax of its first maximum in row-major window order, as
``numpy.argmax`` does (a NaN counts as the maximum, so it propagates). The
running maximum is updated with selects, not branches (with random data a
compare-and-branch mispredicts about every other element), and the common
2x2 / stride 2 / no padding window has its own unrolled kernel, which LLVM
vectorises. Max backward adds dout into the argmax pixels.

Average pooling works one output row at a time, adding the window's pixels in
row-major order in the input's dtype, and its backward is col2im's gather with
dout / (k_h k_w) as every column row: both are bit-equal to the reference.

Every kernel owns whole (n, c) planes, so no two threads write the same pixel.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import check_pool_padding, out_size
from . import _OPTIONS, U, Twin
from .conv import _valid_range

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]

Pair = tuple[int, int]


@njit(**_OPTIONS)
def _wins(v, best):
    """True when v replaces best as the running maximum: larger, or the first NaN."""
    return (v > best) | ((v != v) & (best == best))


@Twin
def _max_pool(x, kh, kw, sh, sw, ph, pw, out, argmax):
    """out = max over the clipped window; argmax = h W + w of its first maximum."""
    n, c, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    for p in prange(n * c):
        b = p // c
        ch = p - b * c
        for oh in range(ho):
            h0 = max(oh * sh - ph, 0)
            h1 = min(oh * sh - ph + kh, h)
            for ow in range(wo):
                w0 = max(ow * sw - pw, 0)
                w1 = min(ow * sw - pw + kw, w)
                best = x[b, ch, h0, w0]
                arg = h0 * w + w0
                for hh in range(h0, h1):
                    for ww in range(w0, w1):
                        v = x[b, ch, hh, ww]
                        t = _wins(v, best)
                        best = v if t else best
                        arg = hh * w + ww if t else arg
                out[b, ch, oh, ow] = best
                argmax[b, ch, oh, ow] = arg


@Twin
def _max_pool_2x2(x, out, argmax):
    """The common 2x2 window with stride 2 and no padding, unrolled and branch-free (LLVM vectorises it)."""
    n, c, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    for p in prange(n * c):
        b = p // c
        ch = p - b * c
        for oh in range(ho):
            r0 = 2 * oh
            r1 = r0 + 1
            for ow in range(wo):
                c0 = 2 * ow
                best = x[b, ch, r0, U(c0)]
                arg = r0 * w + c0
                v = x[b, ch, r0, U(c0 + 1)]
                t = _wins(v, best)
                best = v if t else best
                arg = r0 * w + c0 + 1 if t else arg
                v = x[b, ch, r1, U(c0)]
                t = _wins(v, best)
                best = v if t else best
                arg = r1 * w + c0 if t else arg
                v = x[b, ch, r1, U(c0 + 1)]
                t = _wins(v, best)
                best = v if t else best
                arg = r1 * w + c0 + 1 if t else arg
                out[b, ch, oh, U(ow)] = best
                argmax[b, ch, oh, U(ow)] = arg


@Twin
def _max_pool_backward(dout, argmax, dx):
    """dx[p, argmax[p, o]] += dout[p, o] over the planes p = (n, c) of (N C, H_out W_out) arrays."""
    planes, hw = dx.shape
    for p in prange(planes):
        for q in range(hw):
            dx[p, q] = 0
        for o in range(dout.shape[1]):
            dx[p, argmax[p, o]] += dout[p, o]


@Twin
def _avg_pool(x, kh, kw, sh, sw, ph, pw, out):
    """out = (sum of the window's pixels, row-major) / (k_h k_w), built one output row at a time.

    For kernel offset (i, j) the outputs that read inside the image are the
    columns ``[lo, hi)`` (``_valid_range``); adding those stretches in (i, j)
    order gives every output its window sum in the reference's order, with
    inner loops LLVM can vectorise.
    """
    n, c, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    for p in prange(n * c):
        b = p // c
        ch = p - b * c
        for oh in range(ho):
            for ow in range(wo):
                out[b, ch, oh, ow] = 0
            for i in range(kh):
                ih = oh * sh - ph + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw):
                    lo, hi = _valid_range(j - pw, sw, w, wo)
                    for ow in range(lo, hi):
                        out[b, ch, oh, U(ow)] += x[b, ch, ih, U(ow * sw + j - pw)]
            for ow in range(wo):
                out[b, ch, oh, ow] = out[b, ch, oh, ow] / (kh * kw)


@Twin
def _avg_pool_backward(dscaled, kh, kw, sh, sw, ph, pw, dx):
    """dx[n, c, h, w] = sum over the windows covering (h, w) of dout / (k_h k_w), in (i, j) order.

    The same gather as ``conv._col2im`` with every column row of plane (n, c)
    equal to ``dscaled[n, c] = dout[n, c] / (k_h k_w)``.
    """
    n, c, h, w = dx.shape
    ho, wo = dscaled.shape[2], dscaled.shape[3]
    for p in prange(n * c):
        b = p // c
        ch = p - b * c
        for hh in range(h):
            for ww in range(w):
                dx[b, ch, hh, ww] = 0
            for i in range(kh):
                t = hh + ph - i
                if t < 0 or t % sh != 0 or t // sh >= ho:
                    continue
                oh = t // sh
                for j in range(kw):
                    lo, hi = _valid_range(j - pw, sw, w, wo)
                    for ow in range(lo, hi):
                        dx[b, ch, hh, U(ow * sw + j - pw)] += dscaled[b, ch, oh, U(ow)]


def max_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> tuple[np.ndarray, np.ndarray]:
    """out = max over each window of x padded with -inf; argmax (int64) = flat h W + w of its first maximum."""
    check_pool_padding(kernel, padding)
    x = np.ascontiguousarray(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    shape = (n, c, out_size(h, kh, sh, ph, 1), out_size(w, kw, sw, pw, 1))
    out = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape, dtype=np.int64)
    if (kh, kw, sh, sw, ph, pw) == (2, 2, 2, 2, 0, 0):
        _max_pool_2x2(x.size, x, out, argmax)
    else:
        _max_pool(x.size, x, kh, kw, sh, sw, ph, pw, out, argmax)
    return out, argmax


def max_pool2d_backward(dout: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """dx[n, c, argmax[n, c, oh, ow]] += dout[n, c, oh, ow], summed where windows overlap."""
    n, c, h, w = x_shape
    planes = (n * c, dout.shape[2] * dout.shape[3])          # no -1: it is ambiguous for an empty batch
    dout = np.ascontiguousarray(dout).reshape(planes)
    dx = np.empty((n * c, h * w), dtype=dout.dtype)
    _max_pool_backward(dx.size, dout, np.ascontiguousarray(argmax, dtype=np.int64).reshape(planes), dx)
    return dx.reshape(n, c, h, w)


def avg_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """out = sum over each zero-padded window / (k_h k_w): padding counts, as in PyTorch's default."""
    check_pool_padding(kernel, padding)
    x = np.ascontiguousarray(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out = np.empty((n, c, out_size(h, kh, sh, ph, 1), out_size(w, kw, sw, pw, 1)), dtype=x.dtype)
    _avg_pool(x.size, x, kh, kw, sh, sw, ph, pw, out)
    return out


def avg_pool2d_backward(dout: np.ndarray, x_shape: tuple[int, ...], kernel: Pair, stride: Pair,
                        padding: Pair) -> np.ndarray:
    """Every pixel of a window gets dout / (k_h k_w), summed over the windows that cover it."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    dscaled = np.ascontiguousarray(dout / (kh * kw))
    dx = np.empty(tuple(x_shape), dtype=dscaled.dtype)
    _avg_pool_backward(dx.size * kh * kw, dscaled, kh, kw, sh, sw, ph, pw, dx)
    return dx
