"""Pointwise activations on the GPU as ``cupy.ElementwiseKernel`` objects.

One thread per element; ``T`` is the array's dtype (float32 or float64), for
which CuPy compiles each kernel once. The formulas and kink conventions are
those of ``numpy_ref.activation``: relu'(0) = 0, leaky_relu'(0) = slope,
elu'(0) = alpha, prelu'(0) = weight, softplus is the identity where
``beta x > threshold`` (strictly); hyper-parameters are converted to the
array's dtype, as NumPy does with a Python float. PReLU's per-channel weight
is broadcast along axis 1 by the kernel's broadcasting.
"""
from __future__ import annotations

from typing import Any

import cupy

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "elu", "elu_backward", "prelu", "prelu_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "softplus", "softplus_backward", "gelu", "gelu_backward",
]

_SIGMOID = "T z = exp(-fabs(t)); T s = t >= (T)0 ? (T)1 / ((T)1 + z) : z / ((T)1 + z);"

_relu = cupy.ElementwiseKernel("T x", "T y", "y = (x > (T)0 || x != x) ? x : (T)0", "minicnn_relu")
_relu_backward = cupy.ElementwiseKernel("T dy, T y", "T dx", "dx = y > (T)0 ? dy : (T)0",
                                        "minicnn_relu_backward")
_leaky_relu = cupy.ElementwiseKernel("T x, T slope", "T y", "y = x > (T)0 ? x : x * slope", "minicnn_leaky_relu")
_leaky_relu_backward = cupy.ElementwiseKernel("T dy, T x, T slope", "T dx", "dx = x > (T)0 ? dy : dy * slope",
                                              "minicnn_leaky_relu_backward")
_elu = cupy.ElementwiseKernel("T x, T alpha", "T y", "y = x > (T)0 ? x : alpha * expm1(x)", "minicnn_elu")
_elu_backward = cupy.ElementwiseKernel("T dy, T x, T y, T alpha", "T dx", "dx = x > (T)0 ? dy : dy * (y + alpha)",
                                       "minicnn_elu_backward")
_prelu = cupy.ElementwiseKernel("T x, T w", "T y", "y = x > (T)0 ? x : w * x", "minicnn_prelu")
_prelu_backward = cupy.ElementwiseKernel(
    "T dy, T x, T w", "T dx, T contrib",
    "if (x > (T)0) { dx = dy; contrib = (T)0; } else { dx = w * dy; contrib = x * dy; }",
    "minicnn_prelu_backward")
_sigmoid = cupy.ElementwiseKernel("T x", "T y", "T t = x; " + _SIGMOID + " y = s;", "minicnn_sigmoid")
_sigmoid_backward = cupy.ElementwiseKernel("T dy, T y", "T dx", "dx = dy * y * ((T)1 - y)",
                                           "minicnn_sigmoid_backward")
_tanh = cupy.ElementwiseKernel("T x", "T y", "y = tanh(x)", "minicnn_tanh")
_tanh_backward = cupy.ElementwiseKernel("T dy, T y", "T dx", "dx = dy * ((T)1 - y * y)", "minicnn_tanh_backward")
_softplus = cupy.ElementwiseKernel(
    "T x, T beta, T threshold", "T y",
    "T t = x * beta; y = t > threshold ? x : (fmax(t, (T)0) + log1p(exp(-fabs(t)))) / beta",
    "minicnn_softplus")
_softplus_backward = cupy.ElementwiseKernel(
    "T dy, T x, T beta, T threshold", "T dx",
    "T t = x * beta; " + _SIGMOID + " dx = t > threshold ? dy : dy * s",
    "minicnn_softplus_backward")
_gelu = cupy.ElementwiseKernel("T x", "T y", "y = x * ((T)0.5 * erfc(-x * (T)0.70710678118654752440))",
                               "minicnn_gelu")
