"""Helpers to run the same computation in PyTorch: the gold model."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from minicnn import backend
from minicnn.testing import assert_close
from minicnn.testing import strategies as cst

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


def step_matches_torch(ours: Any, theirs: torch.nn.Module, x: np.ndarray, dy_seed: int, tol: Any, label: str = "",
                       call: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
    """One forward and backward of the minicnn module ``ours`` and its torch twin ``theirs`` (run as
    ``call(tx)`` when given) on x, with the same upstream gradient (drawn from ``dy_seed`` in the output's
    shape): output, input gradient and every parameter gradient (as accumulated so far) agree within ``tol``."""
    tx = t(x)
    ty = (call or theirs)(tx)
    dy = cst.arrays(tuple(ty.shape), x.dtype, dy_seed)
    ty.backward(torch.from_numpy(dy))
    y = ours(backend.asarray(x))
    dx = ours.backward(backend.asarray(dy))
    assert backend.to_numpy(y).dtype == x.dtype and backend.to_numpy(dx).dtype == x.dtype
    assert_close(y, ty.detach().numpy(), tol.rtol, tol.atol, f"output{label}")
    assert_close(dx, tx.grad.numpy(), tol.rtol, tol.atol, f"input gradient{label}")
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, grads[name].grad.numpy(), tol.rtol, tol.atol, f"{name}.grad{label}")
