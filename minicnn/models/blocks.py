"""Building blocks shared by the zoo's larger networks.

The networks are written the way their PyTorch code reads: a Module subclass whose
children are assigned as attributes in torchvision's order, so that ``state_dict`` keys
match (``layer1.0.conv1.weight``, ``features.3.bias``). In PyTorch ``forward`` alone
says how the children connect; here two small classes say it once for forward and
backward together:

* :class:`Chain`: the network's ``steps()`` run in order and backward in reverse
  (by default ``steps()`` is the children in the order they were assigned, so a
  ``Chain`` is a ``Sequential`` whose children have names);
* :class:`ResidualBlock`: ``y = after(body(x) + shortcut(x))``; x fans out into two
  paths, so backward ADDS the two paths' input gradients.
* :class:`Branches`: ``y = cat([path(x) for path in paths()], dim=1)`` (Inception's
  branches, a DenseNet layer's ``cat([x, h(x)])``): the concatenation splits dy into each
  path's channels, and since x feeds every path their input gradients ADD.

A parameter-free leaf such as torchvision's single ``self.relu`` may appear in the steps
more than once: each call's cache is kept on the caller's tape and handed back to the
layer just before its matching backward (see :func:`run_steps`).

Small inputs: an input whose height or width is below :data:`SMALL_INPUT` pixels (MNIST's
28x28, CIFAR's 32x32) gets each network's small-input form (documented per builder: a
stem that keeps the resolution, fewer downsamplings, and a width multiplier so it trains on
a CPU); larger inputs get the standard ImageNet form.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from .. import backend, nn
from ..functional import graph as Fg
from ..functional import residual as Fr
from ..random import generator

__all__ = ["SMALL_INPUT", "is_small", "small_form", "scaled", "normal_", "kaiming_convs_", "reused", "run_steps",
           "back_steps", "Chain", "ResidualBlock", "Branches", "conv_bn", "conv_bn_act"]

Net = TypeVar("Net", bound=nn.Module)

#: Inputs with a side below this many pixels get the small-input form of every zoo network.
SMALL_INPUT = 64


def is_small(input_shape: Sequence[int]) -> bool:
    """True for an input ``(C, H, W)`` with ``min(H, W) < SMALL_INPUT`` (use the small-input form)."""
    return min(input_shape[1:]) < SMALL_INPUT


def small_form(network: Callable[..., Net], input_shape: Sequence[int], num_classes: int,
               small_width: float) -> Net:
    """``network(num_classes, C, width, small_input)`` for an input ``(C, H, W)``: the small-input form at
    width ``small_width`` when :func:`is_small`, else the standard form at width 1."""
    small = is_small(input_shape)
    return network(num_classes, input_shape[0], small_width if small else 1.0, small)


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 1 (a network's width multiplier)."""
    return max(1, int(round(channels * width)))


def normal_(param: nn.Parameter, mean: float = 0.0, std: float = 1.0) -> nn.Parameter:
    """Fill ``param`` with N(mean, std^2) draws from ``minicnn.random`` (torch's ``nn.init.normal_``)."""
    draws = generator().standard_normal(size=param.shape, dtype=np.float32)      # float32 draws: 2x faster
    param.data = backend.asarray(draws * np.float32(std) + np.float32(mean), dtype=param.dtype)
    return param


def kaiming_convs_(model: nn.Module) -> None:
    """torchvision's convolution init: every Conv2d of ``model`` (in ``modules()`` order) gets Kaiming-normal
    weights with fan_out and ReLU's gain, and zero bias where it has one."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def reused(*step_lists: Sequence[nn.Module]) -> frozenset[int]:
    """The ids of the leaf modules that appear more than once in ``step_lists`` together."""
    count: dict[int, int] = {}
    for m in (m for steps in step_lists for m in steps):
        count[id(m)] = count.get(id(m), 0) + 1
    return frozenset(i for i, n in count.items() if n > 1)


def run_steps(steps: Sequence[nn.Module], x: Any, shared: frozenset[int] | None = None) -> tuple[Any, list[Any]]:
    """``x`` through ``steps`` in order, and the tape for :func:`back_steps`.

    A leaf that runs more than once in one forward (a parameter-free layer such as
    torchvision's single ``relu``; ``shared`` holds their ids, by default :func:`reused` of
    ``steps``) has each call's cache taken off it onto the tape. Every other step keeps its
    cache itself, as after a plain call, so a model's last layer can run its backward alone.
    """
    shared = reused(steps) if shared is None else shared
    tape = []
    for m in steps:
        x = m(x)
        if id(m) in shared:
            if m._modules:
                raise ValueError(f"{type(m).__name__} has children and cannot run twice in one forward")
            tape.append(m._cache)
            object.__setattr__(m, "_cache", None)
        else:
            tape.append(None)
    return x, tape


def back_steps(steps: Sequence[nn.Module], tape: list[Any], dy: Any) -> Any:
    """The input gradient of :func:`run_steps`: each step's backward, last step first."""
    for m, cache in zip(reversed(steps), reversed(tape)):
        if cache is not None:
            object.__setattr__(m, "_cache", cache)
        dy = m.backward(dy)
    return dy


