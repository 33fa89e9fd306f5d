r"""Scaled dot-product attention and its backward.

Notation (one head; every leading axis, e.g. the batch N and the heads H, is a batch of
independent heads, handled alike by the batched matrix products)
--------
q : (L, E)     queries, one row per output position
k : (S, E)     keys, one row per position attended to
v : (S, E_v)   values
a : 1 / sqrt(E), the scale
Z : (L, S)     scores, Z = a q k^T
P : (L, S)     attention weights, P = softmax(Z) along each row (every row sums to 1)
y : (L, E_v)   the output, y = P v

Forward in index form, with m_l = max_t Z[l,t] subtracted for stability (softmax.py)::

    Z[l,s] = a sum_e q[l,e] k[s,e]
    P[l,s] = exp(Z[l,s] - m_l) / sum_t exp(Z[l,t] - m_l)
    y[l,f] = sum_s P[l,s] v[s,f]

Backward, given dy = dLoss/dy (L, E_v). y = P v is a matrix product, so as for linear::

    dv = P^T dy                (S, L)(L, E_v) = (S, E_v)
    dP = dy v^T                (L, E_v)(E_v, S) = (L, S)

Each row of P is the softmax of the same row of Z alone, so the softmax backward (its
Jacobian-vector product, softmax.py) runs row by row::

    dZ[l,s] = P[l,s] (dP[l,s] - sum_t dP[l,t] P[l,t])        dZ = P * (dP - rowsum(dP * P))

Z = a q k^T is a product again (k enters transposed, so its gradient does too)::

    dq = a dZ k                (L, S)(S, E) = (L, E)
    dk = a dZ^T q              (S, L)(L, E) = (S, E)

Cache: q, k, v (references, no copies) and P: L x S values per head, the one array that grows
with the square of the sequence (N = 64, H = 3, L = S = 65 in float32: 3.2 MB). Keeping it saves
the backward two products and the exponentials; memory-bound implementations (flash attention)
recompute it block by block instead.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from .. import backend
from ..checks import check_dout, require_float

__all__ = ["scaled_dot_product_attention_forward", "scaled_dot_product_attention_backward", "AttentionCache"]


class AttentionCache(NamedTuple):
    q: Any          # (..., L, E)
    k: Any          # (..., S, E)
    v: Any          # (..., S, E_v)
    p: Any          # (..., L, S) softmax(a q k^T): L x S values per head
    scale: float    # a = 1 / sqrt(E)


def _check(q: Any, k: Any, v: Any) -> None:
    """TypeError/ValueError unless q (..., L, E), k (..., S, E), v (..., S, E_v) are float arrays of one
    dtype and the same leading axes, with S, E >= 1."""
    for x in (q, k, v):
        require_float(x, "scaled_dot_product_attention")
    if not q.dtype == k.dtype == v.dtype:
        raise TypeError(f"scaled_dot_product_attention: q, k and v must have one dtype, got {q.dtype}, {k.dtype}, "
                        f"{v.dtype}")
    shapes = f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
    if not (q.ndim == k.ndim == v.ndim >= 2) or not q.shape[:-2] == k.shape[:-2] == v.shape[:-2]:
        raise ValueError(f"scaled_dot_product_attention: expected q (..., L, E), k (..., S, E), v (..., S, E_v) "
                         f"with the same leading axes, got {shapes}")
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2] or min(k.shape[-2], q.shape[-1]) < 1:
        raise ValueError(f"scaled_dot_product_attention: q and k need the same feature count E >= 1, k and v the "
                         f"same length S >= 1, got {shapes}")


def scaled_dot_product_attention_forward(q: Any, k: Any, v: Any) -> tuple[Any, AttentionCache]:
    """y = softmax(q k^T / sqrt(E)) v over the last two axes, as
    ``torch.nn.functional.scaled_dot_product_attention(q, k, v)`` (no mask, no dropout)."""
    _check(q, k, v)
    xp = backend.xp()
    scale = 1.0 / math.sqrt(q.shape[-1])
    z = xp.matmul(q, k.swapaxes(-1, -2))
    z *= scale
    p = backend.kernels().softmax(z, -1)
    return xp.matmul(p, v), AttentionCache(q, k, v, p, scale)


def scaled_dot_product_attention_backward(dout: Any, cache: AttentionCache) -> tuple[Any, Any, Any]:
    """(dq, dk, dv): dv = P^T dy; dZ = softmax backward of dP = dy v^T; dq = a dZ k, dk = a dZ^T q."""
    q, k, v, p, scale = cache
    check_dout(dout, (p.shape[:-1] + v.shape[-1:], v.dtype), "scaled_dot_product_attention")
    xp = backend.xp()
    dz = backend.kernels().softmax_backward(xp.matmul(dout, v.swapaxes(-1, -2)), p, -1)
    dz *= scale
    return xp.matmul(dz, k), xp.matmul(dz.swapaxes(-1, -2), q), xp.matmul(p.swapaxes(-1, -2), dout)
