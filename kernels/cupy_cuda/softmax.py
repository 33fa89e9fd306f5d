"""softmax, log_softmax and the fused softmax cross-entropy on the GPU: ``softmax.cu``.

The reduced axis splits an array into (A, K, B); one thread handles one line
x[a, :, b] (a whole row of (N, K) logits), accumulating in double. softmax and
log_softmax share their kernels (and so do their backwards), told apart by ``take_log``.
"""
from __future__ import annotations

from typing import Any

import cupy
import numpy as np

from .. import lines
from . import launch, raw_kernel

__all__ = ["softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
           "softmax_cross_entropy", "softmax_cross_entropy_backward"]


def _run(name: str, arrays: tuple[Any, ...], axis: int, take_log: bool) -> Any:
    """Run line kernel ``name`` on same-shape arrays; the result has the first one's shape and dtype."""
    first = cupy.ascontiguousarray(arrays[0])
    rest = [cupy.ascontiguousarray(a, dtype=first.dtype) for a in arrays[1:]]
    na, nk, nb = lines(first.shape, axis)
    out = cupy.empty_like(first)
    if first.size:
        launch(raw_kernel("softmax.cu", name, first.dtype), na * nb, first, *rest, out, na, nk, nb, int(take_log))
    return out


def softmax(x: Any, axis: int) -> Any:
    """y = exp(x - m) / sum(exp(x - m)) along ``axis``."""
    return _run("softmax_lines", (x,), axis, False)


def softmax_backward(dy: Any, y: Any, axis: int) -> Any:
    """dx = y * (dy - sum(dy * y)) along ``axis``."""
    return _run("softmax_backward_lines", (dy, y), axis, False)


def log_softmax(x: Any, axis: int) -> Any:
    """y = (x - m) - log(sum(exp(x - m))) along ``axis``."""
    return _run("softmax_lines", (x,), axis, True)


def log_softmax_backward(dy: Any, y: Any, axis: int) -> Any:
    """dx = dy - exp(y) * sum(dy) along ``axis``."""
    return _run("softmax_backward_lines", (dy, y), axis, True)


def _targets(targets: Any) -> Any:
    """targets as a contiguous int64 device array (checked by the caller)."""
    return cupy.ascontiguousarray(cupy.asarray(targets), dtype=cupy.int64)


def softmax_cross_entropy(logits: Any, targets: Any, label_smoothing: float) -> tuple[Any, Any]:
    """(loss, log_probs): loss = mean_n [(1 - eps)(-lp[n, t_n]) + eps mean_k (-lp[n, k])], a 0-d array."""
    logits = cupy.ascontiguousarray(logits)
    n, k = logits.shape
    t = _targets(targets)
    log_probs = cupy.empty_like(logits)
    losses = cupy.empty(n, dtype=cupy.float64)
    launch(raw_kernel("softmax.cu", "softmax_cross_entropy_rows", logits.dtype), n,
           logits, t, np.float64(label_smoothing), log_probs, losses, n, k)
    loss = losses.mean() if n else cupy.asarray(np.nan)
    return loss.astype(logits.dtype), log_probs


def softmax_cross_entropy_backward(log_probs: Any, targets: Any, label_smoothing: float) -> Any:
    """dlogits = (softmax - q) / N with q = (1 - eps) onehot(t) + eps / K."""
    log_probs = cupy.ascontiguousarray(log_probs)
    n, k = log_probs.shape
    dlogits = cupy.empty_like(log_probs)
    launch(raw_kernel("softmax.cu", "softmax_cross_entropy_backward", log_probs.dtype), n * k,
           log_probs, _targets(targets), np.float64(label_smoothing), dlogits, n, k)
    return dlogits
