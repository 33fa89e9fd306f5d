"""ResNet-18, ResNet-50 and ResNeXt-50 (32x4d) with torchvision's module names.

``ResNet(block, layers)`` follows ``torchvision.models.resnet``: ``conv1, bn1, relu,
maxpool, layer1..layer4, avgpool, fc``, each ``layerN`` a Sequential of
:class:`BasicBlock` or :class:`Bottleneck` (``conv1, bn1, conv2, bn2, [conv3, bn3],
relu, downsample``), so a torchvision ``state_dict`` loads as it is. Weights start as
torchvision's: Kaiming-normal (fan_out) convolutions, batch norm at (1, 0), default Linear.

Small inputs (:func:`~minicnn.models.blocks.is_small`): the CIFAR-style stem, a 3x3
stride-1 ``conv1`` and no max pooling (so 32x32 reaches ``layer4`` at 4x4, not 1x1), and
a quarter of the width (stages of 16, 32, 64, 128 planes). The names are unchanged.
"""
from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from .blocks import Chain, ResidualBlock, is_small, kaiming_convs_, scaled

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet50", "resnext50_32x4d", "SMALL_WIDTH"]

#: width multiplier of the small-input form
SMALL_WIDTH = 0.25


def conv3x3(c_in: int, c_out: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)


class _Block(ResidualBlock):
    """The ResNet blocks' merge: ``relu(body(x) + downsample(x))``, the identity when ``downsample`` is None."""

    def shortcut(self) -> list[nn.Module]:
        return [] if self.downsample is None else [self.downsample]

    def after(self) -> list[nn.Module]:
        return [self.relu]


class BasicBlock(_Block):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x)), two 3x3 convolutions."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def body(self) -> list[nn.Module]:
        return [self.conv1, self.bn1, self.relu, self.conv2, self.bn2]


class Bottleneck(_Block):
    """relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + downsample(x)): 1x1 down to
    ``width``, 3x3 (stride, groups), 1x1 up to ``4 planes``; torchvision's "ResNet V1.5"
    (the stride sits on the 3x3)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def body(self) -> list[nn.Module]:
        return [self.conv1, self.bn1, self.relu, self.conv2, self.bn2, self.relu, self.conv3, self.bn3]


BlockType = type[BasicBlock] | type[Bottleneck]


class ResNet(Chain):
    """torchvision's ResNet: stem, four stages of ``layers[i]`` blocks (64, 128, 256, 512 planes
    times ``width``; stride 2 from the second stage), global average pooling and ``fc``.

    ``small_input`` swaps the 7x7 stride-2 stem and its max pooling for one 3x3 stride-1
    convolution (the CIFAR ResNet stem).
    """

    def __init__(self, block: BlockType, layers: Sequence[int], num_classes: int = 1000,
                 in_channels: int = 3, groups: int = 1, width_per_group: int = 64, width: float = 1.0,
                 small_input: bool = False) -> None:
        super().__init__()
        self.groups, self.base_width = groups, width_per_group
        self.inplanes = scaled(64, width)
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, self.inplanes, 3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, self.inplanes, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU()
        if not small_input:
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, scaled(64, width), layers[0])
        self.layer2 = self._make_layer(block, scaled(128, width), layers[1], stride=2)
        self.layer3 = self._make_layer(block, scaled(256, width), layers[2], stride=2)
        self.layer4 = self._make_layer(block, scaled(512, width), layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(scaled(512, width) * block.expansion, num_classes)
        kaiming_convs_(self)

    def _make_layer(self, block: BlockType, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)


def _resnet(input_shape: tuple[int, int, int], num_classes: int, block: BlockType, layers: Sequence[int],
            **kwargs: int) -> ResNet:
    small = is_small(input_shape)
    return ResNet(block, layers, num_classes, in_channels=input_shape[0], width=SMALL_WIDTH if small else 1.0,
                  small_input=small, **kwargs)


def resnet18(input_shape: tuple[int, int, int], num_classes: int) -> ResNet:
    """ResNet-18: BasicBlocks [2, 2, 2, 2] (11.18M parameters, 1.82 GMACs for 3x224x224 and 10 classes)."""
    return _resnet(input_shape, num_classes, BasicBlock, [2, 2, 2, 2])


def resnet50(input_shape: tuple[int, int, int], num_classes: int) -> ResNet:
    """ResNet-50: Bottlenecks [3, 4, 6, 3] (23.53M parameters, 4.1 GMACs for 3x224x224 and 10 classes)."""
    return _resnet(input_shape, num_classes, Bottleneck, [3, 4, 6, 3])


def resnext50_32x4d(input_shape: tuple[int, int, int], num_classes: int) -> ResNet:
    """ResNeXt-50 32x4d: ResNet-50 with 32 groups of 4 channels per group in the first stage's 3x3
    (width doubling each stage) (23.0M parameters for 3x224x224 and 10 classes)."""
    return _resnet(input_shape, num_classes, Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4)
