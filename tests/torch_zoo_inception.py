"""torch.nn twins of GoogLeNet and Inception-v3, written as torchvision's code (its names, no auxiliary
heads) with the zoo's configuration arguments (width, small-input stem, GoogLeNet's branch3 kernel)."""
from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from minicnn.models import blocks, inception


class BasicConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


# ---- GoogLeNet, as torchvision.models.googlenet ---------------------------------------------------------------


class Inception(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, branch3_kernel=3):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=branch3_kernel,
                                                 padding=branch3_kernel // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.2,
                 branch3_kernel=3):
        super().__init__()
        w = partial(blocks.scaled, width=width)

        def block(c_in, *channels):
            return Inception(c_in, *map(w, channels), branch3_kernel=branch3_kernel)

        if small_input:
            self.conv1 = BasicConv2d(in_channels, w(64), kernel_size=3, padding=1)
            self.maxpool1 = nn.Identity()
        else:
            self.conv1 = BasicConv2d(in_channels, w(64), kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(w(64), w(64), kernel_size=1)
        self.conv3 = BasicConv2d(w(64), w(192), kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = block(w(192), 64, 96, 128, 16, 32, 32)
        self.inception3b = block(w(64) + w(128) + 2 * w(32), 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = block(w(128) + w(192) + w(96) + w(64), 192, 96, 208, 16, 48, 64)
        self.inception4b = block(w(192) + w(208) + w(48) + w(64), 160, 112, 224, 24, 64, 64)
        self.inception4c = block(w(160) + w(224) + 2 * w(64), 128, 128, 256, 24, 64, 64)
        self.inception4d = block(w(128) + w(256) + 2 * w(64), 112, 144, 288, 32, 64, 64)
        self.inception4e = block(w(112) + w(288) + 2 * w(64), 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = block(w(256) + w(320) + 2 * w(128), 256, 160, 320, 32, 128, 128)
        self.inception5b = block(w(256) + w(320) + 2 * w(128), 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(w(384) * 2 + 2 * w(128), num_classes)

    def forward(self, x):
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4c(self.inception4b(self.inception4a(x)))
        x = self.maxpool4(self.inception4e(self.inception4d(x)))
        x = self.inception5b(self.inception5a(x))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


# ---- Inception-v3, as torchvision.models.inception_v3 --------------------------------------------------------


class InceptionA(nn.Module):
    def __init__(self, in_channels, pool_features, width=1.0):
        super().__init__()
        w = partial(blocks.scaled, width=width)
        self.branch1x1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, w(48), kernel_size=1)
        self.branch5x5_2 = BasicConv2d(w(48), w(64), kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x):
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels, width=1.0):
        super().__init__()
        w = partial(blocks.scaled, width=width)
        self.branch3x3 = BasicConv2d(in_channels, w(384), kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, stride=2)

    def forward(self, x):
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), branch3x3dbl, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels, channels_7x7, width=1.0):
        super().__init__()
        w = partial(blocks.scaled, width=width)
        c7 = channels_7x7
        row, col = dict(kernel_size=(1, 7), padding=(0, 3)), dict(kernel_size=(7, 1), padding=(3, 0))
        self.branch1x1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, **row)
        self.branch7x7_3 = BasicConv2d(c7, w(192), **col)
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, **row)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_5 = BasicConv2d(c7, w(192), **row)
        self.branch_pool = BasicConv2d(in_channels, w(192), kernel_size=1)

    def forward(self, x):
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            branch7x7dbl = conv(branch7x7dbl)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels, width=1.0):
        super().__init__()
        w = partial(blocks.scaled, width=width)
        self.branch3x3_1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch3x3_2 = BasicConv2d(w(192), w(320), kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(w(192), w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(w(192), w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(w(192), w(192), kernel_size=3, stride=2)

    def forward(self, x):
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([branch3x3, branch7x7x3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, in_channels, width=1.0):
        super().__init__()
        w = partial(blocks.scaled, width=width)
        row, col = dict(kernel_size=(1, 3), padding=(0, 1)), dict(kernel_size=(3, 1), padding=(1, 0))
        self.branch1x1 = BasicConv2d(in_channels, w(320), kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, w(384), kernel_size=1)
        self.branch3x3_2a = BasicConv2d(w(384), w(384), **row)
        self.branch3x3_2b = BasicConv2d(w(384), w(384), **col)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(448), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(448), w(384), kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(w(384), w(384), **row)
        self.branch3x3dbl_3b = BasicConv2d(w(384), w(384), **col)
        self.branch_pool = BasicConv2d(in_channels, w(192), kernel_size=1)

    def forward(self, x):
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), branch3x3, branch3x3dbl, branch_pool], 1)


class Inception3(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5):
        super().__init__()
        w = partial(blocks.scaled, width=width)
        stride, pad = (1, 1) if small_input else (2, 0)
        self.Conv2d_1a_3x3 = BasicConv2d(in_channels, w(32), kernel_size=3, stride=stride, padding=pad)
        self.Conv2d_2a_3x3 = BasicConv2d(w(32), w(32), kernel_size=3, padding=pad)
        self.Conv2d_2b_3x3 = BasicConv2d(w(32), w(64), kernel_size=3, padding=1)
        self.maxpool1 = nn.Identity() if small_input else nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(w(64), w(80), kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(w(80), w(192), kernel_size=3, padding=pad)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        a = 2 * w(64) + w(96)                                   # InceptionA's channels besides the pool branch
        self.Mixed_5b = InceptionA(w(192), pool_features=w(32), width=width)
        self.Mixed_5c = InceptionA(a + w(32), pool_features=w(64), width=width)
        self.Mixed_5d = InceptionA(a + w(64), pool_features=w(64), width=width)
        self.Mixed_6a = InceptionB(a + w(64), width=width)
        c = w(384) + w(96) + a + w(64)
        self.Mixed_6b = InceptionC(c, channels_7x7=w(128), width=width)
        self.Mixed_6c = InceptionC(4 * w(192), channels_7x7=w(160), width=width)
        self.Mixed_6d = InceptionC(4 * w(192), channels_7x7=w(160), width=width)
        self.Mixed_6e = InceptionC(4 * w(192), channels_7x7=w(192), width=width)
        self.Mixed_7a = InceptionD(4 * w(192), width=width)
        e = w(320) + 4 * w(384) + w(192)
        self.Mixed_7b = InceptionE(w(320) + w(192) + 4 * w(192), width=width)
        self.Mixed_7c = InceptionE(e, width=width)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(e, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return self.fc(torch.flatten(self.dropout(self.avgpool(x)), 1))


def _form(shape):
    small = blocks.is_small(shape)
    return dict(in_channels=shape[0], width=inception.SMALL_WIDTH if small else 1.0, small_input=small)


TWINS = {"googlenet": lambda s, k: GoogLeNet(k, **_form(s)),
         "inception_v3": lambda s, k: Inception3(k, **_form(s))}

#: a sixteenth of the width, small-input stem
NARROW = {"googlenet": (lambda: inception.GoogLeNet(10, 3, 1 / 16, True), lambda: GoogLeNet(10, 3, 1 / 16, True)),
          "inception_v3": (lambda: inception.Inception3(10, 3, 1 / 16, True),
                           lambda: Inception3(10, 3, 1 / 16, True))}
