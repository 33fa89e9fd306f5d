"""What the seed model zoo reports for its 19 architectures (10 classes, 3x224x224 inputs).

Its "FLOPs" are multiply-adds. ``name`` is this zoo's name for the architecture; the
architectures this zoo does not build yet are listed too, so tables can show what is missing.
Accuracies are the seed's own runs (another dataset and budget than this zoo's table); None
where the seed's table gives no number.
"""
from __future__ import annotations

from typing import NamedTuple

__all__ = ["Reported", "REPORTED"]


class Reported(NamedTuple):
    """The seed's row: its name for the model, parameters, multiply-adds and accuracy (None: not given)."""

    seed_name: str
    params: float | None
    macs: float | None
    accuracy: float | None = None


REPORTED: dict[str, Reported] = {
    "alexnet": Reported("AlexNet", 58.32e6, 1.13e9),
    "vgg11": Reported("VGG", 128.81e6, 7.63e9),
    "nin": Reported("NiN", 2.02e6, 0.833e9),
    "resnet18": Reported("ResNet-18", 11.18e6, 1.82e9),
    "densenet40": Reported("DenseNet-40", 0.18e6, None),
    "mobilenet_v1": Reported("MobileNetV1", 3.22e6, 0.582e9),
    "mobilenet_v2": Reported("MobileNetV2", 2.24e6, 0.318e9),
    "googlenet": Reported("GoogLeNet", 5.98e6, 1.59e9),
    "inception_v3": Reported("InceptionV3", None, None),
    "darknet53": Reported("Darknet-53", None, 7.14e9),
    "xception": Reported("Xception", 20.83e6, 4.63e9),
    "resnext50_32x4d": Reported("ResNeXt", None, None),
    "se_resnet18": Reported("SENet", 11.23e6, 1.82e9),
    "squeezenet1_1": Reported("SqueezeNet", 0.73e6, None),
    "shufflenet_v2": Reported("ShuffleNet", None, 2.03e9),
    "efficientnet_b0": Reported("EfficientNet-B0", 4.02e6, 0.4e9),
    "vit": Reported("ViT", 53.59e6, None),
    "mlp_mixer": Reported("MLP-Mixer", 13.63e6, None),
    "resmlp": Reported("ResMLP", 14.97e6, None),
}
