"""Timing, memory and machine-description helpers shared by the benchmark scripts."""
from __future__ import annotations

import gc
import os
import platform
import statistics
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


def machine_line(threads: int) -> str:
    """One line naming the CPU, the cores, the thread count and the library versions."""
    import numpy
    import torch

    parts = [f"{cpu_model()}, {os.cpu_count()} cores, {threads} threads",
             f"Python {platform.python_version()}", f"NumPy {numpy.__version__}", f"torch {torch.__version__}"]
    try:
        import numba

        parts.append(f"Numba {numba.__version__}")
    except ImportError:
        pass
    return "; ".join(parts)


def set_threads(threads: int) -> None:
    """Give torch and numba the same number of threads.

    minicnn's Numba kernels are imported first: they choose Numba's threading
    layer, which must happen before anything (``numba.set_num_threads``
    included) starts Numba's threads.
    """
    import torch

    from minicnn import backend

    torch.set_num_threads(threads)
    if backend.is_available("numba"):
        import numba

        backend.kernels("numba")
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
