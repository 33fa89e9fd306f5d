r"""Inverted dropout: zero each element with probability p, scale the survivors by 1/(1 - p).

Notation
--------
x    : any shape, the input;  y : same shape, the output
m    : same shape, the keep mask, m ~ Bernoulli(1 - p) independently per element
p    : drop probability, 0 <= p < 1

Forward, in training mode:

    y = x * m / (1 - p)

so E[y] = x and the layer is the identity in expectation; eval mode (or p = 0)
returns x unchanged, with no rescaling needed at test time (hence "inverted").

Backward: y is linear in x with the diagonal factor m / (1 - p), so

    dx = dy * m / (1 - p)                (same shape as x)

with the SAME mask as the forward; in eval mode dx = dy.

The mask is drawn on the host from a NumPy Generator (``rng``, or the global
``minicnn.random.generator()``), as ``u < 1 - p`` with u ~ U[0, 1), then moved to
the current backend, so one seed gives the same masks on every backend. A given
``mask`` (any array of 0/1 or booleans with x's shape) is used instead of a draw,
which lets tests reproduce another engine's masks exactly.

Cache: the scaled mask m / (1 - p) in x's dtype (as large as x), or None for the identity.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..random import generator
from ..checks import check_dout, require_float, unit_interval

__all__ = ["dropout_forward", "dropout_backward", "DropoutCache"]


class DropoutCache(NamedTuple):
    scaled_mask: Any                     # m / (1 - p), x's shape and dtype; None when the forward was the identity
    out: tuple[tuple[int, ...], Any]     # the output's shape and dtype


def dropout_forward(x: Any, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None,
                    mask: Any = None) -> tuple[Any, DropoutCache]:
    """y = x * m / (1 - p) with m ~ Bernoulli(1 - p) (or the given ``mask``); identity in eval or p == 0."""
    require_float(x, "dropout")
    p = unit_interval(p, "p", "dropout")
    if not training or p == 0.0:
        return x, DropoutCache(None, (tuple(x.shape), x.dtype))
    if mask is None:
        mask = (rng if rng is not None else generator()).random(tuple(x.shape)) < 1.0 - p
    elif tuple(mask.shape) != tuple(x.shape):
        raise ValueError(f"dropout: mask has shape {tuple(mask.shape)}, input has shape {tuple(x.shape)}")
    scaled = backend.asarray(mask, dtype=x.dtype) / (1.0 - p)
    return x * scaled, DropoutCache(scaled, (tuple(x.shape), x.dtype))


def dropout_backward(dout: Any, cache: DropoutCache) -> Any:
    """dx = dout * m / (1 - p) with the forward's mask; dout itself (unchanged) for the identity."""
    check_dout(dout, cache.out, "dropout")
    if cache.scaled_mask is None:
        return dout
    return dout * cache.scaled_mask
