"""Residual: a skip connection y = body(x) + shortcut(x), built on ``minicnn.functional.residual``."""
from __future__ import annotations

from typing import Any

from .. import functional as F
from .module import Module

__all__ = ["Residual"]


class Residual(Module):
    """y = body(x) + shortcut(x), or body(x) + x when ``shortcut`` is None (the identity skip).

    Backward: x feeds both branches, so their input gradients add,
    ``dx = body.backward(dy) + shortcut.backward(dy)`` (or ``+ dy`` for the
    identity). The children are the attributes ``body`` and ``shortcut``, so
    state_dict keys read ``"body.0.weight"``, ``"shortcut.0.weight"``, ... as in a
    PyTorch module with the same two attributes.
    """

    def __init__(self, body: Module, shortcut: Module | None = None) -> None:
        super().__init__()
        if not isinstance(body, Module):
            raise TypeError(f"Residual: body must be a Module, got {type(body).__name__}")
        if shortcut is not None and not isinstance(shortcut, Module):
            raise TypeError(f"Residual: shortcut must be a Module or None, got {type(shortcut).__name__}")
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: Any) -> Any:
        out = self.body(x)
        skip = x if self.shortcut is None else self.shortcut(x)
        if tuple(out.shape) != tuple(skip.shape):
            raise ValueError(f"Residual: body output shape {tuple(out.shape)} != "
                             f"{'input' if self.shortcut is None else 'shortcut output'} shape {tuple(skip.shape)} "
                             f"(input shape {tuple(x.shape)}); use a shortcut that maps the input to the body's "
                             "output shape")
        y, cache = F.add_forward(out, skip)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        d_out, d_skip = F.add_backward(dy, self._take())
        dx = self.body.backward(d_out)
        return dx + (d_skip if self.shortcut is None else self.shortcut.backward(d_skip))
