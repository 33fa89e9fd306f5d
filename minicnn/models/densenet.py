"""DenseNet-BC-40 (growth rate 12) with torchvision's module names.

``DenseNet(growth_rate, block_config, num_init_features, bn_size)`` follows
``torchvision.models.DenseNet``: ``features`` (``conv0``, ``norm0``, ``relu0``, ``pool0``,
``denseblock1``, ``transition1``, ..., ``norm5``), then ReLU, global average pooling and
``classifier``; a dense block's layers are ``denselayer1``, ... (``norm1``, ``relu1``, ``conv1``
(1x1 to ``bn_size * growth_rate``), ``norm2``, ``relu2``, ``conv2`` (3x3 to ``growth_rate``)) and
each layer's output is its input with the new channels appended, ``cat([x, h(x)])``, so the
block ends with every earlier layer's features (torchvision passes the growing list of
features instead: the same values). A transition (``norm``, ``relu``, ``conv``, ``pool``)
halves the channels (the "C" of BC, compression 0.5) and the resolution.

DenseNet-40 of the paper (Huang et al. 2017, CIFAR) has 40 layers: the first convolution, the
two transitions, the classifier and 36 convolutions in three dense blocks. Without bottlenecks
those are 12 layers of one 3x3 convolution per block (1.0M parameters); DenseNet-BC spends two
convolutions per layer (1x1 bottleneck, 3x3), so 6 layers per block, and with compression 0.5
has 0.18M parameters, the seed's count. So ``densenet40`` is DenseNet-BC: growth rate 12, blocks
of (6, 6, 6) layers, 24 (2 x 12) initial features, bottleneck width 4 x 12.

Standard inputs get torchvision's ImageNet stem (7x7 stride-2 ``conv0``, ``norm0``, ``relu0``,
3x3 stride-2 max pooling ``pool0``; 0.179M parameters for 10 classes). Small inputs
(:func:`~.blocks.is_small`) get the paper's CIFAR stem, a single 3x3 stride-1 ``conv0``
(32x32 runs the blocks at 32, 16 and 8 pixels), at full width: the network is small enough.
"""
from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from .blocks import Branches, Chain, is_small

__all__ = ["DenseLayer", "Transition", "DenseNet", "densenet40"]


class DenseLayer(Branches):
    """``cat([x, conv2(relu2(norm2(conv1(relu1(norm1(x))))))])``: ``growth_rate`` new channels."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

    def paths(self) -> list[list[nn.Module]]:
        return [[], [self.norm1, self.relu1, self.conv1, self.norm2, self.relu2, self.conv2]]


class Transition(Chain):
    """norm, relu, 1x1 conv to ``num_output_features``, 2x2 average pooling."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(num_input_features, num_output_features, 1, bias=False)
        self.pool = nn.AvgPool2d(2, stride=2)


class DenseNet(Chain):
    """torchvision's DenseNet; ``small_input`` replaces the stem with one 3x3 stride-1 ``conv0``.
    Weights start as torchvision's: Kaiming-normal convolutions, batch norm at (1, 0), zero
    ``classifier`` bias."""

    def __init__(self, growth_rate: int = 32, block_config: Sequence[int] = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, num_classes: int = 1000, in_channels: int = 3,
                 small_input: bool = False) -> None:
        super().__init__()
        self.features = Chain()
        if small_input:
            self.features.conv0 = nn.Conv2d(in_channels, num_init_features, 3, padding=1, bias=False)
        else:
            self.features.conv0 = nn.Conv2d(in_channels, num_init_features, 7, stride=2, padding=3, bias=False)
            self.features.norm0 = nn.BatchNorm2d(num_init_features)
            self.features.relu0 = nn.ReLU()
            self.features.pool0 = nn.MaxPool2d(3, stride=2, padding=1)
        c = num_init_features
        for i, num_layers in enumerate(block_config, 1):
            block = Chain()
            for j in range(1, num_layers + 1):
                setattr(block, f"denselayer{j}", DenseLayer(c, growth_rate, bn_size))
                c += growth_rate
            setattr(self.features, f"denseblock{i}", block)
            if i < len(block_config):
                setattr(self.features, f"transition{i}", Transition(c, c // 2))
                c //= 2
        self.features.norm5 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
        nn.init.zeros_(self.classifier.bias)


def densenet40(input_shape: tuple[int, int, int], num_classes: int) -> DenseNet:
    """DenseNet-BC-40 with growth rate 12; see the module docstring for the two forms."""
    return DenseNet(12, (6, 6, 6), 24, 4, num_classes, input_shape[0], is_small(input_shape))
