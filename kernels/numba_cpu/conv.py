"""im2col and col2im as Numba loops, parallel over (n, c) planes.

Notation: x is (N, C, H, W); the kernel is k_h x k_w with stride s, padding p and
dilation d; the output plane is H_out x W_out (see ``minicnn.kernels``); kernel
offset (i, j) feeds column row ``r = c k_h k_w + i k_w + j``.

Column storage is channel-major: the buffer is (C k_h k_w, N, H_out W_out) and
:func:`im2col` returns its (N, C k_h k_w, H_out W_out) transposed view (see
``minicnn.kernels``), so a convolution multiplies every image's columns in one
GEMM. The loops below index that buffer as ``cols[r, n, q]``.

Two loop nests compute the same maps:

* the general one works row by row: for kernel column j the output columns that
  read inside the image are the range ``[lo, hi)`` with
  ``0 <= ow s_w - p_w + j d_w < W`` (:func:`_valid_range`), computed once, so
  the innermost loops have no bounds tests;
* the "same" one (stride 1 and W_out == W, e.g. 3x3 with padding 1) uses that
  column row r is then the flat plane SHIFTED by
  ``delta = (i d_h - p_h) W + (j d_w - p_w)``:
  ``cols[r, n, q] = x[n, c].flat[q + delta]``, except in the padding columns.
  One long contiguous loop per (n, c, i, j) then replaces H_out short ones, which
  matters for 28- and 14-wide images: LLVM only vectorises loops long enough.

col2im is written as a gather, not a scatter: each (n, c) plane belongs to one
thread, which adds the contributions of every kernel offset in (i, j) order,
exactly as the NumPy reference does, so results agree bit for bit.

Depthwise convolution (channel c convolved with its own filters o = c m + t, t < m)
needs no columns: for each kernel offset (i, j) the output plane adds w[o, i, j]
times a shifted, strided stretch of the input plane. One kernel holds both loop
nests, on flat planes: rows with ``[lo, hi)`` ranges, or one flat shifted loop for
stride 1 and W_out == W, where a per-column mask ``keep[j, q]`` drops the reads that
wrap round a row edge. The backward walks the same index pairs (q, q + delta) with
the assignment turned round: dx[q + delta] += w dy[q] (a scatter, but each
thread owns one channel's planes, so no two threads write one pixel) and
dw[o, i, j] += dy[q] x[q + delta], kept as elementwise partial sums part[t, k, q] (k = i k_w + j)
(vectorised) and added up in q order at the end: the same order on any thread count.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import out_size
from . import _OPTIONS, Twin, _split_plane, unsigned

__all__ = ["im2col", "col2im", "depthwise_conv2d", "depthwise_conv2d_backward", "COLUMN_CHUNK_BYTES",
           "DEPTHWISE_CONV2D"]

COLUMN_CHUNK_BYTES = 1 << 22
"""conv2d builds at most this many bytes of columns at once (see ``minicnn.functional.conv``)."""
DEPTHWISE_CONV2D = True
"""conv2d takes :func:`depthwise_conv2d` when groups == C_in > 1: measured 2-5x faster forward and backward than
the grouped im2col GEMMs on every layer tried (3x3 and 5x5, strides 1 and 2, multipliers 1-2, 7x7 to 56x56
planes), e.g. 64 -> 14 ms at (64, 64, 28, 28) 3x3 (a 1-channel input is as fast either way and keeps its GEMM)."""

Pair = tuple[int, int]


@njit(**_OPTIONS)
def _valid_range(offset: int, stride: int, size: int, count: int) -> tuple[int, int]:
    """``[lo, hi)``: the o in ``[0, count)`` with ``0 <= o * stride + offset < size``."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = 0 if size - offset <= 0 else (size - offset + stride - 1) // stride
    lo = min(lo, count)
    hi = min(max(hi, lo), count)
    return lo, hi


@Twin
def _im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols):
    """cols[r, n, oh W_out + ow] = x_pad[n, c, oh s_h + i d_h, ow s_w + j d_w], row by row."""
    n, c, h, w = x.shape
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        for i in range(kh):
            for j in range(kw):
                r = (ch * kh + i) * kw + j
                off = j * dw - pw
                lo, hi = _valid_range(off, sw, w, wo)
                for oh in range(ho):
                    ih = oh * sh - ph + i * dh
                    base = oh * wo
                    if ih < 0 or ih >= h:
                        for ow in range(wo):
                            cols[r, b, unsigned(base + ow)] = 0
                        continue
                    for ow in range(lo):
                        cols[r, b, unsigned(base + ow)] = 0
                    if sw == 1:
                        for ow in range(lo, hi):
                            cols[r, b, unsigned(base + ow)] = x[b, ch, ih, unsigned(ow + off)]
                    else:
                        for ow in range(lo, hi):
                            cols[r, b, unsigned(base + ow)] = x[b, ch, ih, unsigned(ow * sw + off)]
                    for ow in range(hi, wo):
                        cols[r, b, unsigned(base + ow)] = 0


