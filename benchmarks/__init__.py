"""Benchmarks: minicnn against PyTorch in the same process, reported as ratios.

Both engines share the process and its 2 cores. PyTorch's OpenMP threads spin
while they wait for more work, which would steal the cores from whichever engine
runs next; ``OMP_WAIT_POLICY=PASSIVE`` (set here, before anything loads OpenMP,
unless the caller set it) makes them sleep instead. It does not slow PyTorch's
own steps measurably on this machine. ``OPENBLAS_THREAD_TIMEOUT`` is set the way
``import minicnn`` sets it (see ``minicnn/__init__.py``), here because the
benchmarks import NumPy first.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
