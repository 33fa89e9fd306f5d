"""Small helpers shared by the functional ops."""
from __future__ import annotations

from typing import Any

Pair = tuple[int, int]


def pair(value: int | tuple[int, int], name: str) -> Pair:
    """``3 -> (3, 3)``; ``(2, 3)`` stays; anything else is a ``ValueError`` naming ``name``."""
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (int(value[0]), int(value[1]))
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


def require_float(x: Any, where: str) -> None:
    """TypeError unless ``x`` is an array of a floating dtype."""
    dtype = getattr(x, "dtype", None)
    if dtype is None or dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point array (float32 or float64), got "
                        f"{'dtype ' + str(dtype) if dtype is not None else type(x).__name__}")
