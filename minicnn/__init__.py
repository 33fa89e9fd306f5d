"""minicnn: a convolutional-network engine written from scratch.

NumPy is the readable reference, Numba the fast CPU path, CuPy the CUDA path;
every op has a hand-written backward whose derivation sits in its docstring,
and every gradient is tested against PyTorch.

    import minicnn
    from minicnn import nn, functional as F, optim
"""
from __future__ import annotations

import importlib
import os
from typing import Any

# OpenBLAS's idle threads spin for about 2^28 cycles after every matrix product
# before they sleep. A training step alternates products with Numba kernels, whose
# threads then fight the spinning ones for the cores (~10% of a step on 2 cores).
# 2^4 cycles puts them to sleep at once. OpenBLAS reads this when NumPy loads it,
# so it takes effect only if minicnn is imported before NumPy (as in
# ``python -m minicnn.train``); a value already in the environment is kept.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from . import functional, nn, optim  # noqa: E402
from .backend import BackendUnavailable, get_backend, set_backend, use_backend  # noqa: E402
from .random import manual_seed  # noqa: E402

F = functional

__version__ = "0.1.0"
__all__ = ["nn", "functional", "F", "optim", "data", "models", "testing", "backend", "set_backend",
           "get_backend", "use_backend", "BackendUnavailable", "manual_seed"]

_LAZY = ("data", "models", "testing")


def __getattr__(name: str) -> Any:
    """Import the heavier sub-packages (data, models, testing) on first access."""
    if name in _LAZY:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'minicnn' has no attribute {name!r}")
