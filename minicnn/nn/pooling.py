"""MaxPool2d, AvgPool2d and AdaptiveAvgPool2d: thin layers over ``minicnn.functional.pooling``."""
from __future__ import annotations

from .. import functional as F
from .module import _OpLayer

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


class _Pool2d(_OpLayer):
    """Shared constructor, repr and output shape of the fixed-window pools (no parameters)."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, ceil_mode: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size, self.stride, self.padding = F.pool_hyperparameters(kernel_size, stride, padding, name)
        self.ceil_mode = F.pool_flag(ceil_mode, "ceil_mode", name)

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return s + (", ceil_mode=True" if self.ceil_mode else "")

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C, H_out, W_out) for an input of shape (C, H, W)."""
        c, h, w = input_shape
        return (c, *(F.pool_output_size(s, k, st, p, self.ceil_mode) for s, k, st, p in
                     zip((h, w), self.kernel_size, self.stride, self.padding)))


class MaxPool2d(_Pool2d):
    """Max over each k_h x k_w window (padding acts as -inf; ties go to the first maximum), as PyTorch's."""

    op = "max_pool2d"
    _args = ("kernel_size", "stride", "padding", "ceil_mode")


class AvgPool2d(_Pool2d):
    """Mean over each k_h x k_w window, as PyTorch's: zero padding counts in the divisor unless
    ``count_include_pad=False``; cells a ``ceil_mode`` window runs past the padding never do."""

    op = "avg_pool2d"
    _args = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = F.pool_flag(count_include_pad, "count_include_pad", type(self).__name__)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")


class AdaptiveAvgPool2d(_OpLayer):
    """Average pooling to a fixed (H_o, W_o) with PyTorch's bins; ``AdaptiveAvgPool2d(1)`` is global pooling."""

    op = "adaptive_avg_pool2d"
    _args = ("output_size",)

    def __init__(self, output_size: int | tuple[int, int]) -> None:
        super().__init__()
        self.output_size = F.adaptive_output_size(output_size, "AdaptiveAvgPool2d")

    def extra_repr(self) -> str:
        ho, wo = self.output_size
        return f"output_size={ho if ho == wo else self.output_size}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C, H_o, W_o) for an input of shape (C, H, W): the output size is given."""
        return (input_shape[0], *self.output_size)
