r"""3x3, stride-1 convolution by Winograd's minimal filtering F(m x m, 3 x 3), and its backward.

Notation
--------
x  : (N, C_in, H, W)            input,  w : (C_out, C_in, 3, 3) weight (OIHW),  b : (C_out,) bias
y  : (N, C_out, H_o, W_o)       output, H_o = H + 2p - 2, W_o = W + 2p - 2 (padding p, stride 1)
m  : output tile side (2 or 4), a = m + 2 the input tile side, T = ceil(H_o/m) ceil(W_o/m) tiles per image
P  = N T                        tiles per channel, indexed t = (n, t_h, t_w)

1-D: F(m, 3) gives m outputs of a 3-tap correlation, y_i = sum_k d_{i+k} g_k (i < m), with a
multiplies instead of 3m:

    y = A^T [ (G g) * (B^T d) ]             A^T (m x a), G (a x 3), B^T (a x a), * elementwise

It is the transpose of polynomial multiplication evaluated at a - 1 points p_j and at infinity
(Toom-Cook): with E_r[j, k] = p_j^k (last row e_{r-1}), the product s = g h of polynomials of
degrees 2 and m - 1 is s = C [(E_3 g) * (E_m h)], C's column j the coefficients of the Lagrange
polynomial L_j(x) = prod_{l != j} (x - p_l) / f_j, f_j = prod_{l != j} (p_j - p_l) (last column:
prod_l (x - p_l)). The map h -> s is the matrix S_g = C diag(E_3 g) E_m with S_g[t, i] = g_{t-i}, and
correlation is its transpose: y = S_g^T d = E_m^T [(E_3 g) * (C^T d)]. So A^T = E_m^T, G = E_3 and
B^T = C^T, with 1/f_j moved from B^T into G (:func:`winograd_matrices` builds them in exact rationals).

2-D, nesting the 1-D algorithm along both axes, per tile and channel pair:

    Y_tile = A^T [ (G g G^T) * (B^T d B) ] A          d: a x a input tile, Y_tile: m x m

Summing over input channels inside the transform domain turns the a^2 products into GEMMs:

    U[e, o, c] = (G w[o, c] G^T)[e]                   (a^2, C_out, C_in)   weight transform, one GEMM:
                                                      U = (G (x) G) w.reshape(C_out C_in, 9)^T
    V[e, c, t] = (B^T d[n, c, tile] B)[e]             (a^2, C_in, P)       kernels.winograd_gather
    M[e]       = U[e] @ V[e]                          (a^2, C_out, P)      a^2 GEMMs
    y[n, o, tile] = (A^T M[:, o, t] A)[:H_o, :W_o] + b[o]                 kernels.winograd_scatter

where e = (xi, nu) runs over the a x a transform positions and tile t reads x_pad rows/columns
t_h m - p + [0, a) (zero outside the image). The identity is exact in real arithmetic; in floating
point the transforms scale values by up to max|B^T| max|A^T| (see the derivation page).

Backward: every step is linear, so each gradient is the adjoint (transpose) of its step, for
dy = dLoss/dy:

    dM[e, o, t] = (A dy[n, o, tile] A^T)[e]            (a^2, C_out, P)   kernels.winograd_gather with A = (A^T)^T
    dU[e]       = dM[e] @ V[e]^T                       (a^2, C_out, C_in), summed over chunks of images
    dw[o, c]    = G^T dU[:, o, c] G                    (C_out, C_in, 3, 3), one GEMM with G (x) G
    dV[e]       = U[e]^T @ dM[e]                       (a^2, C_in, P)
    dx[n, c]    = sum over tiles of B dV[:, c, t] B^T, each a x a block ADDED where its tile was read
                  (tiles overlap by 2 pixels; kernels.winograd_scatter with B = (B^T)^T)
    db[o]       = sum_{n,h,w} dy[n, o, h, w]

The cache keeps x and U; backward re-gathers V chunk by chunk (one input transform instead of
keeping a^2/m^2 times the input). Images are processed in chunks of at most the kernel set's
``WINOGRAD_CHUNK_BYTES`` of V and M, so that they stay in cache between the transforms and the GEMMs, but of
at least ``WINOGRAD_MIN_TILES`` tiles, so that the GEMMs stay wide.

m = 4 does 4x fewer multiplies than direct convolution and is the faster; its float32 error is
about 5x direct convolution's (2.7e-6 of the largest value, with the points in ``POINTS``), while
m = 2 (2.25x fewer) is as accurate as direct convolution.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import prod
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np

from .. import backend
from ..checks import require_float, require_ndim

__all__ = ["winograd_conv2d_forward", "winograd_conv2d_backward", "winograd_matrices", "WinogradCache",
           "POINTS"]

POINTS = {2: (0, 1, -1), 4: (0, 1, -1, Fraction(1, 2), -2)}
"""The finite interpolation points of F(m, 3) per output tile side m (infinity is the last point)."""

def winograd_matrices(m: int, points: Sequence[Any] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A^T (m x a), G (a x 3), B^T (a x a)) of F(m, 3), a = m + 2, as exact ``Fraction`` object arrays.

    ``points``: a - 1 distinct finite interpolation points (default ``POINTS[m]``); the last row of
    G and B^T and the last column of A^T belong to the point at infinity.
    """
    pts = [Fraction(p) for p in (POINTS[m] if points is None else points)]
    a = m + 2
    if len(pts) != a - 1 or len(set(pts)) != a - 1:
        raise ValueError(f"F({m}, 3) needs {a - 1} distinct finite points, got {points}")

    def monic(roots: list[Fraction]) -> list[Fraction]:
        """Coefficients (ascending powers, padded to length a) of prod (x - root)."""
        c = [Fraction(1)]
        for root in roots:
            c = [(c[i - 1] if i else 0) - root * (c[i] if i < len(c) else 0) for i in range(len(c) + 1)]
        return c + [Fraction(0)] * (a - len(c))

    at = [[p ** i for p in pts] + [Fraction(int(i == m - 1))] for i in range(m)]
    g, bt = [], []
    for j, p in enumerate(pts):
        f = prod(p - q for q in pts if q != p)
        g.append([p ** k / abs(f) for k in range(3)])
        bt.append([c * (1 if f > 0 else -1) for c in monic([q for q in pts if q != p])])
    g.append([Fraction(0), Fraction(0), Fraction(1)])
    bt.append(monic(pts))
    return tuple(np.array(mat, dtype=object) for mat in (at, g, bt))


