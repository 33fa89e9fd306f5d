"""Dropout: a thin layer over ``minicnn.functional.dropout_forward/backward``."""
from __future__ import annotations

from typing import Any

from .. import functional as F
from ..checks import unit_interval
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout with drop probability ``p`` in [0, 1); the identity in eval mode.

    Masks come from ``minicnn.random.generator()`` (seed with ``minicnn.manual_seed``).
    To reproduce given masks (e.g. PyTorch's), pass ``mask=`` to :meth:`forward`, or set
    :attr:`next_mask` before a forward that is driven by a container such as Sequential;
    it is used by the next training-mode forward and then cleared.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = unit_interval(p, "p", "Dropout")
        self.next_mask: Any = None

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: Any, mask: Any = None) -> Any:
        if mask is None and self.training:
            mask, self.next_mask = self.next_mask, None
        y, cache = F.dropout_forward(x, self.p, self.training, mask=mask)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        return F.dropout_backward(dy, self._take())
