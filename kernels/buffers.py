"""Host buffers for the big temporaries of a training step, reused instead of mapped afresh.

glibc serves every allocation over its mmap threshold (32 MiB at most) with a
fresh ``mmap`` and returns it with ``munmap`` when freed, so each new large
NumPy array is paid for again in page faults: about 9 ms for the 115 MB of
columns of one 32-channel 28x28 convolution at batch 128, more than the copy
that fills them. A training step makes the same large arrays, of the same
shapes, every time.

:func:`empty` therefore keeps large buffers, keyed by shape and dtype, and hands
one out again once nothing else refers to it: its reference count (every view
of it holds one) is back down to the pool's own. A buffer still held by a layer's
cache, a view, or the caller is never handed out twice. The pool keeps at most
:data:`MAX_POOLED_BYTES`; the least recently used shapes are dropped first.
"""
from __future__ import annotations

import sys
from collections import OrderedDict

import numpy as np

__all__ = ["empty", "clear", "pooled_bytes", "MIN_POOLED_BYTES", "MAX_POOLED_BYTES"]

MIN_POOLED_BYTES = 1 << 25
"""Arrays smaller than this come from ``np.empty``: glibc already reuses their memory."""
MAX_POOLED_BYTES = 1 << 31
"""The most memory the pool keeps, in bytes."""

_pool: OrderedDict[tuple[tuple[int, ...], str], list[np.ndarray]] = OrderedDict()
_FREE_REFCOUNT = 3      # the pool's list, the loop variable, getrefcount's own argument


def empty(shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """An uninitialised C-contiguous array, from the pool when it is large (see the module docstring)."""
    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) * dtype.itemsize < MIN_POOLED_BYTES:
        return np.empty(shape, dtype)
    key = (shape, dtype.str)
    buffers = _pool.setdefault(key, [])
    _pool.move_to_end(key)
    for buf in buffers:
        if sys.getrefcount(buf) == _FREE_REFCOUNT:
            return buf
    buf = np.empty(shape, dtype)
    buffers.append(buf)
    _evict()
    return buf


def _evict() -> None:
    """Forget the least recently used buffers until the pool holds at most MAX_POOLED_BYTES."""
    while pooled_bytes() > MAX_POOLED_BYTES and len(_pool) > 1:
        _pool.popitem(last=False)


def pooled_bytes() -> int:
    """Bytes the pool currently keeps (free or handed out)."""
    return sum(b.nbytes for buffers in _pool.values() for b in buffers)


def clear() -> None:
    """Forget every pooled buffer (those still in use stay valid; their memory is freed with them)."""
    _pool.clear()