@lru_cache(maxsize=None)
def _transforms(m: int, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """(A^T, A, B^T, B, G (x) G) in ``dtype``: U = (G (x) G) w.reshape(C_out C_in, 9)^T is the weight transform."""
    at, g, bt = (mat.astype(np.float64) for mat in winograd_matrices(m))
    return tuple(np.ascontiguousarray(mat, dtype=dtype) for mat in (at, at.T, bt, bt.T, np.kron(g, g)))


def _chunks(n: int, tiles: tuple[int, int], bytes_per_image: int, kernels: Any) -> Iterator[slice]:
    """Slices of the batch whose transformed tiles take at most ``kernels.WINOGRAD_CHUNK_BYTES``, but with
    at least ``kernels.WINOGRAD_MIN_TILES`` tiles per channel (so that the GEMMs stay wide) and one image."""
    fill = -(-kernels.WINOGRAD_MIN_TILES // (tiles[0] * tiles[1]))
    step = max(1, kernels.WINOGRAD_CHUNK_BYTES // bytes_per_image, fill)
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


class WinogradCache(NamedTuple):
    x: Any              # (N, C_in, H, W) the input; backward re-gathers its tiles
    u: Any              # (a^2, C_out, C_in) the transformed weight G w G^T
    has_bias: bool
    padding: int
    m: int              # output tile side


def _geometry(x_shape: tuple[int, ...], u_shape: tuple[int, ...], padding: int, m: int, itemsize: int
              ) -> tuple[int, int, tuple[int, int], int]:
    """(H_o, W_o, (T_h, T_w), bytes of transformed tiles per image)."""
    ho, wo = x_shape[2] + 2 * padding - 2, x_shape[3] + 2 * padding - 2
    tiles = (-(-ho // m), -(-wo // m))
    return ho, wo, tiles, u_shape[0] * (u_shape[1] + u_shape[2]) * tiles[0] * tiles[1] * itemsize


def winograd_conv2d_forward(x: Any, w: Any, b: Any = None, padding: int = 1, m: int = 4
                            ) -> tuple[Any, WinogradCache]:
    """y = conv2d(x, w, b, stride=1, padding=padding) for a 3x3 weight, by F(m x m, 3 x 3), m in {2, 4}.

    x (N, C_in, H, W), w (C_out, C_in, 3, 3), b (C_out,) or None; y (N, C_out, H + 2p - 2, W + 2p - 2).
    See the module docstring.
    """
    require_float(x, "winograd_conv2d")
    require_ndim(x, (4,), "winograd_conv2d", "(N, C, H, W)")
    if w.ndim != 4 or tuple(w.shape[1:]) != (x.shape[1], 3, 3):
        raise ValueError(f"winograd_conv2d: weight must be ({x.shape[1]}, 3, 3) per output channel for an "
                         f"input of shape {tuple(x.shape)}, got {tuple(w.shape)}")
    if m not in POINTS or not isinstance(padding, int) or padding < 0 or min(x.shape[2:]) + 2 * padding < 3:
        raise ValueError(f"winograd_conv2d: needs m in {tuple(POINTS)}, an int padding >= 0 and a padded input "
                         f"of at least 3x3, got m={m}, padding={padding!r}, input {tuple(x.shape)}")
    xp, kernels = backend.xp(), backend.kernels()
    at, _, bt, _, gg = _transforms(m, x.dtype)
    u = (backend.asarray(gg) @ w.reshape(-1, 9).T).reshape(-1, *w.shape[:2])     # (a^2, C_out, C_in)
    ho, wo, tiles, chunk_bytes = _geometry(x.shape, u.shape, padding, m, x.itemsize)
    y = xp.empty((x.shape[0], w.shape[0], ho, wo), dtype=x.dtype)
    for chunk in _chunks(x.shape[0], tiles, chunk_bytes, kernels):
        v = kernels.winograd_gather(x[chunk], bt, m, -padding, tiles)
        kernels.winograd_scatter(xp.matmul(u, v), at, m, 0, tiles, y[chunk])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y, WinogradCache(x, u, b is not None, padding, m)


def winograd_conv2d_backward(dout: Any, cache: WinogradCache, input_grad: bool = True) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`winograd_conv2d_forward`; db is None when there was no bias, dx None with
    ``input_grad=False``."""
    xp, kernels = backend.xp(), backend.kernels()
    x, u, has_bias, padding, m = cache
    at, a, bt, b, gg = _transforms(m, x.dtype)
    _, _, tiles, chunk_bytes = _geometry(x.shape, u.shape, padding, m, x.itemsize)
    dx = xp.empty(x.shape, dtype=dout.dtype) if input_grad else None
    du = xp.zeros(u.shape, dtype=dout.dtype)
    for chunk in _chunks(x.shape[0], tiles, chunk_bytes, kernels):
        v = kernels.winograd_gather(x[chunk], bt, m, -padding, tiles)
        dm = kernels.winograd_gather(dout[chunk], a, m, 0, tiles)
        du += xp.matmul(dm, v.transpose(0, 2, 1))
        if input_grad:
            kernels.winograd_scatter(xp.matmul(u.transpose(0, 2, 1), dm), b, m, -padding, tiles, dx[chunk])
    dw = (du.reshape(len(du), -1).T @ backend.asarray(gg)).reshape(*u.shape[1:], 3, 3)
    return dx, dw, dout.sum(axis=(0, 2, 3)) if has_bias else None
