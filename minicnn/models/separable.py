"""Xception (Chollet 2017) with the names of its common PyTorch port (Cadene's
``pretrainedmodels``, timm's ``legacy_xception``): ``conv1, bn1, conv2, bn2``, entry-flow blocks
``block1..block3``, middle flow ``block4..block11``, exit flow ``block12``, ``conv3, bn3, conv4,
bn4`` and ``fc``. Each :class:`Block` is ``rep(x) + skipbn(skip(x))`` (the identity skip when the
shape is kept), ``rep`` a Sequential of ReLU, :class:`SeparableConv2d` (``conv1`` depthwise,
``pointwise``), BatchNorm2d, ... ending in a 3x3 stride-2 max pooling when the block downsamples.

Small inputs (:func:`~minicnn.models.blocks.is_small`): 3x3 stride-1 ``conv1`` and ``conv2`` with
padding 1 (the ImageNet form has stride 2 and no padding), so 32x32 reaches the exit flow at 2x2,
and a quarter of the width (8 to 512 channels).
"""
from __future__ import annotations

from .. import nn
from .blocks import Chain, ResidualBlock, scaled, small_form

__all__ = ["SeparableConv2d", "Block", "Xception", "xception"]

SMALL_WIDTH = 0.25


class SeparableConv2d(Chain):
    """pointwise(conv1(x)): a depthwise k x k convolution, then a 1x1 one (no biases)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 1, stride: int = 1, padding: int = 0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_in, kernel_size, stride, padding, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)


class Block(ResidualBlock):
    """``reps`` x [ReLU, SeparableConv2d 3x3, BatchNorm2d] (the first ReLU left out unless
    ``start_with_relu``; the channel change on the first unit when ``grow_first``, else the last),
    a 3x3 max pooling with ``stride`` when it is not 1, plus the skip."""

    def __init__(self, c_in: int, c_out: int, reps: int, stride: int = 1, start_with_relu: bool = True,
                 grow_first: bool = True) -> None:
        super().__init__()
        if c_out != c_in or stride != 1:
            self.skip = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)
            self.skipbn = nn.BatchNorm2d(c_out)
        else:
            self.skip = None
        channels = [c_out] * reps if grow_first else [c_in] * (reps - 1) + [c_out]
        rep: list[nn.Module] = []
        c = c_in
        for out in channels:
            rep += [nn.ReLU(), SeparableConv2d(c, out, 3, 1, 1), nn.BatchNorm2d(out)]
            c = out
        if not start_with_relu:
            rep = rep[1:]
        if stride != 1:
            rep.append(nn.MaxPool2d(3, stride, 1))
        self.rep = nn.Sequential(*rep)

    def body(self) -> list[nn.Module]:
        return [self.rep]

    def shortcut(self) -> list[nn.Module]:
        return [] if self.skip is None else [self.skip, self.skipbn]


class Xception(Chain):
    """Xception (20.83M parameters, 4.6 GMACs for 3x224x224 and 10 classes)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0,
                 small_input: bool = False) -> None:
        super().__init__()
        c32, c64, c128, c256, c728, c1024, c1536, c2048 = (scaled(v, width) for v in
                                                           (32, 64, 128, 256, 728, 1024, 1536, 2048))
        stride, pad = (1, 1) if small_input else (2, 0)
        self.conv1 = nn.Conv2d(in_channels, c32, 3, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm2d(c32)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c32, c64, 3, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm2d(c64)
        self.relu2 = nn.ReLU()
        self.block1 = Block(c64, c128, 2, 2, start_with_relu=False)
        self.block2 = Block(c128, c256, 2, 2)
        self.block3 = Block(c256, c728, 2, 2)
        for i in range(4, 12):
            setattr(self, f"block{i}", Block(c728, c728, 3, 1))
        self.block12 = Block(c728, c1024, 2, 2, grow_first=False)
        self.conv3 = SeparableConv2d(c1024, c1536, 3, 1, 1)
        self.bn3 = nn.BatchNorm2d(c1536)
        self.relu3 = nn.ReLU()
        self.conv4 = SeparableConv2d(c1536, c2048, 3, 1, 1)
        self.bn4 = nn.BatchNorm2d(c2048)
        self.relu4 = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c2048, num_classes)


def xception(input_shape: tuple[int, int, int], num_classes: int) -> Xception:
    """Xception; see the module docstring for the small-input form."""
    return small_form(Xception, input_shape, num_classes, SMALL_WIDTH)
