"""Activation layers: thin wrappers over ``minicnn.functional.activation`` and ``.softmax``.

Each accepts a floating array of any shape (Softmax/LogSoftmax: one with the
axis ``dim``; PReLU with several slopes: one whose axis 1 has that many
channels), keeps the functional op's cache in forward and hands it to the
backward. PReLU is the only one with a parameter, ``weight``.
"""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..functional import activation as Fa
from ..functional import softmax as Fs
from ..checks import finite_float, int_dim, is_positive_int, normalize_dim
from .module import Module, Parameter

__all__ = ["ReLU", "LeakyReLU", "ELU", "PReLU", "Sigmoid", "Tanh", "Softplus", "GELU", "Softmax", "LogSoftmax"]


class _Pointwise(Module):
    """Shared body of the parameter-free activations: check, run ``_fwd`` with ``_kwargs()``, keep the cache."""

    _fwd: Callable[..., tuple[Any, Any]]
    _bwd: Callable[[Any, Any], Any]

    def _kwargs(self) -> dict[str, Any]:
        return {}

    def _check(self, x: Any) -> None:
        self._check_input(x)

    def forward(self, x: Any) -> Any:
        self._check(x)
        y, cache = self._fwd(x, **self._kwargs())
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        return self._bwd(dy, self._take())


class ReLU(_Pointwise):
    """max(x, 0); relu'(0) = 0."""

    _fwd = staticmethod(Fa.relu_forward)
    _bwd = staticmethod(Fa.relu_backward)


class LeakyReLU(_Pointwise):
    """x for x > 0, negative_slope * x otherwise; the slope at 0 is negative_slope."""

    _fwd = staticmethod(Fa.leaky_relu_forward)
    _bwd = staticmethod(Fa.leaky_relu_backward)

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = finite_float(negative_slope, "negative_slope", "LeakyReLU")

    def _kwargs(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_Pointwise):
    """x for x > 0, alpha (exp(x) - 1) otherwise; the slope at 0 is alpha."""

    _fwd = staticmethod(Fa.elu_forward)
    _bwd = staticmethod(Fa.elu_backward)

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = finite_float(alpha, "alpha", "ELU")

    def _kwargs(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Sigmoid(_Pointwise):
    """1 / (1 + exp(-x))."""

    _fwd = staticmethod(Fa.sigmoid_forward)
    _bwd = staticmethod(Fa.sigmoid_backward)


class Tanh(_Pointwise):
    """tanh(x)."""

    _fwd = staticmethod(Fa.tanh_forward)
    _bwd = staticmethod(Fa.tanh_backward)


class Softplus(_Pointwise):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""

    _fwd = staticmethod(Fa.softplus_forward)
    _bwd = staticmethod(Fa.softplus_backward)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = finite_float(beta, "beta", "Softplus")
        if self.beta == 0.0:
            raise ValueError("Softplus: beta must be non-zero")
        self.threshold = finite_float(threshold, "threshold", "Softplus")

    def _kwargs(self) -> dict[str, Any]:
        return {"beta": self.beta, "threshold": self.threshold}

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class GELU(_Pointwise):
    """x Phi(x), the exact (erf) form."""

    _fwd = staticmethod(Fa.gelu_forward)
    _bwd = staticmethod(Fa.gelu_backward)


class _AlongDim(_Pointwise):
    """softmax-like layers: the input must have the axis ``dim``."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = int_dim(dim, type(self).__name__)

    def _check(self, x: Any) -> None:
        self._check_input(x)
        normalize_dim(self.dim, x.ndim, lambda: f"{self._name()} with input of shape {tuple(x.shape)}")

    def _kwargs(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along ``dim`` (stable: the max is subtracted first)."""

    _fwd = staticmethod(Fs.softmax_forward)
    _bwd = staticmethod(Fs.softmax_backward)


class LogSoftmax(_AlongDim):
    """log softmax along ``dim``, by log-sum-exp (never log of an underflowed softmax)."""

    _fwd = staticmethod(Fs.log_softmax_forward)
    _bwd = staticmethod(Fs.log_softmax_backward)


class PReLU(Module):
    """x for x > 0, weight[c] x otherwise, with one learned slope per channel (axis 1) or one shared.

    ``weight`` has shape (num_parameters,) and starts at ``init`` everywhere, as
    in PyTorch; with num_parameters > 1 the input's axis 1 must have that many channels.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        if not is_positive_int(num_parameters):
            raise ValueError(f"PReLU: num_parameters must be an int >= 1, got {num_parameters!r}")
        self.num_parameters = int(num_parameters)
        self.init = finite_float(init, "init", "PReLU")
        self.weight = Parameter(backend.xp().full((num_parameters,), self.init, dtype="float32"))

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"

    def forward(self, x: Any) -> Any:
        self._check_input(x)
        c = self.num_parameters
        if c > 1 and (x.ndim < 2 or x.shape[1] != c):
            raise ValueError(f"{self._name()}: expected {c} channels (axis 1), got input of shape {tuple(x.shape)}")
        y, cache = Fa.prelu_forward(x, self.weight.data)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dx, dweight = Fa.prelu_backward(dy, self._take())
        self._accumulate(self.weight, dweight)
        return dx
