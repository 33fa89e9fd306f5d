"""Normalisation on the GPU: ``norm.cu``.

Batch norm over (N, C, L): statistics in one block per channel reducing in
double (two passes for the variance); the per-element maps: one thread per
element. Layer norm over (R, D): one block per row for the statistics and y,
and for dx; dgamma and dbeta from double partial sums over chunks of
:data:`LN_CHUNK_ROWS` rows (one thread per column and chunk), added in chunk
order by one thread per column (no atomics). Local response norm over
(N, C, L): one thread per element for the forward window sum and for each of
the backward's two kernels.
"""
from __future__ import annotations

from typing import Any

import cupy
import numpy as np

from . import launch, launch_blocks, raw_kernel

__all__ = ["batch_norm_train", "batch_norm_backward", "layer_norm", "layer_norm_backward", "local_response_norm",
           "local_response_norm_backward"]

NORM_THREADS = 256
"""Threads per block of the block-reduction kernels (one block per channel or row); norm.cu gets it as
-DNORM_THREADS."""
LN_CHUNK_ROWS = 64
"""Rows per partial sum of the layer-norm dgamma and dbeta."""


def batch_norm_train(x: Any, gamma: Any, beta: Any, eps: float) -> tuple[Any, Any, Any, Any]:
    """(y, mean, var, inv_std) for x (N, C, L): per-channel statistics over N and L, var biased."""
    x = cupy.ascontiguousarray(x)
    gamma, beta = (cupy.ascontiguousarray(a, dtype=x.dtype) for a in (gamma, beta))
    n, c, length = x.shape
    mean, var, inv_std = (cupy.empty(c, dtype=x.dtype) for _ in range(3))
    y = cupy.empty_like(x)
    if x.size:
        launch_blocks(raw_kernel("norm.cu", "batch_norm_stats", x.dtype, NORM_THREADS=NORM_THREADS), c, NORM_THREADS,
                      x, np.float64(eps), mean, var, inv_std, n, c, length)
        launch(raw_kernel("norm.cu", "batch_norm_apply", x.dtype, NORM_THREADS=NORM_THREADS), x.size,
               x, mean, inv_std, gamma, beta, y, n, c, length)
    return y, mean, var, inv_std


def batch_norm_backward(dy: Any, x: Any, mean: Any, inv_std: Any, gamma: Any) -> tuple[Any, Any, Any]:
    """(dx, dgamma, dbeta): dx = gamma s/M (M dy - dbeta - xhat dgamma), sums over n and l."""
    x = cupy.ascontiguousarray(x)
    dy, mean, inv_std, gamma = (cupy.ascontiguousarray(a, dtype=x.dtype) for a in (dy, mean, inv_std, gamma))
    n, c, length = x.shape
    dx = cupy.empty_like(x)
    dgamma, dbeta = (cupy.empty(c, dtype=x.dtype) for _ in range(2))
    if x.size:
        launch_blocks(raw_kernel("norm.cu", "batch_norm_backward_stats", x.dtype, NORM_THREADS=NORM_THREADS), c,
                      NORM_THREADS, dy, x, mean, inv_std, dgamma, dbeta, n, c, length)
        launch(raw_kernel("norm.cu", "batch_norm_backward_apply", x.dtype, NORM_THREADS=NORM_THREADS), x.size,
               dy, x, mean, inv_std, gamma, dgamma, dbeta, dx, n, c, length)
    return dx, dgamma, dbeta


def layer_norm(x: Any, gamma: Any, beta: Any, eps: float) -> tuple[Any, Any, Any]:
    """(y, mean, inv_std) for x (R, D): statistics of each row (corrected two-pass, var biased)."""
    x = cupy.ascontiguousarray(x)
    gamma, beta = (cupy.ascontiguousarray(a, dtype=x.dtype) for a in (gamma, beta))
    rows, d = x.shape
    y = cupy.empty_like(x)
    mean, inv_std = (cupy.empty(rows, dtype=x.dtype) for _ in range(2))
    if x.size:
        launch_blocks(raw_kernel("norm.cu", "layer_norm_forward", x.dtype, NORM_THREADS=NORM_THREADS), rows,
                      NORM_THREADS, x, gamma, beta, np.float64(eps), y, mean, inv_std, d)
    return y, mean, inv_std


def layer_norm_backward(dy: Any, x: Any, mean: Any, inv_std: Any, gamma: Any) -> tuple[Any, Any, Any]:
    """(dx, dgamma, dbeta): dx = s/D (D dxhat - sum dxhat - xhat sum(dxhat xhat)), dxhat = gamma dy."""
    x = cupy.ascontiguousarray(x)
    dy, mean, inv_std, gamma = (cupy.ascontiguousarray(a, dtype=x.dtype) for a in (dy, mean, inv_std, gamma))
    rows, d = x.shape
    chunks = -(-rows // LN_CHUNK_ROWS)
    dx = cupy.empty_like(x)
    partial = cupy.empty((chunks, 2, d), dtype=cupy.float64)
    dgamma, dbeta = (cupy.empty(d, dtype=x.dtype) for _ in range(2))
    if x.size:
        launch_blocks(raw_kernel("norm.cu", "layer_norm_backward_rows", x.dtype, NORM_THREADS=NORM_THREADS), rows,
                      NORM_THREADS, dy, x, mean, inv_std, gamma, dx, d)
        launch_blocks(raw_kernel("norm.cu", "layer_norm_param_partials", x.dtype, NORM_THREADS=NORM_THREADS),
                      chunks * -(-d // NORM_THREADS), NORM_THREADS, dy, x, mean, inv_std, partial, rows, d,
                      LN_CHUNK_ROWS)
    launch(raw_kernel("norm.cu", "layer_norm_param_grads", x.dtype, NORM_THREADS=NORM_THREADS), d,
           partial, dgamma, dbeta, chunks, d)
    return dx, dgamma, dbeta


def local_response_norm(x: Any, size: int, alpha: float, beta: float, k: float) -> tuple[Any, Any]:
    """(y, div) for x (N, C, L): div = k + alpha/size * (window sum of x^2), y = x / div^beta."""
    x = cupy.ascontiguousarray(x)
    n, c, length = x.shape
    y, div = cupy.empty_like(x), cupy.empty_like(x)
    launch(raw_kernel("norm.cu", "local_response_norm_forward", x.dtype, NORM_THREADS=NORM_THREADS), x.size,
           x, np.float64(alpha), np.float64(beta), np.float64(k), y, div, n, c, length, size)
    return y, div


def local_response_norm_backward(dy: Any, x: Any, div: Any, size: int, alpha: float, beta: float) -> Any:
    """dx = dy / div^beta - (2 alpha beta / size) x (mirrored window sum of dy x / (div^beta div))."""
    x = cupy.ascontiguousarray(x)
    dy, div = (cupy.ascontiguousarray(a, dtype=x.dtype) for a in (dy, div))
    n, c, length = x.shape
    terms, dx = cupy.empty_like(x), cupy.empty_like(x)
    launch(raw_kernel("norm.cu", "local_response_norm_backward_terms", x.dtype, NORM_THREADS=NORM_THREADS), x.size,
           dy, x, div, np.float64(beta), terms, dx, x.size)
    launch(raw_kernel("norm.cu", "local_response_norm_backward", x.dtype, NORM_THREADS=NORM_THREADS), x.size,
           dy, x, terms, np.float64(2 * alpha * beta / size), dx, n, c, length, size)
    return dx
