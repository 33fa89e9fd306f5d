r"""Fully connected layer (linear) and flatten, and their backward.

Linear
------
x : (N, F_in)       input rows
w : (F_out, F_in)   weight (PyTorch's layout: one row per output feature)
b : (F_out,)        bias
y : (N, F_out)

Forward::

    y[n,o] = b[o] + sum_i x[n,i] w[o,i]          i.e.  y = x w^T + b

Backward, given dy = dLoss/dy (N, F_out). y is linear in each of x, w, b, so
each gradient is the chain rule over the one sum above::

    dx[n,i] = sum_o dy[n,o] w[o,i]     ->  dx = dy w        (N, F_out)(F_out, F_in) = (N, F_in)
    dw[o,i] = sum_n dy[n,o] x[n,i]     ->  dw = dy^T x      (F_out, N)(N, F_in)     = (F_out, F_in)
    db[o]   = sum_n dy[n,o]            ->  db = dy.sum(0)   (F_out,)

Cache: x (for dw) and w (for dx); no copies are made.

Flatten
-------
Merges every axis from ``start_dim`` on into one, in row-major order; for NCHW
input and start_dim 1::

    y[n, c H W + h W + w] = x[n, c, h, w]        (N, C H W)

Each output entry is exactly one input entry (a permutation-free relabelling),
so the gradient is the same numbers put back in x's shape::

    dx[n, c, h, w] = dy[n, c H W + h W + w]      ->  dx = dy.reshape(x.shape)

Cache: x's shape only.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from .. import backend
from ..checks import normalize_dim, require_float

__all__ = ["linear_forward", "linear_backward", "LinearCache", "flatten_forward", "flatten_backward", "FlattenCache"]


class LinearCache(NamedTuple):
    x: Any          # (N, F_in)
    w: Any          # (F_out, F_in)
    has_bias: bool


def linear_forward(x: Any, w: Any, b: Any = None) -> tuple[Any, LinearCache]:
    """y = x w^T + b for x (N, F_in), w (F_out, F_in), b (F_out,) or None, as ``torch.nn.functional.linear``."""
    require_float(x, "linear")
    require_float(w, "linear weight")
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(f"linear: expected x (N, F_in) and w (F_out, F_in) with the same F_in, got x "
                         f"{tuple(x.shape)} and w {tuple(w.shape)}")
    if b is not None and tuple(b.shape) != (w.shape[0],):
        raise ValueError(f"linear: bias must have shape ({w.shape[0]},), got {tuple(b.shape)}")
    y = backend.xp().matmul(x, w.T)
    if b is not None:
        y += b
    return y, LinearCache(x, w, b is not None)


def linear_backward(dout: Any, cache: LinearCache) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`linear_forward`: dy w, dy^T x, dy summed over the batch (None without bias)."""
    xp = backend.xp()
    x, w, has_bias = cache
    dx = xp.matmul(dout, w)
    dw = xp.matmul(dout.T, x)
    db = dout.sum(axis=0) if has_bias else None
    return dx, dw, db


class FlattenCache(NamedTuple):
    x_shape: tuple[int, ...]


def flatten_forward(x: Any, start_dim: int = 1) -> tuple[Any, FlattenCache]:
    """x with the axes from ``start_dim`` (negative counts from the end) merged into one, as
    ``torch.flatten(x, start_dim)``; a view where the memory layout allows."""
    start = normalize_dim(start_dim, x.ndim, "flatten", "start_dim")
    shape = tuple(x.shape)
    return x.reshape(*shape[:start], math.prod(shape[start:])), FlattenCache(shape)


def flatten_backward(dout: Any, cache: FlattenCache) -> Any:
    """dx of :func:`flatten_forward`: dout reshaped back to the input's shape."""
    return dout.reshape(cache.x_shape)
