"""``python -m minicnn.summary MODEL --input-shape 1,28,28``: a model's layers, shapes, parameters, FLOPs.

One zero image goes through the model in eval mode; every leaf layer (and every
residual addition) gets a row, in the order the forward runs them, with its output
shape, its parameter count and the floating-point operations of its forward pass for
one image (a container with parameters of its own, such as ViT's class token, gets a row for them
after its children's). FLOPs count a multiply and an add as two; MACs (multiply-adds, the unit
model zoos call "FLOPs") count those of convolutions, Linear layers and attention only:

=================  ===============================================================
Conv2d             2 C_out H_out W_out (C_in / groups) k_h k_w  (+ C_out H_out W_out bias adds)
Linear             2 in out per output row  (+ out bias adds)
Attention          2 (4 E + 2 L) per output entry of MultiheadAttention (projections; q k^T, sum of v)
BatchNorm (eval)   2 per element (scale and shift)
MaxPool/AvgPool    k_h k_w per output element
AdaptiveAvgPool    1 per input element
Residual add       1 per element
activations        1 per element
Flatten, Dropout   0
=================  ===============================================================

A training step costs about three times the forward FLOPs (the backward pass
computes two products per forward product: the input gradient and the weight gradient).

``python -m minicnn.summary --all`` prints one line per zoo model: parameters and MACs at
3x224x224 beside the seed model zoo's reported numbers, and at the small inputs 1x28x28
and 3x32x32 (each model's small-input form), with the command that trains it.

An input too large for the memory at hand is refused before anything is allocated: the
memory is estimated from the same model at two small sizes (weights, gradients and
every layer's output grow linearly with the pixel count) and compared with the memory
available.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backend, nn
from .models import MODELS, SMALL_FORMS, build_model, count_parameters, probing
from .models.blocks import ResidualBlock, is_small
from .models.reported import REPORTED

__all__ = ["LayerRow", "summarize", "layer_flops", "layer_macs", "format_summary", "estimate_bytes",
           "available_bytes", "zoo_rows", "format_zoo_table", "main"]

SMALL_SHAPES = ((1, 28, 28), (3, 32, 32))
FULL_SHAPE = (3, 224, 224)


@dataclass(frozen=True)
class LayerRow:
    """One line of the summary."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    flops: int
    macs: int = 0


def layer_macs(module: nn.Module, y_shape: tuple[int, ...]) -> int:
    """Multiply-adds of a convolution or Linear layer for one input (0 for any other layer)."""
    out = int(np.prod(y_shape))
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return out * module.in_features
    if isinstance(module, nn.MultiheadAttention):     # per output entry: 4 E in the q, k, v and out projections,
        return out * (4 * module.embed_dim + 2 * y_shape[-2])    # 2 L in q k^T and the weighted sum of v
    return 0


