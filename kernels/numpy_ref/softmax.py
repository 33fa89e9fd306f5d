r"""softmax, log_softmax and the fused softmax cross-entropy, in plain vectorised NumPy.

Along the reduced axis (length K), with m = max_k x_k:

    softmax(x)_k     = exp(x_k - m) / sum_j exp(x_j - m)
    log_softmax(x)_k = (x_k - m) - log sum_j exp(x_j - m)

Subtracting m changes nothing mathematically but keeps every exponent <= 0,
so nothing overflows, the largest term is exactly 1 and the sum lies in
[1, K]: logits of magnitude 1e4 are as safe as logits of magnitude 1.
log_softmax never takes log(softmax) (which is -inf once softmax underflows).

Backward primitives take the forward's OUTPUT (not x) and never modify their inputs.
"""
from __future__ import annotations

import numpy as np

__all__ = ["softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
           "softmax_cross_entropy", "softmax_cross_entropy_backward"]


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """y = exp(x - m) / sum(exp(x - m)) along ``axis``, m the max along it."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """dx = y * (dy - sum(dy * y)) along ``axis`` (the softmax Jacobian-vector product)."""
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """y = (x - m) - log(sum(exp(x - m))) along ``axis``."""
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def log_softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """dx = dy - exp(y) * sum(dy) along ``axis`` (exp(y) is the softmax)."""
    return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray,
                          label_smoothing: float) -> tuple[np.ndarray, np.ndarray]:
    """(loss, log_probs) for logits (N, K) and integer targets (N,) with values in [0, K).

    With lp = log_softmax(logits) and eps = label_smoothing (PyTorch's definition):

        loss = mean_n [ (1 - eps) (-lp[n, t_n]) + eps mean_k (-lp[n, k]) ]

    loss is a 0-d array of the logits' dtype; log_probs (N, K) is what the backward needs.
    """
    lp = log_softmax(logits, 1)
    per_sample = -lp[np.arange(lp.shape[0]), targets]
    if label_smoothing:
        per_sample = (1 - label_smoothing) * per_sample - label_smoothing * lp.mean(axis=1)
    return np.asarray(per_sample.mean(), dtype=lp.dtype), lp


def softmax_cross_entropy_backward(log_probs: np.ndarray, targets: np.ndarray,
                                   label_smoothing: float) -> np.ndarray:
    """dlogits = (softmax - q) / N with q = (1 - eps) onehot(t) + eps / K: the gradient of the mean loss."""
    n, k = log_probs.shape
    g = np.exp(log_probs) - label_smoothing / k
    g[np.arange(n), targets] -= 1 - label_smoothing
    return g / n
