"""Benchmarks: minicnn against PyTorch, each engine in its own fresh process (the headline) or both in one.

``USER_ENV`` is the environment as the benchmarks found it, taken before any of
them sets anything: the fresh processes of ``benchmarks.solo`` and
``benchmarks.startup`` get exactly it, so that they run as a user's script would.
The same-process benchmarks state beside their tables what they set.
"""
import os

USER_ENV = dict(os.environ)
