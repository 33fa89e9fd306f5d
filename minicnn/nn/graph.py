"""Containers with more than one path: Concat (parallel branches joined) and SqueezeExcitation (a gate).

Each composes its children in ``forward`` and walks them back in ``backward``, applying the two
rules of ``minicnn.functional.graph``: where one tensor fed several paths (fan-out) its gradient
is the SUM of theirs; where paths were joined, the joining op gives each its own gradient. This
is also how to write your own multi-path block (``examples/06_custom_block.py``).
"""
from __future__ import annotations

from typing import Any

from .. import functional as F
from ..checks import int_dim, is_positive_int
from .activation import ReLU, Sigmoid
from .conv import Conv2d
from .module import Module
from .pooling import AdaptiveAvgPool2d

__all__ = ["Concat", "SqueezeExcitation"]


class Concat(Module):
    """y = cat([branch(x) for branch in branches], dim): every branch sees the same input.

    Backward: dy is split along ``dim`` into each branch's part, and since x fed every branch,
    dx is the sum of the branches' input gradients. Children are named "0", "1", ... (keys
    ``"0.weight"``, ...), as a torch module holding the branches in that order.
    """

    def __init__(self, *branches: Module, dim: int = 1) -> None:
        super().__init__()
        if not branches:
            raise ValueError("Concat: expected at least one branch")
        for i, branch in enumerate(branches):
            if not isinstance(branch, Module):
                raise TypeError(f"Concat: branch {i} is a {type(branch).__name__}, not a Module")
            setattr(self, str(i), branch)
        self.dim = int_dim(dim, "Concat")

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x: Any) -> Any:
        y, cache = F.cat_forward([branch(x) for branch in self.children()], self.dim)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        grads = F.cat_backward(dy, self._take())
        dx = None
        for branch, g in zip(self.children(), grads):
            d = branch.backward(g)
            dx = d if dx is None else dx + d
        return dx


class SqueezeExcitation(Module):
    """torchvision's squeeze-and-excitation block: y = x * s, with the per-channel gate

        s = scale_activation(fc2(activation(fc1(avgpool(x)))))            (N, C, 1, 1)

    ``fc1`` (C -> squeeze_channels) and ``fc2`` (back to C) are 1x1 convolutions, so the keys are
    torchvision's (``fc1.weight``, ``fc1.bias``, ``fc2.weight``, ``fc2.bias``); ``activation`` and
    ``scale_activation`` are layer classes (ReLU and Sigmoid by default; EfficientNet uses SiLU,
    MobileNetV3 Hardsigmoid).

    Backward: the product gives dx_direct = dy * s and ds = sum over h, w of dy x; ds goes back
    through the gate to x, which the gate also read (fan-out), so dx = dx_direct + gate'(x)^T ds.
    """

    def __init__(self, input_channels: int, squeeze_channels: int, activation: type[Module] = ReLU,
                 scale_activation: type[Module] = Sigmoid) -> None:
        super().__init__()
        if not (is_positive_int(input_channels) and is_positive_int(squeeze_channels)):
            raise ValueError(f"SqueezeExcitation: input_channels and squeeze_channels must be ints >= 1, got "
                             f"{input_channels!r}, {squeeze_channels!r}")
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc1 = Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _gate(self) -> list[Module]:
        return [self.avgpool, self.fc1, self.activation, self.fc2, self.scale_activation]

    def forward(self, x: Any) -> Any:
        s = x
        for layer in self._gate():
            s = layer(s)
        y, cache = F.mul_forward(x, s)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dx, ds = F.mul_backward(dy, self._take())
        for layer in reversed(self._gate()):
            ds = layer.backward(ds)
        return dx + ds
