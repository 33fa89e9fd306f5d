"""GoogLeNet and Inception-v3 with torchvision's module names, without the auxiliary classifiers.

Both are torchvision's networks (``torchvision.models.GoogLeNet`` / ``Inception3`` built with
``aux_logits=False``): ``BasicConv2d`` (convolution without bias, batch norm with eps 0.001,
ReLU) everywhere, and blocks whose paths read the same input and are joined by concatenation
(:class:`~.blocks.Branches`): GoogLeNet's ``inception3a.branch1`` .. ``branch4``,
Inception-v3's ``Mixed_5b.branch1x1``, ``branch5x5_1``, ``branch5x5_2``, ... so a torchvision
``state_dict`` saved without the auxiliary heads loads as it is. The auxiliary classifiers
(``aux1``/``aux2``, ``AuxLogits``) are left out: they only train with their own losses added
to the main one, which ``python -m minicnn.train`` does not do.

Small inputs (:func:`~.blocks.is_small`) keep every name and block with a quarter of the
channels and a CIFAR-style stem: GoogLeNet's ``conv1`` is a 3x3 stride-1 convolution and
``maxpool1`` is gone (32x32 reaches the inception3 blocks at 16x16, inception5 at 4x4);
Inception-v3's stem convolutions keep the resolution (stride 1, padding 1) and ``maxpool1`` is
gone (32x32 reaches ``Mixed_5b`` at 15x15, ``Mixed_7c`` at 3x3; 28x28 at 13x13 and 2x2).
"""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import nn
from .blocks import Branches, Chain, kaiming_convs_, normal_, scaled, small_form

__all__ = ["BasicConv2d", "Inception", "GoogLeNet", "googlenet", "InceptionA", "InceptionB", "InceptionC",
           "InceptionD", "InceptionE", "Inception3", "inception_v3", "SMALL_WIDTH"]

#: width multiplier of the small-input forms
SMALL_WIDTH = 0.25


class BasicConv2d(Chain):
    """relu(bn(conv(x))): a convolution without bias (``Conv2d`` keyword arguments) and batch norm
    with eps 0.001, as torchvision's (keys ``conv.weight``, ``bn.weight``, ...)."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU()


# ---- GoogLeNet -----------------------------------------------------------------------------------------------


class Inception(Branches):
    """GoogLeNet's block: cat of a 1x1 convolution, 1x1 -> 3x3, 1x1 -> 3x3 (``branch3_kernel``) and
    3x3 max pooling -> 1x1, ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels out."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, branch3_kernel: int = 3) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=branch3_kernel,
                                                 padding=branch3_kernel // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def paths(self) -> list[list[nn.Module]]:
        return [[self.branch1], [self.branch2], [self.branch3], [self.branch4]]


#: the nine Inception blocks: (name, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
GOOGLENET_BLOCKS = (("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64),
                    ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64),
                    ("4c", 128, 128, 256, 24, 64, 64), ("4d", 112, 144, 288, 32, 64, 64),
                    ("4e", 256, 160, 320, 32, 128, 128), ("5a", 256, 160, 320, 32, 128, 128),
                    ("5b", 384, 192, 384, 48, 128, 128))


