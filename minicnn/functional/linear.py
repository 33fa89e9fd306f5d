r"""Fully connected layer (linear) and its backward.

Linear
------
x : (N, F_in)       input rows (any leading axes, (N, *, F_in), are rows too: each row is
                    transformed alike, so below N stands for all of them)
w : (F_out, F_in)   weight (PyTorch's layout: one row per output feature)
b : (F_out,)        bias
y : (N, F_out)      ((N, *, F_out))

Forward::

    y[n,o] = b[o] + sum_i x[n,i] w[o,i]          i.e.  y = x w^T + b

Backward, given dy = dLoss/dy (N, F_out). y is linear in each of x, w, b, so
each gradient is the chain rule over the one sum above::

    dx[n,i] = sum_o dy[n,o] w[o,i]     ->  dx = dy w        (N, F_out)(F_out, F_in) = (N, F_in)
    dw[o,i] = sum_n dy[n,o] x[n,i]     ->  dw = dy^T x      (F_out, N)(N, F_in)     = (F_out, F_in)
    db[o]   = sum_n dy[n,o]            ->  db = dy.sum(0)   (F_out,)

Cache: x (for dw) and w (for dx); no copies are made. Leading axes are flattened into rows first:
one GEMM over all of them (NumPy's matmul of a 3-D x by w runs one GEMM per leading index, 2-3x slower).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .. import backend
from ..checks import check_dout, require_float

__all__ = ["linear_forward", "linear_backward", "LinearCache"]


class LinearCache(NamedTuple):
    x: Any          # (N, *, F_in)
    w: Any          # (F_out, F_in)
    has_bias: bool


def linear_forward(x: Any, w: Any, b: Any = None) -> tuple[Any, LinearCache]:
    """y = x w^T + b for x (N, *, F_in), w (F_out, F_in), b (F_out,) or None, as ``torch.nn.functional.linear``."""
    require_float(x, "linear")
    if getattr(w, "dtype", None) != x.dtype or (b is not None and getattr(b, "dtype", None) != x.dtype):
        raise TypeError(f"linear: input, weight and bias must have one dtype, got {x.dtype}, "
                        f"{getattr(w, 'dtype', type(w).__name__)}{'' if b is None else ', ' + str(b.dtype)}")
    if w.ndim != 2:
        raise ValueError(f"linear: expected a 2-D weight (F_out, F_in), got shape {tuple(w.shape)}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: expected {w.shape[1]} features (the last axis) for weight {tuple(w.shape)}, got "
                         f"input of shape {tuple(x.shape)}")
    if b is not None and tuple(b.shape) != (w.shape[0],):
        raise ValueError(f"linear: bias must have shape ({w.shape[0]},), got {tuple(b.shape)}")
    y = backend.xp().matmul(x.reshape(-1, x.shape[-1]), w.T).reshape(x.shape[:-1] + (w.shape[0],))
    if b is not None:
        y += b
    return y, LinearCache(x, w, b is not None)


def linear_backward(dout: Any, cache: LinearCache, input_grad: bool = True) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`linear_forward`: dy w, dy^T x, dy summed over the rows (None without bias);
    dx is None with ``input_grad=False``."""
    x, w, has_bias = cache
    check_dout(dout, (x.shape[:-1] + (w.shape[0],), x.dtype), "linear")
    xp = backend.xp()
    rows, dy_rows = x.reshape(-1, x.shape[-1]), dout.reshape(-1, w.shape[0])
    dx = xp.matmul(dy_rows, w).reshape(x.shape) if input_grad else None
    dw = xp.matmul(dy_rows.T, rows)
    db = dy_rows.sum(axis=0) if has_bias else None
    return dx, dw, db
