"""softmax, log_softmax and the fused softmax cross-entropy as Numba loops.

The reduced axis (length K) splits an array into (A, K, B): A the product of
the axes before it, B of those after. Each of the A B independent lines
``x[a, :, b]`` is handled by one ``prange`` iteration (a whole row when B = 1,
the usual (N, K) logits), which owns its output line. Along a line, with
m = max_k x_k (NaN if any x_k is NaN):

    softmax(x)_k     = exp(x_k - m) / sum_j exp(x_j - m)
    log_softmax(x)_k = (x_k - m) - log sum_j exp(x_j - m)

The two share their kernels, which take a flag ``take_log``: one pass finds m,
one writes exp(x_k - m) into the output line (with ``elementary.exp``, so LLVM
vectorises it), one adds them up, and the last writes either line. Sums are
accumulated in float64 (of the exponentials as stored: rounded to float32 for a
float32 line); outputs keep the input's dtype. Backward primitives take the forward's output,
as in ``numpy_ref.softmax``:

    y = softmax(x):      dx = y (dy - sum_k dy y)
    y = log_softmax(x):  dx = dy - exp(y) sum_k dy
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .. import lines
from . import _OPTIONS, Twin, _contiguous, _split_plane
from .elementary import exp

__all__ = ["softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
           "softmax_cross_entropy", "softmax_cross_entropy_backward"]


@njit(**_OPTIONS)
def _line_max(x, a, b):
    """max_k x[a, k, b], NaN when any entry is NaN (as ``numpy.max``)."""
    m = x[a, 0, b]
    for k in range(1, x.shape[1]):
        v = x[a, k, b]
        if v > m or v != v:
            m = v
            if v != v:
                break
    return m


@njit(inline="always", **_OPTIONS)
def _softmax_line(x, a, b, take_log, y):
    """y[a, :, b] = exp(x - m) / sum exp(x - m), or (x - m) - log sum exp(x - m) when ``take_log``,
    along line (a, b): the exponentials first (stored in y, a loop LLVM vectorises), then their sum in
    float64, then the line."""
    m = float(_line_max(x, a, b))
    for k in range(x.shape[1]):
        y[a, k, b] = exp(float(x[a, k, b]) - m)
    total = 0.0
    for k in range(x.shape[1]):
        total += y[a, k, b]
    lse = math.log(total)
    for k in range(x.shape[1]):
        y[a, k, b] = (float(x[a, k, b]) - m) - lse if take_log else y[a, k, b] / total


@Twin
def _softmax(x, take_log, y):
    """y[a, :, b] = softmax(x[a, :, b]), or log_softmax when ``take_log``."""
    na, nk, nb = x.shape
    for p in prange(na * nb):
        a, b = _split_plane(p, nb)
        _softmax_line(x, a, b, take_log, y)


@Twin
def _softmax_backward(dy, y, take_log, dx):
    """dx = y (dy - sum_k dy y) for y = softmax(x), dx = dy - exp(y) sum_k dy for y = log_softmax(x) (``take_log``)."""
    na, nk, nb = y.shape
    for p in prange(na * nb):
        a, b = _split_plane(p, nb)
        total = 0.0
        for k in range(nk):
            total += float(dy[a, k, b]) if take_log else float(dy[a, k, b]) * float(y[a, k, b])
        for k in range(nk):
            g = float(dy[a, k, b])
            dx[a, k, b] = g - exp(float(y[a, k, b])) * total if take_log else y[a, k, b] * (g - total)


@Twin
def _softmax_cross_entropy(logits, targets, smoothing, log_probs, losses):
    """Per row n of (N, K, 1) views: log_probs[n] = log_softmax(logits[n]);
    losses[n] = (1 - eps) (-log_probs[n, t_n]) + eps mean_k (-log_probs[n, k]), from the stored log_probs."""
    n, k, _ = logits.shape
    for r in prange(n):
        _softmax_line(logits, r, 0, True, log_probs)
        row_sum = 0.0
        for j in range(k):
            row_sum += log_probs[r, j, 0]
        loss = -float(log_probs[r, targets[r], 0])
        if smoothing != 0.0:
            loss = (1.0 - smoothing) * loss - smoothing * (row_sum / k)
        losses[r] = loss


@Twin
def _softmax_cross_entropy_backward(log_probs, targets, smoothing, dlogits):
    """dlogits[n] = (exp(log_probs[n]) - (1 - eps) onehot(t_n) - eps / K) / N."""
    n, k = log_probs.shape
    for r in prange(n):
        for j in range(k):
            g = exp(float(log_probs[r, j])) - smoothing / k
            if j == targets[r]:
                g -= 1.0 - smoothing
            dlogits[r, j] = g / n


def _apply(kernel: Twin, arrays: tuple[np.ndarray, ...], axis: int, take_log: bool) -> np.ndarray:
    """Run a line kernel on same-shape arrays viewed as (A, K, B); the result has the first one's dtype."""
    first, *rest = _contiguous(*arrays)
    out = np.empty_like(first)
    if first.size == 0:
        return out
    views = [a.reshape(lines(first.shape, axis)) for a in (first, *rest, out)]
    kernel(first.size, *views[:-1], take_log, views[-1])
    return out


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """y = exp(x - m) / sum(exp(x - m)) along ``axis``, m the max along it."""
    return _apply(_softmax, (x,), axis, False)


def softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """dx = y * (dy - sum(dy * y)) along ``axis``."""
    return _apply(_softmax_backward, (dy, y), axis, False)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """y = (x - m) - log(sum(exp(x - m))) along ``axis``."""
    return _apply(_softmax, (x,), axis, True)


def log_softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """dx = dy - exp(y) * sum(dy) along ``axis``."""
    return _apply(_softmax_backward, (dy, y), axis, True)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray,
                          label_smoothing: float) -> tuple[np.ndarray, np.ndarray]:
    """(loss, log_probs) for logits (N, K) and integer targets (N,) with values in [0, K).

    loss = mean_n [ (1 - eps) (-lp[n, t_n]) + eps mean_k (-lp[n, k]) ] as a 0-d
    array of the logits' dtype, lp = log_softmax(logits) (N, K).
    """
    logits = np.ascontiguousarray(logits)
    n, k = logits.shape
    t = np.ascontiguousarray(targets, dtype=np.int64)
    log_probs = np.empty_like(logits)
    losses = np.empty(n, dtype=np.float64)
    _softmax_cross_entropy(logits.size, logits.reshape(n, k, 1), t, float(label_smoothing),
                           log_probs.reshape(n, k, 1), losses)
    return np.asarray(losses.mean() if n else np.nan, dtype=logits.dtype), log_probs


def softmax_cross_entropy_backward(log_probs: np.ndarray, targets: np.ndarray,
                                   label_smoothing: float) -> np.ndarray:
    """dlogits = (softmax - q) / N with q = (1 - eps) onehot(t) + eps / K: the gradient of the mean loss."""
    log_probs = np.ascontiguousarray(log_probs)
    dlogits = np.empty_like(log_probs)
    _softmax_cross_entropy_backward(log_probs.size, log_probs, np.ascontiguousarray(targets, dtype=np.int64),
                                    float(label_smoothing), dlogits)
    return dlogits
