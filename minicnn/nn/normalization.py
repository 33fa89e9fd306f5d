"""BatchNorm1d and BatchNorm2d: thin layers over ``minicnn.functional.batch_norm_forward/backward``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .. import functional as F
from ..checks import finite_float, is_positive_int
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    """Shared body: parameters ``weight`` (gamma, ones) and ``bias`` (beta, zeros); buffers
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (int64 0-d),
    registered in PyTorch's order so ``state_dict`` keys match ``torch.nn.BatchNorm*d``.

    A training-mode forward normalises with the batch statistics, updates the running
    statistics in place (``running = (1 - momentum) running + momentum batch_stat``, with the
    unbiased batch variance) and increments ``num_batches_tracked``; eval mode normalises with
    the running statistics.
    """

    _ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        name = type(self).__name__
        if not is_positive_int(num_features):
            raise ValueError(f"{name}: num_features must be a positive int, got {num_features!r}")
        eps, momentum = finite_float(eps, "eps", name), finite_float(momentum, "momentum", name)
        if not eps > 0:
            raise ValueError(f"{name}: eps must be > 0, got {eps!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1], got {momentum!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        xp = backend.xp()
        self.weight = Parameter(xp.ones(num_features, dtype="float32"))
        self.bias = Parameter(xp.zeros(num_features, dtype="float32"))
        self.register_buffer("running_mean", xp.zeros(num_features, dtype="float32"))
        self.register_buffer("running_var", xp.ones(num_features, dtype="float32"))
        self.register_buffer("num_batches_tracked", xp.zeros((), dtype=np.int64))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def forward(self, x: Any) -> Any:
        self._check_input(x, self._ndims)
        y, cache = F.batch_norm_forward(x, self.weight.data, self.bias.data, self.running_mean,
                                         self.running_var, self.training, self.momentum, self.eps)
        if self.training:
            self.num_batches_tracked[...] += 1
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dx, dgamma, dbeta = F.batch_norm_backward(dy, self._take())
        self._accumulate(self.weight, dgamma)
        self._accumulate(self.bias, dbeta)
        return dx


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input, statistics per feature C."""

    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input, statistics per channel over N, H and W."""

    _ndims = (4,)
