"""The model zoo: small CNNs as ``Sequential`` stacks with PyTorch's child names.

Every builder takes ``(input_shape, num_classes)`` with ``input_shape = (C, H, W)``
and returns a :class:`~minicnn.nn.Sequential`; the same stack built with
``torch.nn`` has the same ``state_dict`` keys and shapes. The first Linear's
``in_features`` is never counted by hand: :func:`feature_shape` runs the
convolutional part once on a zero image in eval mode and reads the shape.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from .. import backend, nn

__all__ = ["probing", "feature_shape", "compact_cnn", "simple_cnn", "custom_cnn", "seed_net", "lenet5", "basic_block",
           "resnet_small"]

Shape = tuple[int, int, int]


@contextmanager
def probing(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode for a look at its shapes that leaves no trace.

    Inside the block, forward passes leave running statistics untouched and draw no dropout
    masks; afterwards the previous mode is back and every cache a forward kept for backward
    is dropped (a backward then fails as if no forward had run).
    """
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
        for m in module.modules():
            object.__setattr__(m, "_cache", None)


def feature_shape(features: nn.Module, input_shape: Shape) -> tuple[int, ...]:
    """The output shape (without the batch axis) of ``features`` for one input of ``input_shape``,
    from a single zero image run through it under :func:`probing`."""
    with probing(features):
        try:
            y = features(backend.xp().zeros((1, *input_shape), dtype=np.float32))
        except ValueError as exc:
            raise ValueError(f"input shape {tuple(input_shape)} is too small or has the wrong channel count "
                             f"for this model: {exc}") from exc
    return tuple(int(s) for s in y.shape[1:])


def _with_head(features: list[nn.Module], input_shape: Shape, head: Callable[[int], list[nn.Module]]) -> nn.Sequential:
    """``features + [Flatten] + head(in_features)``, in_features read from the features' output."""
    out = feature_shape(nn.Sequential(*features), input_shape)
    return nn.Sequential(*features, nn.Flatten(), *head(int(np.prod(out))))


def compact_cnn(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """Two [Conv 3x3 pad 1 (no bias), BatchNorm2d, ReLU, MaxPool2d(2)] blocks with 16 and 32
    channels, then Flatten and one Linear: the default for MNIST and Fashion-MNIST
    (20.5k parameters and 2.1 forward MFLOP per 28x28 image)."""
    c = input_shape[0]
    features = [nn.Conv2d(c, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2)]
    return _with_head(features, input_shape, lambda f: [nn.Linear(f, num_classes)])


def simple_cnn(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """Conv2d(C,10,3,pad 1), ReLU, Conv2d(10,10,3,pad 1), ReLU, MaxPool2d(2), Flatten, Linear."""
    c = input_shape[0]
    features = [nn.Conv2d(c, 10, 3, padding=1), nn.ReLU(), nn.Conv2d(10, 10, 3, padding=1), nn.ReLU(),
                nn.MaxPool2d(2)]
    return _with_head(features, input_shape, lambda f: [nn.Linear(f, num_classes)])


def custom_cnn(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """Four blocks [Conv 3x3 pad 1, ReLU, BatchNorm2d, Conv 3x3 pad 1, ReLU, BatchNorm2d,
    MaxPool2d(2), Dropout(0.25)] with 32, 64, 128, 256 channels, then Flatten,
    Linear(F, 512), ReLU, BatchNorm1d, Dropout(0.5), Linear(512, 1024), ReLU, BatchNorm1d,
    Dropout(0.5), Linear(1024, K) (F = 1024 for 3x32x32 input)."""
    features: list[nn.Module] = []
    c = input_shape[0]
    for width in (32, 64, 128, 256):
        features += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(width),
                     nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(width),
                     nn.MaxPool2d(2), nn.Dropout(0.25)]
        c = width
    return _with_head(features, input_shape, lambda f: [
        nn.Linear(f, 512), nn.ReLU(), nn.BatchNorm1d(512), nn.Dropout(0.5),
        nn.Linear(512, 1024), nn.ReLU(), nn.BatchNorm1d(1024), nn.Dropout(0.5),
        nn.Linear(1024, num_classes)])


def seed_net(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """Conv2d(C,4,2,pad 1), BatchNorm2d, ReLU, MaxPool2d(2), Conv2d(4,4,2,pad 1), BatchNorm2d,
    ReLU, MaxPool2d(2), Flatten, Linear (4*7*7 inputs for 28x28)."""
    c = input_shape[0]
    features = [nn.Conv2d(c, 4, 2, stride=1, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(4, 4, 2, stride=1, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)]
    return _with_head(features, input_shape, lambda f: [nn.Linear(f, num_classes)])


def lenet5(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """LeNet-5 with ReLU and max pooling: Conv2d(C,6,5,pad 2), ReLU, MaxPool2d(2), Conv2d(6,16,5),
    ReLU, MaxPool2d(2), Flatten, Linear(F,120), ReLU, Linear(120,84), ReLU, Linear(84,K)
    (F = 16*5*5 for 28x28, as the original's 32x32 without padding)."""
    c = input_shape[0]
    features = [nn.Conv2d(c, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)]
    return _with_head(features, input_shape, lambda f: [
        nn.Linear(f, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes)])


def basic_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """ReLU(body(x) + shortcut(x)), body = Conv3x3(stride), BN, ReLU, Conv3x3, BN; the shortcut is
    the identity, or Conv1x1(stride) + BN when the shape changes (ResNet's basic block)."""
    body = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(), nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
    return nn.Sequential(nn.Residual(body, shortcut), nn.ReLU())


def resnet_small(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """Stem Conv3x3(C,16) + BN + ReLU, basic blocks 16 -> 16, 16 -> 32 (stride 2), 32 -> 64
    (stride 2), global average pooling, Linear(64, K)."""
    c = input_shape[0]
    features = [nn.Conv2d(c, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                basic_block(16, 16, 1), basic_block(16, 32, 2), basic_block(32, 64, 2), nn.AdaptiveAvgPool2d(1)]
    return _with_head(features, input_shape, lambda f: [nn.Linear(f, num_classes)])
