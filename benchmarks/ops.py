"""Forward and backward time of each op, minicnn against the same torch op, in the same run.

    python -m benchmarks.ops --backend numba

Shows where a training step's time goes: each row is one op at a size taken
from the fashion-ref and custom_cnn workloads (batch 128), timed as the median
of several repeats after warm-up. Both engines get the same input and the same
random upstream gradient, and compute the gradients of every input (torch through
``torch.autograd.grad``, so nothing accumulates in ``.grad`` across repeats).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np

from .common import machine_line, median_seconds, set_threads


@dataclass
class OpCase:
    name: str
    shape: tuple[int, ...]
    mini: Callable[[Any], tuple[Callable[[], Any], Callable[[Any], Any]]]
    """minicnn: given the input, (the forward, the backward of the last forward given dout)."""
    ref: Callable[[Any], tuple[Callable[[], Any], list[Any]]]
    """torch: given the input leaf, (the forward, the other leaves whose gradients backward computes)."""


def _conv(c_in: int, c_out: int, hw: int, batch: int, stride: int = 1, groups: int = 1) -> OpCase:
    """A 3x3 conv2d with padding 1; groups == c_in is a depthwise layer (MobileNet's)."""
    from minicnn import functional as F

    shape = (batch, c_in, hw, hw)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((c_out, c_in // groups, 3, 3)).astype(np.float32) * 0.1
    b = np.zeros(c_out, np.float32)

    def mini(x: Any) -> Any:
        from minicnn.backend import asarray
        wd, bd = asarray(w), asarray(b)
        state = {}

        def fwd() -> None:
            state["y"], state["cache"] = F.conv2d_forward(x, wd, bd, stride, 1, groups=groups)

        def bwd(dout: Any) -> Any:
            return F.conv2d_backward(dout, state["cache"])
        return fwd, bwd

    def ref(tx: Any) -> Any:
        import torch
        tw = torch.from_numpy(w).requires_grad_()
        tb = torch.from_numpy(b).requires_grad_()
        return (lambda: torch.nn.functional.conv2d(tx, tw, tb, stride, 1, groups=groups)), [tw, tb]
    kind = "depthwise " if groups == c_in > 1 else ""
    return OpCase(f"{kind}conv2d {c_in}->{c_out} 3x3 p1" + (f" s{stride}" if stride > 1 else ""), shape, mini, ref)


def _unary(name: str, shape: tuple[int, ...], fwd_name: str, torch_fn: Callable[[Any], Any],
           **kwargs: Any) -> OpCase:
    from minicnn import functional as F

    forward, backward = getattr(F, f"{fwd_name}_forward"), getattr(F, f"{fwd_name}_backward")

    def mini(x: Any) -> Any:
        state = {}

        def fwd() -> None:
            state["y"], state["cache"] = forward(x, **kwargs)

        def bwd(dout: Any) -> Any:
            return backward(dout, state["cache"])
        return fwd, bwd

    def ref(tx: Any) -> Any:
        return (lambda: torch_fn(tx)), []
    return OpCase(name, shape, mini, ref)


def cases(batch: int = 128) -> list[OpCase]:
    """Every op case, at batch ``batch``."""
    import torch
    tf = torch.nn.functional
    return [
        *(_conv(c_in, c_out, hw, batch) for c_in, c_out, hw in ((1, 32, 28), (32, 32, 28), (32, 64, 14),
                                                                (64, 64, 14), (128, 128, 8))),
        *(_conv(64, 64, 28, batch // 2, stride, groups=64) for stride in (1, 2)),
        _unary("max_pool2d 2x2", (batch, 32, 28, 28), "max_pool2d", lambda t: tf.max_pool2d(t, 2), kernel_size=2),
        _unary("avg_pool2d 2x2", (batch, 32, 28, 28), "avg_pool2d", lambda t: tf.avg_pool2d(t, 2), kernel_size=2),
        _unary("relu", (batch, 32, 28, 28), "relu", tf.relu),
        _unary("gelu", (batch, 32, 28, 28), "gelu", tf.gelu),
        _unary("sigmoid", (batch, 32, 28, 28), "sigmoid", torch.sigmoid),
        _unary("log_softmax", (batch, 1000), "log_softmax", lambda t: tf.log_softmax(t, 1)),
        _batch_norm_case(batch), _cross_entropy_case(batch),
        _layer_norm_case(batch // 2, 197, 192), _layer_norm_case(batch, 64, 256),
        _unary("local_response_norm 5", (batch, 64, 14, 14), "local_response_norm",
               lambda t: tf.local_response_norm(t, 5), size=5),
        _attention_case(batch // 2), _multihead_attention_case(batch // 2),
    ]


def _attention_case(batch: int, heads: int = 3, length: int = 65, head_dim: int = 64) -> OpCase:
    """scaled_dot_product_attention as in a ViT-Ti (head size 64) on 32x32 images cut in 4x4 patches (64 + 1 tokens)."""
    import torch
    from minicnn import functional as F
    from minicnn.backend import asarray

    shape = (batch, heads, length, head_dim)
    k, v = (np.random.default_rng(i).standard_normal(shape).astype(np.float32) for i in (1, 2))

    def mini(q: Any) -> Any:
        kd, vd = asarray(k), asarray(v)
        state = {}

        def fwd() -> None:
            state["y"], state["cache"] = F.scaled_dot_product_attention_forward(q, kd, vd)

        def bwd(dout: Any) -> Any:
            return F.scaled_dot_product_attention_backward(dout, state["cache"])
        return fwd, bwd

    def ref(tq: Any) -> Any:
        tk, tv = torch.from_numpy(k).requires_grad_(), torch.from_numpy(v).requires_grad_()
        return (lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)), [tk, tv]
    return OpCase(f"sdpa {heads} heads L={length} d={head_dim}", shape, mini, ref)


def _multihead_attention_case(batch: int, embed_dim: int = 192, heads: int = 3, length: int = 65) -> OpCase:
    """MultiheadAttention self-attention, ViT-Ti's width; minicnn's backward returns dx and every parameter gradient."""
    import torch
    from minicnn import nn

    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(embed_dim, heads, batch_first=True)

    def mini(x: Any) -> Any:
        ours = nn.MultiheadAttention(embed_dim, heads)
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})

        def bwd(dout: Any) -> Any:
            ours.zero_grad()
            return (ours.backward(dout), *(p.grad for p in ours.parameters()))
        return (lambda: ours(x)), bwd

    def ref(tx: Any) -> Any:
        return (lambda: theirs(tx, tx, tx, need_weights=False)[0]), list(theirs.parameters())
    return OpCase(f"MultiheadAttention E={embed_dim} {heads} heads", (batch, length, embed_dim), mini, ref)


def _batch_norm_case(batch: int) -> OpCase:
    import torch
    from minicnn import functional as F
    from minicnn.backend import asarray

    c = 64
    shape = (batch, c, 14, 14)

    def mini(x: Any) -> Any:
        g, b = asarray(np.ones(c, np.float32)), asarray(np.zeros(c, np.float32))
        rm, rv = asarray(np.zeros(c, np.float32)), asarray(np.ones(c, np.float32))
        state = {}

        def fwd() -> None:
            state["y"], state["cache"] = F.batch_norm_forward(x, g, b, rm, rv, True)

        def bwd(dout: Any) -> Any:
            return F.batch_norm_backward(dout, state["cache"])
        return fwd, bwd

    def ref(tx: Any) -> Any:
        g = torch.ones(c, requires_grad=True)
        b = torch.zeros(c, requires_grad=True)
        return (lambda: torch.nn.functional.batch_norm(tx, torch.zeros(c), torch.ones(c), g, b, True)), [g, b]
    return OpCase("batch_norm 64ch 14x14", shape, mini, ref)


def _layer_norm_case(batch: int, length: int, features: int) -> OpCase:
    import torch
    from minicnn import functional as F
    from minicnn.backend import asarray

    rng = np.random.default_rng(2)
    w, b = (rng.standard_normal(features).astype(np.float32) for _ in range(2))

    def mini(x: Any) -> Any:
        wd, bd = asarray(w), asarray(b)
        state = {}

        def fwd() -> None:
            state["y"], state["cache"] = F.layer_norm_forward(x, (features,), wd, bd)

        def bwd(dout: Any) -> Any:
            return F.layer_norm_backward(dout, state["cache"])
        return fwd, bwd

    def ref(tx: Any) -> Any:
        tw, tb = (torch.from_numpy(a).requires_grad_() for a in (w, b))
        return (lambda: torch.nn.functional.layer_norm(tx, (features,), tw, tb)), [tw, tb]
    return OpCase(f"layer_norm {features} (L {length})", (batch, length, features), mini, ref)


def _cross_entropy_case(batch: int) -> OpCase:
    import torch
    from minicnn import functional as F
    from minicnn.backend import asarray

    targets = np.random.default_rng(1).integers(0, 1000, batch)

    def mini(x: Any) -> Any:
        t = asarray(targets)
        state = {}

        def fwd() -> None:
            state["y"], state["cache"] = F.cross_entropy_forward(x, t)

        def bwd(dout: Any) -> Any:
            return F.cross_entropy_backward(dout, state["cache"])
        return fwd, bwd

    def ref(tx: Any) -> Any:
        tt = torch.from_numpy(targets)
        return (lambda: torch.nn.functional.cross_entropy(tx, tt)), []
    return OpCase("cross_entropy 1000 classes", (batch, 1000), mini, ref)


class Prepared(NamedTuple):
    """One case ready to run on both engines, from the same input and the same upstream gradient."""

    fwd: Callable[[], Any]
    bwd: Callable[[], Any]
    """minicnn's backward of its last forward: the gradients of every input."""
    torch_fwd: Callable[[], Any]
    torch_fwd_bwd: Callable[[], Any]
    """torch's forward and ``torch.autograd.grad`` of every input (no ``.grad`` accumulates)."""


def prepare(case: OpCase, seed: int = 0) -> Prepared:
    """Random input and random upstream gradient (1 for a scalar loss), shared by minicnn (current backend) and torch."""
    import torch

    from minicnn.backend import asarray

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.shape).astype(np.float32)
    fwd, bwd = case.mini(asarray(x))
    tx = torch.from_numpy(x).requires_grad_()
    tfwd, params = case.ref(tx)
    shape = tuple(tfwd().shape)
    g = rng.standard_normal(shape).astype(np.float32) if shape else np.float32(1)
    dout, tg = (asarray(g) if shape else 1.0), torch.from_numpy(np.asarray(g))
    return Prepared(fwd, lambda: bwd(dout), tfwd, lambda: torch.autograd.grad(tfwd(), [tx, *params], tg))


def run(backend: str, repeats: int) -> list[dict[str, Any]]:
    """Time every case; returns one dict per op with milliseconds and ratios."""
    import minicnn

    minicnn.set_backend(backend)
    rows = []
    for case in cases():
        p = prepare(case)
        for _ in range(2):
            p.fwd(), p.bwd()
        t_f = median_seconds(p.fwd, repeats)
        t_fb = median_seconds(lambda: (p.fwd(), p.bwd()), repeats)
        r_f = median_seconds(p.torch_fwd, repeats)
        r_fb = median_seconds(p.torch_fwd_bwd, repeats)
        rows.append({"op": case.name, "shape": case.shape, "fwd_ms": t_f * 1e3, "bwd_ms": (t_fb - t_f) * 1e3,
                     "torch_fwd_ms": r_f * 1e3, "torch_bwd_ms": (r_fb - r_f) * 1e3,
                     "fwd_ratio": r_f / t_f, "fwd_bwd_ratio": r_fb / t_fb})
    return rows


def format_table(backend: str, rows: list[dict[str, Any]]) -> str:
    """Markdown table; ratio = torch time / minicnn time (above 1 means minicnn is faster)."""
    lines = [f"| op ({backend}) | input | fwd ms | bwd ms | torch fwd ms | torch bwd ms | fwd ratio | fwd+bwd ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['op']} | {'x'.join(map(str, r['shape']))} | {r['fwd_ms']:.2f} | {r['bwd_ms']:.2f} | "
                     f"{r['torch_fwd_ms']:.2f} | {r['torch_bwd_ms']:.2f} | {r['fwd_ratio']:.2f} | "
                     f"**{r['fwd_bwd_ratio']:.2f}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", action="append", choices=["numpy", "numba", "cupy"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    set_threads(args.threads)
    print(machine_line() + f"; same process, {args.threads} threads each")
    print("ratio = torch time / minicnn time (1.00 = as fast as torch)\n")
    for b in args.backend or ["numpy", "numba"]:
        print(format_table(b, run(b, args.repeats)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
