"""Scratch probe for the Winograd convolution: float32 error against float64 and per-layer speed.

    python -m benchmarks.winograd_probe error     # float32 error of each tile size / point set
    python -m benchmarks.winograd_probe speed --backend numba
"""
from __future__ import annotations

import argparse
import time
from fractions import Fraction

import numpy as np
import torch

import minicnn
from minicnn import functional as F
from minicnn.functional import winograd as wg

from .common import set_threads

LAYERS = [("fashion 1->32 28", 1, 32, 28), ("fashion 32->32 28", 32, 32, 28), ("fashion 32->64 14", 32, 64, 14),
          ("fashion 64->64 14", 64, 64, 14), ("custom 3->32 32", 3, 32, 32), ("custom 32->32 32", 32, 32, 32),
          ("custom 32->64 16", 32, 64, 16), ("custom 64->64 16", 64, 64, 16), ("custom 64->128 8", 64, 128, 8),
          ("custom 128->128 8", 128, 128, 8), ("custom 128->256 4", 128, 256, 4), ("custom 256->256 4", 256, 256, 4)]
POINT_SETS = {"F2 (0,1,-1)": (2, (0, 1, -1)), "F4 (0,+-1,+-2)": (4, (0, 1, -1, 2, -2)),
              "F4 (0,+-1,+-1/2)": (4, (0, 1, -1, Fraction(1, 2), Fraction(-1, 2))),
              "F4 (0,+-1,1/2,-2)": (4, (0, 1, -1, Fraction(1, 2), -2))}


def _grads(fn, x, w, b, dy):
    y, cache = fn(x, w, b)
    return (y, *fn.backward(dy, cache))


def error() -> None:
    """Relative error of y, dx, dw (max |err| / max |exact|) against float64 torch, batch 16."""
    rng = np.random.default_rng(0)
    print("| layer | method | y | dx | dw |\n| --- | --- | --- | --- | --- |")
    for name, c_in, c_out, hw in LAYERS[1:4] + LAYERS[7:10]:
        x = rng.standard_normal((16, c_in, hw, hw))
        w = rng.standard_normal((c_out, c_in, 3, 3)) * np.sqrt(2 / (9 * c_in))
        dy = rng.standard_normal((16, c_out, hw, hw))
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        ty = torch.nn.functional.conv2d(tx, tw, None, 1, 1)
        ty.backward(torch.tensor(dy))
        exact = [ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()]
        rows = {}
        tx32, tw32 = (torch.tensor(a, dtype=torch.float32, requires_grad=True) for a in (x, w))
        ty32 = torch.nn.functional.conv2d(tx32, tw32, None, 1, 1)
        ty32.backward(torch.tensor(dy, dtype=torch.float32))
        rows["torch f32"] = [ty32.detach().numpy(), tx32.grad.numpy(), tw32.grad.numpy()]
        x32, w32, dy32 = (a.astype(np.float32) for a in (x, w, dy))
        y, cache = F.conv2d_forward(x32, w32, None, 1, 1)
        rows["im2col f32"] = [y, *F.conv2d_backward(dy32, cache)[:2]]
        for label, (m, pts) in POINT_SETS.items():
            wg.POINTS[m] = pts
            wg._transforms.cache_clear()
            y, cache = wg.winograd_conv2d_forward(x32, w32, None, 1, m)
            rows[label] = [y, *wg.winograd_conv2d_backward(dy32, cache)[:2]]
        for label, got in rows.items():
            errs = [np.abs(g - e).max() / np.abs(e).max() for g, e in zip(got, exact)]
            print(f"| {name} | {label} | " + " | ".join(f"{e:.1e}" for e in errs) + " |")


def speed(backend: str, repeats: int, batch: int, layers: list[str] | None, cpu: bool) -> None:
    """Forward+backward ms per layer: torch, im2col (conv2d_*), Winograd F(2x2) and F(4x4), interleaved
    in the same run; median wall time (or, with ``cpu``, the minimum process CPU time)."""
    minicnn.set_backend(backend)
    rng = np.random.default_rng(0)
    clock = time.process_time if cpu else time.perf_counter
    pick = min if cpu else (lambda ts: float(np.median(ts)))
    print(f"backend {backend}, batch {batch}, float32, {'min CPU time' if cpu else 'median wall time'} of "
          f"{repeats}, torch threads {torch.get_num_threads()}")
    print("| layer | torch ms | im2col ms | F2 ms | F4 ms | im2col/torch | F2/torch | F4/torch | F4/im2col |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    totals: dict[str, list[float]] = {}
    for name, c_in, c_out, hw in LAYERS:
        if layers and not any(s in name for s in layers):
            continue
        x = rng.standard_normal((batch, c_in, hw, hw)).astype(np.float32)
        w = (rng.standard_normal((c_out, c_in, 3, 3)) * 0.1).astype(np.float32)
        b = np.zeros(c_out, np.float32)
        dy = rng.standard_normal((batch, c_out, hw, hw)).astype(np.float32)
        tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        tdy = torch.from_numpy(dy)

        def run_wino(m):
            return lambda: wg.winograd_conv2d_backward(dy, wg.winograd_conv2d_forward(x, w, b, 1, m)[1])
        fns = [lambda: torch.nn.functional.conv2d(tx, tw, tb, 1, 1).backward(tdy),
               lambda: F.conv2d_backward(dy, F.conv2d_forward(x, w, b, 1, 1)[1]), run_wino(2), run_wino(4)]
        times = [[] for _ in fns]
        for f in fns:
            f()
        for _ in range(repeats):
            for f, ts in zip(fns, times):
                start = clock()
                f()
                ts.append(clock() - start)
        t = [pick(ts) * 1e3 for ts in times]
        print(f"| {name} | {t[0]:.1f} | {t[1]:.1f} | {t[2]:.1f} | {t[3]:.1f} | {t[1] / t[0]:.2f} | "
              f"{t[2] / t[0]:.2f} | {t[3] / t[0]:.2f} | {t[3] / t[1]:.2f} |", flush=True)
        total = totals.setdefault(name.split()[0], [0.0, 0.0, 0.0])
        total[0], total[1] = total[0] + t[0], total[1] + t[1]
        total[2] += t[3] if c_in >= 16 else t[1]
    for workload, (torch_ms, im2col_ms, dispatch_ms) in totals.items():
        print(f"{workload} convolutions, all layers: torch {torch_ms:.1f} ms, im2col {im2col_ms:.1f} ms "
              f"({im2col_ms / torch_ms:.2f}x torch), F4 where C_in >= 16 else im2col {dispatch_ms:.1f} ms "
              f"({dispatch_ms / torch_ms:.2f}x torch)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["error", "speed"])
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--layers", nargs="*")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cpu", action="store_true", help="min process CPU time instead of median wall time")
    args = parser.parse_args()
    if args.what == "error":
        error()
    else:
        set_threads(args.threads)
        speed(args.backend, args.repeats, args.batch, args.layers, args.cpu)
