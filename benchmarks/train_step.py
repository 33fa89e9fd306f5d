"""Full training steps of minicnn and the identical PyTorch model, in the same process.

    python -m benchmarks.train_step --workload fashion-ref --backend numba --batch-size 128

For each workload: both engines start from one state_dict; each is warmed up
(Numba compiles and BLAS/torch first-call costs excluded), then timed as the
median of several repeats of: zero_grad, forward, cross-entropy, backward,
optimiser step (SGD, lr 0.01, momentum 0.9). Also forward-only (eval mode)
images/s, and the peak RSS of building the model and running two training steps
(measured in a fresh subprocess per engine, after a first engine has loaded the
libraries and kernels, so neither engine's code or caches count).
Prints images/s for each engine and the ratio minicnn / torch.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .common import machine_line, median_seconds, peak_rss_delta_mib, set_threads
from .workloads import WORKLOADS, build


@dataclass
class Result:
    workload: str
    backend: str
    batch: int
    minicnn_train: float
    torch_train: float
    minicnn_infer: float
    torch_infer: float
    minicnn_peak_mib: float | None = None
    torch_peak_mib: float | None = None

    @property
    def train_ratio(self) -> float:
        return self.minicnn_train / self.torch_train

    @property
    def infer_ratio(self) -> float:
        return self.minicnn_infer / self.torch_infer


class MinicnnEngine:
    def __init__(self, workload: str, batch: int, backend: str, state: dict[str, np.ndarray]) -> None:
        import minicnn
        from minicnn import nn, optim

        minicnn.set_backend(backend)
        from minicnn.backend import asarray

        w = WORKLOADS[workload]
        self.model = build(nn, w["spec"]())
        self.model.load_state_dict(state)
        self.opt = optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.loss = nn.CrossEntropyLoss()
        rng = np.random.default_rng(0)
        self.x = asarray(rng.standard_normal((batch, *w["input"])).astype(np.float32))
        self.y = asarray(rng.integers(0, w["classes"], batch))

        self.sync = _cupy_sync if backend == "cupy" else (lambda: None)

    def train_step(self) -> None:
        self.model.train()
        self.opt.zero_grad()
        self.loss.forward(self.model(self.x), self.y)
        self.model.backward(self.loss.backward())
        self.opt.step()
        self.sync()

    def infer(self) -> None:
        self.model.eval()
        self.model(self.x)
        self.sync()


def _cupy_sync() -> None:
    import cupy

    cupy.cuda.Device().synchronize()


class TorchEngine:
    def __init__(self, workload: str, batch: int, state: dict[str, np.ndarray], device: str = "cpu") -> None:
        import torch

        w = WORKLOADS[workload]
        self.torch = torch
        self.device = device
        self.model = build(torch.nn, w["spec"]())
        self.model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        self.model.to(device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.loss = torch.nn.CrossEntropyLoss()
        rng = np.random.default_rng(0)
        self.x = torch.from_numpy(rng.standard_normal((batch, *w["input"])).astype(np.float32)).to(device)
        self.y = torch.from_numpy(rng.integers(0, w["classes"], batch)).to(device)

    def sync(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def train_step(self) -> None:
        self.model.train()
        self.opt.zero_grad()
        self.loss(self.model(self.x), self.y).backward()
        self.opt.step()
        self.sync()

    def infer(self) -> None:
        self.model.eval()
        with self.torch.no_grad():
            self.model(self.x)
        self.sync()


def initial_state(workload: str) -> dict[str, np.ndarray]:
    """One state_dict (from a seeded minicnn model) that both engines load."""
    import minicnn
    from minicnn import nn

    minicnn.manual_seed(0)
    return build(nn, WORKLOADS[workload]["spec"]()).state_dict()


def make_engine(engine: str, workload: str, batch: int, backend: str,
                state: dict[str, np.ndarray] | None = None) -> Any:
    """torch (on CUDA when ``backend`` is cupy) or minicnn on ``backend``, from ``state`` or the seeded weights."""
    state = initial_state(workload) if state is None else state
    if engine == "torch":
        return TorchEngine(workload, batch, state, "cuda" if backend == "cupy" else "cpu")
    return MinicnnEngine(workload, batch, backend, state)


def measure(workload: str, backend: str, batch: int, repeats: int, warmup: int,
            memory: bool, threads: int) -> Result:
    """Time both engines in this process, alternating repeats so machine noise hits both alike."""
    mini = make_engine("minicnn", workload, batch, backend)
    ref = make_engine("torch", workload, batch, backend)
    for _ in range(warmup):
        mini.train_step(), ref.train_step(), mini.infer(), ref.infer()
    train = {"minicnn": [], "torch": []}
    infer = {"minicnn": [], "torch": []}
    for _ in range(repeats):
        for name, eng in (("minicnn", mini), ("torch", ref)):
            train[name].append(median_seconds(eng.train_step, 1))
            infer[name].append(median_seconds(eng.infer, 1))
    med = {k: float(np.median(v)) for k, v in train.items()}
    med_i = {k: float(np.median(v)) for k, v in infer.items()}
    result = Result(workload, backend, batch, batch / med["minicnn"], batch / med["torch"],
                    batch / med_i["minicnn"], batch / med_i["torch"])
    if memory:
        result.minicnn_peak_mib = _peak_in_subprocess("minicnn", workload, batch, backend, threads)
        result.torch_peak_mib = _peak_in_subprocess("torch", workload, batch, backend, threads)
    return result


def _peak_in_subprocess(engine: str, workload: str, batch: int, backend: str, threads: int) -> float:
    out = subprocess.run([sys.executable, "-m", "benchmarks.train_step", "--memory-probe", engine,
                          "--workload", workload, "--batch-size", str(batch), "--backend", backend,
                          "--threads", str(threads)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def _memory_probe(engine: str, workload: str, batch: int, backend: str) -> None:
    """Print the peak RSS of building the engine and running two training steps, over the RSS before.

    A first engine at batch 2 runs and is dropped beforehand, so library code
    and compiled kernels are loaded but hardly any heap is left to reuse; then
    everything a training run holds (weights, optimiser state, the batch,
    activations, gradients, minicnn's reused host buffers) is counted.
    """
    warm = make_engine(engine, workload, 2, backend)
    warm.train_step()
    warm.train_step()
    del warm

    def run() -> None:
        eng = make_engine(engine, workload, batch, backend)
        eng.train_step()
        eng.train_step()

    print(peak_rss_delta_mib(run))


def format_table(results: list[Result]) -> str:
    """A markdown table of the results."""
    lines = ["| workload | backend | batch | minicnn train img/s | torch train img/s | ratio | "
             "minicnn infer img/s | torch infer img/s | ratio | peak MiB minicnn / torch (RSS, model + 2 steps) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        mem = (f"{r.minicnn_peak_mib:.0f} / {r.torch_peak_mib:.0f} ({r.minicnn_peak_mib / r.torch_peak_mib:.2f}x)"
               if r.minicnn_peak_mib is not None and r.torch_peak_mib else "-")
        lines.append(f"| {r.workload} | {r.backend} | {r.batch} | {r.minicnn_train:.0f} | {r.torch_train:.0f} | "
                     f"**{r.train_ratio:.2f}** | {r.minicnn_infer:.0f} | {r.torch_infer:.0f} | "
                     f"{r.infer_ratio:.2f} | {mem} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all")
    p.add_argument("--backend", action="append", choices=["numpy", "numba", "cupy"],
                   help="repeat to compare several (default: numpy and numba)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--memory-probe", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    set_threads(args.threads)
    backends = args.backend or ["numpy", "numba"]
    if args.memory_probe:
        _memory_probe(args.memory_probe, args.workload, args.batch_size, backends[0])
        return 0
    workloads = list(WORKLOADS) if args.workload == "all" else [args.workload]
    print(machine_line() + f"; same process, {args.threads} threads each")
    results = []
    for workload in workloads:
        for b in backends:
            r = measure(workload, b, args.batch_size, args.repeats, args.warmup, not args.no_memory, args.threads)
            results.append(r)
            print(f"{workload:12s} {b:6s} batch {args.batch_size}: train {r.minicnn_train:7.0f} img/s vs torch "
                  f"{r.torch_train:7.0f} -> {r.train_ratio:.2f}x; infer {r.infer_ratio:.2f}x", flush=True)
    print()
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) | {"train_ratio": r.train_ratio, "infer_ratio": r.infer_ratio} for r in results],
                      f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
