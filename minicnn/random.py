"""The seedable random source behind weight initialisation and dropout masks.

``minicnn.manual_seed(s)`` makes every draw that follows reproducible. Draws are
made on the host with NumPy's PCG64 generator and moved to the current backend,
so the same seed gives the same weights and masks on every backend.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reset the global generator to ``seed``."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The global generator (shared by init and dropout)."""
    return _generator


def get_state() -> dict[str, Any]:
    """The generator's state, for checkpoints."""
    return _generator.bit_generator.state


def set_state(state: dict[str, Any]) -> None:
    """Restore a state returned by :func:`get_state`."""
    _generator.bit_generator.state = state
