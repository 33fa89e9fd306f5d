"""Large temporaries from the heap: a training step reuses the memory of the step before instead of faulting in new pages.

Every step allocates and frees the same large arrays again: each layer's output and
gradient, im2col columns, Winograd transforms (1 to 16 MiB each at batch 128). glibc's
``malloc`` serves a request above its mmap threshold (128 KiB at start, raised up to 32 MiB
as such blocks are freed) with a fresh ``mmap`` and unmaps it on ``free``; and it hands
the free top of the heap back to the kernel beyond its trim threshold (twice the mmap
threshold). Either way the next step's array of the same size starts as untouched pages:
one page fault per 4 KiB on its first write, each page zeroed by the kernel. At batch 128
that is a few milliseconds for every large array, whatever the kernel writing it.

:func:`keep_freed_memory` sets the two thresholds with ``mallopt``: blocks up to
:data:`MMAP_THRESHOLD` come from the heap, and the heap gives memory back only when more
than :data:`TRIM_THRESHOLD` lies free at its top, so the freed arrays of one step are the
next step's, already mapped. Measured in fresh processes (``python -m benchmarks.solo
--workload fashion-ref --engine numba``, 2-core AMD EPYC, glibc 2.36, 2026-11-30, medians of
3): 559 training images/s and 1,458 inference images/s with glibc's defaults, 714 and 1,842
with these thresholds; peak RSS 64 MiB either way. The cost: up to ``TRIM_THRESHOLD`` of freed
memory stays with the process until it needs it again.

minicnn calls it when a CPU backend loads its kernels (``minicnn.backend.kernels``); it
changes ``malloc`` for the whole process, once. ``MINICNN_KEEP_FREED_MEMORY=0`` keeps glibc's
own policy. Other C libraries (macOS, musl) are left alone.
"""
from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["keep_freed_memory", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

MMAP_THRESHOLD = 256 << 20
"""Requests up to this many bytes come from the heap (glibc's ``M_MMAP_THRESHOLD``)."""
TRIM_THRESHOLD = 512 << 20
"""The heap returns its free top to the kernel only beyond this many bytes (``M_TRIM_THRESHOLD``)."""

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3      # glibc's <malloc.h> parameter numbers
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (see the module docstring), once per process; whether they are set.

    False, changing nothing, off glibc or with ``MINICNN_KEEP_FREED_MEMORY=0``.
    """
    global _applied
    if _applied is None:
        _applied = os.environ.get("MINICNN_KEEP_FREED_MEMORY", "1") != "0" and _set_glibc_thresholds()
    return _applied


def _set_glibc_thresholds() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):   # musl's mallopt does nothing
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
