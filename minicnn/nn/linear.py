"""Linear: a thin layer over ``minicnn.functional.linear``."""
from __future__ import annotations

from typing import Any

from .. import backend
from .. import functional as F
from ..checks import is_positive_int
from .init import default_weight_and_bias
from .module import Module, Parameter

__all__ = ["Linear"]


class Linear(Module):
    """y = x W^T + b for x (N, *, in_features), weight (out_features, in_features), as PyTorch's.

    ``input_grad``: as :class:`~minicnn.nn.Conv2d`'s (False: backward returns None instead of dx).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        if not (is_positive_int(in_features) and is_positive_int(out_features)):
            raise ValueError(f"Linear: in_features and out_features must be ints >= 1, got {in_features!r}, "
                             f"{out_features!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        xp = backend.xp()
        self.weight = Parameter(xp.zeros((out_features, in_features), dtype="float32"))
        self.register_parameter("bias", Parameter(xp.zeros(out_features, dtype="float32")) if bias else None)
        default_weight_and_bias(self.weight, self.bias)
        self.input_grad = True

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def forward(self, x: Any) -> Any:
        b = self.bias.data if self.bias is not None else None
        y, cache = F.linear_forward(x, self.weight.data, b)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dx, dw, db = F.linear_backward(dy, self._take(), self.input_grad)
        self._accumulate(self.weight, dw)
        self._accumulate(self.bias, db)
        return dx
