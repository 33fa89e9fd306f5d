"""Pointwise activations in plain NumPy: the declarations of ``kernels/pointwise.py`` as they are,
plus PReLU, whose slope is a per-channel parameter with a summed gradient.

Every function maps arrays elementwise and keeps the input's floating dtype (parameters are
Python floats, which never promote float32); no backward modifies its arguments.
"""
from __future__ import annotations

import numpy as np

from ..pointwise import POINTWISE

__all__ = [name for op in POINTWISE for name in (op, op + "_backward")] + ["prelu", "prelu_backward"]

for _op in POINTWISE.values():
    globals()[_op.name] = _op.forward
    globals()[_op.name + "_backward"] = _op.backward


def _per_channel(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """weight (C,) shaped to broadcast along axis 1 of x; a (1,) weight broadcasts everywhere."""
    w = weight.astype(x.dtype, copy=False)
    if w.size == 1:
        return w.reshape(())
    return w.reshape((1, -1) + (1,) * (x.ndim - 2))


def prelu(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """y = x if x > 0 else weight[c] * x, c the index along axis 1."""
    return np.where(x > 0, x, _per_channel(weight, x) * x)


def prelu_backward(dy: np.ndarray, x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dx = dy if x > 0 else weight[c] dy;  dweight[c] = sum of x dy over x <= 0 in channel c.

    dweight has weight's shape: summed over every axis but 1, or over all of
    them for a shared (1,) weight. At x = 0 the slope is weight (dx) and the
    weight's contribution is x dy = 0.
    """
    positive = x > 0
    dx = np.where(positive, dy, _per_channel(weight, x) * dy)
    contrib = np.where(positive, 0, x * dy)
    axes = tuple(range(x.ndim)) if weight.size == 1 else (0,) + tuple(range(2, x.ndim))
    return dx, contrib.sum(axis=axes).reshape(weight.shape)
