"""Learning-rate schedules of ``python -m minicnn.train``.

The rate of every optimiser step is a pure function of the step index and the run's
settings, so a resumed run needs nothing but its step counter to continue the schedule
exactly where it stopped.
"""
from __future__ import annotations

import math

__all__ = ["SCHEDULES", "learning_rate"]

SCHEDULES = ("none", "step", "cosine", "onecycle")


def learning_rate(step: int, base_lr: float, schedule: str, total_steps: int, steps_per_epoch: int,
                  warmup_epochs: float = 0.0, step_size: int = 1, gamma: float = 0.1) -> float:
    """The learning rate of optimiser step ``step`` (0-based) of a run of ``total_steps`` steps.

    With W = ``round(warmup_epochs * steps_per_epoch)`` warm-up steps:

    * warm-up (W > 0, every schedule but onecycle): ``lr (step + 1) / W`` for the first W steps;
    * ``none``: ``lr``;
    * ``step``: ``lr * gamma ** (epoch // step_size)``, epoch = ``step // steps_per_epoch``
      counted from the start of the run (warm-up included);
    * ``cosine``: ``lr (1 + cos(pi t)) / 2``, t = ``(step - W) / (total_steps - W)`` going from 0
      to 1 after the warm-up;
    * ``onecycle`` (the shape of PyTorch's OneCycleLR with cosine annealing, div_factor 25,
      final_div_factor 1e4): a cosine rise from ``lr / 25`` to ``lr`` over R steps (R = W, or
      30% of training when W = 0), then a cosine fall to ``lr / 25e4`` at ``total_steps``.

    Raises ValueError for an unknown ``schedule``.
    """
    warm = int(round(warmup_epochs * steps_per_epoch))
    if schedule == "onecycle":
        rise = warm if warm > 0 else max(1, int(round(0.3 * total_steps)))
        start, end = base_lr / 25.0, base_lr / 25e4
        if step < rise:
            return start + (base_lr - start) * (1 - math.cos(math.pi * step / rise)) / 2
        t = min(1.0, (step - rise) / max(1, total_steps - rise))
        return end + (base_lr - end) * (1 + math.cos(math.pi * t)) / 2
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if step < warm:
        return base_lr * (step + 1) / warm
    if schedule == "step":
        return base_lr * gamma ** ((step // steps_per_epoch) // step_size)
    if schedule == "cosine":
        t = min(1.0, (step - warm) / max(1, total_steps - warm))
        return base_lr * (1 + math.cos(math.pi * t)) / 2
    return base_lr