def layer_flops(module: nn.Module, x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> int:
    """Forward FLOPs of ``module`` for one input of shape ``x_shape`` (batch axis excluded)."""
    out, inp = int(np.prod(y_shape)), int(np.prod(x_shape))
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        return 2 * layer_macs(module, y_shape) + (out if module.bias is not None else 0)
    if isinstance(module, nn.MultiheadAttention):
        return 2 * layer_macs(module, y_shape)
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return 2 * out
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return out * module.kernel_size[0] * module.kernel_size[1]
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return inp
    if isinstance(module, (nn.Flatten, nn.Dropout)):
        return 0
    return out


def _merge_kind(module: nn.Module) -> str | None:
    """The row kind of a container's own operation after its children (a residual addition), or None."""
    return "Residual add" if isinstance(module, (nn.Residual, ResidualBlock)) else None


def _whole(module: nn.Module) -> bool:
    """True for a module summarised in one row: a leaf, or MultiheadAttention (its out_proj is part of it)."""
    return not module._modules or isinstance(module, nn.MultiheadAttention)


def _units(module: nn.Module, name: str = "") -> Iterator[tuple[str, nn.Module]]:
    """The modules that get rows: those summarised whole, and containers that merge paths or have
    parameters of their own (ViT's class token; a row after their children's)."""
    if _whole(module):
        yield name, module
        return
    if _merge_kind(module) or module._parameters:
        yield name, module
    for child_name, child in module._modules.items():
        yield from _units(child, f"{name}.{child_name}" if name else child_name)


@contextmanager
def _recording(model: nn.Module, rows: list[LayerRow]) -> Iterator[None]:
    """Every forward of a row-getting module appends its row while the block runs."""
    hooked = []
    for name, m in _units(model):
        def forward(x: Any, *args: Any, _m: nn.Module = m, _name: str = name, **kwargs: Any) -> Any:
            y = type(_m).forward(_m, x, *args, **kwargs)
            x_shape, y_shape = tuple(int(s) for s in x.shape[1:]), tuple(int(s) for s in y.shape[1:])
            merge = _merge_kind(_m)
            if merge:
                rows.append(LayerRow(_name, merge, y_shape, 0, int(np.prod(y_shape))))
            elif _whole(_m):
                rows.append(LayerRow(_name, type(_m).__name__, y_shape, count_parameters(_m),
                                     layer_flops(_m, x_shape, y_shape), layer_macs(_m, y_shape)))
            else:                                    # a container's own parameters: one FLOP per output element
                own = sum(int(p.data.size) for p in _m._parameters.values())
                rows.append(LayerRow(_name, type(_m).__name__, y_shape, own, int(np.prod(y_shape))))
            return y
        object.__setattr__(m, "forward", forward)
        hooked.append(m)
    try:
        yield
    finally:
        for m in hooked:
            del m.__dict__["forward"]


def summarize(model: nn.Module, input_shape: Sequence[int]) -> list[LayerRow]:
    """A row per leaf layer (and per residual addition) of ``model`` for one input of ``input_shape``,
    in the order the forward runs them (a layer the forward runs twice gets two rows)."""
    rows: list[LayerRow] = []
    with probing(model), _recording(model, rows):
        model(backend.xp().zeros((1, *input_shape), dtype=np.float32))
    return rows


def _table(header: Sequence[str], body: list[Sequence[str]], left: int, *footer: Sequence[str]) -> list[str]:
    """Columns two spaces apart, the first ``left`` aligned left and the rest right: the header, a rule, the
    body, a rule, then the footer lines (if any)."""
    lines = [header, *body, *footer]
    widths = [max(map(len, column)) for column in zip(*lines)]
    head, *rest = ["  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
                   for line in lines]
    rule = "-" * len(head)
    return [head, rule, *rest[:len(body)], rule, *rest[len(body):]]


def format_summary(rows: list[LayerRow], title: str = "") -> str:
    """The rows as an aligned table with a totals line."""
    header = ("layer", "type", "output shape", "params", "FLOPs")
    body = [(r.name, r.kind, "x".join(map(str, r.output_shape)), f"{r.params:,}", f"{r.flops:,}") for r in rows]
    total_params, total_flops = sum(r.params for r in rows), sum(r.flops for r in rows)
    footer = ("total", "", "", f"{total_params:,}", f"{total_flops:,}")
    lines = ([title] if title else []) + _table(header, body, 3, footer)
    lines.append(f"forward: {total_flops / 1e6:.2f} MFLOP ({sum(r.macs for r in rows) / 1e6:.2f} M multiply-adds) "
                 f"per image; a training step is about {3 * total_flops / 1e6:.1f} MFLOP per image")
    return "\n".join(lines)


# ---- memory ------------------------------------------------------------------------------------------------

#: below this many pixels per image a summary is cheap and no estimate is made
ESTIMATE_ABOVE = 512 * 512


def _bytes_at(name: str, shape: tuple[int, int, int], num_classes: int) -> int:
    """Weights and gradients plus the input and every layer's output, float32, for one image."""
    model = build_model(name, shape, num_classes)
    outputs = sum(int(np.prod(r.output_shape)) for r in summarize(model, shape))
    return 4 * (2 * count_parameters(model) + int(np.prod(shape)) + outputs)


def estimate_bytes(name: str, input_shape: Sequence[int], num_classes: int) -> int | None:
    """Estimated bytes a summary of ``name`` needs for ``input_shape``, or None when the image is small
    (at most :data:`ESTIMATE_ABOVE` pixels) or the model cannot take the reduced sizes.

    The model is summarised at sides ``min(side, 128)`` and ``min(side, 256)`` (each keeps the
    input's form: both are at least 64 when the input's side is) and the two byte counts are
    extended linearly in the pixel count.
    """
    c, h, w = (int(s) for s in input_shape)
    if h * w <= ESTIMATE_ABOVE:
        return None
    sizes = [(min(h, 128 * k), min(w, 128 * k)) for k in (1, 2)]
    try:
        m1, m2 = (_bytes_at(name, (c, *hw), num_classes) for hw in sizes)
    except ValueError:
        return None
    (h1, w1), (h2, w2) = sizes
    slope = (m2 - m1) / (h2 * w2 - h1 * w1)
    return int(m1 + slope * (h * w - h1 * w1))


def available_bytes() -> int | None:
    """Memory available to a new allocation (Linux ``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            return next((int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")), None)
    except OSError:
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


# ---- the zoo table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZooRow:
    """One model of ``--all``: parameters and multiply-adds per input shape."""

    name: str
    params: dict[tuple[int, int, int], int]
    macs: dict[tuple[int, int, int], int]


def zoo_rows(names: Sequence[str], num_classes: int = 10,
             shapes: Sequence[tuple[int, int, int]] = (FULL_SHAPE, *SMALL_SHAPES)) -> list[ZooRow]:
    """Parameters and multiply-adds of each model at each input shape."""
    out = []
    for name in names:
        params, macs = {}, {}
        for shape in shapes:
            model = build_model(name, shape, num_classes)
            params[shape] = count_parameters(model)
            macs[shape] = sum(r.macs for r in summarize(model, shape))
            del model
        out.append(ZooRow(name, params, macs))
    return out


def _m(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e6:,.2f}M"


def _g(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e9:.3f}G"


def _dev(ours: int, seed: float | None) -> str:
    return "" if seed is None else f" ({100 * (ours - seed) / seed:+.1f}%)"


def format_zoo_table(rows: list[ZooRow], num_classes: int = 10) -> str:
    """The ``--all`` table: the seed's layout (parameters, multiply-adds at 224) plus the small inputs."""
    small = [s for s in SMALL_SHAPES if all(s in r.params for r in rows)]
    header = ["model", "params 224", "seed", "MACs 224", "seed"]
    for s in small:
        header += [f"params {'x'.join(map(str, s))}", "MACs"]
    lines = []
    for r in rows:
        seed = REPORTED.get(r.name)
        p, m = r.params[FULL_SHAPE], r.macs[FULL_SHAPE]
        line = [r.name, _m(p) + _dev(p, seed and seed.params), _m(seed and seed.params),
                _g(m) + _dev(m, seed and seed.macs), _g(seed and seed.macs)]
        for s in small:
            line += [_m(r.params[s]), _m(r.macs[s])]
        lines.append(line)
    return "\n".join([f"the zoo for {num_classes} classes; MACs = multiply-adds of convolutions, Linear layers and "
                      "attention (the seed counts every layer); small inputs use each model's small-input form",
                      *_table(header, lines, 1),
                      "train any row:  python -m minicnn.train fashion_mnist --model NAME     "
                      "(or cifar10, mnist, an image folder)",
                      "one model:      python -m minicnn.summary NAME --input-shape 3,224,224 --num-classes 10"])


# ---- command line -----------------------------------------------------------------------------------------


def _shape(text: str) -> tuple[int, int, int]:
    try:
        shape = tuple(int(s) for s in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 1,28,28, got {text!r}") from None
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected three positive sizes C,H,W such as 1,28,28, got {text!r}")
    return shape  # type: ignore[return-value]


def _one(name: str, shape: tuple[int, int, int], num_classes: int) -> int:
    text = "x".join(map(str, shape))
    need = estimate_bytes(name, shape, num_classes)
    have = available_bytes()
    if need is not None and have is not None and need > have:
        print(f"error: a summary of {name} for input {text} needs about {_gib(need)} (weights, gradients and one "
              f"image's layer outputs), more than the {_gib(have)} of memory available; use a smaller --input-shape",
              file=sys.stderr)
        return 2
    try:
        model = build_model(name, shape, num_classes)
        rows = summarize(model, shape)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"error: not enough memory for a summary of {name} for input {text}; use a smaller --input-shape",
              file=sys.stderr)
        return 2
    form = " (small-input form)" if is_small(shape) and name in SMALL_FORMS else ""
    print(format_summary(rows, f"{name} for input {text}, {num_classes} classes{form}"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Print the summary of a zoo model (or ``--all``: the zoo table); exit status 2 for a model that
    cannot take the input or an input too large for the memory."""
    parser = argparse.ArgumentParser(prog="python -m minicnn.summary",
                                     description="Per-layer output shapes, parameter counts and FLOPs of a zoo "
                                                 "model; --all: parameters and multiply-adds of every zoo model.")
    parser.add_argument("model", nargs="?", choices=sorted(MODELS), metavar="MODEL", help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--all", action="store_true", help="one line per zoo model, beside the seed zoo's numbers")
    parser.add_argument("--input-shape", type=_shape, default=(1, 28, 28), metavar="C,H,W",
                        help="shape of one input image (default 1,28,28)")
    parser.add_argument("--num-classes", type=int, default=10, help="number of outputs (default 10)")
    args = parser.parse_args(argv)
    if args.num_classes < 2:
        parser.error(f"--num-classes must be at least 2, got {args.num_classes}")
    if args.all == (args.model is not None):
        parser.error("give one MODEL, or --all")
    if args.all:
        print(format_zoo_table(zoo_rows(list(MODELS), args.num_classes), args.num_classes))
        return 0
    return _one(args.model, args.input_shape, args.num_classes)


if __name__ == "__main__":
    sys.exit(main())
