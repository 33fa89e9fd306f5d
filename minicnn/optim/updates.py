r"""The update rules of SGD, Adam and AdamW as stateless functions: PyTorch's formulas, exactly.

Each function takes one parameter array ``param``, its gradient ``grad`` and the
dict ``state`` that holds that parameter's optimiser state, and updates ``param``
and ``state`` IN PLACE (on whatever backend the arrays live on); it keeps nothing
itself, so an optimiser class is only a loop over its parameters plus the
hyper-parameters. ``grad`` is never modified.

SGD (``torch.optim.SGD`` with dampening 0), with g = grad:

    g <- g + weight_decay * param                      (L2 penalty folded into the gradient)
    b <- g                  on the first step          (the momentum buffer starts AT g, not at 0)
    b <- momentum * b + g   afterwards
    g <- g + momentum * b   (nesterov)   or   g <- b   (plain momentum)
    param <- param - lr * g

Adam (``torch.optim.Adam``) and AdamW (``torch.optim.AdamW``), at step t = 1, 2, ...:

    AdamW: param <- param * (1 - lr * weight_decay)        (decoupled decay, before the step)
    Adam:  g <- g + weight_decay * param                   (L2 penalty in the gradient)
    m <- m + (1 - beta1) (g - m)                           (= beta1 m + (1 - beta1) g, as torch's lerp)
    v <- beta2 v + (1 - beta2) g^2
    m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
    param <- param - lr * m_hat / (sqrt(v_hat) + eps)      (eps OUTSIDE the square root)

computed, as torch does, as ``param -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``.
m and v start at zero.
"""
from __future__ import annotations

from typing import Any

from .. import backend

__all__ = ["sgd_update_", "adam_update_"]


def sgd_update_(param: Any, grad: Any, state: dict[str, Any], *, lr: float, momentum: float = 0.0,
                nesterov: bool = False, weight_decay: float = 0.0) -> None:
    """One SGD step on ``param`` in place; ``state["momentum_buffer"]`` is created on the first step."""
    g = grad + weight_decay * param if weight_decay != 0 else grad
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = g.copy()
        else:
            buf *= momentum
            buf += g
        g = g + momentum * buf if nesterov else buf
    param -= lr * g


def adam_update_(param: Any, grad: Any, state: dict[str, Any], *, lr: float, beta1: float, beta2: float,
                 eps: float, weight_decay: float = 0.0, decoupled_weight_decay: bool = False) -> None:
    """One Adam (or, with ``decoupled_weight_decay``, AdamW) step on ``param`` in place.

    ``state`` holds ``step`` (int), ``exp_avg`` (m) and ``exp_avg_sq`` (v), created on the first step.
    """
    xp = backend.xp()
    step = state["step"] = state.get("step", 0) + 1
    g = grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            g = grad + weight_decay * param
    m = state.get("exp_avg")
    if m is None:
        m = state["exp_avg"] = xp.zeros_like(param)
        state["exp_avg_sq"] = xp.zeros_like(param)
    v = state["exp_avg_sq"]
    m += (1 - beta1) * (g - m)
    v *= beta2
    v += (1 - beta2) * g * g
    step_size = lr / (1 - beta1 ** step)
    denom = xp.sqrt(v) / (1 - beta2 ** step) ** 0.5
    denom += eps
    param -= step_size * (m / denom)
