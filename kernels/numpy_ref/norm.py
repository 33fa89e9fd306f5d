r"""Batch normalisation over (N, C, L) arrays in plain NumPy: the training-mode statistics and backward.

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
"""
from __future__ import annotations

import numpy as np

__all__ = ["batch_norm_train", "batch_norm_backward"]


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
