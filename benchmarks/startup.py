"""Start-up costs, each measured in fresh interpreters: ``import minicnn``, and a new process's first training step.

    python -m benchmarks.startup [--runs 5] [--backend numba]

* import: wall time of ``import minicnn`` inside a new interpreter (NumPy
  included, since minicnn imports it; numba must not be imported).
* first step: in a new process, build the fashion-ref model on the backend and
  time its FIRST training step at batch 128 (forward, loss, backward, SGD step),
  which includes loading every Numba kernel it uses from the on-disk cache. One
  untimed process runs first so that the cache is warm, as it is for a user's
  second run; the compile itself is reported separately as the cold time of
  that first process when it had to compile.

Each figure is the median over ``--runs`` processes.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap

from . import USER_ENV

_IMPORT = """
import time
start = time.perf_counter()
import minicnn
elapsed = time.perf_counter() - start
import sys
print(elapsed, "numba" in sys.modules)
"""

_FIRST_STEP = """
import time
import numpy as np
import minicnn
from minicnn import nn, optim
from benchmarks.workloads import WORKLOADS, build

minicnn.set_backend({backend!r})
w = WORKLOADS["fashion-ref"]
start = time.perf_counter()
model = build(nn, w["spec"]())
opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
loss = nn.CrossEntropyLoss()
rng = np.random.default_rng(0)
x = rng.standard_normal((128, *w["input"])).astype(np.float32)
y = rng.integers(0, 10, 128)
opt.zero_grad()
loss.forward(model(x), y)
model.backward(loss.backward())
opt.step()
print(time.perf_counter() - start)
"""


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=USER_ENV, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def measure(runs: int, backend: str) -> dict[str, float | bool]:
    """Median import time (s), whether numba got imported, first-step times (s): first process, then warm."""
    imports = [_run(_IMPORT).split() for _ in range(runs)]
    first_process = float(_run(_FIRST_STEP.format(backend=backend)))
    warm = [float(_run(_FIRST_STEP.format(backend=backend))) for _ in range(runs)]
    return {"import_s": statistics.median(float(t) for t, _ in imports),
            "import_loads_numba": any(flag == "True" for _, flag in imports),
            "first_process_first_step_s": first_process,
            "warm_first_step_s": statistics.median(warm)}


def format_table(result: dict[str, float | bool], backend: str) -> str:
    """A markdown table of the start-up figures against their targets."""
    return "\n".join([
        "| what | time | target |", "|---|---|---|",
        f"| `import minicnn` (fresh interpreter; imports numba: {result['import_loads_numba']}) | "
        f"{result['import_s']:.2f} s | < 0.5 s |",
        f"| first training step of a new process, {backend}, Numba cache warm (fashion-ref, batch 128) | "
        f"{result['warm_first_step_s']:.2f} s | < 2 s |",
        f"| the same in the run's first process (compiles if the cache was cold) | "
        f"{result['first_process_first_step_s']:.2f} s | - |",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--backend", choices=["numpy", "numba"], default="numba")
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args(argv)
    result = measure(args.runs, args.backend)
    print(format_table(result, args.backend))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
