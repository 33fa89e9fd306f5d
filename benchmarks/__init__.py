"""Benchmarks: minicnn against PyTorch in the same process, reported as ratios.

Both engines share the process and its 2 cores. PyTorch's OpenMP threads spin
while they wait for more work, which would steal the cores from whichever engine
runs next; ``OMP_WAIT_POLICY=PASSIVE`` (set here, before anything loads OpenMP,
unless the caller set it) makes them sleep instead. It does not slow PyTorch's
own steps measurably on this machine. ``OPENBLAS_THREAD_TIMEOUT`` is set the way
``import minicnn`` sets it (see ``minicnn/__init__.py``), here because the
benchmarks import NumPy first.

With passive waiting, Numba's OpenMP threading layer is the better one for
minicnn's kernels in a process that also runs PyTorch (custom_cnn training
0.70x torch with it, 0.50-0.54x with the workqueue layer that minicnn picks when
nothing is set; measured 2026-11-30). In a process of its own, as in
``python -m minicnn.train``, the two layers run equally fast. So the benchmarks
ask for ``omp`` unless the caller chose a layer.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
os.environ.setdefault("NUMBA_THREADING_LAYER", "omp")
