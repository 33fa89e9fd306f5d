"""Helpers to run the same computation in PyTorch: the gold model."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from minicnn import backend

torch.set_num_threads(2)


def t(a: Any, grad: bool = True) -> torch.Tensor:
    """A torch tensor with the same values and dtype as ``a`` (any backend)."""
    x = torch.from_numpy(np.array(backend.to_numpy(a), copy=True))
    return x.requires_grad_(grad and x.is_floating_point())


def torch_grads(fn: Callable[..., torch.Tensor], inputs: list[torch.Tensor],
                dout: np.ndarray) -> tuple[np.ndarray, list]:
    """Output of ``fn(*inputs)`` and the gradients of sum(out * dout) w.r.t. each input."""
    out = fn(*inputs)
    out.backward(torch.from_numpy(np.asarray(dout)))
    return out.detach().numpy(), [None if x.grad is None else x.grad.numpy() for x in inputs]
