r"""Normalisation in plain NumPy: batch norm (statistics per channel), layer norm (per row) and local
response norm (over a window of channels).

Batch norm
----------

Notation
--------
x      : (N, C, L)  input; L = H W for BatchNorm2d, 1 for BatchNorm1d on (N, C)
gamma  : (C,)       scale;  beta : (C,) shift
M      = N L        number of values each channel's statistics are taken over
mu     : (C,)       mu[c]    = 1/M sum_{n,l} x[n,c,l]
var    : (C,)       var[c]   = 1/M sum_{n,l} (x[n,c,l] - mu[c])^2        (biased)
s      : (C,)       s[c]     = 1 / sqrt(var[c] + eps)                     (inv_std)
xhat   : (N, C, L)  xhat     = (x - mu) s
y      : (N, C, L)  y        = gamma xhat + beta

Backward, given dy (N, C, L); every sum runs over n and l of one channel c:

    dbeta[c]  = sum dy                                               (C,)
    dgamma[c] = sum dy xhat                                          (C,)
    dxhat     = gamma dy                                             (N, C, L)

x reaches the loss through xhat directly, through mu and through var:

    dvar[c]   = sum dxhat (x - mu) * (-1/2) s^3                      (C,)
    dmu[c]    = -s sum dxhat  +  dvar * (-2/M) sum (x - mu)          (C,)
              = -s sum dxhat                 (the second sum is 0 by definition of mu)
    dx        = dxhat s + dvar 2 (x - mu) / M + dmu / M              (N, C, L)

Substituting (x - mu) = xhat / s, dvar = -s^2/2 sum(dxhat xhat):

    dx = s/M (M dxhat - sum dxhat - xhat sum(dxhat xhat))
       = gamma s/M (M dy - dbeta - xhat dgamma)                      (N, C, L)

the second line because sum dxhat = gamma dbeta and sum dxhat xhat = gamma dgamma.
That last line is what :func:`batch_norm_backward` computes; xhat is rebuilt
from x, mu and s rather than cached.

Layer norm
----------
x (R, D): R rows of D values (the normalised trailing axes, flattened); gamma, beta (D,).
Per row: mu, var (biased) and s = 1/sqrt(var + eps) over its D values; xhat = (x - mu) s,
y = gamma xhat + beta. The statistics are the corrected two-pass ones: with mu0 the plain
mean and d = x - mu0,

    mu = mu0 + sum d / D        var = (sum d^2 - (sum d)^2 / D) / D

which removes the rounding error of mu0 (a constant row gets mu exactly, var = 0). Backward,
sums over the D values of a row, dxhat = gamma dy (gamma varies along the row, so it stays
inside the sums):

    dx = s/D (D dxhat - sum dxhat - xhat sum(dxhat xhat))            (R, D)
    dgamma = sum over rows of dy xhat,   dbeta = sum over rows of dy  (D,)

Local response norm
-------------------
x (N, C, L); a window of n = ``size`` channels, W(c) = [c - n//2, c + (n-1)//2] clipped to
[0, C) (zeros outside):

    div[c] = k + alpha/n sum_{c' in W(c)} x[c']^2        y[c] = x[c] / div[c]^beta

Channel j lies in W(c) for c in [j - (n-1)//2, j + n//2] (the mirrored window), so

    dx[j] = dy[j] / div[j]^beta - (2 alpha beta / n) x[j] sum_{c: j in W(c)} t[c],
    t[c]  = dy[c] x[c] / (div[c]^beta div[c]) = dy[c] y[c] / div[c].

Both window sums are a sum over the n shifts of a zero-padded array.
"""
from __future__ import annotations

import numpy as np

__all__ = ["batch_norm_train", "batch_norm_backward", "layer_norm", "layer_norm_backward", "local_response_norm",
           "local_response_norm_backward"]


def batch_norm_train(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                     eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(y, mu, var, inv_std) for x (N, C, L): per-channel statistics over N and L, var biased."""
    mean = x.mean(axis=(0, 2))
    xc = x - mean[:, None]
    var = (xc * xc).mean(axis=(0, 2))
    inv_std = 1.0 / np.sqrt(var + eps)
    y = xc * (inv_std * gamma)[:, None] + beta[:, None]
    return y, mean, var, inv_std


def batch_norm_backward(dy: np.ndarray, x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                        gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta): dx = gamma s/M (M dy - dbeta - xhat dgamma), see the module docstring."""
    m = x.shape[0] * x.shape[2]
    xhat = (x - mean[:, None]) * inv_std[:, None]
    dbeta = dy.sum(axis=(0, 2))
    dgamma = (dy * xhat).sum(axis=(0, 2))
    dx = (gamma * inv_std / m)[:, None] * (m * dy - dbeta[:, None] - xhat * dgamma[:, None])
    return dx, dgamma, dbeta


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
               eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, mu, inv_std) for x (R, D): statistics of each row (corrected two-pass, var biased)."""
    d = x.shape[1]
    mu0 = x.mean(axis=1, keepdims=True)
    dev = x - mu0
    dev_sum = dev.sum(axis=1, keepdims=True)
    mean = mu0 + dev_sum / d
    var = np.maximum((dev * dev).sum(axis=1, keepdims=True) - dev_sum * dev_sum / d, 0) / d
    inv_std = 1.0 / np.sqrt(var + eps)
    return (x - mean) * inv_std * gamma + beta, mean[:, 0], inv_std[:, 0]


def layer_norm_backward(dy: np.ndarray, x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                        gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta): dx = s/D (D dxhat - sum dxhat - xhat sum(dxhat xhat)), dxhat = gamma dy."""
    d = x.shape[1]
    s = inv_std[:, None]
    xhat = (x - mean[:, None]) * s
    g = dy * gamma
    dx = s / d * (d * g - g.sum(axis=1, keepdims=True) - xhat * (g * xhat).sum(axis=1, keepdims=True))
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


def _window_sum(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """out[:, c] = sum of a[:, c - before .. c + after] along axis 1 (zeros beyond the ends), shifts in order."""
    c = a.shape[1]
    padded = np.pad(a, ((0, 0), (before, after), (0, 0)))
    return sum(padded[:, i:i + c] for i in range(before + after + 1))


def local_response_norm(x: np.ndarray, size: int, alpha: float, beta: float,
                        k: float) -> tuple[np.ndarray, np.ndarray]:
    """(y, div) for x (N, C, L): div = k + alpha/size * (window sum of x^2), y = x / div^beta."""
    div = k + alpha * (_window_sum(x * x, size // 2, (size - 1) // 2) / size)
    return x / div ** beta, div


def local_response_norm_backward(dy: np.ndarray, x: np.ndarray, div: np.ndarray, size: int, alpha: float,
                                 beta: float) -> np.ndarray:
    """dx = dy / div^beta - (2 alpha beta / size) x (mirrored window sum of dy x / (div^beta div))."""
    scale = div ** beta
    t = dy * x / (scale * div)
    return dy / scale - (2 * alpha * beta / size) * x * _window_sum(t, (size - 1) // 2, size // 2)
