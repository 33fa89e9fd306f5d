"""Naive loop versions of the window ops: the definitions, written out index by index.

They are slow on purpose. Each one IS the documentation of its op (read it next
to the vectorised version) and an exact oracle on tiny shapes in the tests.
They work on NumPy arrays only.
"""
from __future__ import annotations

import numpy as np

__all__ = ["conv2d_loops", "conv2d_backward_loops", "max_pool2d_loops", "max_pool2d_backward_loops",
           "avg_pool2d_loops", "avg_pool2d_backward_loops"]


def _pad(x: np.ndarray, ph: int, pw: int, value: float = 0.0) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def conv2d_loops(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: tuple[int, int],
                 padding: tuple[int, int], dilation: tuple[int, int], groups: int) -> np.ndarray:
    """y[n,o,oh,ow] = b[o] + sum_{c,i,j} w[o,c,i,j] x_pad[n, g*Cg + c, oh*s_h + i*d_h, ow*s_w + j*d_w]."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n_, c_in, h, wd = x.shape
    c_out, cg, kh, kw = w.shape
    xp = _pad(x, ph, pw)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n_, c_out, ho, wo), dtype=x.dtype)
    per_group = c_out // groups
    for n in range(n_):
        for o in range(c_out):
            g = o // per_group
            for oh in range(ho):
                for ow in range(wo):
                    acc = b[o] if b is not None else 0.0
                    for c in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                acc += w[o, c, i, j] * xp[n, g * cg + c, oh * sh + i * dh, ow * sw + j * dw]
                    y[n, o, oh, ow] = acc
    return y


def conv2d_backward_loops(dy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: tuple[int, int],
                          padding: tuple[int, int], dilation: tuple[int, int],
                          groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chain rule term by term: every product w[o,c,i,j] x_pad[...] in the forward sum sends
    dy[n,o,oh,ow] * x_pad[...] to dw[o,c,i,j] and dy[n,o,oh,ow] * w[o,c,i,j] to dx_pad[...]."""
    (sh, sw), (ph, pw), (dh, dw_) = stride, padding, dilation
    n_, c_in, h, wd = x.shape
    c_out, cg, kh, kw = w.shape
    xp = _pad(x, ph, pw)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    per_group = c_out // groups
    _, _, ho, wo = dy.shape
    for n in range(n_):
        for o in range(c_out):
            g = o // per_group
            for oh in range(ho):
                for ow in range(wo):
                    for c in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                r, q = oh * sh + i * dh, ow * sw + j * dw_
                                dw[o, c, i, j] += dy[n, o, oh, ow] * xp[n, g * cg + c, r, q]
                                dxp[n, g * cg + c, r, q] += dy[n, o, oh, ow] * w[o, c, i, j]
    db = dy.sum(axis=(0, 2, 3))
    return dxp[:, :, ph:ph + h, pw:pw + wd], dw, db


def _first_max(x: np.ndarray, n: int, c: int, r0: int, q0: int, kh: int, kw: int) -> tuple[int, int]:
    """(row, col) in x of the first maximum, in row-major window order, of the window whose top-left
    corner is (r0, q0) in padded coordinates; padded cells (outside x) never win."""
    best, where = -np.inf, (-1, -1)
    for i in range(kh):
        for j in range(kw):
            r, q = r0 + i, q0 + j
            if 0 <= r < x.shape[2] and 0 <= q < x.shape[3] and (where[0] < 0 or x[n, c, r, q] > best):
                best, where = x[n, c, r, q], (r, q)
    return where


def max_pool2d_loops(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[int, int]) -> np.ndarray:
    """y[n,c,oh,ow] = max_{i,j} x_pad[n, c, oh*s_h + i, ow*s_w + j], x_pad padded with -inf."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n_, c_, h, wd = x.shape
    ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((n_, c_, ho, wo), dtype=x.dtype)
    for n in range(n_):
        for c in range(c_):
            for oh in range(ho):
                for ow in range(wo):
                    r, q = _first_max(x, n, c, oh * sh - ph, ow * sw - pw, kh, kw)
                    y[n, c, oh, ow] = x[n, c, r, q]
    return y


def max_pool2d_backward_loops(dy: np.ndarray, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                              padding: tuple[int, int]) -> np.ndarray:
    """Each dy[n,c,oh,ow] is added to the pixel that won its window (the first maximum on ties)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    dx = np.zeros_like(x)
    n_, c_, ho, wo = dy.shape
    for n in range(n_):
        for c in range(c_):
            for oh in range(ho):
                for ow in range(wo):
                    r, q = _first_max(x, n, c, oh * sh - ph, ow * sw - pw, kh, kw)
                    dx[n, c, r, q] += dy[n, c, oh, ow]
    return dx


def avg_pool2d_loops(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[int, int]) -> np.ndarray:
    """y[n,c,oh,ow] = sum_{i,j} x_pad[n, c, oh*s_h + i, ow*s_w + j] / (k_h k_w), x_pad padded with zeros."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n_, c_, h, wd = x.shape
    xp = _pad(x, ph, pw)
    ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((n_, c_, ho, wo), dtype=x.dtype)
    for n in range(n_):
        for c in range(c_):
            for oh in range(ho):
                for ow in range(wo):
                    acc = 0.0
                    for i in range(kh):
                        for j in range(kw):
                            acc += xp[n, c, oh * sh + i, ow * sw + j]
                    y[n, c, oh, ow] = acc / (kh * kw)
    return y


def avg_pool2d_backward_loops(dy: np.ndarray, x_shape: tuple[int, int, int, int], kernel: tuple[int, int],
                              stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    """Each dy[n,c,oh,ow] / (k_h k_w) is added to every cell of its window; padded cells are dropped."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n_, c_, h, wd = x_shape
    dxp = np.zeros((n_, c_, h + 2 * ph, wd + 2 * pw), dtype=dy.dtype)
    _, _, ho, wo = dy.shape
    for n in range(n_):
        for c in range(c_):
            for oh in range(ho):
                for ow in range(wo):
                    for i in range(kh):
                        for j in range(kw):
                            dxp[n, c, oh * sh + i, ow * sw + j] += dy[n, c, oh, ow] / (kh * kw)
    return dxp[:, :, ph:ph + h, pw:pw + wd]
