"""SE-ResNet-18: torchvision's ResNet-18 with a squeeze-and-excitation gate in every BasicBlock (Hu et
al. 2018), written as the common PyTorch SENet code writes it (moskomule's ``senet.pytorch``).

:class:`SEBasicBlock` is ``relu(se(bn2(conv2(relu(bn1(conv1(x)))))) + downsample(x))``: the gate
scales each channel of the residual branch before the addition,

    se(x) = x * fc(avg_pool(x).view(N, C)).view(N, C, 1, 1),

``fc`` a Sequential of Linear(C, C / 16, bias=False), ReLU, Linear(C / 16, C, bias=False), Sigmoid.
The keys are torchvision's ResNet-18 keys plus two per block, ``layer1.0.se.fc.0.weight`` and
``layer1.0.se.fc.2.weight`` (in the block's order ``conv1, bn1, conv2, bn2, se, downsample``).

Small inputs: ResNet-18's small form (the CIFAR stem, a quarter of the width,
:mod:`~minicnn.models.resnet`), whose gates squeeze 16, 32, 64 and 128 channels to 1, 2, 4 and 8.
"""
from __future__ import annotations

from typing import Any

from .. import functional as F
from .. import nn
from .resnet import BasicBlock, ResNet, _resnet

__all__ = ["SELayer", "SEBasicBlock", "se_resnet18"]


class SELayer(nn.Module):
    """y = x * fc(avg_pool(x)), the gate computed by two bias-free Linear layers over the pooled channels."""

    def __init__(self, channel: int, reduction: int = 16) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Sequential(nn.Linear(channel, channel // reduction, bias=False), nn.ReLU(),
                                nn.Linear(channel // reduction, channel, bias=False), nn.Sigmoid())
        self.unflatten = nn.Unflatten(1, (channel, 1, 1))

    def forward(self, x: Any) -> Any:
        s = self.unflatten(self.fc(self.flatten(self.avg_pool(x))))
        y, cache = F.mul_forward(x, s)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dx, ds = F.mul_backward(dy, self._take())
        ds = self.avg_pool.backward(self.flatten.backward(self.fc.backward(self.unflatten.backward(ds))))
        return dx + ds                          # x fed both the product and the gate: the gradients add


class SEBasicBlock(BasicBlock):
    """torchvision's BasicBlock with ``se`` after ``bn2``, before the addition."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, reduction: int = 16) -> None:
        super().__init__(inplanes, planes, stride, None, groups, base_width)
        self.se = SELayer(planes, reduction)
        self.downsample = downsample            # after se, as in the SENet code (the keys' order)

    def body(self) -> list[nn.Module]:
        return [*super().body(), self.se]


def se_resnet18(input_shape: tuple[int, int, int], num_classes: int) -> ResNet:
    """SE-ResNet-18: SEBasicBlocks [2, 2, 2, 2], reduction 16 (11.27M parameters, 1.82 GMACs for 3x224x224
    and 10 classes); small inputs as ResNet-18's."""
    return _resnet(input_shape, num_classes, SEBasicBlock, [2, 2, 2, 2])
