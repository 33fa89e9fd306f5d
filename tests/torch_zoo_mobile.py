"""torch.nn twins of MobileNetV2, EfficientNet-B0, SqueezeNet 1.1 and ShuffleNetV2, written as torchvision's
code (its names; EfficientNet without stochastic depth, the identity in eval mode), and of SE-ResNet-18 as the
common SENet code (moskomule's senet.pytorch) writes it, with the zoo's configuration arguments (width,
small-input stem and strides)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from minicnn.models import blocks, inverted, resnet, senet, shufflenet, squeezenet


def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def conv_norm_act(c_in, c_out, k=3, stride=1, groups=1, act=nn.ReLU6):
    layers = [nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, *([act()] if act else []))


# ---- MobileNetV2, as torchvision.models.mobilenetv2 --------------------------------------------------------


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [conv_norm_act(inp, hidden_dim, 1)] if expand_ratio != 1 else []
        layers += [conv_norm_act(hidden_dim, hidden_dim, 3, stride, groups=hidden_dim),
                   nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, width_mult=1.0, small_input=False, dropout=0.2):
        super().__init__()
        input_channel = _make_divisible(32 * width_mult)
        last_channel = _make_divisible(1280 * max(1.0, width_mult))
        features = [conv_norm_act(in_channels, input_channel, 3, 1 if small_input else 2)]
        for stage, (t, c, n, s) in enumerate(inverted.V2_SETTING):
            s = 1 if small_input and stage == 1 else s
            output_channel = _make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(conv_norm_act(input_channel, last_channel, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last_channel, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), (1, 1)), 1))


# ---- EfficientNet-B0, as torchvision.models.efficientnet (no stochastic depth) ------------------------------


class SqueezeExcitation(nn.Module):
    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x))))) * x


class MBConv(nn.Module):
    def __init__(self, c_in, c_out, kernel, stride, expand_ratio):
        super().__init__()
        self.use_res_connect = stride == 1 and c_in == c_out
        expanded = _make_divisible(c_in * expand_ratio)
        layers = [conv_norm_act(c_in, expanded, 1, act=nn.SiLU)] if expanded != c_in else []
        layers += [conv_norm_act(expanded, expanded, kernel, stride, groups=expanded, act=nn.SiLU),
                   SqueezeExcitation(expanded, max(1, c_in // 4), activation=nn.SiLU),
                   conv_norm_act(expanded, c_out, 1, act=None)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        result = self.block(x)
        return result + x if self.use_res_connect else result


class EfficientNet(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, width_mult=1.0, small_input=False, dropout=0.2):
        super().__init__()
        c = _make_divisible(32 * width_mult)
        layers = [conv_norm_act(in_channels, c, 3, 1 if small_input else 2, act=nn.SiLU)]
        for stage, (t, k, s, out, n) in enumerate(inverted.B0_SETTING):
            s = 1 if small_input and stage == 1 else s
            out = _make_divisible(out * width_mult)
            units = []
            for i in range(n):
                units.append(MBConv(c, out, k, s if i == 0 else 1, t))
                c = out
            layers.append(nn.Sequential(*units))
        layers.append(conv_norm_act(c, 4 * c, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * c, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ---- SE-ResNet-18, as senet.pytorch (torchvision's ResNet with SEBasicBlock) -------------------------------


class SELayer(nn.Module):
    def __init__(self, channel, reduction=16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channel, channel // reduction, bias=False), nn.ReLU(),
                                nn.Linear(channel // reduction, channel, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        return x * self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1)


class SEBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, reduction=16):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SELayer(planes, reduction)
        self.downsample = downsample

    def forward(self, x):
        out = self.se(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def se_resnet18(num_classes, in_channels=3, width=1.0, small_input=False):
    from torch_zoo import ResNet           # torch_zoo imports this module: its ResNet twin is read when called

    return ResNet(SEBasicBlock, [2, 2, 2, 2], num_classes, in_channels, width=width, small_input=small_input)


# ---- SqueezeNet 1.1, as torchvision.models.squeezenet ------------------------------------------------------


class Fire(nn.Module):
    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, 1)
        self.squeeze_activation = nn.ReLU()
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, 1)
        self.expand1x1_activation = nn.ReLU()
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, 3, padding=1)
        self.expand3x3_activation = nn.ReLU()

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, small_input=False, dropout=0.5):
        super().__init__()
        first = nn.Conv2d(in_channels, 64, 3, 1, 1) if small_input else nn.Conv2d(in_channels, 64, 3, 2)
        self.features = nn.Sequential(
            first, nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Conv2d(512, num_classes, 1), nn.ReLU(),
                                        nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


# ---- ShuffleNetV2, as torchvision.models.shufflenetv2 ------------------------------------------------------


def channel_shuffle(x, groups):
    b, c, h, w = x.size()
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, c, h, w)


class ShuffleUnit(nn.Module):
    """torchvision's shufflenetv2.InvertedResidual."""

    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride = stride
        branch_features = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, 1, bias=False), nn.BatchNorm2d(branch_features), nn.ReLU())
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch_features, branch_features, 1, bias=False),
            nn.BatchNorm2d(branch_features), nn.ReLU(),
            nn.Conv2d(branch_features, branch_features, 3, stride, 1, groups=branch_features, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, 1, bias=False), nn.BatchNorm2d(branch_features), nn.ReLU())

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, stages_repeats, stages_out_channels, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        c = stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, c, 3, 1 if small_input else 2, 1, bias=False),
                                   nn.BatchNorm2d(c), nn.ReLU())
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, 2, 1)
        for name, repeats, out in zip(("stage2", "stage3", "stage4"), stages_repeats, stages_out_channels[1:]):
            setattr(self, name, nn.Sequential(ShuffleUnit(c, out, 2), *(ShuffleUnit(out, out, 1)
                                                                        for _ in range(repeats - 1))))
            c = out
        self.conv5 = nn.Sequential(nn.Conv2d(c, stages_out_channels[-1], 1, bias=False),
                                   nn.BatchNorm2d(stages_out_channels[-1]), nn.ReLU())
        self.fc = nn.Linear(stages_out_channels[-1], num_classes)

    def forward(self, x):
        x = self.stage4(self.stage3(self.stage2(self.maxpool(self.conv1(x)))))
        return self.fc(self.conv5(x).mean([2, 3]))


