"""MobileNetV2 and EfficientNet-B0: networks of inverted residual blocks, with torchvision's names.

An inverted residual block widens its input t times with a 1x1 convolution, filters every channel
alone with a k x k depthwise convolution (carrying the block's stride), and projects back down with
a 1x1 convolution and batch norm but no activation (the linear bottleneck); where the block keeps
the shape (stride 1, as many channels out as in) its input is added to the result.

* MobileNetV2 (``torchvision.models.mobilenetv2``): ReLU6; ``features`` = stem conv-bn-ReLU6,
  17 ``InvertedResidual`` (each a ``conv`` Sequential: ``[expand conv-bn-act,] depthwise
  conv-bn-act, Conv2d, BatchNorm2d``), a 1x1 conv-bn-ReLU6 to 1280; ``classifier`` = Dropout(0.2),
  Linear. Keys read ``features.2.conv.0.0.weight`` (block 2's expansion), ``features.2.conv.2.weight``
  (its projection), ``classifier.1.weight``.
* EfficientNet-B0 (``torchvision.models.efficientnet``): SiLU, and torchvision's
  ``SqueezeExcitation`` (SiLU inside, squeezing to a quarter of the block's input channels) between
  the depthwise and the projection; ``features`` = stem, seven stages (Sequentials of ``MBConv``,
  each a ``block`` Sequential: ``[expand,] depthwise, SE, projection conv-bn``), a 1x1 conv-bn-SiLU
  to 1280; ``avgpool``; ``classifier`` = Dropout(0.2), Linear. Keys read
  ``features.2.0.block.2.fc1.weight``. torchvision's stochastic depth (a residual branch dropped per
  image in training, with probability rising to 0.2 in the last block) is left out: it has no
  parameters or keys and is the identity in eval mode, so torchvision weights load and predict alike.

Channel counts are multiples of 8 (torchvision's ``_make_divisible``, :func:`make_divisible`), so
``width_mult`` gives torchvision's ``MobileNetV2(width_mult=...)``; the last 1x1 keeps its 1280
channels below width 1, as torchvision's.

Small inputs (:func:`~minicnn.models.blocks.is_small`): a stride-1 stem and the second stage (24
channels) at stride 1, the changes of the common CIFAR port of MobileNetV2 (kuangliu's
pytorch-cifar), so the network downsamples 8x and 32x32 reaches the last stage at 4x4; and half the
width (``width_mult`` 0.5), which keeps one training step near MobileNetV1's small form on a CPU.
"""
from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from .blocks import Chain, ResidualBlock, conv_bn, conv_bn_act, kaiming_convs_, normal_, small_form

__all__ = ["make_divisible", "LinearBottleneck", "InvertedResidual", "Block", "inverted_residual",
           "mobilenet_v2_block", "mbconv", "stage_stride", "MobileNetV2", "EfficientNet", "mobilenet_v2",
           "efficientnet_b0", "V2_SETTING", "B0_SETTING", "SMALL_WIDTH"]

#: width multiplier of the small-input forms
SMALL_WIDTH = 0.5

#: MobileNetV2's stages: expansion t, output channels c, blocks n, stride s of the first block
V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
              (6, 320, 1, 1))

