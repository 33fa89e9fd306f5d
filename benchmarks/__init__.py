"""Benchmarks: minicnn against PyTorch in the same process, reported as ratios."""
