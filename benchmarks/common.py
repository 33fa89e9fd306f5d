"""Timing, memory and machine-description helpers shared by the benchmark scripts."""
from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable


def median_seconds(fn: Callable[[], Any], repeats: int, inner: int = 1) -> float:
    """Median over ``repeats`` of the mean time of ``inner`` consecutive calls of ``fn``."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def run_json(module: str, args: list[str]) -> Any:
    """Run ``python -m module *args`` in a fresh process with the user's environment; parse its last output line.

    The environment is :data:`benchmarks.USER_ENV`, as the benchmarks found it
    before setting anything, so the process runs as a user's script would.
    """
    from . import USER_ENV

    out = subprocess.run([sys.executable, "-m", module, *args], env=USER_ENV, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"python -m {module} {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def peak_rss_delta_mib(fn: Callable[[], Any]) -> float:
    """Peak resident memory added while ``fn`` runs, in MiB (Linux: VmHWM after resetting it).

    Resetting the high-water mark needs /proc/self/clear_refs; the value is the
    peak RSS during ``fn`` minus the RSS just before it.
    """
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_kib("VmRSS")
    fn()
    return (_status_kib("VmHWM") - base) / 1024


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """One line naming the CPU, its cores and the library versions."""
    import numpy
    import torch

    parts = [f"{cpu_model()}, {os.cpu_count()} cores", f"Python {platform.python_version()}",
             f"NumPy {numpy.__version__}", f"torch {torch.__version__}"]
    try:
        import numba

        parts.append(f"Numba {numba.__version__}")
    except ImportError:
        pass
    return "; ".join(parts)


def thread_line(engine: str) -> str:
    """The threads an engine runs with in this process: torch's, or Numba's and BLAS's for minicnn."""
    if engine == "torch":
        import torch

        return f"{torch.get_num_threads()} threads"
    from threadpoolctl import threadpool_info

    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info()
                     if i["user_api"] == "blas")
    if engine != "numba":
        return blas
    import numba

    return f"Numba {numba.threading_layer()} layer {numba.get_num_threads()} threads, {blas}"


THREAD_ENV_PREFIXES = ("OMP_", "GOMP_", "KMP_", "OPENBLAS_", "GOTO_", "MKL_", "NUMBA_", "TORCH_")


def thread_env() -> str:
    """The environment variables of this process that steer threads (none, as a user's shell has them)."""
    found = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith(THREAD_ENV_PREFIXES))
    return ", ".join(found) or "none"


def set_threads(threads: int) -> None:
    """Give torch and minicnn (BLAS and Numba, through ``minicnn.threads``) the same number of threads."""
    import torch

    from minicnn import threads as minicnn_threads

    torch.set_num_threads(threads)
    minicnn_threads.set_num_threads(threads)
