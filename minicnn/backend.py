"""The one module that knows which array library and which kernels are in use.

minicnn runs the same model code on three backends:

========  ==================  =====================================================
name      arrays              kernels (``minicnn.kernels.<module>``)
========  ==================  =====================================================
numpy     ``numpy.ndarray``   ``numpy_ref``: readable vectorised NumPy, the ground truth
numba     ``numpy.ndarray``   ``numba_cpu``: loops compiled by Numba, each as a parallel and a serial twin
cupy      ``cupy.ndarray``    ``cupy_cuda``: CUDA C kernels compiled once per dtype/device
========  ==================  =====================================================

Ops in ``minicnn.functional`` never branch on the backend: they ask this module
for the array module (:func:`xp`) and the kernel set (:func:`kernels`), both of
which follow the current backend. Kernel modules are imported on first use, so
``import minicnn`` imports neither numba nor cupy and compiles nothing.
"""
from __future__ import annotations

import importlib
import os
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Iterator

import numpy as np

from . import memory

BACKENDS = ("numpy", "numba", "cupy")
_KERNEL_MODULES = {
    "numpy": "minicnn.kernels.numpy_ref",
    "numba": "minicnn.kernels.numba_cpu",
    "cupy": "minicnn.kernels.cupy_cuda",
}


class BackendUnavailable(RuntimeError):
    """The requested backend's package or device is missing on this machine."""


_current = "numpy"
_loaded: dict[str, ModuleType] = {}
_startup_error: Exception | None = None


def _check_available(name: str) -> None:
    """Raise :class:`BackendUnavailable` unless backend ``name`` can run here."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    if name == "numba":
        try:
            import numba  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable(
                "backend 'numba' needs the numba package: pip install numba"
            ) from exc
    elif name == "cupy":
        try:
            import cupy
        except ImportError as exc:
            raise BackendUnavailable(
                "backend 'cupy' needs CuPy: pip install -e '.[gpu]' (or cupy-cuda12x / "
                "cupy-cuda13x matching your CUDA driver)"
            ) from exc
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver missing or broken
            raise BackendUnavailable(
                f"backend 'cupy': CuPy is installed but no CUDA device is usable ({exc})"
            ) from exc
        if count < 1:
            raise BackendUnavailable("backend 'cupy': CuPy is installed but no CUDA device was found")


def is_available(name: str) -> bool:
    """True when :func:`set_backend` would accept ``name`` on this machine."""
    try:
        _check_available(name)
    except BackendUnavailable:
        return False
    return True


def set_backend(name: str) -> None:
    """Make ``name`` ("numpy", "numba" or "cupy") the current backend.

    Raises :class:`BackendUnavailable` when its package or device is missing;
    there is never a silent fallback to another backend.
    """
    global _current, _startup_error
    _check_available(name)
    _current = name
    _startup_error = None


def get_backend() -> str:
    """The current backend's name."""
    return _current


@contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Context manager: run the block on backend ``name``, then restore the old one."""
    previous = _current
    set_backend(name)
    try:
        yield name
    finally:
        set_backend(previous)


def _raise_startup_error() -> None:
    if _startup_error is not None:
        raise _startup_error


def kernels(name: str | None = None) -> ModuleType:
    """The kernel module of backend ``name`` (default: the current one), imported on first use."""
    if name is None:
        _raise_startup_error()
    name = name or _current
    module = _loaded.get(name)
    if module is None:
        module = importlib.import_module(_KERNEL_MODULES[name])
        if name != "cupy":
            memory.keep_freed_memory()
        _loaded[name] = module
    return module


def xp(name: str | None = None) -> ModuleType:
    """The array module of backend ``name`` (default: the current one): numpy or cupy."""
    if name is None:
        _raise_startup_error()
    if (name or _current) == "cupy":
        import cupy

        return cupy
    return np


def asarray(a: Any, dtype: Any = None) -> Any:
    """``a`` as an array of the current backend (copied to the GPU for cupy)."""
    _raise_startup_error()
    if _current == "cupy":
        import cupy

        return cupy.asarray(a, dtype=dtype)
    return np.asarray(to_numpy(a), dtype=dtype)


def to_numpy(a: Any) -> np.ndarray:
    """A host ``numpy.ndarray`` holding ``a``, whatever backend made it."""
    if isinstance(a, np.ndarray):
        return a
    get = getattr(a, "get", None)
    if callable(get) and type(a).__module__.startswith("cupy"):
        return get()
    return np.asarray(a)


def _start_up_backend() -> None:
    """Start on ``$MINICNN_BACKEND`` when set.

    ``import minicnn`` must not fail (the training CLI has to be able to report
    the problem cleanly), so a backend that cannot run here, or an unknown name,
    becomes the current backend's error: :func:`kernels`, :func:`xp` and
    :func:`asarray` raise it until :func:`set_backend` picks a backend that works.
    There is no fallback to another backend.
    """
    global _current, _startup_error
    name = os.environ.get("MINICNN_BACKEND")
    if not name:
        return
    try:
        set_backend(name)
    except (BackendUnavailable, ValueError) as exc:
        _current, _startup_error = name, type(exc)(f"MINICNN_BACKEND={name}: {exc}")


_start_up_backend()
