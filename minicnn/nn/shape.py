"""Layers that only rearrange entries: Identity, Flatten, Unflatten, ChannelShuffle (``minicnn.functional.shape``)."""
from __future__ import annotations

from typing import Any

from ..checks import check_dout, int_dim, positive_int, require_float
from .module import Module, _OpLayer

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


class Flatten(_OpLayer):
    """Merge the axes ``start_dim`` to ``end_dim`` into one: (N, C, H, W) -> (N, C H W) by default, as PyTorch's."""

    op = "flatten"
    _args = ("start_dim", "end_dim")

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = int_dim(start_dim, "Flatten", "start_dim")
        self.end_dim = int_dim(end_dim, "Flatten", "end_dim")


class Unflatten(_OpLayer):
    """Split axis ``dim`` into ``unflattened_size``, e.g. (N, 768) -> (N, 3, 16, 16), as PyTorch's."""

    op = "unflatten"
    _args = ("dim", "unflattened_size")

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim = int_dim(dim, "Unflatten")
        if not isinstance(unflattened_size, (tuple, list)) or not unflattened_size:
            raise TypeError(f"Unflatten: unflattened_size must be a non-empty tuple of ints, got {unflattened_size!r}")
        self.unflattened_size = tuple(int_dim(s, "Unflatten", "unflattened_size") for s in unflattened_size)


class ChannelShuffle(_OpLayer):
    """Interleave the channels of ``groups`` groups (ShuffleNet), as PyTorch's."""

    op = "channel_shuffle"
    _args = ("groups",)

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = positive_int(groups, "groups", "ChannelShuffle")
