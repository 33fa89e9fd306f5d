"""im2col and col2im in plain NumPy: one strided view, one copy; one add per kernel offset.
Depthwise convolution straight from the same view, without columns.

Notation: x is (N, C, H, W); the kernel is k_h x k_w with stride s, padding p and
dilation d; the output plane is H_out x W_out (see ``minicnn.kernels``).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import out_size

__all__ = ["im2col", "col2im", "depthwise_conv2d", "depthwise_conv2d_backward", "windows", "COLUMN_CHUNK_BYTES",
           "DEPTHWISE_CONV2D"]

COLUMN_CHUNK_BYTES = 1 << 22
"""conv2d builds at most this many bytes of columns at once: a few MiB stay in cache between im2col and the GEMM."""
DEPTHWISE_CONV2D = False
"""conv2d keeps the grouped im2col GEMMs when groups == C_in: :func:`depthwise_conv2d` (the oracle of the Numba
kernels) was measured 1.7-2x slower here, e.g. 157 ms against 85 ms forward and backward at (64, 64, 28, 28) 3x3."""

Pair = tuple[int, int]


def windows(x: np.ndarray, kh: int, kw: int, stride: Pair, padding: Pair, dilation: Pair,
            pad_value: float = 0.0) -> np.ndarray:
    """A read-only view ``v`` of shape (N, C, k_h, k_w, H_out, W_out) with

        v[n, c, i, j, oh, ow] = x_pad[n, c, oh*s_h + i*d_h, ow*s_w + j*d_w]

    where ``x_pad`` is x padded with ``pad_value``. No data is copied except
    the padding itself.
    """
    n, c, h, w = x.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    s_n, s_c, s_h, s_w = x.strides
    return as_strided(x, shape=(n, c, kh, kw, ho, wo),
                      strides=(s_n, s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w),
                      writeable=False)


def im2col(x: np.ndarray, kh: int, kw: int, stride: Pair, padding: Pair,
           dilation: Pair) -> np.ndarray:
    """cols[n, c*k_h*k_w + i*k_w + j, oh*W_out + ow] = x_pad[n, c, oh*s_h + i*d_h, ow*s_w + j*d_w].

    One copy of the window view, made channel-major: the result is the
    (N, C k_h k_w, L) transposed view of a contiguous (C k_h k_w, N, L) array,
    so conv2d can multiply the columns of all N images in one GEMM.
    """
    v = windows(x, kh, kw, stride, padding, dilation)
    n, c, _, _, ho, wo = v.shape
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    cols[...] = v.transpose(1, 2, 3, 0, 4, 5)
    return cols.reshape(c * kh * kw, n, ho * wo).transpose(1, 0, 2)


def col2im(cols: np.ndarray, x_shape: tuple[int, ...], kh: int, kw: int, stride: Pair,
           padding: Pair, dilation: Pair) -> np.ndarray:
    """The adjoint of :func:`im2col`: every column entry is ADDED back to the pixel it was read from.

    ``<im2col(x), y> == <x, col2im(y)>`` for all x, y.
    """
    n, c, h, w = x_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    return add_windows(cols.reshape(n, c, kh, kw, ho, wo), x_shape, stride, padding, dilation)


def add_windows(v: np.ndarray, x_shape: tuple[int, ...], stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """The adjoint of :func:`windows`: dx (N, C, H, W) with every ``v[n, c, i, j, oh, ow]`` added to
    the pixel x_pad[n, c, oh*s_h + i*d_h, ow*s_w + j*d_w] it stands for, in (i, j) order.

    Overlapping windows (stride < dilated kernel) make several entries land on
    one pixel, hence the accumulation; padded positions are dropped at the end.
    ``v`` may be any view (average-pool backward passes one with stride 0 over i and j).
    """
    n, c, h, w = x_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    kh, kw, ho, wo = v.shape[2:]
    dx = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=v.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
               j * dw:j * dw + sw * (wo - 1) + 1:sw] += v[:, :, i, j]
    return dx[:, :, ph:ph + h, pw:pw + w]


def depthwise_conv2d(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """y (N, C m, H_out, W_out) of x (N, C, H, W) and w (C m, 1, k_h, k_w): channel c's own filters
    c m + t (t < m, the channel multiplier), one shifted, strided view of x per kernel offset:

        y[n, c m + t, oh, ow] = sum_{i,j} w[c m + t, 0, i, j] x_pad[n, c, oh s_h + i d_h, ow s_w + j d_w]
    """
    kh, kw = w.shape[2:]
    v = windows(x, kh, kw, stride, padding, dilation)                # (N, C, k_h, k_w, H_out, W_out)
    n, c, _, _, ho, wo = v.shape
    w_c = w.reshape(c, -1, kh, kw)                                   # w_c[c, t] = w[c m + t, 0]
    y = np.zeros((n, c, w_c.shape[1], ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            y += v[:, :, None, i, j] * w_c[None, :, :, i, j, None, None]
    return y.reshape(n, w.shape[0], ho, wo)


def depthwise_conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair,
                              dilation: Pair, input_grad: bool) -> tuple[np.ndarray | None, np.ndarray]:
    """(dx, dw) of :func:`depthwise_conv2d` for dout = dLoss/dy; dx is None without ``input_grad``.

    y is linear in w and in the window view v of x, so (with o = c m + t)

        dw[o, 0, i, j]        = sum_{n,oh,ow} dout[n, o, oh, ow] v[n, c, i, j, oh, ow]
        dv[n, c, i, j, oh, ow] = sum_t w[c m + t, 0, i, j] dout[n, c m + t, oh, ow]
        dx                    = add_windows(dv)        (the adjoint of the view: overlaps summed)
    """
    kh, kw = w.shape[2:]
    v = windows(x, kh, kw, stride, padding, dilation)
    n, c, _, _, ho, wo = v.shape
    w_c = w.reshape(c, -1, kh, kw)
    dout_c = dout.reshape(n, *w_c.shape[:2], ho, wo)                        # dout_c[n, c, t] = dout[n, c m + t]
    dw = np.einsum("nctpq,ncijpq->ctij", dout_c, v).reshape(w.shape)
    if not input_grad:
        return None, dw
    return add_windows(np.einsum("ctij,nctpq->ncijpq", w_c, dout_c), x.shape, stride, padding, dilation), dw
