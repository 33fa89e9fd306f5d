"""The CUDA kernels: the same primitives as ``numpy_ref``, on ``cupy.ndarray``.

The heavy primitives are CUDA C sources beside this file (``conv.cu``,
``pool.cu``, ``softmax.cu``, ``norm.cu``, installed as package data). Each is
compiled by :func:`raw_kernel` with NVRTC through ``cupy.RawModule`` once per
(source, dtype, device), with ``-Dscalar_t=float`` or ``-Dscalar_t=double``,
and memoised, so a primitive never rebuilds a kernel (CuPy also keeps the
compiled binary on disk, in ``CUPY_CACHE_DIR``). The pointwise activations are
``cupy.ElementwiseKernel`` objects, which CuPy compiles once per dtype.

All kernels use 64-bit index arithmetic and grid-stride loops (the batch-norm
statistics: one block per channel). No backward that sums overlapping
contributions uses atomics: col2im and average-pool backward are gathers, one
thread per input pixel; max-pool backward gives each (n, c) plane to one
thread. So results are deterministic. Matrix products are not here: the ops
call ``cupy.matmul`` (cuBLAS).

This package imports cupy; ``minicnn.backend.kernels("cupy")`` is the only
place that imports it.
"""
from __future__ import annotations

import os
from typing import Any

import cupy
import numpy as np

_DIR = os.path.dirname(os.path.abspath(__file__))
_C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
THREADS = 256
_MAX_BLOCKS = 1 << 20          # grid-stride loops cover whatever lies beyond
_sources: dict[str, str] = {}
_modules: dict[tuple[str, str, int], Any] = {}
_functions: dict[tuple[str, str, str, int], Any] = {}


def raw_kernel(source: str, name: str, dtype: Any) -> Any:
    """The ``extern "C"`` kernel ``name`` of ``source`` (a .cu file here), built for ``dtype``
    (float32 or float64) on the current device; compiled on first use, then memoised."""
    dtype = np.dtype(dtype)
    if dtype not in _C_TYPES:
        raise TypeError(f"CUDA kernels take float32 or float64 arrays, got {dtype}")
    device = cupy.cuda.runtime.getDevice()
    key = (source, name, dtype.str, device)
    function = _functions.get(key)
    if function is None:
        module_key = (source, dtype.str, device)
        module = _modules.get(module_key)
        if module is None:
            code = _sources.get(source)
            if code is None:
                with open(os.path.join(_DIR, source), encoding="utf-8") as f:
                    code = f.read()
                _sources[source] = code
            module = cupy.RawModule(code=code, options=(f"-Dscalar_t={_C_TYPES[dtype]}",))
            _modules[module_key] = module
        function = module.get_function(name)
        _functions[key] = function
    return function


def launch(kernel: Any, total: int, *args: Any) -> None:
    """Run a grid-stride ``kernel`` over ``total`` elements with :data:`THREADS` threads per block.

    Integer arguments (Python or NumPy) go as 64-bit ``long long``; pass everything else
    with its exact C type.
    """
    if total <= 0:
        return
    blocks = min((total + THREADS - 1) // THREADS, _MAX_BLOCKS)
    kernel((blocks,), (THREADS,), tuple(np.int64(a) if isinstance(a, (int, np.integer)) else a for a in args))


from .activation import *  # noqa: E402,F401,F403
from .conv import *  # noqa: E402,F401,F403
from .norm import *  # noqa: E402,F401,F403
from .pool import *  # noqa: E402,F401,F403
from .softmax import *  # noqa: E402,F401,F403
