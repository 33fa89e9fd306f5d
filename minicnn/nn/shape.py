"""Layers that only rearrange entries: Identity, Flatten, Unflatten, ChannelShuffle (``minicnn.functional.shape``)."""
from __future__ import annotations

from typing import Any

from .. import functional as F
from ..checks import check_dout, int_dim, is_positive_int, require_float
from .module import Module

__all__ = ["Identity", "Flatten", "Unflatten", "ChannelShuffle"]


class Identity(Module):
    """y = x, dx = dy: a placeholder where a block has nothing to do (e.g. a shortcut)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()                              # PyTorch's Identity ignores its arguments too

    def forward(self, x: Any) -> Any:
        require_float(x, "identity")
        self._save((tuple(x.shape), x.dtype))
        return x

    def backward(self, dy: Any) -> Any:
        check_dout(dy, self._take(), "identity")
        return dy


class _Rearrange(Module):
    """A layer over one of ``minicnn.functional.shape``'s pairs, ``op``, with arguments ``_args()``."""

    op: str

    def _args(self) -> tuple[Any, ...]:
        return ()

    def forward(self, x: Any) -> Any:
        y, cache = F.OPS[self.op][0](x, *self._args())
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        return F.OPS[self.op][1](dy, self._take())


class Flatten(_Rearrange):
    """Merge the axes ``start_dim`` to ``end_dim`` into one: (N, C, H, W) -> (N, C H W) by default, as PyTorch's."""

    op = "flatten"

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = int_dim(start_dim, "Flatten", "start_dim")
        self.end_dim = int_dim(end_dim, "Flatten", "end_dim")

    def _args(self) -> tuple[Any, ...]:
        return self.start_dim, self.end_dim

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(_Rearrange):
    """Split axis ``dim`` into ``unflattened_size``, e.g. (N, 768) -> (N, 3, 16, 16), as PyTorch's."""

    op = "unflatten"

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim = int_dim(dim, "Unflatten")
        if not isinstance(unflattened_size, (tuple, list)) or not unflattened_size:
            raise TypeError(f"Unflatten: unflattened_size must be a non-empty tuple of ints, got {unflattened_size!r}")
        self.unflattened_size = tuple(int_dim(s, "Unflatten", "unflattened_size") for s in unflattened_size)

    def _args(self) -> tuple[Any, ...]:
        return self.dim, self.unflattened_size

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class ChannelShuffle(_Rearrange):
    """Interleave the channels of ``groups`` groups (ShuffleNet), as PyTorch's."""

    op = "channel_shuffle"

    def __init__(self, groups: int) -> None:
        super().__init__()
        if not is_positive_int(groups):
            raise ValueError(f"ChannelShuffle: groups must be an int >= 1, got {groups!r}")
        self.groups = int(groups)

    def _args(self) -> tuple[Any, ...]:
        return (self.groups,)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
