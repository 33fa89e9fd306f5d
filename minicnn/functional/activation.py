r"""Pointwise activations: relu, leaky_relu, elu, prelu, sigmoid, tanh, softplus, gelu.

Notation
--------
x  : any shape, the input (NCHW for images, (N, F) after a Linear layer)
y  : same shape as x, the output, y = f(x) elementwise
dy : same shape, dLoss/dy;  dx : same shape, dLoss/dx
w  : (C,) PReLU's slopes, one per channel on axis 1, or (1,) shared by all

Backward of any pointwise map: y[i] depends on x[i] alone, so the Jacobian is
diagonal and the chain rule is one product per element,

    dx[i] = dy[i] * f'(x[i])                          (same shape as x)

so each op only needs f' written in whatever the forward already computed
(x, y, or both); that choice is what its cache keeps. At a kink, where f' does
not exist, we use PyTorch's one-sided choice, stated in each op.

The maths lives in the current backend's kernels (``minicnn.kernels``); these
functions validate, pick the kernel and keep the cache. float32 in gives
float32 out; hyper-parameters are Python floats and never promote the dtype.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .. import backend
from ..checks import finite_float, require_float

__all__ = [
    "relu_forward", "relu_backward", "ReLUCache",
    "leaky_relu_forward", "leaky_relu_backward", "LeakyReLUCache",
    "elu_forward", "elu_backward", "ELUCache",
    "prelu_forward", "prelu_backward", "PReLUCache",
    "sigmoid_forward", "sigmoid_backward", "SigmoidCache",
    "tanh_forward", "tanh_backward", "TanhCache",
    "softplus_forward", "softplus_backward", "SoftplusCache",
    "gelu_forward", "gelu_backward", "GELUCache",
]


# ---- relu -----------------------------------------------------------------------------

class ReLUCache(NamedTuple):
    y: Any          # the output: y > 0 is exactly the set where x > 0


def relu_forward(x: Any) -> tuple[Any, ReLUCache]:
    """y = max(x, 0).

    Derivative: f'(x) = 1 for x > 0 and 0 for x < 0, so dx = dy * [y > 0].
    Kink: relu'(0) = 0 (the gradient is dropped at exactly 0, as in PyTorch).
    Cache: y (no copy; y > 0 iff x > 0).
    """
    require_float(x, "relu")
    y = backend.kernels().relu(x)
    return y, ReLUCache(y)


def relu_backward(dout: Any, cache: ReLUCache) -> Any:
    """dx = dout where y > 0, else 0."""
    return backend.kernels().relu_backward(dout, cache.y)


# ---- leaky_relu -----------------------------------------------------------------------

class LeakyReLUCache(NamedTuple):
    x: Any
    negative_slope: float


def leaky_relu_forward(x: Any, negative_slope: float = 0.01) -> tuple[Any, LeakyReLUCache]:
    """y = x for x > 0, negative_slope * x otherwise.

    Derivative: f'(x) = 1 for x > 0 and negative_slope for x < 0, so
    dx = dy where x > 0, negative_slope * dy elsewhere.
    Kink: leaky_relu'(0) = negative_slope (the x <= 0 branch, as in PyTorch).
    Cache: x (y cannot tell the branch when negative_slope <= 0).
    """
    require_float(x, "leaky_relu")
    slope = finite_float(negative_slope, "negative_slope", "leaky_relu")
    return backend.kernels().leaky_relu(x, slope), LeakyReLUCache(x, slope)


def leaky_relu_backward(dout: Any, cache: LeakyReLUCache) -> Any:
    """dx = dout where x > 0, negative_slope * dout elsewhere."""
    return backend.kernels().leaky_relu_backward(dout, cache.x, cache.negative_slope)


# ---- elu ------------------------------------------------------------------------------

class ELUCache(NamedTuple):
    x: Any
    y: Any
    alpha: float


def elu_forward(x: Any, alpha: float = 1.0) -> tuple[Any, ELUCache]:
    """y = x for x > 0, alpha (exp(x) - 1) otherwise (computed as alpha expm1(min(x, 0))).

    Derivative: f'(x) = 1 for x > 0; for x < 0, d/dx alpha (e^x - 1) = alpha e^x = y + alpha,
    so dx = dy where x > 0, dy (y + alpha) elsewhere.
    Kink: elu'(0) = alpha (the x <= 0 branch, as in PyTorch; continuous only when alpha = 1).
    Cache: x (for the branch) and y (for alpha e^x without a second exp).
    """
    require_float(x, "elu")
    a = finite_float(alpha, "alpha", "elu")
    y = backend.kernels().elu(x, a)
    return y, ELUCache(x, y, a)


def elu_backward(dout: Any, cache: ELUCache) -> Any:
    """dx = dout where x > 0, dout (y + alpha) elsewhere."""
    return backend.kernels().elu_backward(dout, cache.x, cache.y, cache.alpha)


# ---- prelu ----------------------------------------------------------------------------

class PReLUCache(NamedTuple):
    x: Any
    weight: Any     # (C,) or (1,)


def prelu_forward(x: Any, weight: Any) -> tuple[Any, PReLUCache]:
    """y[n,c,...] = x[n,c,...] for x > 0, w[c] x[n,c,...] otherwise (w (1,) is shared by every c).

    Derivatives: dy/dx = 1 for x > 0 and w[c] for x < 0; dy/dw[c] = x on the
    x <= 0 branch and 0 elsewhere. Every element of channel c uses w[c], so its
    gradient sums over all of them:

        dx[n,c,...] = dy           where x > 0,  w[c] dy   elsewhere      (x's shape)
        dw[c]       = sum over n and the spatial axes of x dy [x <= 0]    (C,)

    (all elements for a (1,) weight). Kink: at x = 0 the slope is w[c], and w's
    contribution x dy is 0, as in PyTorch. Cache: x and w.
    """
    require_float(x, "prelu")
    require_float(weight, "prelu weight")
    if weight.ndim != 1 or (weight.shape[0] != 1 and (x.ndim < 2 or weight.shape[0] != x.shape[1])):
        raise ValueError(f"prelu: weight must have shape (1,) or (C,) with C = x.shape[1]; got weight "
                         f"{tuple(weight.shape)} for input {tuple(x.shape)}")
    return backend.kernels().prelu(x, weight), PReLUCache(x, weight)


def prelu_backward(dout: Any, cache: PReLUCache) -> tuple[Any, Any]:
    """(dx, dweight): dx = dout (x > 0) or w[c] dout; dweight[c] = sum of x dout over x <= 0 in channel c."""
    return backend.kernels().prelu_backward(dout, cache.x, cache.weight)


# ---- sigmoid --------------------------------------------------------------------------

class SigmoidCache(NamedTuple):
    y: Any


def sigmoid_forward(x: Any) -> tuple[Any, SigmoidCache]:
    """y = sigma(x) = 1 / (1 + exp(-x)) (evaluated with exp(-|x|), which never overflows).

    Derivative: sigma'(x) = e^{-x} / (1 + e^{-x})^2 = sigma(x) (1 - sigma(x)), so
    dx = dy * y (1 - y). Smooth everywhere (no kink). Cache: y.
    """
    require_float(x, "sigmoid")
    y = backend.kernels().sigmoid(x)
    return y, SigmoidCache(y)


def sigmoid_backward(dout: Any, cache: SigmoidCache) -> Any:
    """dx = dout * y (1 - y)."""
    return backend.kernels().sigmoid_backward(dout, cache.y)


# ---- tanh -----------------------------------------------------------------------------

class TanhCache(NamedTuple):
    y: Any


def tanh_forward(x: Any) -> tuple[Any, TanhCache]:
    """y = tanh(x).

    Derivative: tanh' = 1 / cosh^2 = 1 - tanh^2, so dx = dy * (1 - y^2).
    Smooth everywhere (no kink). Cache: y.
    """
    require_float(x, "tanh")
    y = backend.kernels().tanh(x)
    return y, TanhCache(y)


def tanh_backward(dout: Any, cache: TanhCache) -> Any:
    """dx = dout * (1 - y^2)."""
    return backend.kernels().tanh_backward(dout, cache.y)


# ---- softplus -------------------------------------------------------------------------

class SoftplusCache(NamedTuple):
    x: Any
    beta: float
    threshold: float


def softplus_forward(x: Any, beta: float = 1.0, threshold: float = 20.0) -> tuple[Any, SoftplusCache]:
    """y = log(1 + exp(beta x)) / beta, and y = x where beta x > threshold (PyTorch's rule).

    Derivative of the smooth branch: d/dx log(1 + e^{bx}) / b = e^{bx} / (1 + e^{bx}) = sigma(bx);
    the identity branch has derivative 1. So dx = dy sigma(beta x) where beta x <= threshold, dy elsewhere.
    Switch: the test is strict, so at beta x == threshold the smooth branch is used (value and
    gradient), as in PyTorch; the jump in value there is log(1 + e^{-threshold}) / |beta|. Cache: x.
    """
    require_float(x, "softplus")
    b = finite_float(beta, "beta", "softplus")
    if b == 0.0:
        raise ValueError("softplus: beta must be non-zero")
    t = finite_float(threshold, "threshold", "softplus")
    return backend.kernels().softplus(x, b, t), SoftplusCache(x, b, t)


def softplus_backward(dout: Any, cache: SoftplusCache) -> Any:
    """dx = dout sigma(beta x) where beta x <= threshold, dout elsewhere."""
    return backend.kernels().softplus_backward(dout, cache.x, cache.beta, cache.threshold)


# ---- gelu -----------------------------------------------------------------------------

class GELUCache(NamedTuple):
    x: Any


def gelu_forward(x: Any) -> tuple[Any, GELUCache]:
    """y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, the exact (erf) GELU, Phi the standard normal CDF.

    Derivative by the product rule, with Phi' = phi = exp(-x^2 / 2) / sqrt(2 pi):
    gelu'(x) = Phi(x) + x phi(x), so dx = dy (Phi(x) + x phi(x)).
    Smooth everywhere (no kink). Cache: x.
    """
    require_float(x, "gelu")
    return backend.kernels().gelu(x), GELUCache(x)


def gelu_backward(dout: Any, cache: GELUCache) -> Any:
    """dx = dout (Phi(x) + x phi(x))."""
    return backend.kernels().gelu_backward(dout, cache.x)
