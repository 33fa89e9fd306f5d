"""Regenerate benchmarks/RESULTS.md from the benchmark scripts (never edit it by hand).

    python -m benchmarks.report                 # CPU: solo processes (the README's table), then the rest
    python -m benchmarks.report --gpu           # on a CUDA machine: cupy vs torch CUDA, batch 128 and 512

The CPU and GPU sections are kept separately: regenerating one keeps the other.
"""
from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import sys

from . import layers, ops, solo, startup, train_step
from .common import machine_line, set_threads

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")
README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
MARK = "<!-- section:{} -->"


def _section(name: str, body: str) -> str:
    return f"{MARK.format(name)}\n{body.strip()}\n{MARK.format(name + '-end')}\n"


def _replace(text: str, name: str, body: str) -> str:
    start, end = MARK.format(name), MARK.format(name + "-end")
    new = _section(name, body)
    if start in text and end in text:
        head, rest = text.split(start, 1)
        return head + new + rest.split(end, 1)[1].lstrip("\n")
    return text.rstrip("\n") + "\n\n" + new


def readme_table(results: list[solo.SoloResult], stamp: str, runs: int) -> str:
    """The README's table: the headline (each engine in its own process); the other tables are in RESULTS.md."""
    lines = [f"{stamp}, {machine_line()}; each engine in its own fresh process with the default environment, "
             f"batch 128, float32, median of {runs} alternated runs:", "",
             "| workload | engine | training img/s | x torch | inference x torch | peak memory x torch |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.workload} | {solo.LABELS[r.engine]} | {r.median('train'):.0f} | "
                     f"{solo.ratio(results, r, 'train')} | {solo.ratio(results, r, 'infer')} | "
                     f"{solo.ratio(results, r, 'peak_mib')} |")
    return "\n".join(lines)


def torch_alone_rows(results: list[solo.SoloResult]) -> str:
    """Rows for the same-process table: torch's figures from the headline, in a process of its own."""
    return "\n".join(f"| {r.workload} | torch alone (own process) | 128 | - | {r.median('train'):.0f} | - | - | "
                     f"{r.median('infer'):.0f} | - | {r.median('peak_mib'):.0f} MiB |" for r in results
                     if r.engine == "torch")


def cpu_section(runs: int, repeats: int, threads: int) -> tuple[str, str]:
    """(the CPU section of RESULTS.md, the README's table), from one run of the benchmarks."""
    stamp = datetime.date.today().isoformat()
    load = os.getloadavg()[0]
    headline = solo.measure(list(train_step.WORKLOADS), list(solo.ENGINES), runs)
    profile = layers.measure("fashion-ref", "numba", runs)
    set_threads(threads)
    same = [train_step.measure(w, b, 128, repeats, 2, True, threads)
            for w in train_step.WORKLOADS for b in ("numpy", "numba")]
    start = startup.measure(5, "numba")
    op_tables = [ops.format_table(b, ops.run(b, repeats)) for b in ("numpy", "numba")]
    lines = [f"## CPU ({stamp})", "", f"Machine: {machine_line()}. Load average (1 min) {load:.1f} when the run "
             f"started and {os.getloadavg()[0]:.1f} when it ended; on 2 cores anything above about 0.5 means "
             "other work shared the cores and the figures are noisy.", "",
             "### Headline: each engine in its own fresh process (`python -m benchmarks.solo`)", "",
             "A new Python process per engine, workload and run, started with the environment as the harness found "
             "it (it sets no thread, wait-policy or threading-layer variable), as a user runs `python "
             "-m minicnn.train` or a script; minicnn's processes `import numpy` before `import minicnn`. Warm-up "
             "steps inside each process keep Numba's loading (or compiling) of its kernels out of the timing. "
             f"Batch 128, float32, SGD with momentum; median over {runs} runs that alternate the engines (lowest "
             "and highest run in brackets); ratios are of the medians. Peak memory is the peak RSS added by "
             "building the model and running two training steps, after a batch-2 model has loaded the libraries "
             f"and kernels. Threads as the processes found them: {solo.threads_note(headline)}.", "",
             solo.format_table(headline), "",
             "### A numba training step, layer by layer (`python -m benchmarks.layers`)", "",
             "fashion-ref, batch 128, each engine in its own fresh process as above; milliseconds, median over "
             f"steps and {runs} processes.", "",
             layers.format_table("fashion-ref", "numba", profile), "",
             "### Same process (`python -m benchmarks.train_step`)", "",
             "Both engines in one process from the same weights, alternating steps: a cross-check that machine "
             "noise hits both alike, not how a user runs either. Set by the script: `torch.set_num_threads"
             f"({threads})` and `numba.set_num_threads({threads})`; no environment variable. Both engines' "
             "waiting threads (torch's OpenMP pool, OpenBLAS's, Numba's) share the cores, so each is slower than "
             "alone: the torch-alone rows repeat torch's headline figures.", "",
             train_step.format_table(same), torch_alone_rows(headline), "",
             "### Start-up (`python -m benchmarks.startup`)", "", "Median over fresh processes.", "",
             startup.format_table(start, "numba"), "",
             "### Ops (`python -m benchmarks.ops`)", "",
             f"Same process and settings as the same-process table; milliseconds at batch 128; ratio = torch time / "
             "minicnn time; both engines get the same input and upstream gradient.", ""]
    for table in op_tables:
        lines += [table, ""]
    return "\n".join(lines), readme_table(headline, stamp, runs)


def gpu_section(repeats: int) -> str:
    stamp = datetime.date.today().isoformat()
    import cupy

    name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    results = [train_step.measure(w, "cupy", batch, repeats, 3, False, 1)
               for w in train_step.WORKLOADS for batch in (128, 512)]
    return "\n".join([f"## GPU ({stamp})", "", f"Device: {name}; torch CUDA eager as the reference.", "",
                      train_step.format_table(results), "",
                      ops.format_table("cupy", ops.run("cupy", repeats))])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gpu", action="store_true")
    p.add_argument("--runs", type=int, default=3, help="fresh processes per engine for the headline (at least 3)")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats in the same-process benchmarks")
    p.add_argument("--threads", type=int, default=2, help="threads per engine in the same-process benchmarks")
    args = p.parse_args(argv)
    text = RESULTS.read_text() if RESULTS.exists() else (
        "# Benchmark results\n\nGenerated by `python -m benchmarks.report`; do not edit by hand.\n")
    if args.gpu:
        set_threads(args.threads)
        text = _replace(text, "gpu", gpu_section(args.repeats))
    else:
        body, table = cpu_section(args.runs, args.repeats, args.threads)
        text = _replace(text, "cpu", body)
        README.write_text(_replace(README.read_text(), "benchmark-table", table))
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
