"""minicnn: a convolutional-network engine written from scratch.

NumPy is the readable reference, Numba the fast CPU path, CuPy the CUDA path;
every op has a hand-written backward whose derivation sits in its docstring,
and every gradient is tested against PyTorch.

    import minicnn
    from minicnn import nn, functional as F, optim
"""
from __future__ import annotations

import importlib
from typing import Any

from . import functional, nn, optim
from .backend import BackendUnavailable, get_backend, set_backend, use_backend
from .random import manual_seed

F = functional

__version__ = "0.1.0"
__all__ = ["nn", "functional", "F", "optim", "data", "models", "testing", "backend", "set_backend",
           "get_backend", "use_backend", "BackendUnavailable", "manual_seed"]


def __getattr__(name: str) -> Any:
    """Import the heavier sub-packages (data, models, testing) on first access (importing a sub-package
    binds it as an attribute of this package, so later accesses find it without this function)."""
    if name in ("data", "models", "testing"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minicnn' has no attribute {name!r}")
