r"""The residual add: y = a + b, the join of a skip connection, and its backward.

a, b : any shape, the SAME shape and dtype (no broadcasting: a skip connection
       whose branches disagree is a bug in the model, and is reported as one)
y    : that shape

Forward::

    y[idx] = a[idx] + b[idx]

Backward. dy[idx]/da[idx] = dy[idx]/db[idx] = 1 and no other entry depends on
a[idx] or b[idx], so the chain rule copies the upstream gradient to both
branches unchanged::

    da = dy,  db = dy                                    (same shape as y)

In a residual block y = body(x) + shortcut(x), x feeds both branches, so the
gradients coming back from them ADD: dx = body'(x)^T dy + shortcut'(x)^T dy
(with shortcut the identity, the second term is dy itself). That sum is what
``minicnn.nn.Residual.backward`` computes.

Cache: the shape, to check the upstream gradient. The two gradients returned
are the same array as dout (no copy); like every backward, their consumers
must not modify them in place.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..checks import check_dout, require_float

__all__ = ["add_forward", "add_backward", "AddCache"]


class AddCache(NamedTuple):
    out: tuple[tuple[int, ...], Any]     # the output's shape and dtype


def add_forward(a: Any, b: Any) -> tuple[Any, AddCache]:
    """y = a + b for two arrays of the same shape and dtype; ValueError/TypeError otherwise."""
    require_float(a, "add")
    require_float(b, "add")
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"add: the two inputs must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype:
        raise TypeError(f"add: the two inputs must have the same dtype, got {a.dtype} and {b.dtype}")
    return a + b, AddCache((tuple(a.shape), a.dtype))


def add_backward(dout: Any, cache: AddCache) -> tuple[Any, Any]:
    """(da, db) of :func:`add_forward`: both are dout."""
    check_dout(dout, cache.out, "add")
    return dout, dout
