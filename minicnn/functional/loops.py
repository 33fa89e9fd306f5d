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
    (sh, sw), (ph, pw), (dil_h, dil_w) = stride, padding, dilation
    batch, c_in, h, width = x.shape
    c_out, cg, kh, kw = w.shape
    x_pad = _pad(x, ph, pw)
    ho = (h + 2 * ph - dil_h * (kh - 1) - 1) // sh + 1
    wo = (width + 2 * pw - dil_w * (kw - 1) - 1) // sw + 1
    y = np.zeros((batch, c_out, ho, wo), dtype=x.dtype)
    per_group = c_out // groups
    for n in range(batch):
        for o in range(c_out):
            g = o // per_group
            for oh in range(ho):
                for ow in range(wo):
                    acc = b[o] if b is not None else 0.0
                    for c in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                r, q = oh * sh + i * dil_h, ow * sw + j * dil_w
                                acc += w[o, c, i, j] * x_pad[n, g * cg + c, r, q]
                    y[n, o, oh, ow] = acc
    return y


def conv2d_backward_loops(dy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: tuple[int, int],
                          padding: tuple[int, int], dilation: tuple[int, int],
                          groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chain rule term by term: every product w[o,c,i,j] x_pad[...] in the forward sum sends
    dy[n,o,oh,ow] * x_pad[...] to dw[o,c,i,j] and dy[n,o,oh,ow] * w[o,c,i,j] to dx_pad[...]."""
    (sh, sw), (ph, pw), (dil_h, dil_w) = stride, padding, dilation
    batch, c_in, h, width = x.shape
    c_out, cg, kh, kw = w.shape
    x_pad = _pad(x, ph, pw)
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    per_group = c_out // groups
    _, _, ho, wo = dy.shape
    for n in range(batch):
        for o in range(c_out):
            g = o // per_group
            for oh in range(ho):
                for ow in range(wo):
                    for c in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                r, q = oh * sh + i * dil_h, ow * sw + j * dil_w
                                dw[o, c, i, j] += dy[n, o, oh, ow] * x_pad[n, g * cg + c, r, q]
                                dx_pad[n, g * cg + c, r, q] += dy[n, o, oh, ow] * w[o, c, i, j]
    db = dy.sum(axis=(0, 2, 3))
    return dx_pad[:, :, ph:ph + h, pw:pw + width], dw, db


def _pool_size(size: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    """floor((size + 2p - k) / s) + 1 windows; with ceil_mode the ceiling, written (size + 2p - k + s - 1) // s,
    less the last window when it would start in the right padding, at or after x_pad cell size + p."""
    n = (size + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
    return n - 1 if ceil_mode and (n - 1) * s >= size + p else n


def _first_max(x: np.ndarray, n: int, c: int, r0: int, q0: int, kh: int, kw: int) -> tuple[int, int]:
    """(row, col) in x of the first maximum, in row-major window order, of the window whose top-left
    corner is (r0, q0) in x's coordinates; cells outside x (padding, or past it) never win."""
    best, where = -np.inf, (-1, -1)
    for i in range(kh):
        for j in range(kw):
            r, q = r0 + i, q0 + j
            if 0 <= r < x.shape[2] and 0 <= q < x.shape[3] and (where[0] < 0 or x[n, c, r, q] > best):
                best, where = x[n, c, r, q], (r, q)
    return where


def max_pool2d_loops(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
                     ceil_mode: bool = False) -> np.ndarray:
    """y[n,c,oh,ow] = max_{i,j} x_pad[n, c, oh*s_h + i, ow*s_w + j], x_pad padded with -inf (and -inf past it)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    batch, channels, h, width = x.shape
    ho, wo = _pool_size(h, kh, sh, ph, ceil_mode), _pool_size(width, kw, sw, pw, ceil_mode)
    y = np.zeros((batch, channels, ho, wo), dtype=x.dtype)
    for n, c, oh, ow in np.ndindex(batch, channels, ho, wo):
        r, q = _first_max(x, n, c, oh * sh - ph, ow * sw - pw, kh, kw)
        y[n, c, oh, ow] = x[n, c, r, q]
    return y


def max_pool2d_backward_loops(dy: np.ndarray, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                              padding: tuple[int, int]) -> np.ndarray:
    """Each dy[n,c,oh,ow] is added to the pixel that won its window (the first maximum on ties)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    dx = np.zeros_like(x)
    batch, channels, ho, wo = dy.shape
    for n, c, oh, ow in np.ndindex(batch, channels, ho, wo):
        r, q = _first_max(x, n, c, oh * sh - ph, ow * sw - pw, kh, kw)
        dx[n, c, r, q] += dy[n, c, oh, ow]
    return dx


def _window(x_hw: tuple[int, int], r0: int, q0: int, kernel: tuple[int, int], padding: tuple[int, int],
            count_include_pad: bool) -> tuple[list[tuple[int, int]], int]:
    """The pixels (row, col) of x in the window with top-left corner (r0, q0) in x's coordinates, and its
    divisor: the number of its cells inside x_pad (count_include_pad) or inside x; never cells past x_pad."""
    (h, width), (ph, pw) = x_hw, padding
    pixels, count = [], 0
    for r in range(r0, r0 + kernel[0]):
        for q in range(q0, q0 + kernel[1]):
            if 0 <= r < h and 0 <= q < width:
                pixels.append((r, q))
                count += 1
            elif count_include_pad and -ph <= r < h + ph and -pw <= q < width + pw:
                count += 1
    return pixels, count


def avg_pool2d_loops(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
                     ceil_mode: bool = False, count_include_pad: bool = True) -> np.ndarray:
    """y[n,c,oh,ow] = (sum of the window's pixels) / (its divisor, see _window)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    batch, channels, h, width = x.shape
    ho, wo = _pool_size(h, kh, sh, ph, ceil_mode), _pool_size(width, kw, sw, pw, ceil_mode)
    y = np.zeros((batch, channels, ho, wo), dtype=x.dtype)
    for n, c, oh, ow in np.ndindex(batch, channels, ho, wo):
        pixels, count = _window((h, width), oh * sh - ph, ow * sw - pw, kernel, padding, count_include_pad)
        y[n, c, oh, ow] = sum(x[n, c, r, q] for r, q in pixels) / count
    return y


def avg_pool2d_backward_loops(dy: np.ndarray, x_shape: tuple[int, int, int, int], kernel: tuple[int, int],
                              stride: tuple[int, int], padding: tuple[int, int],
                              count_include_pad: bool = True) -> np.ndarray:
    """Each dy[n,c,oh,ow] / (its window's divisor) is added to every pixel of its window."""
    (sh, sw), (ph, pw) = stride, padding
    batch, channels, h, width = x_shape
    dx = np.zeros(x_shape, dtype=dy.dtype)
    _, _, ho, wo = dy.shape
    for n, c, oh, ow in np.ndindex(batch, channels, ho, wo):
        pixels, count = _window((h, width), oh * sh - ph, ow * sw - pw, kernel, padding, count_include_pad)
        for r, q in pixels:
            dx[n, c, r, q] += dy[n, c, oh, ow] / count
    return dx
