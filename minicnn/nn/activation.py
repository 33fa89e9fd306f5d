"""Activation layers: thin wrappers over ``minicnn.functional``'s pointwise, softmax and PReLU pairs.

The pointwise layers name their op (declared once in ``minicnn/kernels/pointwise.py``) and keep
its hyper-parameters, checked when the layer is built; the functional op checks the input.
PReLU is the only one with a parameter, ``weight``.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from .. import functional as F
from ..checks import finite_float, int_dim, positive_int
from ..kernels.pointwise import POINTWISE
from .module import Module, Parameter, _OpLayer

__all__ = ["ReLU", "LeakyReLU", "ReLU6", "Hardsigmoid", "Hardswish", "ELU", "Sigmoid", "Tanh", "SiLU", "Softplus",
           "GELU", "PReLU", "Softmax", "LogSoftmax"]


class _Pointwise(_OpLayer):
    """The layer of pointwise op ``op``: keyword arguments are its parameters (PyTorch's names), kept
    as attributes of the same names; ``_args`` is taken from the op's declaration when the class is made."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._args = tuple(POINTWISE[cls.op].params)

    def __init__(self, **params: float) -> None:
        super().__init__()
        for name, value in zip(self._args, F.pointwise_params(self.op, **params)):
            setattr(self, name, value)


class ReLU(_Pointwise):
    """max(x, 0); relu'(0) = 0."""

    op = "relu"


class LeakyReLU(_Pointwise):
    """x for x > 0, negative_slope * x otherwise; the slope at 0 is negative_slope."""

    op = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__(negative_slope=negative_slope)


class ReLU6(_Pointwise):
    """min(max(x, 0), 6); the slope at 0 and at 6 is 0."""

    op = "relu6"


class Hardsigmoid(_Pointwise):
    """relu6(x + 3) / 6; the slope at -3 and at 3 is 0."""

    op = "hardsigmoid"


class Hardswish(_Pointwise):
    """x relu6(x + 3) / 6; the slope is x / 3 + 1/2 on [-3, 3]."""

    op = "hardswish"


class ELU(_Pointwise):
    """x for x > 0, alpha (exp(x) - 1) otherwise; the slope at 0 is alpha."""

    op = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(alpha=alpha)


class Sigmoid(_Pointwise):
    """1 / (1 + exp(-x))."""

    op = "sigmoid"


class Tanh(_Pointwise):
    """tanh(x)."""

    op = "tanh"


class SiLU(_Pointwise):
    """x sigmoid(x) (swish)."""

    op = "silu"


class Softplus(_Pointwise):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""

    op = "softplus"

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__(beta=beta, threshold=threshold)


class GELU(_Pointwise):
    """x Phi(x), the exact (erf) form."""

    op = "gelu"


class _AlongDim(_OpLayer):
    """softmax-like layers: op ``op`` along axis ``dim``."""

    _args = ("dim",)

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = int_dim(dim, type(self).__name__)


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along ``dim`` (stable: the max is subtracted first)."""

    op = "softmax"


class LogSoftmax(_AlongDim):
    """log softmax along ``dim``, by log-sum-exp (never log of an underflowed softmax)."""

    op = "log_softmax"


class PReLU(Module):
    """x for x > 0, weight[c] x otherwise, with one learned slope per channel (axis 1) or one shared.

    ``weight`` has shape (num_parameters,) and starts at ``init`` everywhere, as
    in PyTorch; with num_parameters > 1 the input's axis 1 must have that many channels.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters = positive_int(num_parameters, "num_parameters", "PReLU")
        self.init = finite_float(init, "init", "PReLU")
        self.weight = Parameter(backend.xp().full((num_parameters,), self.init, dtype="float32"))

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"

    def forward(self, x: Any) -> Any:
        y, cache = F.prelu_forward(x, self.weight.data)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dx, dweight = F.prelu_backward(dy, self._take())
        self._accumulate(self.weight, dweight)
        return dx
