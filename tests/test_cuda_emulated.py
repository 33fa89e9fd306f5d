"""The CuPy backend's wrappers and CUDA sources, run on the CPU by an emulator and compared with numpy_ref.

No GPU is needed: tests/cuda_emulator.py compiles the .cu files with g++ (block threads
are real threads with a barrier) and stands in for CuPy in a process of its own. This
catches wrong launch arguments, indexing and synchronisation in the CUDA code on every CI
run; the cupy tests proper still need a GPU.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _cxx20_reason(tmp: Path) -> str | None:
    """Why the emulator cannot run here (None when it can): it needs g++ with C++20's <barrier>."""
    if shutil.which("g++") is None:
        return "needs g++ to emulate the CUDA kernels on the CPU"
    probe = tmp / "probe.cpp"
    probe.write_text("#include <barrier>\nint main() { std::barrier<> b(1); b.arrive_and_wait(); }\n")
    result = subprocess.run(["g++", "-std=c++20", "-pthread", str(probe), "-o", str(tmp / "probe")],
                            capture_output=True, text=True)
    return None if result.returncode == 0 else "needs g++ with C++20 <barrier> to emulate the CUDA kernels"


def test_cupy_kernels_match_the_reference_under_cpu_emulation(tmp_path):
    reason = _cxx20_reason(tmp_path)
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "MINICNN_CUDA_EMULATOR_BUILD": str(tmp_path / "build")}
    env.pop("MINICNN_BACKEND", None)
    result = subprocess.run([sys.executable, str(HERE / "cuda_emulated_run.py")], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "all match" in result.stdout
    assert int(result.stdout.split("compared ")[1].split()[0]) > 1000
