"""SqueezeNet 1.1 with torchvision's names (``torchvision.models.squeezenet``).

``features``: a 3x3 stride-2 convolution (64 channels), ReLU, and eight :class:`Fire` modules with
three 3x3 stride-2 max poolings (``ceil_mode=True``) among them; ``classifier``: Dropout(0.5), a 1x1
convolution to one channel per class, ReLU and global average pooling. A Fire module squeezes its
input with a 1x1 convolution and expands it again along two branches, 1x1 and 3x3, whose outputs
are concatenated. Keys read ``features.3.squeeze.weight``, ``features.3.expand3x3.bias``,
``classifier.1.weight``. The classifier is a convolution: there is no Linear layer, so no head for
``--freeze-features``; the seed's 0.73M parameters are those of this network with 10 classes.

Small inputs (:func:`~minicnn.models.blocks.is_small`): the first convolution at stride 1 with padding 1
(so 32x32 reaches the last Fire modules at 4x4, 28x28 at 3x3) and the full width (0.73M parameters:
SqueezeNet is already small).
"""
from __future__ import annotations

from typing import Any

from .. import functional as F
from .. import nn
from .blocks import Chain, is_small, normal_

__all__ = ["Fire", "SqueezeNet", "squeezenet1_1"]


class Fire(nn.Module):
    """cat([relu(expand1x1(s)), relu(expand3x3(s))]) with s = relu(squeeze(x))."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, 1)
        self.squeeze_activation = nn.ReLU()
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, 1)
        self.expand1x1_activation = nn.ReLU()
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, 3, padding=1)
        self.expand3x3_activation = nn.ReLU()

    def forward(self, x: Any) -> Any:
        s = self.squeeze_activation(self.squeeze(x))
        y, cache = F.cat_forward([self.expand1x1_activation(self.expand1x1(s)),
                                  self.expand3x3_activation(self.expand3x3(s))], dim=1)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        d1, d3 = F.cat_backward(dy, self._take())           # cat splits dy; s fed both branches: add
        ds = (self.expand1x1.backward(self.expand1x1_activation.backward(d1))
              + self.expand3x3.backward(self.expand3x3_activation.backward(d3)))
        return self.squeeze.backward(self.squeeze_activation.backward(ds))


class SqueezeNet(Chain):
    """torchvision's SqueezeNet 1.1 (0.73M parameters, 0.26 GMACs for 3x224x224 and 10 classes); weights
    start as torchvision's (Kaiming-uniform convolutions, N(0, 0.01) for the last one, zero biases)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                 dropout: float = 0.5) -> None:
        super().__init__()
        first = (nn.Conv2d(in_channels, 64, 3, padding=1) if small_input else nn.Conv2d(in_channels, 64, 3, stride=2))
        self.features = nn.Sequential(
            first, nn.ReLU(), nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
        final_conv = nn.Conv2d(512, num_classes, 1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), final_conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.flatten = nn.Flatten()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    normal_(m.weight, 0.0, 0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.zeros_(m.bias)


def squeezenet1_1(input_shape: tuple[int, int, int], num_classes: int) -> SqueezeNet:
    """SqueezeNet 1.1; see the module docstring for the small-input form."""
    return SqueezeNet(num_classes, input_shape[0], is_small(input_shape))
