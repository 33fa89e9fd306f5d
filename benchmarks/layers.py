"""Where a training step's time goes, layer by layer: minicnn and torch, each in its own fresh process.

    python -m benchmarks.layers [--workload fashion-ref] [--backend numba] [--runs 3] [--steps 10] [--batch-size 128]

Each process (default environment, see ``benchmarks.solo``) builds the workload
(batch 128) from the shared weights, warms up, then runs training steps one layer
at a time, timing each layer's forward and backward, the loss (forward and
backward), zero_grad and the SGD step. torch runs each layer on a detached copy
of its input that requires grad (the first layer's input does not, as in a real
step) and backpropagates layer by layer: the same work as a whole step, plus one
autograd call per layer. Each figure is the median over a process's steps, then
over the processes, which alternate engines.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Callable

from .common import run_json


def _timed(fn: Callable[[], Any], times: list[float]) -> Any:
    start = time.perf_counter()
    out = fn()
    times.append((time.perf_counter() - start) * 1e3)
    return out


def _minicnn_step(eng: Any, t: dict[str, list[list[float]]]) -> None:
    layers = list(eng.model)
    _timed(eng.opt.zero_grad, t["zero_grad"][0])
    x = eng.x
    for i, layer in enumerate(layers):
        x = _timed(lambda: layer(x), t["fwd"][i])
    dy = _timed(lambda: (eng.loss.forward(x, eng.y), eng.loss.backward())[1], t["loss"][0])
    for i in reversed(range(len(layers))):
        dy = _timed(lambda: layers[i].backward(dy), t["bwd"][i])
    _timed(eng.opt.step, t["sgd"][0])


def _torch_step(eng: Any, t: dict[str, list[list[float]]]) -> None:
    layers = list(eng.model)
    _timed(eng.opt.zero_grad, t["zero_grad"][0])
    ins, outs = [], []
    x = eng.x
    for i, layer in enumerate(layers):
        x_in = x.detach().requires_grad_(i > 0)
        x = _timed(lambda: layer(x_in), t["fwd"][i])
        ins.append(x_in), outs.append(x)
    last = x.detach().requires_grad_()
    _timed(lambda: eng.loss(last, eng.y).backward(), t["loss"][0])
    dy = last.grad
    for i in reversed(range(len(layers))):
        _timed(lambda: outs[i].backward(dy), t["bwd"][i])
        dy = ins[i].grad
    _timed(eng.opt.step, t["sgd"][0])


def _child(engine: str, workload: str, batch: int, steps: int, warmup: int, state_path: str) -> None:
    """In the fresh process: print a JSON line of median milliseconds per layer (fwd, bwd), loss, zero_grad, SGD."""
    import numpy as np

    from .train_step import make_engine

    with np.load(state_path) as f:
        eng = make_engine(engine, workload, batch, engine, dict(f))
    eng.model.train()
    n = len(list(eng.model))
    step = _torch_step if engine == "torch" else _minicnn_step

    def new() -> dict[str, list[list[float]]]:
        return {"fwd": [[] for _ in range(n)], "bwd": [[] for _ in range(n)], "loss": [[]], "zero_grad": [[]],
                "sgd": [[]]}
    for _ in range(warmup):
        step(eng, new())
    acc = new()
    for _ in range(steps):
        step(eng, acc)
    print(json.dumps({k: [statistics.median(r) for r in rows] for k, rows in acc.items()}))


def measure(workload: str, backend: str, runs: int, steps: int = 10, warmup: int = 3,
            batch: int = 128) -> dict[str, dict]:
    """{engine: {"fwd": [ms per layer], "bwd": [...], "loss": [ms], "zero_grad": [ms], "sgd": [ms]}}, medians."""
    import numpy as np

    from .train_step import initial_state

    per_run: dict[str, list[dict]] = {"torch": [], backend: []}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "state.npz")
        np.savez(path, **initial_state(workload))
        for r in range(runs):
            for e in (("torch", backend) if r % 2 else (backend, "torch")):
                per_run[e].append(run_json("benchmarks.layers", ["--child", e, "--workload", workload,
                                                                 "--batch-size", str(batch), "--steps", str(steps),
                                                                 "--warmup", str(warmup), "--state", path]))
    return {e: {k: [statistics.median(v) for v in zip(*(d[k] for d in ds))] for k in ds[0]}
            for e, ds in per_run.items()}


def format_table(workload: str, backend: str, ms: dict[str, dict]) -> str:
    """Markdown: per layer, minicnn and torch forward and backward ms, and each layer's share of minicnn's step."""
    from .workloads import WORKLOADS

    mini, ref = ms[backend], ms["torch"]
    total, total_ref = (sum(sum(v) for v in d.values()) for d in (mini, ref))
    lines = [f"| {workload} layer | minicnn {backend} fwd ms | torch fwd ms | minicnn bwd ms | torch bwd ms | "
             "share of minicnn step |", "|---|---|---|---|---|---|"]
    for i, (name, args, kwargs) in enumerate(WORKLOADS[workload]["spec"]()):
        label = f"{i} {name}({', '.join([*map(str, args), *(f'{k}={v}' for k, v in kwargs.items())])})"
        lines.append(f"| {label} | {mini['fwd'][i]:.2f} | {ref['fwd'][i]:.2f} | {mini['bwd'][i]:.2f} | "
                     f"{ref['bwd'][i]:.2f} | {(mini['fwd'][i] + mini['bwd'][i]) / total:.0%} |")
    for key, label in (("loss", "cross-entropy, forward and backward"), ("zero_grad", "zero_grad"),
                       ("sgd", "SGD step (momentum)")):
        lines.append(f"| {label} | {mini[key][0]:.2f} | {ref[key][0]:.2f} | | | {mini[key][0] / total:.0%} |")
    lines.append(f"| **total** | **{sum(mini['fwd']):.1f}** | **{sum(ref['fwd']):.1f}** | **{sum(mini['bwd']):.1f}** | "
                 f"**{sum(ref['bwd']):.1f}** | step {total:.1f} ms, torch {total_ref:.1f} ms |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from .workloads import WORKLOADS

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", choices=list(WORKLOADS), default="fashion-ref")
    p.add_argument("--backend", choices=["numpy", "numba"], default="numba")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--state", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        _child(args.child, args.workload, args.batch_size, args.steps, args.warmup, args.state)
        return 0
    ms = measure(args.workload, args.backend, args.runs, args.steps, args.warmup, args.batch_size)
    print(format_table(args.workload, args.backend, ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
