r"""Ops that only move entries around: flatten, unflatten, channel_shuffle, and their backward.

Each output entry is exactly one input entry, y[idx] = x[pi(idx)] for a fixed bijection pi of
the positions. Then dy/dx is a permutation matrix P, and the chain rule gives its transpose,
which is its inverse:

    dx = P^T dy            dx[pi(idx)] = dy[idx]: every gradient goes back where its value came from

So each backward is the inverse rearrangement of the forward, with no arithmetic at all.

Flatten
-------
Merges the axes ``start_dim`` to ``end_dim`` (both included) into one, in row-major
order; for NCHW input, start_dim 1 and end_dim -1::

    y[n, c H W + h W + w] = x[n, c, h, w]        (N, C H W)

pi is the identity on the flat memory, so dx = dy.reshape(x.shape).

Unflatten
---------
The inverse: axis ``dim`` of size s_1 s_2 ... s_k becomes k axes (s_1, ..., s_k) (one of them
may be -1, inferred), e.g. (N, C H W) -> (N, C, H, W). dx = dy.reshape(x.shape).

Channel shuffle (ShuffleNet)
----------------------------
With C = g m channels in g groups of m, channel c = a m + b (group a, member b) moves to
b g + a: the (g, m) channel grid is transposed, so the next grouped convolution sees one
channel of every group::

    y[n, b g + a, ...] = x[n, a m + b, ...]        reshape (N, g, m, ...), swap axes 1, 2, reshape back

The inverse transposes the (m, g) grid: dx = dy reshaped (N, m, g, ...), axes 1, 2 swapped.

Caches: the input's shape and the output's (shape, dtype); no values.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..checks import check_dout, int_dim, is_positive_int, normalize_dim, require_float

__all__ = ["flatten_forward", "flatten_backward", "unflatten_forward", "unflatten_backward",
           "channel_shuffle_forward", "channel_shuffle_backward", "ShapeCache", "ChannelShuffleCache"]


class ShapeCache(NamedTuple):
    x_shape: tuple[int, ...]
    out: tuple[tuple[int, ...], Any]     # the output's shape and dtype


def _reshaped(x: Any, shape: tuple[int, ...]) -> tuple[Any, ShapeCache]:
    y = x.reshape(shape)
    return y, ShapeCache(tuple(x.shape), (tuple(y.shape), y.dtype))


def _back(dout: Any, cache: ShapeCache, op: str) -> Any:
    check_dout(dout, cache.out, op)
    return dout.reshape(cache.x_shape)


def flatten_forward(x: Any, start_dim: int = 1, end_dim: int = -1) -> tuple[Any, ShapeCache]:
    """x with the axes ``start_dim`` to ``end_dim`` (negative counts from the end) merged into one, as
    ``torch.flatten(x, start_dim, end_dim)``; a view where the memory layout allows."""
    require_float(x, "flatten")
    shape = tuple(x.shape)
    start = normalize_dim(start_dim, max(x.ndim, 1), "flatten", "start_dim")
    end = normalize_dim(end_dim, max(x.ndim, 1), "flatten", "end_dim")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a {x.ndim}-D input")
    return _reshaped(x, (*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:]))


def flatten_backward(dout: Any, cache: ShapeCache) -> Any:
    """dx of :func:`flatten_forward`: dout reshaped back to the input's shape."""
    return _back(dout, cache, "flatten")


def unflatten_forward(x: Any, dim: int, sizes: tuple[int, ...]) -> tuple[Any, ShapeCache]:
    """Axis ``dim`` of x split into axes of ``sizes`` (at most one -1, inferred), as ``torch.unflatten``."""
    require_float(x, "unflatten")
    axis = normalize_dim(dim, x.ndim, "unflatten")
    sizes = tuple(int_dim(s, "unflatten", "unflattened_size") for s in sizes)
    known = math.prod(s for s in sizes if s != -1)
    if not sizes or sizes.count(-1) > 1 or any(s < 1 and s != -1 for s in sizes) or \
            (-1 not in sizes and known != x.shape[axis]) or (-1 in sizes and (known == 0 or x.shape[axis] % known)):
        raise ValueError(f"unflatten: sizes {sizes} do not split axis {axis} of length {x.shape[axis]} "
                         f"(input shape {tuple(x.shape)})")
    return _reshaped(x, (*x.shape[:axis], *sizes, *x.shape[axis + 1:]))


def unflatten_backward(dout: Any, cache: ShapeCache) -> Any:
    """dx of :func:`unflatten_forward`: dout reshaped back to the input's shape."""
    return _back(dout, cache, "unflatten")


class ChannelShuffleCache(NamedTuple):
    x_shape: tuple[int, ...]
    out: tuple[tuple[int, ...], Any]     # the output's shape and dtype
    groups: int


def channel_shuffle_forward(x: Any, groups: int) -> tuple[Any, ChannelShuffleCache]:
    """x (N, C, ...) with its channels in ``groups`` groups interleaved, as ``torch.nn.ChannelShuffle``."""
    require_float(x, "channel_shuffle")
    if x.ndim < 3 or not is_positive_int(groups) or x.shape[1] % groups:
        raise ValueError(f"channel_shuffle: expected an (N, C, ...) input with C divisible by groups={groups!r}, "
                         f"got shape {tuple(x.shape)}")
    y = _interleave(x, groups)
    return y, ChannelShuffleCache(tuple(x.shape), (tuple(y.shape), y.dtype), int(groups))


def channel_shuffle_backward(dout: Any, cache: ChannelShuffleCache) -> Any:
    """dx of :func:`channel_shuffle_forward`: the inverse interleave, which is the interleave with
    the grid's other side, C / groups, as the number of groups."""
    check_dout(dout, cache.out, "channel_shuffle")
    return _interleave(dout, cache.x_shape[1] // cache.groups)


def _interleave(x: Any, groups: int) -> Any:
    """The (groups, C / groups) grid of channels transposed: reshape, swap axes 1 and 2, reshape."""
    n, c = x.shape[:2]
    return x.reshape(n, groups, c // groups, *x.shape[2:]).swapaxes(1, 2).reshape(x.shape)
