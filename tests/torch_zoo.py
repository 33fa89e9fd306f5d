"""torch.nn twins of the zoo's larger networks, for the parity tests in test_zoo.py.

Each twin is written as the PyTorch code of the same structure reads (torchvision's
attribute names where torchvision has the model) and takes the same configuration
arguments as the minicnn class, so ``twin.state_dict()`` has the same keys and shapes.
Only ``TWINS`` and the classes are used by the tests.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

import torch_zoo_densenet
import torch_zoo_inception
import torch_zoo_mobile
import torch_zoo_tokens
from minicnn.models import blocks, classic, darknet, mobilenet, resnet, separable


def scaled(channels: int, width: float) -> int:
    return blocks.scaled(channels, width)


def conv_bn_act(c_in: int, c_out: int, k: int, stride: int = 1, padding: int | None = None, groups: int = 1,
                act: type[nn.Module] = nn.ReLU, **act_args) -> nn.Sequential:
    padding = k // 2 if padding is None else padding
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding, groups=groups, bias=False), nn.BatchNorm2d(c_out),
                         act(**act_args))


# ---- ResNet, as torchvision.models.resnet -----------------------------------------------------------------


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, block, layers: Sequence[int], num_classes=1000, in_channels=3, groups=1, width_per_group=64,
                 width=1.0, small_input=False):
        super().__init__()
        self.groups, self.base_width = groups, width_per_group
        self.inplanes = scaled(64, width)
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, self.inplanes, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, self.inplanes, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, scaled(64, width), layers[0])
        self.layer2 = self._make_layer(block, scaled(128, width), layers[1], 2)
        self.layer3 = self._make_layer(block, scaled(256, width), layers[2], 2)
        self.layer4 = self._make_layer(block, scaled(512, width), layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(scaled(512, width) * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks_, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width)
                   for _ in range(1, blocks_)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---- AlexNet and VGG, as torchvision.models.alexnet / vgg -------------------------------------------------


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5):
        super().__init__()
        c1, c2, c3, c4, c5 = (scaled(c, width) for c in (64, 192, 384, 256, 256))
        hidden, pool = (scaled(4096, width / 2), 2) if small_input else (scaled(4096, width), 6)
        first = nn.Conv2d(in_channels, c1, 5, padding=2) if small_input else nn.Conv2d(in_channels, c1, 11, 4, 2)
        self.features = nn.Sequential(
            first, nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(pool)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c5 * pool * pool, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def make_vgg_layers(cfg, in_channels=3, batch_norm=False, width=1.0):
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        c = scaled(v, width)
        layers += [nn.Conv2d(in_channels, c, 3, padding=1)] + ([nn.BatchNorm2d(c)] if batch_norm else [])
        layers.append(nn.ReLU())
        in_channels = c
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, features, num_classes=1000, width=1.0, small_input=False, dropout=0.5):
        super().__init__()
        channels = [m.out_channels for m in features if isinstance(m, nn.Conv2d)][-1]
        hidden, pool = (scaled(4096, width / 4), 1) if small_input else (scaled(4096, width), 7)
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(pool)
        self.classifier = nn.Sequential(
            nn.Linear(channels * pool * pool, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ---- Network in Network, as d2l.ai ------------------------------------------------------------------------


def nin_block(c_in, c_out, k, stride, padding):
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 1), nn.ReLU(), nn.Conv2d(c_out, c_out, 1), nn.ReLU())


def nin(num_classes, in_channels=3, width=1.0, small_input=False):
    w1, w2, w3 = (scaled(v, width) for v in (96, 256, 384))
    first = nin_block(in_channels, w1, 5, 1, 2) if small_input else nin_block(in_channels, w1, 11, 4, 0)
    return nn.Sequential(first, nn.MaxPool2d(3, 2), nin_block(w1, w2, 5, 1, 2), nn.MaxPool2d(3, 2),
                         nin_block(w2, w3, 3, 1, 1), nn.MaxPool2d(3, 2), nn.Dropout(0.5),
                         nin_block(w3, num_classes, 3, 1, 1), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())


# ---- Darknet-53 -------------------------------------------------------------------------------------------


def conv_batch(c_in, c_out, k=3, stride=1):
    return conv_bn_act(c_in, c_out, k, stride, act=nn.LeakyReLU, negative_slope=0.1)


class DarkResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.layer1 = conv_batch(channels, channels // 2, 1)
        self.layer2 = conv_batch(channels // 2, channels)

    def forward(self, x):
        return x + self.layer2(self.layer1(x))


class Darknet53(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, width=1.0, small_input=False):
        super().__init__()
        c = [scaled(v, width) for v in (32, 64, 128, 256, 512, 1024)]
        self.conv1 = conv_batch(in_channels, c[0])
        self.conv2 = conv_batch(c[0], c[1], stride=1 if small_input else 2)
        self.residual_block1 = nn.Sequential(*(DarkResidualBlock(c[1]) for _ in range(1)))
        self.conv3 = conv_batch(c[1], c[2], stride=2)
        self.residual_block2 = nn.Sequential(*(DarkResidualBlock(c[2]) for _ in range(2)))
        self.conv4 = conv_batch(c[2], c[3], stride=2)
        self.residual_block3 = nn.Sequential(*(DarkResidualBlock(c[3]) for _ in range(8)))
        self.conv5 = conv_batch(c[3], c[4], stride=2)
        self.residual_block4 = nn.Sequential(*(DarkResidualBlock(c[4]) for _ in range(8)))
        self.conv6 = conv_batch(c[4], c[5], stride=2)
        self.residual_block5 = nn.Sequential(*(DarkResidualBlock(c[5]) for _ in range(4)))
        self.global_avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c[5], num_classes)

    def forward(self, x):
        x = self.residual_block1(self.conv2(self.conv1(x)))
        x = self.residual_block2(self.conv3(x))
        x = self.residual_block3(self.conv4(x))
        x = self.residual_block4(self.conv5(x))
        x = self.residual_block5(self.conv6(x))
        return self.fc(torch.flatten(self.global_avg_pool(x), 1))


# ---- MobileNetV1 ------------------------------------------------------------------------------------------

V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
             (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


class MobileNetV1(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, width=1.0, small_input=False):
        super().__init__()
        c = scaled(32, width)
        layers = [conv_bn_act(in_channels, c, 3, 1 if small_input else 2)]
        for out, stride in V1_BLOCKS:
            out = scaled(out, width)
            layers.append(nn.Sequential(conv_bn_act(c, c, 3, stride, groups=c), conv_bn_act(c, out, 1)))
            c = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


# ---- Xception, as Cadene's pretrainedmodels / timm's legacy_xception ---------------------------------------


class SeparableConv2d(nn.Module):
    def __init__(self, c_in, c_out, k=1, stride=1, padding=0):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_in, k, stride, padding, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.conv1(x))


class Block(nn.Module):
    def __init__(self, c_in, c_out, reps, stride=1, start_with_relu=True, grow_first=True):
        super().__init__()
        if c_out != c_in or stride != 1:
            self.skip = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)
            self.skipbn = nn.BatchNorm2d(c_out)
        else:
            self.skip = None
        rep = []
        filters = c_in
        if grow_first:
            rep += [nn.ReLU(), SeparableConv2d(c_in, c_out, 3, 1, 1), nn.BatchNorm2d(c_out)]
            filters = c_out
        for _ in range(reps - 1):
            rep += [nn.ReLU(), SeparableConv2d(filters, filters, 3, 1, 1), nn.BatchNorm2d(filters)]
        if not grow_first:
            rep += [nn.ReLU(), SeparableConv2d(c_in, c_out, 3, 1, 1), nn.BatchNorm2d(c_out)]
        if not start_with_relu:
            rep = rep[1:]
        if stride != 1:
            rep.append(nn.MaxPool2d(3, stride, 1))
        self.rep = nn.Sequential(*rep)

    def forward(self, x):
        return self.rep(x) + (x if self.skip is None else self.skipbn(self.skip(x)))


class Xception(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, width=1.0, small_input=False):
        super().__init__()
        c32, c64, c128, c256, c728, c1024, c1536, c2048 = (scaled(v, width) for v in
                                                           (32, 64, 128, 256, 728, 1024, 1536, 2048))
        stride, pad = (1, 1) if small_input else (2, 0)
        self.conv1 = nn.Conv2d(in_channels, c32, 3, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm2d(c32)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c32, c64, 3, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm2d(c64)
        self.block1 = Block(c64, c128, 2, 2, start_with_relu=False)
        self.block2 = Block(c128, c256, 2, 2)
        self.block3 = Block(c256, c728, 2, 2)
        for i in range(4, 12):
            setattr(self, f"block{i}", Block(c728, c728, 3, 1))
        self.block12 = Block(c728, c1024, 2, 2, grow_first=False)
        self.conv3 = SeparableConv2d(c1024, c1536, 3, 1, 1)
        self.bn3 = nn.BatchNorm2d(c1536)
        self.conv4 = SeparableConv2d(c1536, c2048, 3, 1, 1)
        self.bn4 = nn.BatchNorm2d(c2048)
        self.fc = nn.Linear(c2048, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        for i in range(1, 13):
            x = getattr(self, f"block{i}")(x)
        x = self.relu(self.bn3(self.conv3(x)))
        x = self.relu(self.bn4(self.conv4(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


# ---- the twins of the zoo builders ------------------------------------------------------------------------

def _form(shape, small_width):
    small = blocks.is_small(shape)
    return dict(in_channels=shape[0], width=small_width if small else 1.0, small_input=small)


def _vgg(shape, k, batch_norm):
    f = _form(shape, classic.SMALL_WIDTH)
    cfg = classic.VGG11[:-1] if f["small_input"] else classic.VGG11
    return VGG(make_vgg_layers(cfg, shape[0], batch_norm, f["width"]), k, f["width"], f["small_input"])


def _nin(shape, k):
    f = _form(shape, classic.SMALL_WIDTH)
    return nin(k, shape[0], f["width"], f["small_input"])


#: zoo name -> (input_shape, num_classes) -> the torch.nn twin of ``build_model(name, input_shape, num_classes)``
TWINS = {
    "alexnet": lambda s, k: AlexNet(k, **_form(s, classic.SMALL_WIDTH)),
    "vgg11": lambda s, k: _vgg(s, k, False),
    "vgg11_bn": lambda s, k: _vgg(s, k, True),
    "nin": _nin,
    "resnet18": lambda s, k: ResNet(BasicBlock, [2, 2, 2, 2], k, **_form(s, resnet.SMALL_WIDTH)),
    "resnet50": lambda s, k: ResNet(Bottleneck, [3, 4, 6, 3], k, **_form(s, resnet.SMALL_WIDTH)),
    "resnext50_32x4d": lambda s, k: ResNet(Bottleneck, [3, 4, 6, 3], k, groups=32, width_per_group=4,
                                           **_form(s, resnet.SMALL_WIDTH)),
    "darknet53": lambda s, k: Darknet53(k, **_form(s, darknet.SMALL_WIDTH)),
    "mobilenet_v1": lambda s, k: MobileNetV1(k, **_form(s, mobilenet.SMALL_WIDTH)),
    "xception": lambda s, k: Xception(k, **_form(s, separable.SMALL_WIDTH)),
    **torch_zoo_inception.TWINS,
    **torch_zoo_densenet.TWINS,
    **torch_zoo_mobile.TWINS,
    **torch_zoo_tokens.TWINS,
}


#: zoo name -> (minicnn model, torch twin) of the same class at a narrow small-input configuration (a
#: sixteenth of the width; ResNeXt an eighth, in 8 groups of 8 channels per group), for cheap parity tests
NARROW = {
    "alexnet": (lambda: classic.AlexNet(10, 3, 1 / 16, True), lambda: AlexNet(10, 3, 1 / 16, True)),
    "vgg11": (lambda: classic.VGG(classic.make_vgg_layers(classic.VGG11[:-1], 3, False, 1 / 16), 10, 1 / 16, True),
              lambda: VGG(make_vgg_layers(classic.VGG11[:-1], 3, False, 1 / 16), 10, 1 / 16, True)),
    "vgg11_bn": (lambda: classic.VGG(classic.make_vgg_layers(classic.VGG11[:-1], 3, True, 1 / 16), 10, 1 / 16, True),
                 lambda: VGG(make_vgg_layers(classic.VGG11[:-1], 3, True, 1 / 16), 10, 1 / 16, True)),
    "nin": (lambda: classic.nin((3, 24, 24), 10), lambda: nin(10, 3, classic.SMALL_WIDTH, True)),
    "resnet18": (lambda: resnet.ResNet(resnet.BasicBlock, [2, 2, 2, 2], 10, width=1 / 16, small_input=True),
                 lambda: ResNet(BasicBlock, [2, 2, 2, 2], 10, width=1 / 16, small_input=True)),
    "resnet50": (lambda: resnet.ResNet(resnet.Bottleneck, [3, 4, 6, 3], 10, width=1 / 16, small_input=True),
                 lambda: ResNet(Bottleneck, [3, 4, 6, 3], 10, width=1 / 16, small_input=True)),
    "resnext50_32x4d": (lambda: resnet.ResNet(resnet.Bottleneck, [3, 4, 6, 3], 10, groups=8, width_per_group=8,
                                              width=1 / 8, small_input=True),
                        lambda: ResNet(Bottleneck, [3, 4, 6, 3], 10, groups=8, width_per_group=8, width=1 / 8,
                                       small_input=True)),
    "darknet53": (lambda: darknet.Darknet53(10, 3, 1 / 16, True), lambda: Darknet53(10, 3, 1 / 16, True)),
    "mobilenet_v1": (lambda: mobilenet.MobileNetV1(10, 3, 1 / 16, True), lambda: MobileNetV1(10, 3, 1 / 16, True)),
    "xception": (lambda: separable.Xception(10, 3, 1 / 16, True), lambda: Xception(10, 3, 1 / 16, True)),
    **torch_zoo_inception.NARROW,
    **torch_zoo_densenet.NARROW,
    **torch_zoo_mobile.NARROW,
    **torch_zoo_tokens.NARROW,
}
