"""Weight initialisation, with PyTorch's formulas and defaults.

fan_in  = size(1) * receptive field,  fan_out = size(0) * receptive field
(receptive field = k_h k_w for a conv weight, 1 for a Linear weight).

* kaiming_uniform_: U(-b, b), b = gain * sqrt(3 / fan)
* kaiming_normal_:  N(0, std^2), std = gain / sqrt(fan)
* xavier_uniform_:  U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))
* xavier_normal_:   N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))

Each takes a Parameter (or an array, filled in place) and returns it. Draws
come from ``minicnn.random`` on the host, so a seed gives the same weights on
every backend.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..random import generator
from .module import Parameter

__all__ = ["calculate_gain", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
           "zeros_", "uniform_"]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for ``nonlinearity``."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``, as ``torch.nn.init._calculate_fan_in_and_fan_out``."""
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fill(target: Any, values: np.ndarray) -> Any:
    if isinstance(target, Parameter):
        target.data = backend.asarray(values, dtype=target.data.dtype)
    else:
        target[...] = backend.asarray(values, dtype=target.dtype)
    return target


def _shape(target: Any) -> tuple[int, ...]:
    return tuple(target.data.shape if isinstance(target, Parameter) else target.shape)


def uniform_(target: Any, a: float = 0.0, b: float = 1.0) -> Any:
    """Fill with U(a, b)."""
    return _fill(target, generator().uniform(a, b, size=_shape(target)))


def zeros_(target: Any) -> Any:
    """Fill with zeros."""
    return _fill(target, np.zeros(_shape(target)))


def _kaiming_std(shape: tuple[int, ...], a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(shape)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(target: Any, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Any:
    """He uniform: U(-b, b), b = sqrt(3) * gain / sqrt(fan)."""
    bound = math.sqrt(3.0) * _kaiming_std(_shape(target), a, mode, nonlinearity)
    return uniform_(target, -bound, bound)


def kaiming_normal_(target: Any, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Any:
    """He normal: N(0, (gain / sqrt(fan))^2)."""
    std = _kaiming_std(_shape(target), a, mode, nonlinearity)
    return _fill(target, generator().normal(0.0, std, size=_shape(target)))


def xavier_uniform_(target: Any, gain: float = 1.0) -> Any:
    """Glorot uniform: U(-b, b), b = gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(_shape(target))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(target, -bound, bound)


def xavier_normal_(target: Any, gain: float = 1.0) -> Any:
    """Glorot normal: N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(_shape(target))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(target, generator().normal(0.0, std, size=_shape(target)))


def default_weight_and_bias(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default for Conv2d and Linear: kaiming_uniform_(a=sqrt(5)) on the weight
    (that is U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) on the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _fans(weight.shape)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)
