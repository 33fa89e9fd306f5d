"""``python -m minicnn.summary MODEL --input-shape 1,28,28``: a model's layers, shapes, parameters, FLOPs.

One zero image goes through the model in eval mode; every leaf layer (and every
residual addition) gets a row with its output shape, its parameter count and the
floating-point operations of its forward pass for one image. FLOPs count a
multiply and an add as two:

=================  ===============================================================
Conv2d             2 C_out H_out W_out (C_in / groups) k_h k_w  (+ C_out H_out W_out bias adds)
Linear             2 in out  (+ out bias adds)
BatchNorm (eval)   2 per element (scale and shift)
MaxPool/AvgPool    k_h k_w per output element
AdaptiveAvgPool    1 per input element
Residual add       1 per element
activations        1 per element
Flatten, Dropout   0
=================  ===============================================================

A training step costs about three times the forward FLOPs (the backward pass
computes two products per forward product: the input gradient and the weight gradient).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backend, nn
from .models import MODELS, build_model, count_parameters, probing

__all__ = ["LayerRow", "summarize", "layer_flops", "format_summary", "main"]


@dataclass(frozen=True)
class LayerRow:
    """One line of the summary."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    flops: int


def layer_flops(module: nn.Module, x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> int:
    """Forward FLOPs of ``module`` for one input of shape ``x_shape`` (batch axis excluded)."""
    out, inp = int(np.prod(y_shape)), int(np.prod(x_shape))
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = 2 * (module.in_channels // module.groups) * kh * kw
        return out * per_output + (out if module.bias is not None else 0)
    if isinstance(module, nn.Linear):
        return 2 * module.in_features * module.out_features + (module.out_features if module.bias is not None else 0)
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return 2 * out
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return out * module.kernel_size[0] * module.kernel_size[1]
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return inp
    if isinstance(module, (nn.Flatten, nn.Dropout)):
        return 0
    return out


def _trace(module: nn.Module, x: Any, name: str, rows: list[LayerRow]) -> Any:
    """Run ``x`` through ``module``, appending a row per leaf layer and per residual addition."""
    if isinstance(module, nn.Sequential):
        for child_name, child in module._modules.items():
            x = _trace(child, x, f"{name}.{child_name}" if name else child_name, rows)
        return x
    if isinstance(module, nn.Residual):
        out = _trace(module.body, x, f"{name}.body", rows)
        skip = x if module.shortcut is None else _trace(module.shortcut, x, f"{name}.shortcut", rows)
        y = out + skip
        rows.append(LayerRow(name, "Residual add", tuple(y.shape[1:]), 0, int(np.prod(y.shape[1:]))))
        return y
    y = module(x)
    rows.append(LayerRow(name, type(module).__name__, tuple(int(s) for s in y.shape[1:]), count_parameters(module),
                         layer_flops(module, tuple(x.shape[1:]), tuple(y.shape[1:]))))
    return y


def summarize(model: nn.Module, input_shape: Sequence[int]) -> list[LayerRow]:
    """A row per leaf layer (and per residual addition) of ``model`` for one input of ``input_shape``."""
    rows: list[LayerRow] = []
    with probing(model):
        _trace(model, backend.xp().zeros((1, *input_shape), dtype=np.float32), "", rows)
    return rows


def format_summary(rows: list[LayerRow], title: str = "") -> str:
    """The rows as an aligned table with a totals line."""
    header = ("layer", "type", "output shape", "params", "FLOPs")
    body = [(r.name, r.kind, "x".join(map(str, r.output_shape)), f"{r.params:,}", f"{r.flops:,}") for r in rows]
    total_params, total_flops = sum(r.params for r in rows), sum(r.flops for r in rows)
    footer = ("total", "", "", f"{total_params:,}", f"{total_flops:,}")
    widths = [max(len(line[i]) for line in [header, *body, footer]) for i in range(5)]

    def fmt(line: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))

    rule = "-" * len(fmt(header))
    lines = ([title] if title else []) + [fmt(header), rule, *map(fmt, body), rule, fmt(footer)]
    lines.append(f"forward: {total_flops / 1e6:.2f} MFLOP per image; a training step is about "
                 f"{3 * total_flops / 1e6:.1f} MFLOP per image")
    return "\n".join(lines)


def _shape(text: str) -> tuple[int, int, int]:
    try:
        shape = tuple(int(s) for s in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 1,28,28, got {text!r}") from None
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected three positive sizes C,H,W such as 1,28,28, got {text!r}")
    return shape  # type: ignore[return-value]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the summary of a zoo model; exit status 2 for a model that cannot take the input."""
    parser = argparse.ArgumentParser(prog="python -m minicnn.summary",
                                     description="Per-layer output shapes, parameter counts and FLOPs of a zoo model.")
    parser.add_argument("model", choices=sorted(MODELS), metavar="MODEL", help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--input-shape", type=_shape, default=(1, 28, 28), metavar="C,H,W",
                        help="shape of one input image (default 1,28,28)")
    parser.add_argument("--num-classes", type=int, default=10, help="number of outputs (default 10)")
    args = parser.parse_args(argv)
    try:
        model = build_model(args.model, args.input_shape, args.num_classes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shape = "x".join(map(str, args.input_shape))
    print(format_summary(summarize(model, args.input_shape), f"{args.model} for input {shape}, "
                                                              f"{args.num_classes} classes"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
