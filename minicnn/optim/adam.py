"""Adam and AdamW, as ``torch.optim.Adam`` and ``torch.optim.AdamW``."""
from __future__ import annotations

from typing import Any

from ..checks import finite_float
from .updates import adam_update_
from .optimizer import Optimizer, ParamsArg

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam with L2 weight decay folded into the gradient; the rule is in ``minicnn.optim.updates``."""

    _hyper = ("lr", "betas", "eps", "weight_decay")
    _decoupled = False

    def __init__(self, params: ParamsArg, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        name = type(self).__name__
        if len(betas) != 2 or not all(0.0 <= finite_float(b, "betas", name) < 1.0 for b in betas):
            raise ValueError(f"{name}: invalid betas {betas!r} (each must be in [0, 1))")
        eps, weight_decay = self._non_negative(eps=eps, weight_decay=weight_decay)
        super().__init__(params, lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps, self.weight_decay = eps, weight_decay

    def _update(self, param: Any, grad: Any, state: dict[str, Any]) -> None:
        adam_update_(param, grad, state, lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], eps=self.eps,
                     weight_decay=self.weight_decay, decoupled_weight_decay=self._decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``param *= 1 - lr * weight_decay`` before each Adam step."""

    _decoupled = True

    def __init__(self, params: ParamsArg, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
