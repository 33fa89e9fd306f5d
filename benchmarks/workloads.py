"""The standard workloads, written once as layer specs and built in either engine.

minicnn.nn and torch.nn share layer names and constructor arguments, so one
spec builds the same network in both, and one state_dict makes them identical.
"""
from __future__ import annotations

from typing import Any

Spec = list[tuple[str, tuple, dict]]


def fashion_ref() -> Spec:
    """fashion-ref: 1x28x28, two conv pairs with max pooling, two Linear layers (~112 MFLOP/image/step)."""
    return [
        ("Conv2d", (1, 32, 3), {"padding": 1}), ("ReLU", (), {}),
        ("Conv2d", (32, 32, 3), {"padding": 1}), ("ReLU", (), {}), ("MaxPool2d", (2,), {}),
        ("Conv2d", (32, 64, 3), {"padding": 1}), ("ReLU", (), {}),
        ("Conv2d", (64, 64, 3), {"padding": 1}), ("ReLU", (), {}), ("MaxPool2d", (2,), {}),
        ("Flatten", (), {}), ("Linear", (3136, 128), {}), ("ReLU", (), {}), ("Linear", (128, 10), {}),
    ]


def custom_cnn() -> Spec:
    """custom_cnn: four [conv-relu-bn]x2-pool-dropout blocks (32..256 channels) and a BN MLP head, 3x32x32."""
    spec: Spec = []
    c_in = 3
    for c in (32, 64, 128, 256):
        spec += [("Conv2d", (c_in, c, 3), {"padding": 1}), ("ReLU", (), {}), ("BatchNorm2d", (c,), {}),
                 ("Conv2d", (c, c, 3), {"padding": 1}), ("ReLU", (), {}), ("BatchNorm2d", (c,), {}),
                 ("MaxPool2d", (2,), {}), ("Dropout", (0.25,), {})]
        c_in = c
    spec += [("Flatten", (), {}), ("Linear", (1024, 512), {}), ("ReLU", (), {}), ("BatchNorm1d", (512,), {}),
             ("Dropout", (0.5,), {}), ("Linear", (512, 1024), {}), ("ReLU", (), {}),
             ("BatchNorm1d", (1024,), {}), ("Dropout", (0.5,), {}), ("Linear", (1024, 10), {})]
    return spec


WORKLOADS = {
    "fashion-ref": {"spec": fashion_ref, "input": (1, 28, 28), "classes": 10},
    "custom_cnn": {"spec": custom_cnn, "input": (3, 32, 32), "classes": 10},
}


def build(nn: Any, spec: Spec) -> Any:
    """``nn.Sequential`` of the spec's layers, for ``nn`` = ``minicnn.nn`` or ``torch.nn``."""
    return nn.Sequential(*(getattr(nn, name)(*args, **kwargs) for name, args, kwargs in spec))
