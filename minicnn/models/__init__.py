"""minicnn.models: the model zoo and ``build_model(name, input_shape, num_classes)``.

    from minicnn.models import build_model
    model = build_model("resnet18", (3, 32, 32), 10)

Layout: ``zoo.py`` holds the small CNNs (Sequential stacks); each larger family has its own
module (``resnet``, ``classic`` for AlexNet/VGG/NiN, ``darknet``, ``mobilenet``, ``separable`` for Xception,
``inverted`` for MobileNetV2/EfficientNet-B0, ``senet``, ``squeezenet``, ``shufflenet``, ``inception`` for
GoogLeNet/Inception-v3, ``densenet``) built from :mod:`.blocks` (a :class:`~.blocks.Chain` network, a
:class:`~.blocks.ResidualBlock`, :class:`~.blocks.Branches` joined by concatenation, conv-bn-activation);
the token networks (``vision_transformer``, ``mixer`` for MLP-Mixer and ResMLP) share :mod:`.tokens`.
Every model's ``state_dict`` keys are those of the same structure written with ``torch.nn``
(torchvision's names where torchvision has the model). Inputs with a side below 64 pixels get
each family's small-input form (see :func:`.blocks.is_small` and each builder's docstring).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ..nn import Linear, Module, Sequential
from .blocks import Chain, is_small
from .classic import alexnet, nin, vgg11, vgg11_bn
from .darknet import darknet53
from .densenet import densenet40
from .inception import googlenet, inception_v3
from .inverted import efficientnet_b0, mobilenet_v2
from .mixer import mlp_mixer, resmlp
from .mobilenet import mobilenet_v1
from .resnet import resnet18, resnet50, resnext50_32x4d
from .senet import se_resnet18
from .separable import xception
from .shufflenet import shufflenet_v2
from .squeezenet import squeezenet1_1
from .vision_transformer import vit
from .zoo import (basic_block, compact_cnn, custom_cnn, feature_shape, lenet5, probing, resnet_small, seed_net,
                  simple_cnn)

__all__ = ["MODELS", "SMALL_FORMS", "HEAD_NAMES", "build_model", "classifier_head", "head_is_last",
           "count_parameters", "feature_shape", "probing", "is_small", "basic_block", "compact_cnn", "simple_cnn",
           "custom_cnn", "seed_net", "lenet5", "resnet_small"]

Builder = Callable[[tuple[int, int, int], int], Module]

MODELS: dict[str, Builder] = {
    # small CNNs (zoo.py)
    "compact_cnn": compact_cnn,
    "simple_cnn": simple_cnn,
    "custom_cnn": custom_cnn,
    "seed_net": seed_net,
    "lenet5": lenet5,
    "resnet_small": resnet_small,
    # the seed model zoo's architectures
    "alexnet": alexnet,
    "vgg11": vgg11,
    "vgg11_bn": vgg11_bn,
    "nin": nin,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "resnext50_32x4d": resnext50_32x4d,
    "darknet53": darknet53,
    "mobilenet_v1": mobilenet_v1,
    "xception": xception,
    "googlenet": googlenet,
    "inception_v3": inception_v3,
    "densenet40": densenet40,
    "mobilenet_v2": mobilenet_v2,
    "efficientnet_b0": efficientnet_b0,
    "se_resnet18": se_resnet18,
    "squeezenet1_1": squeezenet1_1,
    "shufflenet_v2": shufflenet_v2,
    "vit": vit,
    "mlp_mixer": mlp_mixer,
    "resmlp": resmlp,
}

#: the models with a small-input form for inputs with a side below 64 pixels (the zoo's larger networks)
SMALL_FORMS = ("alexnet", "vgg11", "vgg11_bn", "nin", "resnet18", "resnet50", "resnext50_32x4d", "darknet53",
               "mobilenet_v1", "xception", "googlenet", "inception_v3", "densenet40",
               "mobilenet_v2", "efficientnet_b0", "se_resnet18", "squeezenet1_1", "shufflenet_v2",
               "vit", "mlp_mixer", "resmlp")

#: attribute names of a classifier head, in the order they are looked for
HEAD_NAMES = ("fc", "classifier", "head")


def build_model(name: str, input_shape: Sequence[int], num_classes: int) -> Module:
    """The zoo model ``name`` for inputs ``(C, H, W)`` and ``num_classes`` outputs, freshly initialised
    from ``minicnn.random`` (call ``minicnn.manual_seed`` first for reproducible weights).

    Raises ValueError for an unknown name, a bad shape, or an input the model cannot take
    (checked with one zero image, in eval mode, leaving no trace).
    """
    builder = MODELS.get(name)
    if builder is None:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {tuple(input_shape)}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    model = builder(shape, num_classes)  # type: ignore[arg-type]
    if not isinstance(model, Sequential):        # the Sequential stacks checked the shape while being built
        feature_shape(model, shape)
    return model


def classifier_head(model: Module) -> tuple[str, Linear] | None:
    """``(name, layer)`` of the Linear that ``--freeze-features`` trains and replaces, or None.

    The head is the last Linear inside the model's ``fc``, ``classifier`` or ``head`` child
    (the first of these names it has, as torchvision's ResNet ``fc`` and VGG ``classifier.6``);
    a model without such a child (the Sequential zoo stacks) uses its last Linear. A model
    without a Linear (NiN, whose classifier is a convolution) has none.
    """
    for attr in HEAD_NAMES:
        child = model._modules.get(attr)
        if child is not None:
            found = [(f"{attr}.{n}" if n else attr, m) for n, m in child.named_modules() if isinstance(m, Linear)]
            if found:
                return found[-1]
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, Linear)]
    return found[-1] if found else None


def head_is_last(model: Module, head: Module) -> bool:
    """True when ``head`` is the last layer ``model``'s forward runs, so that with frozen features a
    backward through ``head`` alone gives every gradient the optimiser needs."""
    m = model
    while m is not head:
        if isinstance(m, Sequential) and len(m):
            m = m[-1]
        elif isinstance(m, Chain) and m.steps():
            m = m.steps()[-1]
        else:
            return False
    return True


def count_parameters(module: Module) -> int:
    """The number of scalar parameters (weights and biases; buffers such as running statistics excluded)."""
    return sum(int(p.data.size) for p in module.parameters())