class Chain(nn.Module):
    """A network whose forward runs ``steps()`` in order; backward runs them in reverse.

    ``steps()`` defaults to the children in assignment order; override it when the forward
    reuses a layer (torchvision's single ``relu``) or leaves one out.
    """

    def steps(self) -> list[nn.Module]:
        return [m for m in self.children() if m is not None]

    def input_layer(self) -> nn.Module | None:
        steps = self.steps()                        # the first step alone receives the input
        return steps[0].input_layer() if steps else None

    def forward(self, x: Any) -> Any:
        steps = self.steps()
        y, tape = run_steps(steps, x)
        self._save((steps, tape))
        return y

    def backward(self, dy: Any) -> Any:
        steps, tape = self._take()
        return back_steps(steps, tape, dy)


class ResidualBlock(nn.Module):
    """``y = after(body(x) + shortcut(x))``; subclasses assign the children and list them in
    ``body()``, ``shortcut()`` (empty: the identity) and ``after()`` (default empty).

    Backward: ``dx = body'(d) + shortcut'(d)`` with ``d = after'(dy)``, the two paths' input
    gradients summed because x feeds both.
    """

    #: the merge, for ``python -m minicnn.summary``'s row after the block's layers
    merge = "add"

    def body(self) -> list[nn.Module]:
        raise NotImplementedError(f"{type(self).__name__} does not define body()")

    def shortcut(self) -> list[nn.Module]:
        return []

    def after(self) -> list[nn.Module]:
        return []

    def forward(self, x: Any) -> Any:
        body, shortcut, after = self.body(), self.shortcut(), self.after()
        shared = reused(body, shortcut, after)
        out, body_tape = run_steps(body, x, shared)
        skip, skip_tape = run_steps(shortcut, x, shared)
        if tuple(out.shape) != tuple(skip.shape):
            raise ValueError(f"{type(self).__name__}: body output shape {tuple(out.shape)} != shortcut shape "
                             f"{tuple(skip.shape)} (input shape {tuple(x.shape)})")
        y, add_cache = Fr.add_forward(out, skip)
        y, after_tape = run_steps(after, y, shared)
        self._save((body, body_tape, shortcut, skip_tape, add_cache, after, after_tape))
        return y

    def backward(self, dy: Any) -> Any:
        body, body_tape, shortcut, skip_tape, add_cache, after, after_tape = self._take()
        d_out, d_skip = Fr.add_backward(back_steps(after, after_tape, dy), add_cache)
        return back_steps(body, body_tape, d_out) + back_steps(shortcut, skip_tape, d_skip)


class Branches(nn.Module):
    """``y = cat([path(x) for path in paths()], dim=1)``; subclasses assign the children and list
    each path's steps in ``paths()`` (an empty path passes x itself on, as a DenseNet layer's).

    Backward: the concatenation gives each path its own slice of dy (``cat_backward``), each
    path turns it into an input gradient, and since x feeds every path those gradients ADD.
    """

    def paths(self) -> list[list[nn.Module]]:
        raise NotImplementedError(f"{type(self).__name__} does not define paths()")

    def forward(self, x: Any) -> Any:
        paths = self.paths()
        outs, tapes = zip(*(run_steps(path, x) for path in paths))
        y, cat_cache = Fg.cat_forward(list(outs), dim=1)
        self._save((paths, tapes, cat_cache))
        return y

    def backward(self, dy: Any) -> Any:
        paths, tapes, cat_cache = self._take()
        grads = Fg.cat_backward(dy, cat_cache)
        dx = [back_steps(path, tape, g) for path, tape, g in zip(paths, tapes, grads)]
        return sum(dx[1:], start=dx[0])


def conv_bn(c_in: int, c_out: int, kernel_size: int, stride: int = 1, padding: int | None = None,
            groups: int = 1) -> list[nn.Module]:
    """[Conv2d (no bias, 'same' padding k // 2 unless given), BatchNorm2d]."""
    padding = kernel_size // 2 if padding is None else padding
    return [nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, groups=groups, bias=False),
            nn.BatchNorm2d(c_out)]


def conv_bn_act(c_in: int, c_out: int, kernel_size: int, stride: int = 1, padding: int | None = None,
                groups: int = 1, act: type[nn.Module] = nn.ReLU, **act_args: Any) -> nn.Sequential:
    """Sequential(Conv2d without bias, BatchNorm2d, activation): keys ``0.weight``, ``1.weight``, ...
    as torchvision's ``Conv2dNormActivation``."""
    return nn.Sequential(*conv_bn(c_in, c_out, kernel_size, stride, padding, groups), act(**act_args))
