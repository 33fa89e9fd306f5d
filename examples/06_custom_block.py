"""Write your own multi-path block (a DenseNet layer), and prove its backward against PyTorch and gradcheck.

What it teaches
    A block that is not a chain is a Module subclass whose forward calls its children and joins
    their outputs with a functional op, and whose backward walks the same graph in reverse:

        DenseLayer:  h = conv(relu(bn(x)));   y = cat([x, h], dim=1)

    x is used twice (fan-out): once as the first part of y, once as the body's input. The join,
    cat, splits dy into dy_x (the first C channels) and dy_h (the new ones); the body turns dy_h
    into its own input gradient; and because x fed both paths, the two gradients ADD:

        dx = dy_x + body'(x)^T dy_h

    Children assigned as attributes (self.norm, self.conv) are registered, so state_dict keys are
    "norm.weight", "conv.weight", ... exactly as in the PyTorch module with the same attributes,
    and a DenseNet is a Sequential of such layers (each one's output feeds the next: the channels
    grow by growth_rate per layer).

What it prints
    The block's state_dict keys, the largest differences from the same block written with
    torch.nn (output, input gradient, every parameter gradient, float64), "gradcheck passed" for
    one layer and for a two-layer stack, and "the custom block is proven". Exits with status 1 if
    a check fails.

    python examples/06_custom_block.py
    python examples/06_custom_block.py --channels 3 --growth 2 --size 5
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
import torch

from minicnn import functional as F
from minicnn import nn
from minicnn.testing import gradcheck


class DenseLayer(nn.Module):
    """y = cat([x, conv3x3(relu(batchnorm(x)))], dim=1): growth_rate new channels per layer."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(in_channels, growth_rate, 3, padding=1, bias=False)

    def forward(self, x: Any) -> Any:
        h = self.conv(self.relu(self.norm(x)))
        y, cache = F.cat_forward([x, h], dim=1)       # the join: keep its cache for backward
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        dy_x, dy_h = F.cat_backward(dy, self._take())                          # the join splits dy
        d_body = self.norm.backward(self.relu.backward(self.conv.backward(dy_h)))
        return dy_x + d_body                                                  # x fed both paths: add


class TorchDenseLayer(torch.nn.Module):
    """The same block in PyTorch, with the same attribute names."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.norm = torch.nn.BatchNorm2d(in_channels)
        self.relu = torch.nn.ReLU()
        self.conv = torch.nn.Conv2d(in_channels, growth_rate, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(self.relu(self.norm(x)))], dim=1)


def compare_with_torch(channels: int, growth: int, size: int) -> float:
    """Largest difference between the two blocks (output, input gradient, parameter gradients)."""
    ours = DenseLayer(channels, growth).astype(np.float64)
    theirs = TorchDenseLayer(channels, growth).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, channels, size, size))
    dy = rng.standard_normal((2, channels + growth, size, size))
    tx = torch.tensor(x, requires_grad=True)
    ty = theirs(tx)
    ty.backward(torch.tensor(dy))
    y = ours(x)
    dx = ours.backward(dy)
    diffs = {"output": np.abs(y - ty.detach().numpy()).max(), "input gradient": np.abs(dx - tx.grad.numpy()).max()}
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        diffs[f"grad {name}"] = np.abs(p.grad - tgrads[name].grad.numpy()).max()
    print("state_dict keys:", list(ours.state_dict()))
    for what, d in diffs.items():
        print(f"  {what:18s} max |difference| vs torch = {d:.1e}")
    return max(diffs.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--growth", type=int, default=3)
    parser.add_argument("--size", type=int, default=6)
    args = parser.parse_args(argv)
    worst = compare_with_torch(args.channels, args.growth, args.size)
    x = np.random.default_rng(1).standard_normal((2, args.channels, args.size, args.size))
    one = DenseLayer(args.channels, args.growth).astype(np.float64)
    stack = nn.Sequential(DenseLayer(args.channels, args.growth),
                          DenseLayer(args.channels + args.growth, args.growth)).astype(np.float64)
    for label, block in (("one layer", one), ("two-layer stack", stack)):
        gradcheck(block, x)
        print(f"gradcheck passed: {label} (input and every parameter, float64)")
    if worst > 1e-10:
        print(f"the custom block differs from PyTorch by {worst:.1e}")
        return 1
    print("the custom block is proven")
    return 0


if __name__ == "__main__":
    sys.exit(main())
