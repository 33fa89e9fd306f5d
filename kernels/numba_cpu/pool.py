"""Max and average pooling as Numba loops, parallel over (n, c) planes.

Notation: x is (N, C, H, W), the window k_h x k_w moves with stride s over x
padded by p; output (N, C, H_out, W_out). Window (oh, ow) covers image rows
``[oh s_h - p_h, oh s_h - p_h + k_h)`` clipped to ``[0, H)`` (and likewise for
columns): the clipped part is padding (or, in ``ceil_mode``, cells past the
padded input), which max pooling reads as -inf (it can never win) and average
pooling as 0 (it adds nothing; whether it counts in the divisor is
``numpy_ref.pool.avg_divisor``'s rule, computed there and passed in).

Max pooling keeps the argmax of its first maximum in row-major window order, as
``numpy.argmax`` does (a NaN counts as the maximum, so it propagates). The
running maximum is updated with selects, not branches (with random data a
compare-and-branch mispredicts about every other element). Max and average
pooling share one kernel (:func:`_pool`): one output row at a time, the kernel
offsets outermost, so that the inner loops run along the row and LLVM vectorises
them (stride 2 spelt out, so that it sees the stride: 3x3 / stride 2 max pooling
on 32x32 planes 14 -> 6 ms); the common 2x2 / stride 2 / no padding max window
has its own unrolled kernel. Max backward adds dout into the argmax pixels.

Average pooling adds the window's pixels in row-major order in the input's
dtype, and its backward is col2im's gather
(``conv.add_windows``) reading dout / divisor as the column row of every
kernel offset (a zero step between offsets, so no copy): both add in the
reference's order, so they are bit-equal to it wherever NumPy also adds in order
(its pairwise ``sum`` differs for a 1x1 output of a window of 8 or more pixels).

Every kernel owns whole (n, c) planes, so no two threads write the same pixel.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..numpy_ref.pool import avg_divisor, overhang, pooled_hw
from . import _OPTIONS, Twin, _split_plane, unsigned
from .conv import Pair, _valid_range, add_windows

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]


@njit(inline="always", **_OPTIONS)
def _keep_max(v, at, best, arg):
    """(best, arg) after seeing value v at flat index ``at``: v wins if larger, or the first NaN.
    A select, not a branch (with random data a branch mispredicts about every other element)."""
    wins = (v > best) | ((v != v) & (best == best))
    return (v if wins else best), (at if wins else arg)


@Twin
def _max_pool_2x2(x, out, argmax):
    """The common 2x2 window with stride 2 and no padding, unrolled and branch-free (LLVM vectorises it)."""
    n, c, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        for oh in range(ho):
            r0, r1 = 2 * oh, 2 * oh + 1
            for ow in range(wo):
                c0 = 2 * ow
                best, arg = x[b, ch, r0, unsigned(c0)], r0 * w + c0
                best, arg = _keep_max(x[b, ch, r0, unsigned(c0 + 1)], r0 * w + c0 + 1, best, arg)
                best, arg = _keep_max(x[b, ch, r1, unsigned(c0)], r1 * w + c0, best, arg)
                best, arg = _keep_max(x[b, ch, r1, unsigned(c0 + 1)], r1 * w + c0 + 1, best, arg)
                out[b, ch, oh, unsigned(ow)] = best
                argmax[b, ch, oh, unsigned(ow)] = arg


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
def _pool(x, kh, kw, sh, sw, ph, pw, take_max, divisor, out, argmax):
    """One output row at a time: with ``take_max``, out = max over the clipped window and argmax = h W + w
    of its first maximum; else out = (sum of the window's pixels, row-major) / divisor (1 x 1, or
    H_out x W_out).

    For kernel offset (i, j) the outputs that read inside the image are the columns ``[lo, hi)``
    (``_valid_range``); visiting the offsets in (i, j) order updates every output in its window's
    row-major order (the reference's), with inner loops LLVM vectorises (stride 2 spelt out, so that it
    sees the stride). A maximum starts at -inf with its window's first pixel as argmax, and only a
    strictly larger value (or a first NaN) replaces it.
    """
    n, c, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    start = x.dtype.type(-np.inf if take_max else 0)
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        for oh in range(ho):
            first_row = max(oh * sh - ph, 0) * w
            for ow in range(wo):
                out[b, ch, oh, ow] = start
                if take_max:
                    argmax[b, ch, oh, ow] = first_row + max(ow * sw - pw, 0)
            for i in range(kh):
                ih = oh * sh - ph + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw):
                    lo, hi = _valid_range(j - pw, sw, w, wo)
                    for ow in range(lo, hi):
                        iw = (ow * 2 if sw == 2 else ow * sw) + j - pw
                        v = x[b, ch, ih, unsigned(iw)]
                        if take_max:
                            best, arg = _keep_max(v, ih * w + iw, out[b, ch, oh, unsigned(ow)],
                                                  argmax[b, ch, oh, unsigned(ow)])
                            out[b, ch, oh, unsigned(ow)] = best
                            argmax[b, ch, oh, unsigned(ow)] = arg
                        else:
                            out[b, ch, oh, unsigned(ow)] += v
            if take_max:
                continue
            if divisor.size == 1:       # one divisor (a loop-invariant scalar: LLVM vectorises this loop)
                d = divisor[0, 0]
                for ow in range(wo):
                    out[b, ch, oh, ow] = out[b, ch, oh, ow] / d
            else:
                for ow in range(wo):
                    out[b, ch, oh, ow] = out[b, ch, oh, ow] / divisor[oh, unsigned(ow)]


def _with_outputs(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, ceil_mode: bool,
                  *dtypes: type) -> tuple[np.ndarray, ...]:
    """x made contiguous, and empty (N, C, H_out, W_out) outputs of ``dtypes`` (None: x's dtype)."""
    x = np.ascontiguousarray(x)
    shape = x.shape[:2] + pooled_hw(x.shape[2:], kernel, stride, padding, ceil_mode)
    return (x, *(np.empty(shape, dtype=d or x.dtype) for d in dtypes))


def max_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
               ceil_mode: bool) -> tuple[np.ndarray, np.ndarray]:
    """out = max over each window of x padded with -inf; argmax (int64) = flat h W + w of its first maximum."""
    x, out, argmax = _with_outputs(x, kernel, stride, padding, ceil_mode, None, np.int64)
    if (*kernel, *stride, *padding, ceil_mode) == (2, 2, 2, 2, 0, 0, False):
        _max_pool_2x2(x.size, x, out, argmax)
    else:
        _pool(x.size, x, *kernel, *stride, *padding, True, np.ones((1, 1), x.dtype), out, argmax)
    return out, argmax