@Twin
def _im2col_same(x, w, kh, kw, ph, pw, dh, dw, ho, cols):
    """Stride 1, W_out == W: cols[r, n, q] = x[n, c, q + delta] (x as (N, C, H W)), then zero what reads padding."""
    n, c, hw = x.shape
    h = hw // w
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        for i in range(kh):
            oh_lo = min(max(ph - i * dh, 0), ho)              # rows with 0 <= oh - p_h + i d_h < H
            oh_hi = max(min(h + ph - i * dh, ho), oh_lo)
            for j in range(kw):
                r = (ch * kh + i) * kw + j
                off = j * dw - pw
                lo, hi = _valid_range(off, 1, w, w)
                delta = (i * dh - ph) * w + off
                for q in range(oh_lo * w):
                    cols[r, b, unsigned(q)] = 0
                for q in range(max(oh_lo * w, -delta), min(oh_hi * w, hw - delta)):
                    cols[r, b, unsigned(q)] = x[b, ch, unsigned(q + delta)]
                for oh in range(oh_lo, oh_hi):
                    for ow in range(lo):
                        cols[r, b, unsigned(oh * w + ow)] = 0
                    for ow in range(hi, w):
                        cols[r, b, unsigned(oh * w + ow)] = 0
                for q in range(oh_hi * w, ho * w):
                    cols[r, b, unsigned(q)] = 0


