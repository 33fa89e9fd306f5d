"""Conv2d: a thin layer over ``minicnn.functional.conv2d_forward/backward``."""
from __future__ import annotations

from typing import Any

from .. import backend
from ..functional import conv as Fc
from ..functional._util import pair
from .init import default_weight_and_bias
from .module import Module, Parameter

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-D convolution over NCHW input with an OIHW weight, PyTorch's arguments and defaults."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "Conv2d kernel_size")
        self.stride = pair(stride, "Conv2d stride")
        self.padding = pair(padding, "Conv2d padding")
        self.dilation = pair(dilation, "Conv2d dilation")
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"Conv2d: in_channels and out_channels must be >= 1, got {in_channels}, {out_channels}")
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1 or min(self.padding) < 0:
            raise ValueError(f"Conv2d: kernel_size, stride and dilation must be >= 1 and padding >= 0, got "
                             f"kernel_size={kernel_size}, stride={stride}, dilation={dilation}, padding={padding}")
        xp = backend.xp()
        self.weight = Parameter(xp.zeros((out_channels, in_channels // groups, *self.kernel_size), dtype="float32"))
        self.register_parameter("bias", Parameter(xp.zeros(out_channels, dtype="float32")) if bias else None)
        default_weight_and_bias(self.weight, self.bias)

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
                *(Fc.conv_output_size(s, k, st, p, d) for s, k, st, p, d in
                  zip((h, w), self.kernel_size, self.stride, self.padding, self.dilation)))

    def forward(self, x: Any) -> Any:
        self._check_input(x, (4,), self.in_channels)
        _, ho, wo = self.output_shape(tuple(x.shape[1:]))
        if ho < 1 or wo < 1:
            raise ValueError(f"{self._name()}: kernel {self.kernel_size} with dilation {self.dilation} is larger "
                             f"than the padded input {x.shape[2] + 2 * self.padding[0]}x"
                             f"{x.shape[3] + 2 * self.padding[1]} (input shape {tuple(x.shape)})")
        b = self.bias.data if self.bias is not None else None
        y, cache = Fc.conv2d_forward(x, self.weight.data, b, self.stride, self.padding, self.dilation, self.groups)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dx, dw, db = Fc.conv2d_backward(dy, self._take())
        self._accumulate(self.weight, dw)
        self._accumulate(self.bias, db)
        return dx
