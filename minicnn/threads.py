"""Threads chosen at run time: minicnn's speed depends neither on import order nor on environment variables.

On the CPU two thread pools do minicnn's work: NumPy's BLAS (OpenBLAS in NumPy's
wheels) runs the matrix products of every convolution and linear layer, and on
the numba backend Numba's pool runs the kernels in between. Both start with one
thread per core the process may use, which is what minicnn wants; nothing has to
be set for full speed:

* Numba's threading layer is chosen by minicnn when the numba backend loads its
  kernels (``minicnn.kernels.numba_cpu``): ``workqueue``, whose idle threads
  sleep on a condition variable, so they never take a core from OpenBLAS.
  Numba's own default (TBB if installed, else OpenMP) spins its idle threads.
* OpenBLAS keeps its default idle policy: after a product its workers spin for
  up to 2^28 cycles, calling ``sched_yield`` at every turn, so a Numba thread
  that wants the core gets it, and the next product starts without waking a
  sleeping thread. ``import minicnn`` used to set ``OPENBLAS_THREAD_TIMEOUT=4``
  (sleep at once), which OpenBLAS reads only when NumPy loads it, so it took
  effect only when minicnn was imported before NumPy. Measured in fresh
  processes (2-core AMD EPYC, numba fashion-ref training, 2026-11-30), the
  default spin was not slower than sleeping at once, in either import order, so
  the variable is gone and both orders run the same code.
* Thread counts are set here, at run time: :func:`set_num_threads` gives BLAS
  (through threadpoolctl) and Numba's kernels the same count. The variables that
  do the same (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
  ``NUMBA_NUM_THREADS``) are read once, when NumPy or Numba loads, and so work
  only if set before the first import.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

_numba_threads: int | None = None
"""The count asked for before the numba backend loaded; it applies it when it does."""


def get_num_threads() -> int:
    """The threads minicnn's CPU work runs on (those of NumPy's BLAS)."""
    from threadpoolctl import threadpool_info

    return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=1)


def set_num_threads(n: int) -> None:
    """Run NumPy's BLAS and Numba's kernels on ``n`` threads from now on (Numba's capped at its pool's size).

    Numba's count holds for the calling thread, as ``numba.set_num_threads`` does.
    """
    global _numba_threads
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive integer, got {n!r}")
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(n), user_api="blas")
    _numba_threads = int(n)
    if _numba():
        apply_numba_threads()


def apply_numba_threads() -> None:
    """Give Numba the count :func:`set_num_threads` asked for, if any (the numba kernels call it as they load)."""
    numba = sys.modules["numba"]
    if _numba_threads is not None:
        numba.set_num_threads(min(_numba_threads, numba.config.NUMBA_NUM_THREADS))


@contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Context manager: :func:`set_num_threads` for the block, then BLAS's and Numba's counts as they were."""
    global _numba_threads
    from threadpoolctl import threadpool_limits

    numba = _numba()
    previous, numba_before = _numba_threads, numba.get_num_threads() if numba else None
    with threadpool_limits(user_api="blas"):                # restores BLAS's counts on exit
        try:
            set_num_threads(n)
            yield
        finally:
            _numba_threads = previous
            numba = _numba()
            if numba:
                pool = numba.config.NUMBA_NUM_THREADS
                numba.set_num_threads(numba_before or min(previous or pool, pool))


def _numba() -> Any:
    """The numba module once minicnn's numba kernels have loaded it (this module never imports it first)."""
    return sys.modules["numba"] if "minicnn.kernels.numba_cpu" in sys.modules else None
