r"""softmax and log_softmax over any axis, and cross-entropy from logits fused with log_softmax.

Notation
--------
x  : any shape, the input; the op acts along one axis ``dim`` of length K and
     independently on every other index, so below x, y, dy are vectors of length K
p  : softmax(x), p_k = exp(x_k) / S with S = sum_j exp(x_j)
y  : the output (p for softmax, log p for log_softmax);  dy = dLoss/dy, dx = dLoss/dx

Stability: the kernels evaluate with m = max_j x_j subtracted first,
p_k = exp(x_k - m) / sum_j exp(x_j - m) and log p_k = (x_k - m) - log sum_j exp(x_j - m),
which is the same function (the factor e^{-m} cancels) but has every exponent
<= 0, so logits of magnitude 1e4 neither overflow nor lose the log to -inf.

softmax backward
----------------
dp_k/dx_j = p_k (delta_kj - p_j) (quotient rule on exp(x_k) / S, with dS/dx_j = exp(x_j)).
The chain rule sums over k:

    dx_j = sum_k dy_k p_k (delta_kj - p_j) = p_j dy_j - p_j sum_k dy_k p_k
    dx   = y * (dy - sum(dy * y, dim))                         (x's shape; the sum keeps dim)

log_softmax backward
--------------------
log p_k = x_k - log S, so d(log p_k)/dx_j = delta_kj - p_j, and

    dx_j = sum_k dy_k (delta_kj - p_j) = dy_j - p_j sum_k dy_k
    dx   = dy - exp(y) * sum(dy, dim)                          (exp(y) = p: no stored softmax)

Both are Jacobian-vector products in O(K): the K x K Jacobian is never formed.

Cross-entropy with label smoothing (PyTorch's definition)
---------------------------------------------------------
logits z (N, K), integer targets t (N,) in [0, K), eps = label_smoothing in [0, 1].
The smoothed target distribution is q[n] = (1 - eps) onehot(t_n) + eps / K (it sums to 1), and

    loss = (1/N) sum_n -sum_k q[n,k] log p[n,k]
         = (1/N) sum_n [ (1 - eps) (-log p[n, t_n]) + eps mean_k(-log p[n,k]) ]   (a scalar)

It is the log_softmax backward with dy[n,k] = -q[n,k] / N, and since sum_k q[n,k] = 1:

    dz[n,k] = -q[n,k] / N - p[n,k] sum_j (-q[n,j] / N) = (p[n,k] - q[n,k]) / N
    dz      = (softmax(z) - (1 - eps) onehot(t) - eps / K) / N           (N, K)

which is the fused "softmax minus one-hot" gradient: no log, no division by p,
exact even where p underflows to 0. Times the upstream scalar dout.

Caches: softmax and log_softmax keep their output y (and the axis);
cross-entropy keeps log p (N, K), t and eps.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .. import backend
from ..checks import check_dout, finite_float, normalize_dim, require_float, unit_interval

__all__ = ["softmax_forward", "softmax_backward", "SoftmaxCache", "log_softmax_forward", "log_softmax_backward",
           "cross_entropy_forward", "cross_entropy_backward", "CrossEntropyCache"]


def check_cross_entropy_inputs(logits: Any, targets: Any, where: str) -> None:
    """Raise TypeError/ValueError naming ``where`` unless logits is a float (N, K) array with
    N, K >= 1 and targets an integer (N,) array with every value in [0, K)."""
    ldtype = getattr(logits, "dtype", None)
    if ldtype is None or ldtype.kind != "f":
        raise TypeError(f"{where}: logits must be a floating-point array (float32 or float64), got "
                        f"{'dtype ' + str(ldtype) if ldtype is not None else type(logits).__name__}")
    if logits.ndim != 2 or logits.shape[0] < 1 or logits.shape[1] < 1:
        raise ValueError(f"{where}: expected 2-D logits (N, K) with N, K >= 1, got shape {tuple(logits.shape)}")
    tdtype = getattr(targets, "dtype", None)
    if tdtype is None or tdtype.kind not in "iu":
        raise TypeError(f"{where}: targets must be an integer array of class indices, got "
                        f"{'dtype ' + str(tdtype) if tdtype is not None else type(targets).__name__}")
    n, k = logits.shape
    if tuple(targets.shape) != (n,):
        raise ValueError(f"{where}: expected targets of shape ({n},) for logits of shape ({n}, {k}), "
                         f"got {tuple(targets.shape)}")
    lo, hi = int(targets.min()), int(targets.max())
    if lo < 0 or hi >= k:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{where}: target {bad} is out of range for {k} classes (expected 0 <= target < {k})")


class SoftmaxCache(NamedTuple):
    y: Any          # the output: p for softmax, log p for log_softmax; x's shape
    axis: int


def _along(op: str, x: Any, dim: int) -> tuple[Any, SoftmaxCache]:
    """Kernel ``op`` along axis ``dim`` of x, and the cache its backward needs (the output)."""
    require_float(x, op)
    axis = normalize_dim(dim, x.ndim, op)
    y = getattr(backend.kernels(), op)(x, axis)
    return y, SoftmaxCache(y, axis)


def _along_backward(op: str, dout: Any, cache: SoftmaxCache) -> Any:
    check_dout(dout, cache.y, op)
    return getattr(backend.kernels(), op + "_backward")(dout, cache.y, cache.axis)


def softmax_forward(x: Any, dim: int = 1) -> tuple[Any, SoftmaxCache]:
    """y = softmax(x) along ``dim``: exp(x - m) / sum(exp(x - m)), m the max along ``dim``."""
    return _along("softmax", x, dim)


def softmax_backward(dout: Any, cache: SoftmaxCache) -> Any:
    """dx = y * (dout - sum(dout * y, dim))."""
    return _along_backward("softmax", dout, cache)


def log_softmax_forward(x: Any, dim: int = 1) -> tuple[Any, SoftmaxCache]:
    """y = log_softmax(x) along ``dim``: (x - m) - log(sum(exp(x - m)))."""
    return _along("log_softmax", x, dim)


def log_softmax_backward(dout: Any, cache: SoftmaxCache) -> Any:
    """dx = dout - exp(y) * sum(dout, dim)."""
    return _along_backward("log_softmax", dout, cache)


class CrossEntropyCache(NamedTuple):
    log_probs: Any          # (N, K) log_softmax of the logits
    targets: Any            # (N,) integer class indices
    label_smoothing: float


def cross_entropy_forward(logits: Any, targets: Any, label_smoothing: float = 0.0) -> tuple[Any, CrossEntropyCache]:
    """Mean cross-entropy of logits (N, K) against integer targets (N,), as
    ``torch.nn.functional.cross_entropy(logits, targets, label_smoothing=eps)``.

    Returns the loss as a 0-d array of the logits' dtype, and the cache.
    """
    eps = unit_interval(label_smoothing, "label_smoothing", "cross_entropy", include_one=True)
    if hasattr(targets, "dtype"):
        targets = backend.asarray(targets)
    check_cross_entropy_inputs(logits, targets, "cross_entropy")
    loss, log_probs = backend.kernels().softmax_cross_entropy(logits, targets, eps)
    return loss, CrossEntropyCache(log_probs, targets, eps)


def cross_entropy_backward(dout: Any, cache: CrossEntropyCache) -> tuple[Any, None]:
    """(dlogits, None): dlogits = dout (softmax(z) - q) / N; targets get no gradient."""
    if not hasattr(dout, "dtype"):
        dout = finite_float(dout, "dout", "cross_entropy backward")
    else:
        check_dout(dout, ((), cache.log_probs.dtype), "cross_entropy")
    g = backend.kernels().softmax_cross_entropy_backward(cache.log_probs, cache.targets, cache.label_smoothing)
    return g * backend.xp().asarray(dout, dtype=g.dtype), None