# ---- the twins of the zoo builders -------------------------------------------------------------------------

def _form(shape, small_width):
    """(in_channels, width, small_input) of the zoo builder's form for ``shape``."""
    small = blocks.is_small(shape)
    return shape[0], small_width if small else 1.0, small


def _shufflenet(shape, k):
    small = blocks.is_small(shape)
    return ShuffleNetV2(shufflenet.REPEATS, shufflenet.X0_5 if small else shufflenet.X1_0, k, shape[0], small)


TWINS = {
    "mobilenet_v2": lambda s, k: MobileNetV2(k, *_form(s, inverted.SMALL_WIDTH)),
    "efficientnet_b0": lambda s, k: EfficientNet(k, *_form(s, inverted.SMALL_WIDTH)),
    "se_resnet18": lambda s, k: se_resnet18(k, *_form(s, resnet.SMALL_WIDTH)),
    "squeezenet1_1": lambda s, k: SqueezeNet(k, s[0], blocks.is_small(s)),
    "shufflenet_v2": _shufflenet,
}

#: MobileNetV2 and EfficientNet at a quarter of the width (8 to 80 channels), SE-ResNet-18 and SqueezeNet as their
#: small forms (a narrower SE-ResNet would squeeze to no channels), ShuffleNetV2 with 8-16-32-64-64 channels
_NARROW_SHUFFLE = (8, 16, 32, 64, 64)
NARROW = {
    "mobilenet_v2": (lambda: inverted.MobileNetV2(10, 3, 0.25, True), lambda: MobileNetV2(10, 3, 0.25, True)),
    "efficientnet_b0": (lambda: inverted.EfficientNet(10, 3, 0.25, True), lambda: EfficientNet(10, 3, 0.25, True)),
    "se_resnet18": (lambda: resnet.ResNet(senet.SEBasicBlock, [2, 2, 2, 2], 10, width=resnet.SMALL_WIDTH,
                                          small_input=True),
                    lambda: se_resnet18(10, 3, resnet.SMALL_WIDTH, True)),
    "squeezenet1_1": (lambda: squeezenet.SqueezeNet(10, 3, True), lambda: SqueezeNet(10, 3, True)),
    "shufflenet_v2": (lambda: shufflenet.ShuffleNetV2(shufflenet.REPEATS, _NARROW_SHUFFLE, 10, 3, True),
                      lambda: ShuffleNetV2(shufflenet.REPEATS, _NARROW_SHUFFLE, 10, 3, True)),
}
