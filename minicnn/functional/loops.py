"""Naive loop versions of the window ops: the definitions, written out index by index.

They are slow on purpose. Each one IS the documentation of its op (read it next
to the vectorised version) and an exact oracle on tiny shapes in the tests.
They work on NumPy arrays only.
"""
from __future__ import annotations

import numpy as np

__all__ = ["conv2d_loops", "conv2d_backward_loops"]


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
