"""MaxPool2d, AvgPool2d and AdaptiveAvgPool2d: thin layers over ``minicnn.functional.pooling``."""
from __future__ import annotations

from typing import Any

from ..functional import pooling as Fp
from ..functional._util import pair
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


class _Pool2d(Module):
    """Shared constructor and input checks of the fixed-window pools (no parameters)."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        cls = type(self).__name__
        self.kernel_size = pair(kernel_size, f"{cls} kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, f"{cls} stride")
        self.padding = pair(padding, f"{cls} padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"{cls}: kernel_size and stride must be >= 1, got kernel_size={kernel_size}, "
                             f"stride={stride}")
        if min(self.padding) < 0 or any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{cls}: padding must be between 0 and half the kernel size (as in PyTorch), got "
                             f"padding={padding} for kernel_size={kernel_size}")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C, H_out, W_out) for an input of shape (C, H, W)."""
        c, h, w = input_shape
        return (c, *(Fp.pool_output_size(s, k, st, p) for s, k, st, p in
                     zip((h, w), self.kernel_size, self.stride, self.padding)))

    def _check(self, x: Any) -> None:
        self._check_input(x, (4,))
        _, ho, wo = self.output_shape(tuple(x.shape[1:]))
        if ho < 1 or wo < 1:
            raise ValueError(f"{self._name()}: kernel {self.kernel_size} is larger than the padded input "
                             f"{x.shape[2] + 2 * self.padding[0]}x{x.shape[3] + 2 * self.padding[1]} "
                             f"(input shape {tuple(x.shape)})")


class MaxPool2d(_Pool2d):
    """Max over each k_h x k_w window (padding acts as -inf; ties go to the first maximum), as PyTorch's."""

    def forward(self, x: Any) -> Any:
        self._check(x)
        y, cache = Fp.max_pool2d_forward(x, self.kernel_size, self.stride, self.padding)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        return Fp.max_pool2d_backward(dy, self._take())


class AvgPool2d(_Pool2d):
    """Mean over each k_h x k_w window, zero padding counted in the divisor, as PyTorch's default."""

    def forward(self, x: Any) -> Any:
        self._check(x)
        y, cache = Fp.avg_pool2d_forward(x, self.kernel_size, self.stride, self.padding)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        return Fp.avg_pool2d_backward(dy, self._take())


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed (H_o, W_o) with PyTorch's bins; ``AdaptiveAvgPool2d(1)`` is global pooling."""

    def __init__(self, output_size: int | tuple[int, int]) -> None:
        super().__init__()
        self.output_size = pair(output_size, "AdaptiveAvgPool2d output_size")
        if min(self.output_size) < 1:
            raise ValueError(f"AdaptiveAvgPool2d: output_size must be >= 1, got {output_size!r}")

    def extra_repr(self) -> str:
        ho, wo = self.output_size
        return f"output_size={ho if ho == wo else self.output_size}"

    def forward(self, x: Any) -> Any:
        self._check_input(x, (4,))
        y, cache = Fp.adaptive_avg_pool2d_forward(x, self.output_size)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        return Fp.adaptive_avg_pool2d_backward(dy, self._take())
