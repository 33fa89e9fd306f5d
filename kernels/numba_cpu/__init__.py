"""The Numba CPU kernels: the fast CPU path, the same primitives as ``numpy_ref``.

Each primitive is a thin Python wrapper (contiguous inputs, output allocation,
scalar conversion) around a loop kernel that mirrors the NumPy reference. The
kernels and their helpers are compiled with ``_OPTIONS``
(``cache=True, fastmath=False, nogil=True, error_model="numpy"``), once per dtype
(float32 and float64 each get their own machine code; results keep the input
dtype), and the compiled code is cached on disk (``NUMBA_CACHE_DIR``, or the
``__pycache__`` beside these files), so a new process loads them instead of
compiling. ``error_model="numpy"`` makes a float division by zero give inf or NaN,
as in NumPy, instead of raising ZeroDivisionError (and an integer division by zero
gives 0: the kernels trust their callers, which check shapes first): the test for a zero divisor
is a branch out of the loop, and it kept LLVM from vectorising any loop that
divides (sigmoid ran 7x slower with it).

Parallel and serial twins
-------------------------
Every kernel is written once and compiled twice (:class:`Twin`): with
``parallel=True``, where its outer ``prange`` loop is split over the Numba
threads, and without, where ``prange`` is a plain ``range``. ``prange`` runs
only over loops whose iterations write disjoint memory (whole (n, c) planes,
channels, rows, or single elements), so the two agree up to the order of
independent sums and the tests compare them. A call runs the parallel twin when
its work (elements written or read) reaches :func:`get_min_parallel_work`;
below that, starting the threads costs more than it saves.

Threads
-------
Importing this package selects Numba's ``workqueue`` threading layer, unless
``NUMBA_THREADING_LAYER`` names one (any value but ``default``) or Numba's threads
have started already (the first parallel launch, ``numba.set_num_threads`` or
``numba.get_num_threads`` fixes the layer). Its idle threads sleep on a
condition variable, so between kernels they leave the cores to OpenBLAS's matrix
products (and to PyTorch, in a process that runs both). Numba's own default
picks TBB if installed, else OpenMP, whose idle threads spin: beside PyTorch's
OpenMP runtime every parallel call cost 4-8 ms instead of ~50 us on 2 cores. The
choice is minicnn's, so that no variable has to be set for full speed; see
``minicnn.threads`` for the thread counts, applied here as the package loads.
The kernels release the GIL (``nogil``), but the workqueue layer must not be
entered from two Python threads at once; set ``NUMBA_THREADING_LAYER=omp`` or
``tbb`` for that.

This package is where minicnn's engine imports numba (``minicnn.backend`` only
checks that it is installed), and it is imported on first use of the numba
backend, never by ``import minicnn``.
"""
from __future__ import annotations

import types
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numba
import numpy as np
from numba import njit

from ...threads import apply_numba_threads

if numba.config.THREADING_LAYER == "default":
    numba.config.THREADING_LAYER = "workqueue"
apply_numba_threads()

_OPTIONS = dict(cache=True, fastmath=False, nogil=True, error_model="numpy")

unsigned = np.uintp
"""Cast for inner-loop indices that are known to be in range: Numba tests every
signed index for a negative value (Python's wrap-around), and that test keeps
LLVM from vectorising the loop; an unsigned index skips it."""
_min_parallel_work = 1 << 17


def _contiguous(x: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """x made C-contiguous, then ``others`` made C-contiguous in x's dtype: a wrapper's inputs for its kernel."""
    x = np.ascontiguousarray(x)
    return (x, *(np.ascontiguousarray(a, dtype=x.dtype) for a in others))


@njit(inline="always", **_OPTIONS)
def _split_plane(p: int, c: int) -> tuple[int, int]:
    """(n, c) of plane p = n C + c (or any flat index p = a B + b split into (a, b)), for ``prange``
    loops over (n, c) planes. Written as p - n C, not p % C: with Python's sign rule for %,
    the loops indexing channel c ran measurably slower (average pooling: about 1.5x)."""
    b = p // c
    return b, p - b * c


class Twin:
    """One loop kernel compiled as a parallel and a serial twin; calling it picks one by work size.

    ``Twin(fn)(work, *args)`` runs ``fn(*args)`` compiled with ``parallel=True``
    when ``work >= get_min_parallel_work()``, else the serial compilation. The
    serial twin is a copy of ``fn`` under the name ``<fn>_serial`` so that the
    two have separate entries in Numba's on-disk cache.
    """

    __slots__ = ("parallel", "serial")
    instances: list[Twin] = []
    """Every Twin made so far (e.g. to read the compile statistics of all kernels)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial",
                                  fn.__defaults__, fn.__closure__)
        copy.__qualname__ = fn.__qualname__ + "_serial"
        copy.__module__ = fn.__module__
        copy.__doc__ = fn.__doc__
        self.parallel = njit(parallel=True, **_OPTIONS)(fn)
        self.serial = njit(parallel=False, **_OPTIONS)(copy)
        Twin.instances.append(self)

    def __call__(self, work: int, *args: Any) -> Any:
        return (self.parallel if work >= _min_parallel_work else self.serial)(*args)

    def dispatchers(self) -> tuple[Any, Any]:
        """The two Numba dispatchers (parallel, serial), e.g. to read their compile statistics."""
        return self.parallel, self.serial


def get_min_parallel_work() -> int:
    """The work size (elements) from which kernels run their parallel twin."""
    return _min_parallel_work


def set_min_parallel_work(work: int) -> None:
    """Run the parallel twin of every kernel from ``work`` elements on (0: always; a huge value: never)."""
    global _min_parallel_work
    if work < 0:
        raise ValueError(f"min_parallel_work must be >= 0, got {work}")
    _min_parallel_work = int(work)


@contextmanager
def min_parallel_work(work: int) -> Iterator[None]:
    """Context manager: :func:`set_min_parallel_work` for the block, then restore the old value."""
    previous = _min_parallel_work
    set_min_parallel_work(work)
    try:
        yield
    finally:
        set_min_parallel_work(previous)


from .activation import *  # noqa: E402,F401,F403
from .conv import *  # noqa: E402,F401,F403
from .norm import *  # noqa: E402,F401,F403
from .pool import *  # noqa: E402,F401,F403
from .softmax import *  # noqa: E402,F401,F403
from .winograd import *  # noqa: E402,F401,F403
