"""BatchNorm1d, BatchNorm2d, LayerNorm and LocalResponseNorm: thin layers over ``minicnn.functional``'s
normalisation pairs."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .. import functional as F
from ..checks import finite_float, positive_int
from ..functional.normalization import normalized_shape_tuple
from .module import Module, Parameter, _OpLayer

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "LocalResponseNorm"]


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
        self.num_features = positive_int(num_features, "num_features", name)
        eps, momentum = finite_float(eps, "eps", name), finite_float(momentum, "momentum", name)
        if not eps > 0:
            raise ValueError(f"{name}: eps must be > 0, got {eps!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1], got {momentum!r}")
        self.eps, self.momentum = eps, momentum
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


class LayerNorm(Module):
    """Normalise each row over the trailing ``normalized_shape`` axes, then scale by ``weight`` (ones) and
    shift by ``bias`` (zeros), both of shape ``normalized_shape``, as PyTorch's. Without
    ``elementwise_affine`` there are no parameters; ``bias=False`` drops only the shift."""

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        self.normalized_shape = normalized_shape_tuple(normalized_shape, "LayerNorm")
        self.eps = finite_float(eps, "eps", "LayerNorm")
        if not self.eps > 0:
            raise ValueError(f"LayerNorm: eps must be > 0, got {eps!r}")
        self.elementwise_affine = bool(elementwise_affine)
        xp = backend.xp()
        self.register_parameter("weight", Parameter(xp.ones(self.normalized_shape, dtype="float32"))
                                if elementwise_affine else None)
        self.register_parameter("bias", Parameter(xp.zeros(self.normalized_shape, dtype="float32"))
                                if elementwise_affine and bias else None)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"

    def forward(self, x: Any) -> Any:
        y, cache = F.layer_norm_forward(x, self.normalized_shape, None if self.weight is None else self.weight.data,
                                        None if self.bias is None else self.bias.data, self.eps)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dx, dweight, dbias = F.layer_norm_backward(dy, self._take())
        self._accumulate(self.weight, dweight)
        self._accumulate(self.bias, dbias)
        return dx


class LocalResponseNorm(_OpLayer):
    """x / (k + alpha/size * sum of x^2 over ``size`` neighbouring channels)^beta, for (N, C, *) input
    (AlexNet), as PyTorch's. No parameters."""

    op = "local_response_norm"
    _args = ("size", "alpha", "beta", "k")

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = positive_int(size, "size", "LocalResponseNorm")
        self.alpha, self.beta, self.k = (finite_float(v, name, "LocalResponseNorm")
                                         for v, name in ((alpha, "alpha"), (beta, "beta"), (k, "k")))

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
