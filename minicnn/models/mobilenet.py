"""MobileNetV1: a 3x3 stem and 13 depthwise-separable blocks, each a 3x3 depthwise convolution
(``groups`` = channels) and a 1x1 pointwise one, both with batch norm and ReLU; then global
average pooling and ``fc``. Names follow torchvision's MobileNetV2 (``features`` of
``Conv2dNormActivation``-shaped Sequentials): keys read ``features.1.0.0.weight`` (block 1's
depthwise convolution), ``features.1.1.1.running_mean`` (its pointwise batch norm).

Small inputs (:func:`~minicnn.models.blocks.is_small`): a stride-1 stem (32x32 reaches the last
blocks at 2x2, as the common CIFAR port) and half the width.
"""
from __future__ import annotations

from .. import nn
from .blocks import Chain, conv_bn_act, scaled, small_form

__all__ = ["depthwise_separable", "MobileNetV1", "mobilenet_v1"]

SMALL_WIDTH = 0.5

#: (output channels, stride) of the 13 depthwise-separable blocks
V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
             (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def depthwise_separable(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """Sequential(3x3 depthwise conv-bn-relu with ``stride``, 1x1 pointwise conv-bn-relu)."""
    return nn.Sequential(conv_bn_act(c_in, c_in, 3, stride, groups=c_in), conv_bn_act(c_in, c_out, 1))


class MobileNetV1(Chain):
    """MobileNetV1 with width multiplier ``width`` (3.22M parameters, 0.58 GMACs for 3x224x224 and 10 classes)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0,
                 small_input: bool = False) -> None:
        super().__init__()
        c = scaled(32, width)
        layers: list[nn.Module] = [conv_bn_act(in_channels, c, 3, stride=1 if small_input else 2)]
        for out, stride in V1_BLOCKS:
            layers.append(depthwise_separable(c, scaled(out, width), stride))
            c = scaled(out, width)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c, num_classes)


def mobilenet_v1(input_shape: tuple[int, int, int], num_classes: int) -> MobileNetV1:
    """MobileNetV1; see the module docstring for the small-input form."""
    return small_form(MobileNetV1, input_shape, num_classes, SMALL_WIDTH)
