"""Darknet-53, the YOLOv3 backbone as an ImageNet classifier, written as its common PyTorch port:
``conv1``, then five stages ``convN`` (3x3 stride 2) + ``residual_blockN`` (1, 2, 8, 8, 4 blocks),
``global_avg_pool`` and ``fc``. Every convolution is ``conv_batch``: Conv2d (no bias),
BatchNorm2d, LeakyReLU(0.1), as Darknet's.

Small inputs (:func:`~minicnn.models.blocks.is_small`): the first downsampling ``conv2`` keeps
stride 1 (32x32 reaches the last stage at 2x2) and a quarter of the width (8 to 256 channels).
"""
from __future__ import annotations

from .. import nn
from .blocks import Chain, ResidualBlock, conv_bn_act, scaled, small_form

__all__ = ["conv_batch", "DarkResidualBlock", "Darknet53", "darknet53"]

SMALL_WIDTH = 0.25


def conv_batch(c_in: int, c_out: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    """Conv2d (no bias, 'same' padding), BatchNorm2d, LeakyReLU(0.1)."""
    return conv_bn_act(c_in, c_out, kernel_size, stride, act=nn.LeakyReLU, negative_slope=0.1)


class DarkResidualBlock(ResidualBlock):
    """x + layer2(layer1(x)): a 1x1 convolution to half the channels, then a 3x3 back."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.layer1 = conv_batch(channels, channels // 2, kernel_size=1)
        self.layer2 = conv_batch(channels // 2, channels)

    def body(self) -> list[nn.Module]:
        return [self.layer1, self.layer2]


class Darknet53(Chain):
    """Darknet-53: 52 convolutions and ``fc`` (40.6M parameters, 7.1 GMACs for 3x224x224 and 10 classes)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0,
                 small_input: bool = False) -> None:
        super().__init__()
        c = [scaled(v, width) for v in (32, 64, 128, 256, 512, 1024)]
        self.conv1 = conv_batch(in_channels, c[0])
        self.conv2 = conv_batch(c[0], c[1], stride=1 if small_input else 2)
        self.residual_block1 = self._make_layer(c[1], 1)
        self.conv3 = conv_batch(c[1], c[2], stride=2)
        self.residual_block2 = self._make_layer(c[2], 2)
        self.conv4 = conv_batch(c[2], c[3], stride=2)
        self.residual_block3 = self._make_layer(c[3], 8)
        self.conv5 = conv_batch(c[3], c[4], stride=2)
        self.residual_block4 = self._make_layer(c[4], 8)
        self.conv6 = conv_batch(c[4], c[5], stride=2)
        self.residual_block5 = self._make_layer(c[5], 4)
        self.global_avg_pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c[5], num_classes)

    @staticmethod
    def _make_layer(channels: int, blocks: int) -> nn.Sequential:
        return nn.Sequential(*(DarkResidualBlock(channels) for _ in range(blocks)))


def darknet53(input_shape: tuple[int, int, int], num_classes: int) -> Darknet53:
    """Darknet-53; see the module docstring for the small-input form."""
    return small_form(Darknet53, input_shape, num_classes, SMALL_WIDTH)
