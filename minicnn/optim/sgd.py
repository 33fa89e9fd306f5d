"""SGD with momentum, Nesterov momentum and weight decay, as ``torch.optim.SGD``."""
from __future__ import annotations

from typing import Any

from .updates import sgd_update_
from .optimizer import Optimizer, ParamsArg

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent; the update rule is in ``minicnn.optim.updates``."""

    _hyper = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(self, params: ParamsArg, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        momentum, weight_decay = self._non_negative(momentum=momentum, weight_decay=weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        super().__init__(params, lr)
        self.momentum, self.nesterov, self.weight_decay = momentum, bool(nesterov), weight_decay

    def _update(self, param: Any, grad: Any, state: dict[str, Any]) -> None:
        sgd_update_(param, grad, state, lr=self.lr, momentum=self.momentum, nesterov=self.nesterov,
                    weight_decay=self.weight_decay)