def max_pool2d_backward(dout: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """dx[n, c, argmax[n, c, oh, ow]] += dout[n, c, oh, ow], summed where windows overlap."""
    n, c, h, w = x_shape
    planes = (n * c, dout.shape[2] * dout.shape[3])          # no -1: it is ambiguous for an empty batch
    dout = np.ascontiguousarray(dout).reshape(planes)
    dx = np.empty((n * c, h * w), dtype=dout.dtype)
    _max_pool_backward(dx.size, dout, np.ascontiguousarray(argmax, dtype=np.int64).reshape(planes), dx)
    return dx.reshape(n, c, h, w)


def avg_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, ceil_mode: bool,
               count_include_pad: bool) -> np.ndarray:
    """out = sum over each zero-padded window / its divisor (``numpy_ref.pool.avg_divisor``)."""
    x, out = _with_outputs(x, kernel, stride, padding, ceil_mode, None)
    divisor = avg_divisor(x.shape[2:], out.shape[2:], kernel, stride, padding, count_include_pad, x.dtype)
    _pool(x.size, x, *kernel, *stride, *padding, False, divisor, out, np.empty((1, 1, 1, 1), np.int64))
    return out


def avg_pool2d_backward(dout: np.ndarray, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair,
                        count_include_pad: bool) -> np.ndarray:
    """Every pixel of a window gets dout / its divisor, summed over the windows that cover it: col2im of
    dout / divisor read as the column row of every kernel offset (no k_h k_w copy), on x with the
    ``ceil_mode`` overhang appended (``numpy_ref.pool.overhang``), cut off again."""
    n, c, ho, wo = dout.shape
    h, w = x_shape[2:]
    eh, ew = overhang((h, w), (ho, wo), kernel, stride, padding)
    dscaled = np.ascontiguousarray(dout / avg_divisor((h, w), (ho, wo), kernel, stride, padding, count_include_pad,
                                                      dout.dtype))
    dx = add_windows(dscaled.reshape(-1), (ho * wo, 0, c * ho * wo), (n, c, h + eh, w + ew), *kernel, stride,
                     padding, (1, 1))
    return dx[:, :, :h, :w]
