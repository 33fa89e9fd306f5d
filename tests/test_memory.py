"""minicnn.memory: once a CPU backend loads its kernels, a freed large array's pages serve the next one."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CHILD = """
import resource, numpy as np, minicnn
untouched = minicnn.memory._applied is None          # import minicnn alone changes nothing
minicnn.backend.kernels("numpy")
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(2):
    a = np.ones(40 << 18, np.float32); del a          # 40 MiB, above glibc's largest dynamic mmap threshold
before = faults()
a = np.ones(40 << 18, np.float32); del a
print(untouched, minicnn.memory.keep_freed_memory(), faults() - before)
"""


def _run(keep: str) -> tuple[str, str, int]:
    env = {**os.environ, "MINICNN_KEEP_FREED_MEMORY": keep}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    untouched, applied, faults = out.stdout.split()
    return untouched, applied, int(faults)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                    reason="the thresholds are glibc's; elsewhere minicnn leaves malloc alone")
def test_a_freed_large_array_serves_the_next_without_page_faults_unless_opted_out():
    kept, default = _run("1"), _run("0")
    assert kept[:2] == ("True", "True") and default[:2] == ("True", "False")
    assert default[2] >= 20                              # a fresh 40 MiB mapping: at least 20 faults (2 MiB pages)
    assert kept[2] < 20 and kept[2] * 4 < default[2]
