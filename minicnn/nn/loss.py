"""CrossEntropyLoss: a thin layer over ``minicnn.functional.cross_entropy_forward/backward``."""
from __future__ import annotations

from typing import Any

from .. import backend
from .. import functional as F
from ..checks import unit_interval
from .module import Module

__all__ = ["CrossEntropyLoss"]


class CrossEntropyLoss(Module):
    """Mean cross-entropy of logits (N, K) against integer class indices (N,), with optional
    label smoothing, as ``torch.nn.CrossEntropyLoss(label_smoothing=...)``.

    ``forward(logits, targets)`` returns the loss as a Python float and keeps
    log_softmax(logits); ``backward(dloss=1.0)`` returns
    dlogits = dloss (softmax(logits) - q) / N, q the smoothed one-hot targets
    (see ``minicnn.functional.softmax``).
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = unit_interval(label_smoothing, "label_smoothing", "CrossEntropyLoss", include_one=True)

    def extra_repr(self) -> str:
        return f"label_smoothing={self.label_smoothing}" if self.label_smoothing else ""

    def forward(self, logits: Any, targets: Any) -> float:
        loss, cache = F.cross_entropy_forward(logits, targets, self.label_smoothing)
        self._save(cache)
        return float(backend.to_numpy(loss))

    def backward(self, dloss: Any = 1.0) -> Any:
        """dlogits (N, K) of ``dloss * loss``; each forward allows one backward."""
        dlogits, _ = F.cross_entropy_backward(dloss, self._take())
        return dlogits
