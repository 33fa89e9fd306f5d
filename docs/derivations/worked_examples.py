"""Produce the worked examples printed at the end of each derivation page.

    python docs/derivations/worked_examples.py          # print every example
    python docs/derivations/worked_examples.py --write  # refresh the blocks inside the pages

Each page holds its example between ``<!-- worked-example: NAME -->`` and
``<!-- /worked-example -->``; tests/test_docs.py regenerates every block and
fails if a page no longer matches the code.
"""
from __future__ import annotations

import pathlib
import re
import sys
from typing import Callable

import numpy as np

import minicnn
from minicnn import functional as F

HERE = pathlib.Path(__file__).parent
EXAMPLES: dict[str, Callable[[], str]] = {}


def example(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    def register(fn: Callable[[], str]) -> Callable[[], str]:
        EXAMPLES[name] = fn
        return fn
    return register


def fmt(a: np.ndarray) -> str:
    """An array printed compactly, the same way on every machine."""
    return np.array2string(np.asarray(a), precision=4, suppress_small=True, floatmode="maxprec",
                           separator=" ", max_line_width=100)


@example("conv")
def conv_example() -> str:
    x = np.arange(1, 17, dtype=np.float64).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
    b = np.array([0.5])
    y, cache = F.conv2d_forward(x, w, b, stride=1, padding=0)
    dy = np.array([[[[1.0, 0.0, -1.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]])
    dx, dw, db = F.conv2d_backward(dy, cache)
    return "\n".join([
        "x (1x1x4x4) =", fmt(x[0, 0]),
        "w (1x1x2x2) =", fmt(w[0, 0]), f"b = {fmt(b)}",
        "im2col(x, 2) (rows: kernel offsets (0,0) (0,1) (1,0) (1,1); columns: the 9 output positions) =",
        fmt(cache.cols[0]),
        "y = w.reshape(1, 4) @ cols + b, reshaped to 3x3 =", fmt(y[0, 0]),
        "upstream gradient dy =", fmt(dy[0, 0]),
        "db = sum(dy) =", fmt(db),
        "dw = dy.reshape(1, 9) @ cols.T, reshaped to 2x2 =", fmt(dw[0, 0]),
        "dcols = w.reshape(4, 1) @ dy.reshape(1, 9) =", fmt((w.reshape(4, 1) @ dy.reshape(1, 9))),
        "dx = col2im(dcols) =", fmt(dx[0, 0]),
    ])


BLOCK = re.compile(r"<!-- worked-example: (\w+) -->\n```text\n.*?```\n<!-- /worked-example -->", re.S)


def names(text: str) -> list[str]:
    """The names of the worked-example blocks in a page."""
    return [m.group(1) for m in BLOCK.finditer(text)]


def refresh(text: str) -> str:
    """``text`` with every worked-example block regenerated from the code."""
    def sub(m: re.Match) -> str:
        return (f"<!-- worked-example: {m.group(1)} -->\n```text\n{EXAMPLES[m.group(1)]()}\n```\n"
                "<!-- /worked-example -->")
    return BLOCK.sub(sub, text)


def main(argv: list[str]) -> int:
    minicnn.set_backend("numpy")
    if "--write" in argv:
        for page in sorted(HERE.glob("*.md")):
            text = page.read_text()
            new = refresh(text)
            if new != text:
                page.write_text(new)
                print(f"updated {page.name}")
        return 0
    for name, fn in EXAMPLES.items():
        print(f"== {name}\n{fn()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