_gelu_backward = cupy.ElementwiseKernel(
    "T dy, T x", "T dx",
    "T c = fmin(fmax(x, (T)-40), (T)40); "
    "dx = dy * ((T)0.5 * erfc(-x * (T)0.70710678118654752440) "
    "+ c * (T)0.39894228040143267794 * exp((T)-0.5 * c * c))",
    "minicnn_gelu_backward")


def _scalar(like: Any, value: float) -> Any:
    """``value`` as a scalar of ``like``'s dtype."""
    return like.dtype.type(value)


def relu(x: Any) -> Any:
    """y = max(x, 0)."""
    return _relu(x)


def relu_backward(dy: Any, y: Any) -> Any:
    """dx = dy where y > 0, else 0 (relu'(0) = 0)."""
    return _relu_backward(dy, y)


def leaky_relu(x: Any, slope: float) -> Any:
    """y = x if x > 0 else slope * x."""
    return _leaky_relu(x, _scalar(x, slope))


def leaky_relu_backward(dy: Any, x: Any, slope: float) -> Any:
    """dx = dy if x > 0 else slope * dy."""
    return _leaky_relu_backward(dy, x, _scalar(dy, slope))


def elu(x: Any, alpha: float) -> Any:
    """y = x if x > 0 else alpha (exp(x) - 1)."""
    return _elu(x, _scalar(x, alpha))


def elu_backward(dy: Any, x: Any, y: Any, alpha: float) -> Any:
    """dx = dy if x > 0 else dy * (y + alpha) = dy * alpha exp(x)."""
    return _elu_backward(dy, x, y, _scalar(dy, alpha))


def _per_channel(weight: Any, x: Any) -> Any:
    """weight (C,) shaped to broadcast along axis 1 of x; a (1,) weight broadcasts everywhere."""
    w = weight.astype(x.dtype, copy=False)
    if w.size == 1:
        return w.reshape(())
    return w.reshape((1, -1) + (1,) * (x.ndim - 2))


def prelu(x: Any, weight: Any) -> Any:
    """y = x if x > 0 else weight[c] * x, c the index along axis 1 (weight (C,) or shared (1,))."""
    return _prelu(x, _per_channel(weight, x))


def prelu_backward(dy: Any, x: Any, weight: Any) -> tuple[Any, Any]:
    """dx = dy if x > 0 else weight[c] dy;  dweight[c] = sum of x dy over x <= 0 in channel c."""
    dx, contrib = _prelu_backward(dy, x, _per_channel(weight, x))
    if weight.size == 1:
        return dx, contrib.sum().reshape(weight.shape)
    return dx, contrib.sum(axis=(0,) + tuple(range(2, x.ndim)))


def sigmoid(x: Any) -> Any:
    """y = 1 / (1 + exp(-x)), evaluated with exp(-|x|) (no overflow)."""
    return _sigmoid(x)


def sigmoid_backward(dy: Any, y: Any) -> Any:
    """dx = dy * y (1 - y)."""
    return _sigmoid_backward(dy, y)


def tanh(x: Any) -> Any:
    """y = tanh(x)."""
    return _tanh(x)


def tanh_backward(dy: Any, y: Any) -> Any:
    """dx = dy * (1 - y^2)."""
    return _tanh_backward(dy, y)


def softplus(x: Any, beta: float, threshold: float) -> Any:
    """y = x where beta x > threshold, else (max(t, 0) + log1p(exp(-|t|))) / beta with t = beta x."""
    return _softplus(x, _scalar(x, beta), _scalar(x, threshold))


def softplus_backward(dy: Any, x: Any, beta: float, threshold: float) -> Any:
    """dx = dy where beta x > threshold, else dy * sigmoid(beta x)."""
    return _softplus_backward(dy, x, _scalar(dy, beta), _scalar(dy, threshold))


def gelu(x: Any) -> Any:
    """y = x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (the exact form)."""
    return _gelu(x)


def gelu_backward(dy: Any, x: Any) -> Any:
    """dx = dy * (Phi(x) + x phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""
    return _gelu_backward(dy, x)