class GoogLeNet(Chain):
    """torchvision's GoogLeNet without ``aux1``/``aux2``: conv1 (7x7 stride 2), maxpool1, conv2 (1x1),
    conv3 (3x3), maxpool2, inception3a-3b, maxpool3, inception4a-4e, maxpool4, inception5a-5b, global
    average pooling, dropout 0.2, ``fc`` (the max poolings with ``ceil_mode=True``); 5.61M parameters,
    1.50 GMACs for 3x224x224 and 10 classes.

    ``branch3_kernel``: the "5x5" branch's second convolution is 3x3 in torchvision (a slip kept
    so that its ImageNet weights load, pytorch/vision#906); 5 gives the paper's 5x5 (5.99M
    parameters). ``width`` scales every block's channels; ``small_input`` makes ``conv1`` a 3x3
    stride-1 convolution and drops ``maxpool1``. Weights: Kaiming-normal (fan_out) convolutions as
    torchvision's ResNet, ``fc`` weight N(0, 0.01^2) and batch norm at (1, 0) as torchvision's
    GoogLeNet. (Its N(0, 0.01^2) convolutions leave every batch norm's input with a variance
    near 0.001, and the running variance, starting at 1, needs a few hundred steps to come down
    to it: after a short run evaluation divided by running variances 10 to 100 times too large.)
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0,
                 small_input: bool = False, dropout: float = 0.2, branch3_kernel: int = 3) -> None:
        super().__init__()
        w = partial(scaled, width=width)
        if small_input:
            self.conv1 = BasicConv2d(in_channels, w(64), kernel_size=3, padding=1)
        else:
            self.conv1 = BasicConv2d(in_channels, w(64), kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(w(64), w(64), kernel_size=1)
        self.conv3 = BasicConv2d(w(64), w(192), kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        c = w(192)
        for name, *channels in GOOGLENET_BLOCKS:
            block = Inception(c, *map(w, channels), branch3_kernel=branch3_kernel)
            setattr(self, f"inception{name}", block)
            c = block.out_channels
            if name == "3b":
                self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            elif name == "4e":
                self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, num_classes)
        kaiming_convs_(self)
        normal_(self.fc.weight, 0.0, 0.01)


def googlenet(input_shape: tuple[int, int, int], num_classes: int) -> GoogLeNet:
    """GoogLeNet; see the module docstring for the small-input form."""
    return small_form(GoogLeNet, input_shape, num_classes, SMALL_WIDTH)


# ---- Inception-v3 --------------------------------------------------------------------------------------------


class InceptionA(Branches):
    """35x35 block: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | 3x3 average pooling -> 1x1 (``pool_features``)."""

    def __init__(self, in_channels: int, pool_features: int, width: float = 1.0) -> None:
        super().__init__()
        w = partial(scaled, width=width)
        self.branch1x1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, w(48), kernel_size=1)
        self.branch5x5_2 = BasicConv2d(w(48), w(64), kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, padding=1)
        self.avg_pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)
        self.out_channels = 2 * w(64) + w(96) + pool_features

    def paths(self) -> list[list[nn.Module]]:
        return [[self.branch1x1], [self.branch5x5_1, self.branch5x5_2],
                [self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3], [self.avg_pool, self.branch_pool]]


class InceptionB(Branches):
    """35 -> 17 reduction: 3x3 stride 2 | 1x1 -> 3x3 -> 3x3 stride 2 | 3x3 stride-2 max pooling."""

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()
        w = partial(scaled, width=width)
        self.branch3x3 = BasicConv2d(in_channels, w(384), kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, stride=2)
        self.max_pool = nn.MaxPool2d(3, stride=2)
        self.out_channels = w(384) + w(96) + in_channels

    def paths(self) -> list[list[nn.Module]]:
        return [[self.branch3x3], [self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3],
                [self.max_pool]]


class InceptionC(Branches):
    """17x17 block with factorised 7x7s: 1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 |
    average pooling -> 1x1 (``channels_7x7`` inside the 7x7 paths, 192 out of each path)."""

    def __init__(self, in_channels: int, channels_7x7: int, width: float = 1.0) -> None:
        super().__init__()
        w = partial(scaled, width=width)
        c7, c192 = channels_7x7, w(192)
        row, col = dict(kernel_size=(1, 7), padding=(0, 3)), dict(kernel_size=(7, 1), padding=(3, 0))
        self.branch1x1 = BasicConv2d(in_channels, c192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, **row)
        self.branch7x7_3 = BasicConv2d(c7, c192, **col)
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, **row)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_5 = BasicConv2d(c7, c192, **row)
        self.avg_pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, c192, kernel_size=1)
        self.out_channels = 4 * c192

    def paths(self) -> list[list[nn.Module]]:
        return [[self.branch1x1], [self.branch7x7_1, self.branch7x7_2, self.branch7x7_3],
                [self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                 self.branch7x7dbl_5],
                [self.avg_pool, self.branch_pool]]


class InceptionD(Branches):
    """17 -> 8 reduction: 1x1 -> 3x3 stride 2 | 1x1 -> 1x7 -> 7x1 -> 3x3 stride 2 | 3x3 stride-2 max pooling."""

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()
        w = partial(scaled, width=width)
        self.branch3x3_1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch3x3_2 = BasicConv2d(w(192), w(320), kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(w(192), w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(w(192), w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(w(192), w(192), kernel_size=3, stride=2)
        self.max_pool = nn.MaxPool2d(3, stride=2)
        self.out_channels = w(320) + w(192) + in_channels

    def paths(self) -> list[list[nn.Module]]:
        return [[self.branch3x3_1, self.branch3x3_2],
                [self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4], [self.max_pool]]


class InceptionE(Branches):
    """8x8 block with split 3x3s: 1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) | average pooling ->
    1x1, where (1x3, 3x1) is the two convolutions of the same input, concatenated."""

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()
        w = partial(scaled, width=width)
        row, col = dict(kernel_size=(1, 3), padding=(0, 1)), dict(kernel_size=(3, 1), padding=(1, 0))
        self.branch1x1 = BasicConv2d(in_channels, w(320), kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, w(384), kernel_size=1)
        self.branch3x3_2a = BasicConv2d(w(384), w(384), **row)
        self.branch3x3_2b = BasicConv2d(w(384), w(384), **col)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(448), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(448), w(384), kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(w(384), w(384), **row)
        self.branch3x3dbl_3b = BasicConv2d(w(384), w(384), **col)
        self.avg_pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, w(192), kernel_size=1)
        # the inner splits, kept in a tuple (a plain attribute) so the keys stay branch3x3_2a, ...
        self.splits = (nn.Concat(self.branch3x3_2a, self.branch3x3_2b),
                       nn.Concat(self.branch3x3dbl_3a, self.branch3x3dbl_3b))
        self.out_channels = w(320) + 4 * w(384) + w(192)

    def paths(self) -> list[list[nn.Module]]:
        return [[self.branch1x1], [self.branch3x3_1, self.splits[0]],
                [self.branch3x3dbl_1, self.branch3x3dbl_2, self.splits[1]], [self.avg_pool, self.branch_pool]]


class Inception3(Chain):
    """torchvision's Inception3 without ``AuxLogits``: the stem (Conv2d_1a_3x3 .. Conv2d_4a_3x3 with two
    max poolings), Mixed_5b-5d (InceptionA), Mixed_6a (B), Mixed_6b-6e (C), Mixed_7a (D), Mixed_7b-7c
    (E), global average pooling, dropout 0.5, ``fc``; 21.81M parameters for 10 classes (299x299 is
    its natural size; 224x224 reaches Mixed_7c at 5x5; below 75x75 it is too small, as torchvision's).

    ``width`` scales every channel count; ``small_input`` gives the stem convolutions stride 1 and
    padding 1 and drops ``maxpool1``. Weights start as torchvision's: N(0, 0.1^2) convolutions and
    ``fc`` weight (torchvision's truncation at +-2 is 20 standard deviations out), batch norm at (1, 0).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0,
                 small_input: bool = False, dropout: float = 0.5) -> None:
        super().__init__()
        w = partial(scaled, width=width)
        stride, pad = (1, 1) if small_input else (2, 0)
        self.Conv2d_1a_3x3 = BasicConv2d(in_channels, w(32), kernel_size=3, stride=stride, padding=pad)
        self.Conv2d_2a_3x3 = BasicConv2d(w(32), w(32), kernel_size=3, padding=pad)
        self.Conv2d_2b_3x3 = BasicConv2d(w(32), w(64), kernel_size=3, padding=1)
        if not small_input:
            self.maxpool1 = nn.MaxPool2d(3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(w(64), w(80), kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(w(80), w(192), kernel_size=3, padding=pad)
        self.maxpool2 = nn.MaxPool2d(3, stride=2)
        self.Mixed_5b = InceptionA(w(192), w(32), width)
        self.Mixed_5c = InceptionA(self.Mixed_5b.out_channels, w(64), width)
        self.Mixed_5d = InceptionA(self.Mixed_5c.out_channels, w(64), width)
        self.Mixed_6a = InceptionB(self.Mixed_5d.out_channels, width)
        self.Mixed_6b = InceptionC(self.Mixed_6a.out_channels, w(128), width)
        self.Mixed_6c = InceptionC(self.Mixed_6b.out_channels, w(160), width)
        self.Mixed_6d = InceptionC(self.Mixed_6c.out_channels, w(160), width)
        self.Mixed_6e = InceptionC(self.Mixed_6d.out_channels, w(192), width)
        self.Mixed_7a = InceptionD(self.Mixed_6e.out_channels, width)
        self.Mixed_7b = InceptionE(self.Mixed_7a.out_channels, width)
        self.Mixed_7c = InceptionE(self.Mixed_7b.out_channels, width)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(self.Mixed_7c.out_channels, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                normal_(m.weight, 0.0, 0.1)


def inception_v3(input_shape: tuple[int, int, int], num_classes: int) -> Inception3:
    """Inception-v3; see the module docstring for the small-input form."""
    return small_form(Inception3, input_shape, num_classes, SMALL_WIDTH)