#: EfficientNet-B0's stages: expansion, kernel, stride of the first block, output channels, blocks
B0_SETTING = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
              (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


def make_divisible(v: float, divisor: int = 8) -> int:
    """``v`` rounded to the nearest multiple of ``divisor``, at least ``divisor`` and never more than 10%
    below ``v`` (torchvision's ``_make_divisible``)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class LinearBottleneck(Chain):
    """``body(x)``: a block that changes the shape (stride 2 or new channels); ``name`` is torchvision's
    attribute for the body (``conv`` in MobileNetV2, ``block`` in EfficientNet)."""

    def __init__(self, name: str, body: nn.Sequential) -> None:
        super().__init__()
        setattr(self, name, body)


class InvertedResidual(ResidualBlock):
    """``x + body(x)``: a block that keeps the shape (torchvision's ``use_res_connect``). Two classes where
    torchvision has one, so that only blocks with the addition get its row in ``python -m minicnn.summary``."""

    def __init__(self, name: str, body: nn.Sequential) -> None:
        super().__init__()
        setattr(self, name, body)

    def body(self) -> list[nn.Module]:
        return list(self.children())


Block = LinearBottleneck | InvertedResidual


def inverted_residual(name: str, layers: Sequence[nn.Module], keeps_shape: bool) -> Block:
    """The block whose body is ``Sequential(*layers)`` under ``name``, with the skip when it keeps the shape."""
    return (InvertedResidual if keeps_shape else LinearBottleneck)(name, nn.Sequential(*layers))


def mobilenet_v2_block(c_in: int, c_out: int, stride: int, expand_ratio: int) -> Block:
    """torchvision's ``InvertedResidual``: ``conv`` = [1x1 expand conv-bn-ReLU6 (left out when t = 1),
    3x3 depthwise conv-bn-ReLU6 with ``stride``, 1x1 Conv2d, BatchNorm2d]."""
    hidden = int(round(c_in * expand_ratio))
    expand = [conv_bn_act(c_in, hidden, 1, act=nn.ReLU6)] if expand_ratio != 1 else []
    layers = [*expand, conv_bn_act(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6), *conv_bn(hidden, c_out, 1)]
    return inverted_residual("conv", layers, stride == 1 and c_in == c_out)


def mbconv(c_in: int, c_out: int, kernel_size: int, stride: int, expand_ratio: int) -> Block:
    """torchvision's ``MBConv``: ``block`` = [1x1 expand conv-bn-SiLU (left out when the ratio is 1),
    k x k depthwise conv-bn-SiLU with ``stride``, SqueezeExcitation (to ``c_in // 4`` channels, SiLU),
    1x1 conv-bn]."""
    hidden = make_divisible(c_in * expand_ratio)
    expand = [conv_bn_act(c_in, hidden, 1, act=nn.SiLU)] if hidden != c_in else []
    layers = [*expand, conv_bn_act(hidden, hidden, kernel_size, stride, groups=hidden, act=nn.SiLU),
              nn.SqueezeExcitation(hidden, max(1, c_in // 4), activation=nn.SiLU),
              nn.Sequential(*conv_bn(hidden, c_out, 1))]
    return inverted_residual("block", layers, stride == 1 and c_in == c_out)


def stage_stride(stage: int, stride: int, small_input: bool) -> int:
    """The stride of a stage's first block: the second stage's (index 1) is 1 in the small-input form."""
    return 1 if small_input and stage == 1 else stride


class _Features(Chain):
    """``classifier(flatten(avgpool(features(x))))`` with torchvision's Kaiming-normal (fan_out) convolutions,
    zero conv biases and batch norm at (1, 0); the subclasses initialise their Linear."""

    def __init__(self, features: list[nn.Module], classifier: list[nn.Module]) -> None:
        super().__init__()
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(*classifier)
        kaiming_convs_(self)


class MobileNetV2(_Features):
    """torchvision's MobileNetV2 at ``width_mult`` (2.24M parameters, 0.30 GMACs for 3x224x224 and 10
    classes at 1.0); ``small_input``: the CIFAR port's strides (module docstring)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0,
                 small_input: bool = False, dropout: float = 0.2) -> None:
        c = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [conv_bn_act(in_channels, c, 3, 1 if small_input else 2, act=nn.ReLU6)]
        for stage, (t, channels, n, s) in enumerate(V2_SETTING):
            out = make_divisible(channels * width_mult)
            for i in range(n):
                features.append(mobilenet_v2_block(c, out, 1 if i else stage_stride(stage, s, small_input), t))
                c = out
        features.append(conv_bn_act(c, last, 1, act=nn.ReLU6))
        super().__init__(features, [nn.Dropout(dropout), nn.Linear(last, num_classes)])
        normal_(self.classifier[1].weight, 0.0, 0.01)
        nn.init.zeros_(self.classifier[1].bias)


class EfficientNet(_Features):
    """torchvision's EfficientNet-B0 at ``width_mult`` (4.02M parameters, 0.39 GMACs for 3x224x224 and 10
    classes at 1.0), without stochastic depth; ``small_input``: the strides of MobileNetV2's small form."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0,
                 small_input: bool = False, dropout: float = 0.2) -> None:
        c = make_divisible(32 * width_mult)
        features: list[nn.Module] = [conv_bn_act(in_channels, c, 3, 1 if small_input else 2, act=nn.SiLU)]
        for stage, (t, k, s, channels, n) in enumerate(B0_SETTING):
            out = make_divisible(channels * width_mult)
            units = []
            for i in range(n):
                units.append(mbconv(c, out, k, 1 if i else stage_stride(stage, s, small_input), t))
                c = out
            features.append(nn.Sequential(*units))
        features.append(conv_bn_act(c, 4 * c, 1, act=nn.SiLU))
        super().__init__(features, [nn.Dropout(dropout), nn.Linear(4 * c, num_classes)])
        bound = 1.0 / num_classes ** 0.5                    # torchvision: U(-1/sqrt(out), 1/sqrt(out))
        nn.init.uniform_(self.classifier[1].weight, -bound, bound)
        nn.init.zeros_(self.classifier[1].bias)


def mobilenet_v2(input_shape: tuple[int, int, int], num_classes: int) -> MobileNetV2:
    """MobileNetV2; see the module docstring for the small-input form."""
    return small_form(MobileNetV2, input_shape, num_classes, SMALL_WIDTH)


def efficientnet_b0(input_shape: tuple[int, int, int], num_classes: int) -> EfficientNet:
    """EfficientNet-B0; see the module docstring for the small-input form."""
    return small_form(EfficientNet, input_shape, num_classes, SMALL_WIDTH)
