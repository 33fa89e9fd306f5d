"""The CUDA kernels: the same primitives as ``numpy_ref``, on ``cupy.ndarray``.

The heavy primitives are CUDA C sources beside this file (``conv.cu``,
``pool.cu``, ``softmax.cu``, ``norm.cu``, installed as package data), which
share ``common.cuh`` (the dtype check, ``idx_t``, the grid-stride loop). Each is
compiled by :func:`raw_kernel` with NVRTC through ``cupy.RawModule`` once per
(source, dtype, defines, device), with ``-Dscalar_t=float`` or
``-Dscalar_t=double`` and any block size the source needs as a further ``-D``
option from its wrapper, and memoised, so a primitive never rebuilds a kernel
(CuPy also keeps the compiled binary on disk, in ``CUPY_CACHE_DIR``). The
header is spliced into the source text rather than found through ``-I``: CuPy
keys its disk cache by the source text and options, and would not see an
edited header. The pointwise activations are ``cupy.ElementwiseKernel``
objects, which CuPy compiles once per dtype.

All kernels use 64-bit index arithmetic and grid-stride loops (the batch-norm
statistics: one block per channel). No backward that sums overlapping
contributions uses atomics: col2im and average-pool backward are one gather
(``conv.cu``'s col2im), one thread per input pixel; max-pool backward gives
each (n, c) plane to one thread. So results are deterministic. Matrix products are not here: the ops
call ``cupy.matmul`` (cuBLAS).

This package imports cupy; ``minicnn.backend.kernels("cupy")`` is the only
place that imports it.
"""
from __future__ import annotations

import functools
import os
import re
from typing import Any

import cupy
import numpy as np

_DIR = os.path.dirname(os.path.abspath(__file__))
_C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_INCLUDE = re.compile(r'^#include "(\w+\.cuh)"$', re.MULTILINE)
THREADS = 256
_MAX_BLOCKS = 1 << 20          # grid-stride loops cover whatever lies beyond


@functools.cache
def _source_text(name: str) -> str:
    """The text of ``name`` (a file beside this one), each ``#include "x.cuh"`` line replaced by that header's text."""
    with open(os.path.join(_DIR, name), encoding="utf-8") as f:
        return _INCLUDE.sub(lambda m: _source_text(m.group(1)), f.read())


@functools.cache
def _module(source: str, options: tuple[str, ...], device: int) -> Any:
    """``source`` compiled with ``options`` for ``device`` (the key; CuPy compiles on the current one)."""
    return cupy.RawModule(code=_source_text(source), options=options)


@functools.cache
def _function(source: str, options: tuple[str, ...], device: int, name: str) -> Any:
    """The kernel ``name`` of :func:`_module`'s module."""
    return _module(source, options, device).get_function(name)


def raw_kernel(source: str, name: str, dtype: Any, **defines: int) -> Any:
    """The ``extern "C"`` kernel ``name`` of ``source`` (a .cu file here), built for ``dtype``
    (float32 or float64) and ``-DNAME=value`` for each of ``defines`` on the current device;
    compiled on first use, then memoised."""
    dtype = np.dtype(dtype)
    if dtype not in _C_TYPES:
        raise TypeError(f"CUDA kernels take float32 or float64 arrays, got {dtype}")
    options = (f"-Dscalar_t={_C_TYPES[dtype]}", *(f"-D{k}={v}" for k, v in sorted(defines.items())))
    return _function(source, options, cupy.cuda.runtime.getDevice(), name)


def launch(kernel: Any, total: int, *args: Any) -> None:
    """Run a grid-stride ``kernel`` over ``total`` elements with :data:`THREADS` threads per block."""
    if total > 0:
        launch_blocks(kernel, min((total + THREADS - 1) // THREADS, _MAX_BLOCKS), THREADS, *args)


def launch_blocks(kernel: Any, blocks: int, threads: int, *args: Any) -> None:
    """Run ``kernel`` on ``blocks`` blocks of ``threads`` threads.

    Integer arguments (Python or NumPy) go as 64-bit ``long long``; pass everything else
    with its exact C type.
    """
    kernel((blocks,), (threads,), tuple(np.int64(a) if isinstance(a, (int, np.integer)) else a for a in args))


from .activation import *  # noqa: E402,F401,F403
from .conv import *  # noqa: E402,F401,F403
from .norm import *  # noqa: E402,F401,F403
from .pool import *  # noqa: E402,F401,F403
from .softmax import *  # noqa: E402,F401,F403
from .winograd import *  # noqa: E402,F401,F403
