"""Batch normalisation over (N, C, L) on the GPU: ``norm.cu``.

Statistics: one block per channel reducing in double (two passes for the
variance); the per-element maps: one thread per element.
"""
from __future__ import annotations

from typing import Any

import cupy
import numpy as np

from . import launch, launch_blocks, raw_kernel

__all__ = ["batch_norm_train", "batch_norm_backward"]

BN_THREADS = 256
"""Threads per block of the *_stats kernels (one block per channel); norm.cu gets it as -DBN_THREADS."""


def batch_norm_train(x: Any, gamma: Any, beta: Any, eps: float) -> tuple[Any, Any, Any, Any]:
    """(y, mean, var, inv_std) for x (N, C, L): per-channel statistics over N and L, var biased."""
    x = cupy.ascontiguousarray(x)
    gamma, beta = (cupy.ascontiguousarray(a, dtype=x.dtype) for a in (gamma, beta))
    n, c, length = x.shape
    mean, var, inv_std = (cupy.empty(c, dtype=x.dtype) for _ in range(3))
    y = cupy.empty_like(x)
    if x.size:
        launch_blocks(raw_kernel("norm.cu", "batch_norm_stats", x.dtype, BN_THREADS=BN_THREADS), c, BN_THREADS,
                      x, np.float64(eps), mean, var, inv_std, n, c, length)
        launch(raw_kernel("norm.cu", "batch_norm_apply", x.dtype, BN_THREADS=BN_THREADS), x.size,
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
        launch_blocks(raw_kernel("norm.cu", "batch_norm_backward_stats", x.dtype, BN_THREADS=BN_THREADS), c,
                      BN_THREADS, dy, x, mean, inv_std, dgamma, dbeta, n, c, length)
        launch(raw_kernel("norm.cu", "batch_norm_backward_apply", x.dtype, BN_THREADS=BN_THREADS), x.size,
               dy, x, mean, inv_std, gamma, dgamma, dbeta, dx, n, c, length)
    return dx, dgamma, dbeta
