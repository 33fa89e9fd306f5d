"""minicnn.models: the model zoo and ``build_model(name, input_shape, num_classes)``.

    from minicnn.models import build_model
    model = build_model("compact_cnn", (1, 28, 28), 10)

Every model is a ``minicnn.nn.Sequential`` whose first Linear's ``in_features`` is
inferred from ``input_shape``; the same stack written with ``torch.nn`` has the same
``state_dict`` keys.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ..nn import Linear, Module, Sequential
from .zoo import (basic_block, compact_cnn, custom_cnn, feature_shape, lenet5, probing, resnet_small, seed_net,
                  simple_cnn)

__all__ = ["MODELS", "build_model", "last_linear", "count_parameters", "feature_shape", "probing", "basic_block",
           "compact_cnn", "simple_cnn", "custom_cnn", "seed_net", "lenet5", "resnet_small"]

MODELS: dict[str, Callable[[tuple[int, int, int], int], Sequential]] = {
    "compact_cnn": compact_cnn,
    "simple_cnn": simple_cnn,
    "custom_cnn": custom_cnn,
    "seed_net": seed_net,
    "lenet5": lenet5,
    "resnet_small": resnet_small,
}


def build_model(name: str, input_shape: Sequence[int], num_classes: int) -> Sequential:
    """The zoo model ``name`` for inputs ``(C, H, W)`` and ``num_classes`` outputs, freshly initialised
    from ``minicnn.random`` (call ``minicnn.manual_seed`` first for reproducible weights)."""
    builder = MODELS.get(name)
    if builder is None:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {tuple(input_shape)}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    return builder(shape, num_classes)  # type: ignore[arg-type]


def last_linear(model: Module) -> Linear:
    """The model's last Linear layer (the classifier that ``--freeze-features`` trains)."""
    linears = [m for m in model.modules() if isinstance(m, Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no Linear layer")
    return linears[-1]


def count_parameters(module: Module) -> int:
    """The number of scalar parameters (weights and biases; buffers such as running statistics excluded)."""
    return sum(int(p.data.size) for p in module.parameters())
