"""ShuffleNetV2 with torchvision's names (``torchvision.models.shufflenetv2``).

``conv1`` (3x3 stride-2 conv-bn-ReLU), ``maxpool``, ``stage2..stage4`` (Sequentials of
:class:`InvertedResidual`, the first of each at stride 2), ``conv5`` (1x1 conv-bn-ReLU), global
average pooling and ``fc``. A stride-1 unit splits its channels in two halves, passes the first
through and runs the second through ``branch2`` (1x1 conv-bn-ReLU, 3x3 depthwise conv-bn, 1x1
conv-bn-ReLU); a stride-2 unit runs the whole input through both ``branch1`` (3x3 depthwise stride-2
conv-bn, 1x1 conv-bn-ReLU) and ``branch2``, doubling the channels. Either way the two halves are
concatenated and their channels shuffled (interleaved), so that the next unit's split mixes both.
Keys read ``stage2.0.branch1.0.weight``, ``stage3.1.branch2.3.weight``, ``conv5.1.running_mean``.

Small inputs (:func:`~minicnn.models.blocks.is_small`): ``conv1`` at stride 1 and no max pooling (the
common CIFAR port's stem), so 32x32 reaches ``stage4`` at 4x4; and the x0.5 widths
(:data:`X0_5`, torchvision's ``shufflenet_v2_x0_5``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import backend, nn
from .. import functional as F
from .blocks import Chain, conv_bn, conv_bn_act, is_small

__all__ = ["InvertedResidual", "ShuffleNetV2", "shufflenet_v2", "REPEATS", "X1_0", "X0_5"]

#: units per stage, and the output channels of conv1, stage2..stage4 and conv5 at x1.0 and x0.5
REPEATS = (4, 8, 4)
X1_0 = (24, 116, 232, 464, 1024)
X0_5 = (24, 48, 96, 192, 1024)


class InvertedResidual(nn.Module):
    """shuffle(cat([x1, branch2(x2)])) with (x1, x2) = x's channel halves at stride 1;
    shuffle(cat([branch1(x), branch2(x)])) at stride 2."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = oup // 2
        branch1 = [*conv_bn(inp, inp, 3, stride, groups=inp), *conv_bn(inp, half, 1), nn.ReLU()] if stride > 1 else []
        self.branch1 = nn.Sequential(*branch1)
        self.branch2 = nn.Sequential(*conv_bn(inp if stride > 1 else half, half, 1), nn.ReLU(),
                                     *conv_bn(half, half, 3, stride, groups=half), *conv_bn(half, half, 1), nn.ReLU())
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x: Any) -> Any:
        if self.stride == 1:
            half = x.shape[1] // 2
            y, cache = F.cat_forward([x[:, :half], self.branch2(x[:, half:])], dim=1)
        else:
            y, cache = F.cat_forward([self.branch1(x), self.branch2(x)], dim=1)
        self._save(cache)
        return self.shuffle(y)

    def backward(self, dy: Any) -> Any:
        d1, d2 = F.cat_backward(self.shuffle.backward(dy), self._take())
        if self.stride == 1:                                # the split's gradient: the halves' side by side
            return backend.xp().concatenate([d1, self.branch2.backward(d2)], axis=1)
        return self.branch1.backward(d1) + self.branch2.backward(d2)       # x fed both branches: add


class ShuffleNetV2(Chain):
    """torchvision's ShuffleNetV2 with ``stages_out_channels`` (x1.0: 1.26M parameters, 0.15 GMACs for
    3x224x224 and 10 classes); ``small_input``: a stride-1 ``conv1`` and no max pooling. Weights start
    as PyTorch's defaults, as torchvision leaves them."""

    def __init__(self, stages_repeats: Sequence[int], stages_out_channels: Sequence[int], num_classes: int = 1000,
                 in_channels: int = 3, small_input: bool = False) -> None:
        super().__init__()
        c = stages_out_channels[0]
        self.conv1 = conv_bn_act(in_channels, c, 3, stride=1 if small_input else 2)
        if not small_input:
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        for i, (repeats, out) in enumerate(zip(stages_repeats, stages_out_channels[1:])):
            units = [InvertedResidual(c, out, 2)] + [InvertedResidual(out, out, 1) for _ in range(repeats - 1)]
            setattr(self, f"stage{i + 2}", nn.Sequential(*units))
            c = out
        self.conv5 = conv_bn_act(c, stages_out_channels[-1], 1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(stages_out_channels[-1], num_classes)


def shufflenet_v2(input_shape: tuple[int, int, int], num_classes: int) -> ShuffleNetV2:
    """ShuffleNetV2 x1.0; see the module docstring for the small-input form (x0.5)."""
    small = is_small(input_shape)
    return ShuffleNetV2(REPEATS, X0_5 if small else X1_0, num_classes, input_shape[0], small)
