r"""Batch normalisation for (N, C) and (N, C, H, W) inputs (and (N, C, L)), train and eval.

Notation
--------
x      : (N, C) or (N, C, L) or (N, C, H, W) input, viewed as (N, C, L) with L = 1, L or H W
gamma  : (C,) scale (the layer's ``weight``);  beta : (C,) shift (``bias``)
M      = N L, the number of values each channel's statistics are taken over
rm, rv : (C,) running mean and running variance (the layer's buffers)
s      : (C,) 1 / sqrt(var + eps), the inverse standard deviation used in the forward

Forward
-------
Training mode uses the statistics of the batch (var biased, divided by M):

    mu[c]  = 1/M sum_{n,l} x[n,c,l]          var[c] = 1/M sum_{n,l} (x[n,c,l] - mu[c])^2
    xhat   = (x - mu) s,  s = 1/sqrt(var + eps)          y = gamma xhat + beta

and then updates the running statistics IN PLACE, as ``torch.nn.functional.batch_norm``
does (``running_mean`` and ``running_var`` are arrays the caller owns, e.g. a layer's
buffers; pass None to skip the update):

    rm <- (1 - momentum) rm + momentum mu
    rv <- (1 - momentum) rv + momentum var M/(M - 1)     (the UNBIASED batch variance)

M = 1 (one value per channel) has no variance to estimate and raises ``ValueError``.

Eval mode uses the running statistics as constants: mu = rm, s = 1/sqrt(rv + eps),
and the same y = gamma (x - mu) s + beta. Nothing is updated.

Backward
--------
Given dy (N, C, L), in both modes

    dbeta[c]  = sum_{n,l} dy                  (C,)
    dgamma[c] = sum_{n,l} dy xhat             (C,)
    dxhat     = gamma dy                      (N, C, L)

In eval mode mu and s are constants, so dx = dxhat s = gamma s dy (N, C, L).

In training mode mu and var are functions of x, and x reaches the loss three ways:
directly through xhat, through mu and through var. With every sum over n, l of one channel,

    dvar = sum dxhat (x - mu) (-1/2) s^3 = -(s^2 / 2) sum dxhat xhat           (C,)
    dmu  = -s sum dxhat + dvar (-2/M) sum (x - mu) = -s sum dxhat              (C,)
           (sum (x - mu) = 0 by the definition of mu)
    dx   = s dxhat + dvar 2 (x - mu)/M + dmu/M
         = s/M (M dxhat - sum dxhat - xhat sum(dxhat xhat))                   (N, C, L)

using (x - mu) = xhat / s. The kernel computes the same line in terms of dy:
``dx = gamma s/M (M dy - dbeta - xhat dgamma)``, since sum dxhat = gamma dbeta and
sum dxhat xhat = gamma dgamma. The running statistics carry no gradient.

Cache: the input viewed as (N, C, L) (no copy for contiguous input), mu and s (C,)
(batch statistics in training, copies of the running ones in eval), gamma, the
input's shape and the mode. xhat is rebuilt in backward instead of kept.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .. import backend
from ..checks import check_dout, require_float

__all__ = ["batch_norm_forward", "batch_norm_backward", "BatchNormCache"]


class BatchNormCache(NamedTuple):
    x: Any                      # (N, C, L) view of the input
    mean: Any                   # (C,) mu: batch mean (training) or running mean (eval)
    inv_std: Any                # (C,) s = 1/sqrt(var + eps) of the same statistics
    gamma: Any                  # (C,)
    x_shape: tuple[int, ...]    # the input's own shape, (N, C), (N, C, L) or (N, C, H, W)
    training: bool


def _as_ncl(x: Any) -> Any:
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"batch_norm: expected a 2-D (N, C), 3-D (N, C, L) or 4-D (N, C, H, W) input, "
                         f"got shape {tuple(x.shape)}")
    n, c = x.shape[:2]
    return x.reshape(n, c, -1)


def batch_norm_forward(x: Any, gamma: Any, beta: Any, running_mean: Any, running_var: Any, training: bool,
                       momentum: float = 0.1, eps: float = 1e-5) -> tuple[Any, BatchNormCache]:
    """y = gamma (x - mu) / sqrt(var + eps) + beta, per channel (axis 1). See the module docstring.

    In training mode the batch statistics are used and ``running_mean``/``running_var``
    (when not None) are updated in place with ``momentum`` (unbiased variance); in eval
    mode the running statistics are used and must be given.
    """
    require_float(x, "batch_norm")
    x3 = _as_ncl(x)
    n, c, l = x3.shape
    if gamma.shape != (c,) or beta.shape != (c,):
        raise ValueError(f"batch_norm: expected {gamma.shape[0]} channels (axis 1), as weight {tuple(gamma.shape)} and "
                         f"bias {tuple(beta.shape)}, got input of shape {tuple(x.shape)}")
    xp = backend.xp()
    if training:
        m = n * l
        if m < 2:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {tuple(x.shape)}")
        y3, mean, var, inv_std = backend.kernels().batch_norm_train(x3, gamma, beta, eps)
        if running_mean is not None:
            running_mean[...] = momentum * mean + (1 - momentum) * running_mean
        if running_var is not None:
            running_var[...] = momentum * (var * (m / (m - 1))) + (1 - momentum) * running_var
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode needs running_mean and running_var")
        mean = running_mean.astype(x.dtype, copy=True)
        inv_std = 1.0 / xp.sqrt(running_var.astype(x.dtype) + eps)
        y3 = (x3 - mean[:, None]) * (inv_std * gamma)[:, None] + beta[:, None]
    return y3.reshape(x.shape), BatchNormCache(x3, mean, inv_std, gamma, tuple(x.shape), training)


def batch_norm_backward(dout: Any, cache: BatchNormCache) -> tuple[Any, Any, Any]:
    """(dx, dgamma, dbeta) of :func:`batch_norm_forward`, in the mode the forward ran in."""
    x3, mean, inv_std, gamma, x_shape, training = cache
    check_dout(dout, (x_shape, x3.dtype), "batch_norm")
    dy3 = dout.reshape(x3.shape)
    if training:
        dx3, dgamma, dbeta = backend.kernels().batch_norm_backward(dy3, x3, mean, inv_std, gamma)
    else:
        xhat = (x3 - mean[:, None]) * inv_std[:, None]
        dbeta = dy3.sum(axis=(0, 2))
        dgamma = (dy3 * xhat).sum(axis=(0, 2))
        dx3 = dy3 * (gamma * inv_std)[:, None]
    return dx3.reshape(x_shape), dgamma, dbeta
