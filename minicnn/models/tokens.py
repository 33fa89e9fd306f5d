"""Pieces shared by the zoo's token networks (ViT, MLP-Mixer, ResMLP), which cut an image into patches
and treat it as a sequence of L tokens of D features, x of shape (N, L, D).

* :class:`Transpose`: ``x.transpose(dim0, dim1)`` as a layer. (N, L, D) -> (N, D, L) puts the tokens
  last, so that a Linear mixes tokens instead of features (MLP-Mixer's ``mlp_tokens``, ResMLP's
  ``linear_tokens``), and the same layer turns the result back;
* :class:`Select` (``x[:, 0]``, ViT's class token) and :class:`Mean` (``x.mean(1)``, the Mixers'
  average over the tokens) reduce the sequence to one row per image;
* :class:`ResidualBranches`: a block of residual branches run one after the other,
  ``x = x + f_1(x)``, then ``x = x + f_2(x)``: a transformer's attention and MLP halves, a Mixer's
  token and channel halves, each a list of steps (optionally times a layer-scale vector, ResMLP's
  ``ls1`` and ``ls2``);
* :func:`patch_projection`: the Conv2d that turns each p x p patch into a token (kernel = stride = p).

None of these has parameters of its own except a :class:`ResidualBranches` subclass's layer scales,
so the networks' ``state_dict`` keys are those of the PyTorch code they follow.
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend, nn
from .. import functional as F
from ..checks import check_dout, int_dim, normalize_dim, require_float
from .blocks import back_steps, normal_, reused, run_steps

__all__ = ["Transpose", "Select", "Mean", "ResidualBranches", "patch_projection"]


class Transpose(nn.Module):
    """y = x.transpose(dim0, dim1), as torch's ``Tensor.transpose`` (a view, no copy).

    Each output entry is one input entry with two indices swapped, so the gradient goes back the same
    way: dx = dy.transpose(dim0, dim1).
    """

    def __init__(self, dim0: int, dim1: int) -> None:
        super().__init__()
        self.dim0, self.dim1 = int_dim(dim0, "Transpose", "dim0"), int_dim(dim1, "Transpose", "dim1")

    def extra_repr(self) -> str:
        return f"dim0={self.dim0}, dim1={self.dim1}"

    def forward(self, x: Any) -> Any:
        require_float(x, self._name())
        y = x.swapaxes(normalize_dim(self.dim0, x.ndim, self._name()), normalize_dim(self.dim1, x.ndim, self._name()))
        self._save((tuple(y.shape), y.dtype))
        return y

    def backward(self, dy: Any) -> Any:
        check_dout(dy, self._take(), self._name())
        return dy.swapaxes(self.dim0, self.dim1)


class Select(nn.Module):
    """y = x.select(dim, index) (``x[:, 0]`` for dim 1, index 0: ViT's class token), one axis fewer.

    Only the selected entries reach the output, each once: dx is zero except dy at ``index``.
    """

    def __init__(self, dim: int, index: int) -> None:
        super().__init__()
        self.dim, self.index = int_dim(dim, "Select"), int_dim(index, "Select", "index")

    def extra_repr(self) -> str:
        return f"dim={self.dim}, index={self.index}"

    def forward(self, x: Any) -> Any:
        require_float(x, self._name())
        axis = normalize_dim(self.dim, x.ndim, self._name())
        y = x.take(self.index, axis=axis)
        self._save((tuple(x.shape), axis, (tuple(y.shape), y.dtype)))
        return y

    def backward(self, dy: Any) -> Any:
        x_shape, axis, out = self._take()
        check_dout(dy, out, self._name())
        dx = backend.xp().zeros(x_shape, dtype=dy.dtype)
        dx[(slice(None),) * axis + (self.index,)] = dy
        return dx


class Mean(nn.Module):
    """y = x.mean(dim), one axis fewer ((N, L, D) -> (N, D) for dim 1: the average over the tokens).

    Each of the L entries along ``dim`` counts 1/L towards its output: dx = dy / L, repeated along ``dim``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = int_dim(dim, "Mean")

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x: Any) -> Any:
        require_float(x, self._name())
        axis = normalize_dim(self.dim, x.ndim, self._name())
        y = x.mean(axis=axis)
        self._save((tuple(x.shape), axis, (tuple(y.shape), y.dtype)))
        return y

    def backward(self, dy: Any) -> Any:
        x_shape, axis, out = self._take()
        check_dout(dy, out, self._name())
        xp = backend.xp()
        return xp.repeat(xp.expand_dims(dy / x_shape[axis], axis), x_shape[axis], axis=axis)


class ResidualBranches(nn.Module):
    """Residual branches one after the other: with x_0 = x and ``branches()`` = [f_1, f_2, ...],

        x_i = x_{i-1} + gamma_i * f_i(x_{i-1})          y = the last x_i

    where each f_i is a list of steps (run as :func:`~.blocks.run_steps` does) and gamma_i the
    branch's layer-scale vector from ``layer_scales()`` (None: no scaling, the default). A
    transformer encoder block is [ln_1, self_attention] then [ln_2, mlp].

    Backward, last branch first. x_{i-1} feeds the skip and the branch (fan-out), so its gradient is
    the sum of both paths: dx_{i-1} = dx_i + f_i'(x_{i-1})^T (gamma_i * dx_i), and the layer scale's
    gradient sums over the rows: dgamma_i = sum over (N, L) of dx_i * f_i(x_{i-1}).
    """

    def branches(self) -> list[list[nn.Module]]:
        raise NotImplementedError(f"{type(self).__name__} does not define branches()")

    def layer_scales(self) -> list[nn.Parameter | None]:
        return [None] * len(self.branches())

    def forward(self, x: Any) -> Any:
        branches, scales = self.branches(), self.layer_scales()
        shared = reused(*branches)
        tapes = []
        for steps, gamma in zip(branches, scales):
            out, tape = run_steps(steps, x, shared)
            scale_cache = None
            if gamma is not None:
                out, scale_cache = F.mul_forward(out, gamma.data)
            x, add_cache = F.add_forward(x, out)
            tapes.append((tape, scale_cache, add_cache))
        self._save((branches, scales, tapes))
        return x

    def backward(self, dy: Any) -> Any:
        branches, scales, tapes = self._take()
        for steps, gamma, (tape, scale_cache, add_cache) in reversed(list(zip(branches, scales, tapes))):
            d_skip, d_out = F.add_backward(dy, add_cache)
            if scale_cache is not None:
                d_out, d_gamma = F.mul_backward(d_out, scale_cache)
                self._accumulate(gamma, d_gamma)
            dy = d_skip + back_steps(steps, tape, d_out)
        return dy


def patch_projection(in_channels: int, embed_dim: int, patch_size: int) -> nn.Conv2d:
    """Conv2d(in_channels, embed_dim, patch_size, stride=patch_size): one token of ``embed_dim`` features
    per patch. Weights N(0, 1/fan_in), bias zero, as torchvision's ViT ``conv_proj`` and timm's
    ``lecun_normal_`` stems (both truncate at +-2, absolute, far beyond any draw at these scales, so a
    plain normal draws the same distribution)."""
    conv = nn.Conv2d(in_channels, embed_dim, patch_size, stride=patch_size)
    normal_(conv.weight, std=math.sqrt(1.0 / (in_channels * patch_size * patch_size)))
    nn.init.zeros_(conv.bias)
    return conv
