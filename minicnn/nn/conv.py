"""Conv2d: a thin layer over ``minicnn.functional.conv2d_forward/backward``."""
from __future__ import annotations

from typing import Any

from .. import backend
from .. import functional as F
from ..checks import is_positive_int
from .init import default_weight_and_bias
from .module import Module, Parameter

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-D convolution over NCHW input with an OIHW weight, PyTorch's arguments and defaults.

    ``input_grad`` (default True): set it to False on a network's first layer, whose input is data,
    and backward skips the input gradient (a col2im and a matrix product) and returns None, as
    PyTorch does for an input that does not require grad.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True) -> None:
        super().__init__()
        if not (is_positive_int(in_channels) and is_positive_int(out_channels)):
            raise ValueError(f"Conv2d: in_channels and out_channels must be ints >= 1, got {in_channels!r}, "
                             f"{out_channels!r}")
        if not is_positive_int(groups) or in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups!r} must be an int >= 1 dividing in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size, self.stride, self.padding, self.dilation = F.conv_hyperparameters(
            kernel_size, stride, padding, dilation, "Conv2d")
        xp = backend.xp()
        self.weight = Parameter(xp.zeros((out_channels, in_channels // groups, *self.kernel_size), dtype="float32"))
        self.register_parameter("bias", Parameter(xp.zeros(out_channels, dtype="float32")) if bias else None)
        default_weight_and_bias(self.weight, self.bias)
        self.input_grad = True

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C_out, H_out, W_out) for an input of shape (C_in, H, W)."""
        _, h, w = input_shape
        return (self.out_channels,
                *(F.conv_output_size(s, k, st, p, d) for s, k, st, p, d in
                  zip((h, w), self.kernel_size, self.stride, self.padding, self.dilation)))

    def forward(self, x: Any) -> Any:
        b = self.bias.data if self.bias is not None else None
        y, cache = F.conv2d_forward(x, self.weight.data, b, self.stride, self.padding, self.dilation, self.groups)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dx, dw, db = F.conv2d_backward(dy, self._take(), self.input_grad)
        self._accumulate(self.weight, dw)
        self._accumulate(self.bias, db)
        return dx
