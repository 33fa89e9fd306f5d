"""The headline speed table: each engine in its own fresh process, as a user runs it.

    python -m benchmarks.solo [--workload all] [--engine numba ...] [--runs 3] [--first numpy]

Every measurement is a new ``python`` process started with the caller's environment
as it was when the harness started (the harness sets no thread, wait-policy or
threading-layer variable), which imports only its own engine: torch eager, or
minicnn on the numba or numpy backend (``import numpy`` first, as a user's script
does; ``--first minicnn`` imports minicnn first). It loads the shared seeded
weights, measures the peak memory of building the model at batch 128 and running
two training steps, warms up (Numba loads its kernels from the on-disk cache,
compiling them if it is cold; BLAS and torch allocate), then times training steps
(zero_grad, forward, cross-entropy, backward, SGD with momentum) and forward passes
in eval mode. Runs alternate the engines, starting each round with the next
one, so that machine noise hits all alike; tables give the median over runs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field

from .common import run_json

ENGINES = ("torch", "numba", "numpy")
LABELS = {"torch": "torch eager", "numba": "minicnn numba", "numpy": "minicnn numpy"}


@dataclass
class SoloResult:
    """One engine on one workload: the per-run figures of every fresh process."""

    workload: str
    engine: str
    train: list[float] = field(default_factory=list)
    infer: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)
    threads: str = ""
    env: str = ""
    """The thread-steering environment variables the fresh process saw."""

    def median(self, what: str) -> float:
        return statistics.median(getattr(self, what))


def _child(engine: str, workload: str, batch: int, steps: int, warmup: int, first: str, state_path: str) -> None:
    """Run in the fresh process: print one JSON line with images/s per run step, peak MiB and threads."""
    if first == "minicnn" and engine != "torch":
        import minicnn  # noqa: F401  (before NumPy, as --first asks)
    import numpy as np

    from .common import peak_rss_delta_mib, thread_env, thread_line
    from .train_step import make_engine

    with np.load(state_path) as f:
        state = dict(f)
    warm = make_engine(engine, workload, 2, engine, state)
    warm.train_step(), warm.train_step()
    del warm
    held = []

    def build_and_step() -> None:
        held.append(make_engine(engine, workload, batch, engine, state))
        held[0].train_step(), held[0].train_step()

    peak = peak_rss_delta_mib(build_and_step)
    eng = held[0]
    for _ in range(warmup):
        eng.train_step(), eng.infer()
    train, infer = [], []
    for _ in range(steps):
        for fn, out in ((eng.train_step, train), (eng.infer, infer)):
            start = time.perf_counter()
            fn()
            out.append(batch / (time.perf_counter() - start))
    print(json.dumps({"train": statistics.median(train), "infer": statistics.median(infer), "peak_mib": peak,
                      "threads": thread_line(engine), "env": thread_env()}))


def _run_child(engine: str, workload: str, batch: int, steps: int, warmup: int, first: str, state: str) -> dict:
    return run_json("benchmarks.solo", ["--child", engine, "--workload", workload, "--batch-size", str(batch),
                                        "--steps", str(steps), "--warmup", str(warmup), "--first", first,
                                        "--state", state])


def measure(workloads: list[str], engines: list[str], runs: int, batch: int = 128, steps: int = 10,
            warmup: int = 3, first: str = "numpy") -> list[SoloResult]:
    """``runs`` rounds; each round runs every (workload, engine) once, each in a fresh process."""
    from .train_step import initial_state

    import numpy as np

    results = {(w, e): SoloResult(w, e) for w in workloads for e in engines}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for w in workloads:
            paths[w] = os.path.join(tmp, f"{w}.npz")
            np.savez(paths[w], **initial_state(w))
        for r in range(runs):
            for w in workloads:
                for e in engines[r % len(engines):] + engines[:r % len(engines)]:
                    row = _run_child(e, w, batch, steps, warmup, first, paths[w])
                    res = results[(w, e)]
                    res.train.append(row["train"]), res.infer.append(row["infer"]), res.peak_mib.append(row["peak_mib"])
                    res.threads, res.env = row["threads"], row["env"]
    return list(results.values())


def ratio(results: list[SoloResult], r: SoloResult, what: str) -> str:
    """``r``'s median over torch's on the same workload, as a table cell (training in bold)."""
    ref = next((t for t in results if t.workload == r.workload and t.engine == "torch"), None)
    if ref is None:
        return "-"
    ratio = r.median(what) / ref.median(what)
    return f"**{ratio:.2f}x**" if what == "train" else f"{ratio:.2f}x"


def format_table(results: list[SoloResult]) -> str:
    """Markdown: median images/s (lowest-highest run), the ratio to torch of the medians, peak memory."""
    lines = ["| workload | engine | training img/s | x torch | inference img/s | x torch | peak MiB | x torch |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        cells = [f"{r.median(w):.0f} ({min(getattr(r, w)):.0f}-{max(getattr(r, w)):.0f})" for w in ("train", "infer")]
        lines.append(f"| {r.workload} | {LABELS[r.engine]} | {cells[0]} | {ratio(results, r, 'train')} | {cells[1]} | "
                     f"{ratio(results, r, 'infer')} | {r.median('peak_mib'):.0f} | {ratio(results, r, 'peak_mib')} |")
    return "\n".join(lines)


def threads_note(results: list[SoloResult]) -> str:
    """One line naming each engine's threads as its process found them, and the thread variables it saw."""
    seen = {r.engine: r.threads for r in results}
    env = sorted({r.env for r in results})
    return "; ".join(f"{LABELS[e]}: {t}" for e, t in seen.items()) + f"; thread environment variables: {', '.join(env)}"


def main(argv: list[str] | None = None) -> int:
    from .workloads import WORKLOADS

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all")
    p.add_argument("--engine", action="append", choices=ENGINES, help="repeat for several (default: all three)")
    p.add_argument("--runs", type=int, default=3, help="fresh processes per engine and workload")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=10, help="timed steps per process (the process reports the median)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--first", choices=["numpy", "minicnn"], default="numpy", help="what minicnn's processes import first")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    p.add_argument("--state", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        _child(args.child, args.workload, args.batch_size, args.steps, args.warmup, args.first, args.state)
        return 0
    from .common import machine_line

    workloads = list(WORKLOADS) if args.workload == "all" else [args.workload]
    results = measure(workloads, args.engine or list(ENGINES), args.runs, args.batch_size, args.steps,
                      args.warmup, args.first)
    print(machine_line())
    print(threads_note(results) + "\n")
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([r.__dict__ for r in results], f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
