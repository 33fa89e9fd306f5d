"""AlexNet and VGG-11 with torchvision's names (``features``, ``avgpool``, ``classifier``), and
Network in Network as d2l.ai writes it (a plain Sequential of ``nin_block`` s).

Small inputs (:func:`~minicnn.models.blocks.is_small`) keep the names and the layer
sequence with a quarter of the channels, 3x3 or 5x5 stride-1 first convolutions, one max
pooling fewer where 28x28 would run out of pixels, and smaller hidden Linear layers.
"""
from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from .blocks import Chain, is_small, kaiming_convs_, normal_, scaled, small_form

__all__ = ["AlexNet", "VGG", "make_vgg_layers", "VGG11", "alexnet", "vgg11", "vgg11_bn", "nin_block", "nin"]

SMALL_WIDTH = 0.25


class _FeaturesPoolClassifier(Chain):
    """``classifier(flatten(avgpool(features(x))))``, torchvision's AlexNet and VGG layout."""

    def __init__(self, features: nn.Sequential, pool: int, classifier: list[nn.Module]) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(pool)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(*classifier)


class AlexNet(_FeaturesPoolClassifier):
    """torchvision's AlexNet (64, 192, 384, 256, 256 channels; the "one weird trick" widths), with
    ``width`` scaling every layer; ``small_input``: a 5x5 stride-1 first convolution and 2x2 pooled
    features."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0,
                 small_input: bool = False, dropout: float = 0.5) -> None:
        c1, c2, c3, c4, c5 = (scaled(c, width) for c in (64, 192, 384, 256, 256))
        hidden, pool = (scaled(4096, width / 2), 2) if small_input else (scaled(4096, width), 6)
        first = (nn.Conv2d(in_channels, c1, 5, padding=2) if small_input
                 else nn.Conv2d(in_channels, c1, 11, stride=4, padding=2))
        features = nn.Sequential(
            first, nn.ReLU(), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2))
        super().__init__(features, pool, [
            nn.Dropout(dropout), nn.Linear(c5 * pool * pool, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes)])


#: VGG-11's configuration "A": output channels of each 3x3 convolution, "M" a 2x2 max pooling
VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def make_vgg_layers(cfg: Sequence[int | str], in_channels: int = 3, batch_norm: bool = False,
                    width: float = 1.0) -> nn.Sequential:
    """torchvision's ``make_layers``: Conv3x3 (+ BatchNorm2d) + ReLU per number, MaxPool2d(2) per "M"."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
            continue
        c = scaled(int(v), width)
        layers += [nn.Conv2d(in_channels, c, 3, padding=1)] + ([nn.BatchNorm2d(c)] if batch_norm else [])
        layers.append(nn.ReLU())
        in_channels = c
    return nn.Sequential(*layers)


class VGG(_FeaturesPoolClassifier):
    """torchvision's VGG: ``features``, 7x7 adaptive pooling, three Linear layers (4096 wide) with
    dropout; weights start as torchvision's (Kaiming-normal fan_out convolutions with zero bias,
    N(0, 0.01) Linear weights). ``small_input``: 1x1 pooling and ``4096 width / 4`` hidden units."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, width: float = 1.0,
                 small_input: bool = False, dropout: float = 0.5) -> None:
        channels = [m.out_channels for m in features if isinstance(m, nn.Conv2d)][-1]
        hidden, pool = (scaled(4096, width / 4), 1) if small_input else (scaled(4096, width), 7)
        super().__init__(features, pool, [
            nn.Linear(channels * pool * pool, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes)])
        kaiming_convs_(self)                        # the same draws as one pass: the convolutions come first
        for m in self.modules():
            if isinstance(m, nn.Linear):
                normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)


def alexnet(input_shape: tuple[int, int, int], num_classes: int) -> AlexNet:
    """AlexNet as torchvision's (57.04M parameters, 0.71 GMACs for 3x224x224 and 10 classes)."""
    return small_form(AlexNet, input_shape, num_classes, SMALL_WIDTH)


def _vgg(input_shape: tuple[int, int, int], num_classes: int, batch_norm: bool) -> VGG:
    small = is_small(input_shape)
    width = SMALL_WIDTH if small else 1.0
    cfg = VGG11[:-1] if small else VGG11        # 28x28 has pixels for four poolings, not five
    return VGG(make_vgg_layers(cfg, input_shape[0], batch_norm, width), num_classes, width, small)


def vgg11(input_shape: tuple[int, int, int], num_classes: int) -> VGG:
    """VGG-11 (configuration A) as torchvision's (128.81M parameters, 7.6 GMACs for 3x224x224 and
    10 classes)."""
    return _vgg(input_shape, num_classes, batch_norm=False)


def vgg11_bn(input_shape: tuple[int, int, int], num_classes: int) -> VGG:
    """VGG-11 with batch norm after every convolution, as torchvision's ``vgg11_bn``."""
    return _vgg(input_shape, num_classes, batch_norm=True)


def nin_block(c_in: int, c_out: int, kernel_size: int, stride: int, padding: int) -> nn.Sequential:
    """Conv(k) + ReLU, then two 1x1 Conv + ReLU: a "micro network" sliding over the image."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel_size, stride, padding), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 1), nn.ReLU(), nn.Conv2d(c_out, c_out, 1), nn.ReLU())


def nin(input_shape: tuple[int, int, int], num_classes: int) -> nn.Sequential:
    """Network in Network as d2l.ai's: nin_blocks of 96 (11x11 stride 4), 256 (5x5) and 384 (3x3)
    channels with 3x3 stride-2 max pooling between them, dropout, a last nin_block with one
    channel per class, and global average pooling: no Linear layer (2.02M parameters, 0.83 GMACs
    for 3x224x224 and 10 classes). Small inputs: a 5x5 stride-1 first block and a quarter of the
    channels."""
    c = input_shape[0]
    if is_small(input_shape):
        w1, w2, w3 = (scaled(v, SMALL_WIDTH) for v in (96, 256, 384))
        first = nin_block(c, w1, 5, 1, 2)
    else:
        w1, w2, w3 = 96, 256, 384
        first = nin_block(c, w1, 11, 4, 0)
    return nn.Sequential(first, nn.MaxPool2d(3, stride=2),
                         nin_block(w1, w2, 5, 1, 2), nn.MaxPool2d(3, stride=2),
                         nin_block(w2, w3, 3, 1, 1), nn.MaxPool2d(3, stride=2),
                         nn.Dropout(0.5), nin_block(w3, num_classes, 3, 1, 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
