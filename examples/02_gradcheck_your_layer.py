"""Write your own layer (Swish) with a hand-written backward, and prove it the way minicnn proves its own.

What it teaches
    A minicnn layer is a Module with forward(x), which keeps what backward needs, and
    backward(dy), which returns dx (and ADDS parameter gradients into param.grad). Swish is
    y = x sigmoid(x); by the product rule and sigmoid' = s (1 - s),

        dy/dx = s + x s (1 - s) = s (1 + x (1 - s)),      s = sigmoid(x)

    so dx = dy s (1 + x (1 - s)), and the cache keeps x and s. Two checks a user can put in their
    own CI (pytest collects the two test_ functions below from this file unchanged):
    * minicnn.testing.gradcheck compares the backward with central finite differences in float64,
      for the functional pair and for the layer, on shapes drawn by the exported hypothesis
      strategy minicnn.testing.strategies.shapes();
    * the layer inside a network (Conv2d -> Swish) is gradchecked on convolution geometries drawn by
      minicnn.testing.strategies.conv_geometry(), which only draws valid stride/padding/dilation/
      groups combinations, so every parameter's gradient is checked through the new layer too.
    A deliberately wrong backward (the derivative without the product rule) is shown failing, with
    the error message naming the worst element.

What it prints
    How many examples each property ran and passed, then the failure message of the broken layer,
    then "Swish is proven". Exits with status 1 if a check that should pass fails (or the broken one
    passes).

    python examples/02_gradcheck_your_layer.py                # 20 examples per property
    python examples/02_gradcheck_your_layer.py --examples 3   # quicker
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, NamedTuple

import numpy as np
from hypothesis import given, settings

import minicnn
from minicnn import backend, nn
from minicnn.testing import gradcheck
from minicnn.testing import strategies as cst


class SwishCache(NamedTuple):
    x: Any
    s: Any          # sigmoid(x)


def swish_forward(x: Any) -> tuple[Any, SwishCache]:
    """y = x sigmoid(x), with the stable sigmoid (exp(-|x|) never overflows)."""
    xp = backend.xp()
    z = xp.exp(-xp.abs(x))
    s = xp.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return x * s, SwishCache(x, s)


def swish_backward(dout: Any, cache: SwishCache) -> Any:
    """dx = dout s (1 + x (1 - s))."""
    x, s = cache
    return dout * s * (1 + x * (1 - s))


class Swish(nn.Module):
    """y = x sigmoid(x) elementwise (also called SiLU)."""

    def forward(self, x: Any) -> Any:
        y, cache = swish_forward(x)
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        return swish_backward(dy, self._take())


class BrokenSwish(Swish):
    """The classic mistake: sigmoid's derivative alone, forgetting the product rule."""

    def backward(self, dy: Any) -> Any:
        _, s = self._take()
        return dy * s * (1 - s)


@given(shape=cst.shapes(max_dims=4, max_side=5), seed=cst.seeds())
def test_swish_gradcheck(shape: tuple[int, ...], seed: int) -> None:
    x = cst.arrays(shape, np.float64, seed, scale=3.0)
    assert gradcheck((swish_forward, swish_backward), x)
    assert gradcheck(Swish(), x)


@given(g=cst.conv_geometry(max_batch=2, max_channels=3, max_size=5, max_kernel=3), seed=cst.seeds())
def test_conv_then_swish_gradcheck(g: Any, seed: int) -> None:
    minicnn.manual_seed(seed % 2**31)
    net = nn.Sequential(nn.Conv2d(g.c_in, g.c_out, g.kernel, g.stride, g.padding, g.dilation, g.groups),
                        Swish()).astype(np.float64)
    assert gradcheck(net, cst.arrays(g.x_shape, np.float64, seed))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=20, help="hypothesis examples per property")
    args = ap.parse_args(argv)
    minicnn.set_backend("numpy")
    profile = settings(max_examples=args.examples, deadline=None, database=None, derandomize=True)
    for test in (test_swish_gradcheck, test_conv_then_swish_gradcheck):
        profile(test)()
        print(f"{test.__name__}: {args.examples} hypothesis examples passed")

    x = cst.arrays((2, 3), np.float64, 0, scale=3.0)
    try:
        gradcheck(BrokenSwish(), x)
    except AssertionError as exc:
        print(f"BrokenSwish is caught, as it should be:\n  {exc}")
    else:
        print("BrokenSwish passed gradcheck: the check is not doing its job")
        return 1
    print("Swish is proven: its backward matches finite differences, alone and inside a network")
    return 0


if __name__ == "__main__":
    sys.exit(main())