@Twin
def _col2im(src, steps, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, dx):
    """dx[n, c, h, w] = sum over (i, j) of the column entries read from pixel (h, w), in (i, j) order.

    Kernel row i feeds image row h from output row oh = (h + p_h - i d_h) / s_h
    when that is a whole number in [0, H_out); every kernel column j then adds
    its valid stretch of that output row.
    """
    n, c, h, w = dx.shape
    step_c, step_k, step_n = steps
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        for ih in range(h):
            dx[b, ch, ih, :] = 0
            for i in range(kh):
                t = ih + ph - i * dh
                if t < 0 or t % sh != 0 or t // sh >= ho:
                    continue
                for j in range(kw):
                    start = ch * step_c + (i * kw + j) * step_k + b * step_n + (t // sh) * wo
                    off = j * dw - pw
                    lo, hi = _valid_range(off, sw, w, wo)
                    if sw == 1:
                        for ow in range(lo, hi):
                            dx[b, ch, ih, unsigned(ow + off)] += src[unsigned(start + ow)]
                    else:
                        for ow in range(lo, hi):
                            dx[b, ch, ih, unsigned(ow * sw + off)] += src[unsigned(start + ow)]


@Twin
def _col2im_same(src, steps, w, kh, kw, ph, pw, dh, dw, ho, dx):
    """Stride 1, W_out == W: dx[n, c, q] += (column row (c, i, j) of image n)[q - delta] (dx as (N, C, H W))
    where column q % W is inside."""
    n, c, hw = dx.shape
    h = hw // w
    step_c, step_k, step_n = steps
    keep = np.zeros((kw, hw), np.bool_)     # keep[j, q]: image column q % W reads inside for offset j
    for j in range(kw):
        lo, hi = _valid_range(j * dw - pw, 1, w, w)
        for q in range(hw):
            keep[j, q] = lo + j * dw - pw <= q % w < hi + j * dw - pw
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        for q in range(hw):
            dx[b, ch, unsigned(q)] = 0
        for i in range(kh):
            h_lo = min(max(i * dh - ph, 0), h)                # rows with 0 <= h + p_h - i d_h < H_out
            h_hi = max(min(ho + i * dh - ph, h), h_lo)
            for j in range(kw):
                start = ch * step_c + (i * kw + j) * step_k + b * step_n
                delta = (i * dh - ph) * w + j * dw - pw
                for q in range(max(h_lo * w, delta), min(h_hi * w, ho * w + delta)):
                    if keep[j, unsigned(q)]:
                        dx[b, ch, unsigned(q)] += src[unsigned(start + q - delta)]


def im2col(x: np.ndarray, kh: int, kw: int, stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """Columns (N, C k_h k_w, H_out W_out) of every receptive field; padding reads as 0.

    The result is the transposed view of a contiguous (C k_h k_w, N, H_out W_out) buffer.
    """
    x = np.ascontiguousarray(x)
    n, c, h, w = x.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    cols = np.empty((c * kh * kw, n, ho * wo), dtype=x.dtype)
    if sh == 1 and sw == 1 and wo == w:
        _im2col_same(cols.size, x.reshape(n, c, h * w), w, kh, kw, ph, pw, dh, dw, ho, cols)
    else:
        _im2col(cols.size, x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols)
    return cols.transpose(1, 0, 2)


def col2im(cols: np.ndarray, x_shape: tuple[int, ...], kh: int, kw: int, stride: Pair, padding: Pair,
           dilation: Pair) -> np.ndarray:
    """The adjoint of :func:`im2col` (N, C, H, W): every column entry is added to the pixel it was read from.

    ``cols`` (N, C k_h k_w, H_out W_out) may have any strides; the channel-major
    view :func:`im2col` returns is read without a copy.
    """
    cols = np.ascontiguousarray(cols.transpose(1, 0, 2))           # (C k_h k_w, N, L)
    n, length = x_shape[0], cols.shape[2]
    steps = (kh * kw * n * length, n * length, length)
    return add_windows(cols.reshape(-1), steps, x_shape, kh, kw, stride, padding, dilation)


def add_windows(src: np.ndarray, steps: tuple[int, int, int], x_shape: tuple[int, ...], kh: int, kw: int,
                stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """col2im's gather on columns held in the flat array ``src``: the row of channel c, kernel offset
    (i, j) and image n starts at ``c step_c + (i k_w + j) step_k + n step_n`` for
    ``steps = (step_c, step_k, step_n)``. col2im's buffer has (k_h k_w N L, N L, L); average-pool
    backward passes dout / (k_h k_w) as (N, C, L) with (L, 0, C L): one row for every kernel offset."""
    n, c, h, w = x_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    dx = np.empty((n, c, h, w), dtype=src.dtype)
    work = dx.size * kh * kw
    if sh == 1 and sw == 1 and wo == w:
        _col2im_same(work, src, steps, w, kh, kw, ph, pw, dh, dw, ho, dx.reshape(n, c, h * w))
    else:
        _col2im(work, src, steps, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, dx)
    return dx


@njit(**_OPTIONS)
def _reach(kh, kw, hw, length, w, wo, sh, sw, ph, pw, dh, dw):
    """(same, reach, keep) of a depthwise layer on flat planes (inputs H W, outputs H_out W_out).

    Row k = i k_w + j of ``reach`` says where kernel offset (i, j) reads inside the image: output rows
    [r_lo, r_hi) and columns [lo, hi), delta = (i d_h - p_h) W + j d_w - p_w (output (oh, ow) reads input
    delta + oh s_h W + ow s_w), and the flat outputs [q_lo, q_hi) whose reads q + delta stay in the plane.
    ``same`` (stride 1, W_out == W) lets one flat loop over [q_lo, q_hi) replace the rows, with
    keep[k, q] false where q + delta wraps round a row edge.
    """
    h, ho = hw // w, length // wo
    reach = np.empty((kh * kw, 7), np.int64)
    keep = np.zeros((kh * kw, length), np.bool_)
    for k in range(kh * kw):
        i, j = k // kw, k % kw
        r_lo, r_hi = _valid_range(i * dh - ph, sh, h, ho)
        lo, hi = _valid_range(j * dw - pw, sw, w, wo)
        delta = (i * dh - ph) * w + j * dw - pw
        reach[k] = (r_lo, r_hi, lo, hi, delta, max(r_lo * w, -delta), min(r_hi * w, hw - delta))
        for q in range(length):
            keep[k, q] = lo <= q % w < hi
    return sh == 1 and sw == 1 and wo == w, reach, keep


@Twin
def _depthwise(x, wt, kw, w, wo, sh, sw, ph, pw, dh, dw, y):
    """y[n, o, oh, ow] = sum_{i,j} w[o, i, j] x_pad[n, o // m, oh s_h + i d_h, ow s_w + j d_w] on flat planes
    (x (N, C, H W), w (C m, k_h k_w), y (N, C m, H_out W_out)), over each kernel offset's reach
    (:func:`_reach`); with ``same``, y[q] += w x[q + delta] where keep[k, q], in one flat loop."""
    n, c, hw = x.shape
    _, co, length = y.shape
    same, reach, keep = _reach(wt.shape[1] // kw, kw, hw, length, w, wo, sh, sw, ph, pw, dh, dw)
    m, zero = co // c, y.dtype.type(0)
    for p in prange(n * co):
        b, o = _split_plane(p, co)
        ch = o // m
        for q in range(length):
            y[b, o, unsigned(q)] = 0
        for k in range(reach.shape[0]):
            r_lo, r_hi, lo, hi, delta, q_lo, q_hi = reach[k]
            wk = wt[o, k]
            if same:
                for q in range(q_lo, q_hi):
                    v = wk * x[b, ch, unsigned(q + delta)]
                    y[b, o, unsigned(q)] += v if keep[k, unsigned(q)] else zero
                continue
            for oh in range(r_lo, r_hi):
                src = delta + oh * sh * w
                for ow in range(lo, hi):
                    y[b, o, unsigned(oh * wo + ow)] += wk * x[b, ch, unsigned(src + ow * sw)]


@Twin
def _depthwise_backward(dy, x, wt, kw, w, wo, sh, sw, ph, pw, dh, dw, input_grad, dx, dwt):
    """dx[n, c, ih, iw] = sum of w[o, i, j] dy[n, o, oh, ow] over the (o, i, j, oh, ow) that read (ih, iw)
    (with input_grad), dw[o, i, j] = sum_{n,oh,ow} dy[n, o, oh, ow] x_pad[n, c, oh s_h + i d_h, ow s_w + j d_w]:
    :func:`_depthwise`'s index pairs with the assignment turned round, one channel c (its m filters) per thread."""
    n, c, hw = x.shape
    _, co, length = dy.shape
    same, reach, keep = _reach(wt.shape[1] // kw, kw, hw, length, w, wo, sh, sw, ph, pw, dh, dw)
    m, zero = co // c, dy.dtype.type(0)
    for ch in prange(c):
        part = np.zeros((m, reach.shape[0], length), dy.dtype)
        for b in range(n):
            if input_grad:
                for q in range(hw):
                    dx[b, ch, unsigned(q)] = 0
            for t in range(m):
                o = ch * m + t
                for k in range(reach.shape[0]):
                    wk = wt[o, k]
                    r_lo, r_hi, lo, hi, delta, q_lo, q_hi = reach[k]
                    if same:
                        for q in range(q_lo, q_hi):
                            v = dy[b, o, unsigned(q)] * x[b, ch, unsigned(q + delta)]
                            part[t, k, unsigned(q)] += v if keep[k, unsigned(q)] else zero
                        if input_grad:
                            for q in range(q_lo, q_hi):
                                v = wk * dy[b, o, unsigned(q)]
                                dx[b, ch, unsigned(q + delta)] += v if keep[k, unsigned(q)] else zero
                        continue
                    for oh in range(r_lo, r_hi):
                        src = delta + oh * sh * w
                        for ow in range(lo, hi):
                            g = dy[b, o, unsigned(oh * wo + ow)]
                            part[t, k, unsigned(oh * wo + ow)] += g * x[b, ch, unsigned(src + ow * sw)]
                            if input_grad:
                                dx[b, ch, unsigned(src + ow * sw)] += wk * g
        _sum_parts(part.reshape(m * reach.shape[0], length), dwt[ch])


@njit(**_OPTIONS)
def _sum_parts(part, out):
    """out[r] = sum_q part[r, q], added in q order."""
    for r in range(part.shape[0]):
        total = part[r, 0]
        for q in range(1, part.shape[1]):
            total += part[r, q]
        out[r] = total


def depthwise_conv2d(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """y (N, C m, H_out, W_out): channel c convolved with its filters w[c m + t, 0] (w is (C m, 1, k_h, k_w))."""
    x = np.ascontiguousarray(x)
    n, c, h, width = x.shape
    co, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(width, kw, sw, pw, dw)
    y = np.empty((n, co, ho, wo), dtype=x.dtype)
    _depthwise(y.size * kh * kw, x.reshape(n, c, h * width), np.ascontiguousarray(w).reshape(co, kh * kw), kw,
               width, wo, sh, sw, ph, pw, dh, dw, y.reshape(n, co, ho * wo))
    return y


def depthwise_conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair,
                              dilation: Pair, input_grad: bool) -> tuple[np.ndarray | None, np.ndarray]:
    """(dx or None, dw) of :func:`depthwise_conv2d`; dx only with ``input_grad``."""
    dout, x = np.ascontiguousarray(dout), np.ascontiguousarray(x)
    n, c, h, width = x.shape
    co, _, kh, kw = w.shape
    ho, wo = dout.shape[2:]
    dx = np.empty_like(x)                                # not written without input_grad
    dwt = np.empty((c, co // c * kh * kw), dtype=x.dtype)     # row c: the (t, i, j) of filters c m + t
    _depthwise_backward(dout.size * kh * kw, dout.reshape(n, co, ho * wo), x.reshape(n, c, h * width),
                        np.ascontiguousarray(w).reshape(co, kh * kw), kw, width, wo, *stride, *padding, *dilation,
                        input_grad, dx.reshape(n, c, h * width), dwt)
    return (dx if input_grad else None), dwt.reshape(w.shape)
