r"""Normalisation: batch norm (per channel, over the batch), layer norm (per row, over the trailing
axes) and local response norm (per position, over a window of channels).

Batch norm: (N, C), (N, C, L) and (N, C, H, W) inputs, train and eval
======================================================================

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

Layer norm: statistics of each row, as ``torch.nn.functional.layer_norm``
=========================================================================

x (*, S) with S = ``normalized_shape`` (1 or more trailing axes) is viewed as (R, D): R rows (the
product of the leading axes) of D = prod(S) values. gamma, beta (the layer's ``weight`` and
``bias``) have shape S, viewed as (D,), and are optional (absent: 1 and 0). Per row r, every sum
below over the D values of the row:

    mu[r] = 1/D sum x       var[r] = 1/D sum (x - mu)^2 (biased)       s = 1/sqrt(var + eps)
    xhat  = (x - mu) s      y = gamma xhat + beta

(The kernels take mu and var by the corrected two-pass formula, see ``kernels/numpy_ref/norm.py``:
a constant row gets var = 0 exactly, so xhat = 0 and y = beta, as in torch.)

Backward. gamma[d] and beta[d] appear in y[r, d] of every row:

    dbeta = sum_r dy        dgamma = sum_r dy xhat        dxhat = gamma dy              (D,) (D,) (R, D)

x[r, d] reaches the loss three ways, as in batch norm but over a row instead of a channel:
directly through xhat[r, d], through mu[r] and through var[r]:

    dvar = sum dxhat (x - mu) (-1/2) s^3 = -(s^2/2) sum dxhat xhat                    (R,)
    dmu  = -s sum dxhat + dvar (-2/D) sum (x - mu) = -s sum dxhat                     (R,)
    dx   = s dxhat + dvar 2 (x - mu)/D + dmu/D
         = s/D (D dxhat - sum dxhat - xhat sum(dxhat xhat))                          (R, D)

Unlike batch norm, gamma varies along the sums (one value per column d), so it stays inside
them: the row sums are of gamma dy and gamma dy xhat.

Cache: x viewed as (R, D), mu and s (R,), gamma (ones when absent), S, which of weight and bias
were given, and the input's shape. xhat is rebuilt in backward.

Local response norm: a window of channels, as ``torch.nn.functional.local_response_norm``
==========================================================================================

x (N, C, *) viewed as (N, C, L). For each position, channel c is divided by a power of the
sum of squares over a window of n = ``size`` channels centred at c, n//2 before and (n-1)//2 after,
with zeros beyond the first and last channel (AlexNet's normalisation):

    W(c)   = {c' : c - n//2 <= c' <= c + (n-1)//2, 0 <= c' < C}
    div[c] = k + alpha/n sum_{c' in W(c)} x[c']^2          y[c] = x[c] / div[c]^beta

Backward. x[j] appears in its own numerator and in div[c] of every channel c whose window holds
it: c - n//2 <= j <= c + (n-1)//2, i.e. c in M(j) = [j - (n-1)//2, j + n//2] (the window
mirrored). With d div[c] / d x[j] = 2 alpha x[j] / n and d/ddiv div^-beta = -beta div^(-beta-1):

    dx[j] = dy[j] / div[j]^beta + sum_{c in M(j)} dy[c] x[c] (-beta) div[c]^(-beta-1) 2 alpha x[j] / n
          = dy[j] / div[j]^beta - (2 alpha beta / n) x[j] sum_{c in M(j)} t[c],
    t[c]  = dy[c] x[c] / (div[c]^beta div[c]) = dy[c] y[c] / div[c]

so the backward is one more window sum, over the mirrored window, of t. Cache: x viewed as
(N, C, L) and div; div^beta is recomputed in backward.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

from .. import backend
from ..checks import check_dout, finite_float, is_positive_int, positive_int, require_float

__all__ = ["batch_norm_forward", "batch_norm_backward", "BatchNormCache", "layer_norm_forward", "layer_norm_backward",
           "LayerNormCache", "local_response_norm_forward", "local_response_norm_backward", "LocalResponseNormCache"]


class BatchNormCache(NamedTuple):
    x: Any                      # (N, C, L) view of the input
    mean: Any                   # (C,) mu: batch mean (training) or running mean (eval)
    inv_std: Any                # (C,) s = 1/sqrt(var + eps) of the same statistics
    gamma: Any                  # (C,)
    x_shape: tuple[int, ...]    # the input's own shape, (N, C), (N, C, L) or (N, C, H, W)
    training: bool


def _as_ncl(x: Any) -> Any:
    """x (N, C, *) viewed as (N, C, L), L the product of the other axes (1 for none)."""
    return x.reshape(*x.shape[:2], math.prod(x.shape[2:]))


def batch_norm_forward(x: Any, gamma: Any, beta: Any, running_mean: Any, running_var: Any, training: bool,
                       momentum: float = 0.1, eps: float = 1e-5) -> tuple[Any, BatchNormCache]:
    """y = gamma (x - mu) / sqrt(var + eps) + beta, per channel (axis 1). See the module docstring.

    In training mode the batch statistics are used and ``running_mean``/``running_var``
    (when not None) are updated in place with ``momentum`` (unbiased variance); in eval
    mode the running statistics are used and must be given.
    """
    require_float(x, "batch_norm")
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"batch_norm: expected a 2-D (N, C), 3-D (N, C, L) or 4-D (N, C, H, W) input, "
                         f"got shape {tuple(x.shape)}")
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


# ---- layer norm -------------------------------------------------------------------------------------

class LayerNormCache(NamedTuple):
    x: Any                                  # (R, D) view of the input
    mean: Any                               # (R,) mu of each row
    inv_std: Any                            # (R,) s = 1/sqrt(var + eps)
    gamma: Any                              # (D,) the weight, or ones when there is none
    normalized_shape: tuple[int, ...]       # S
    affine: tuple[bool, bool]               # (weight given, bias given)
    x_shape: tuple[int, ...]


def normalized_shape_tuple(normalized_shape: Any, where: str) -> tuple[int, ...]:
    """``normalized_shape`` (an int or a sequence of ints, each >= 1) as a tuple; TypeError or ValueError
    naming ``where``."""
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
    if not isinstance(shape, (tuple, list)) or not shape or not all(is_positive_int(d) for d in shape):
        raise (ValueError if isinstance(shape, (tuple, list)) else TypeError)(
            f"{where}: normalized_shape must be an int or a non-empty sequence of ints >= 1, got {normalized_shape!r}")
    return tuple(int(d) for d in shape)


def layer_norm_forward(x: Any, normalized_shape: int | tuple[int, ...], weight: Any = None, bias: Any = None,
                       eps: float = 1e-5) -> tuple[Any, LayerNormCache]:
    """y = weight (x - mu) / sqrt(var + eps) + bias, with mu and var (biased) over the trailing
    ``normalized_shape`` axes of each row; weight and bias of that shape, or None. See the module docstring."""
    require_float(x, "layer_norm")
    shape = normalized_shape_tuple(normalized_shape, "layer_norm")
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(f"layer_norm: expected an input whose trailing axes are normalized_shape {shape}, "
                         f"got shape {tuple(x.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and getattr(p, "dtype", None) != x.dtype:
            raise TypeError(f"layer_norm: {name} must have the input's dtype {x.dtype}, got "
                            f"{getattr(p, 'dtype', type(p).__name__)}")
        if p is not None and tuple(p.shape) != shape:
            raise ValueError(f"layer_norm: {name} must have shape normalized_shape {shape}, got {tuple(p.shape)}")
    xp = backend.xp()
    d = math.prod(shape)
    x2 = x.reshape(math.prod(x.shape[:x.ndim - len(shape)]), d)
    gamma = xp.ones(d, x.dtype) if weight is None else weight.reshape(d)
    beta = xp.zeros(d, x.dtype) if bias is None else bias.reshape(d)
    y2, mean, inv_std = backend.kernels().layer_norm(x2, gamma, beta, float(eps))
    return y2.reshape(x.shape), LayerNormCache(x2, mean, inv_std, gamma, shape, (weight is not None, bias is not None),
                                               tuple(x.shape))


def layer_norm_backward(dout: Any, cache: LayerNormCache) -> tuple[Any, Any, Any]:
    """(dx, dweight, dbias) of :func:`layer_norm_forward`; None for an absent weight or bias."""
    x2, mean, inv_std, gamma, shape, (has_weight, has_bias), x_shape = cache
    check_dout(dout, (x_shape, x2.dtype), "layer_norm")
    dx2, dgamma, dbeta = backend.kernels().layer_norm_backward(dout.reshape(x2.shape), x2, mean, inv_std, gamma)
    return (dx2.reshape(x_shape), dgamma.reshape(shape) if has_weight else None,
            dbeta.reshape(shape) if has_bias else None)


# ---- local response norm ----------------------------------------------------------------------------

class LocalResponseNormCache(NamedTuple):
    x: Any                      # (N, C, L) view of the input
    div: Any                    # (N, C, L) k + alpha/size * window sum of x^2
    size: int
    alpha: float
    beta: float
    x_shape: tuple[int, ...]


def local_response_norm_forward(x: Any, size: int, alpha: float = 1e-4, beta: float = 0.75,
                                k: float = 1.0) -> tuple[Any, LocalResponseNormCache]:
    """y = x / (k + alpha/size * sum of x^2 over a window of ``size`` channels centred at c)^beta, for x
    (N, C, *) with 3 or more axes (zeros beyond the channels, size // 2 before c and (size - 1) // 2 after)."""
    require_float(x, "local_response_norm")
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: expected an input of 3 or more axes (N, C, *), got shape "
                         f"{tuple(x.shape)}")
    size = positive_int(size, "size", "local_response_norm")
    alpha, beta, k = (finite_float(v, name, "local_response_norm") for v, name in ((alpha, "alpha"), (beta, "beta"),
                                                                                  (k, "k")))
    x3 = _as_ncl(x)
    y3, div = backend.kernels().local_response_norm(x3, size, alpha, beta, k)
    return y3.reshape(x.shape), LocalResponseNormCache(x3, div, size, alpha, beta, tuple(x.shape))


def local_response_norm_backward(dout: Any, cache: LocalResponseNormCache) -> Any:
    """dx of :func:`local_response_norm_forward` (the module docstring derives it)."""
    x3, div, size, alpha, beta, x_shape = cache
    check_dout(dout, (x_shape, x3.dtype), "local_response_norm")
    return backend.kernels().local_response_norm_backward(dout.reshape(x3.shape), x3, div, size, alpha,
                                                          beta).reshape(x_shape)
