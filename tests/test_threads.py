"""Threads are set at run time: the same whichever of NumPy and minicnn is imported first, and put back after a block."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import minicnn
from minicnn import backend, nn, threads

numba_only = pytest.mark.skipif(not backend.is_available("numba"), reason="needs numba")


class Probe(nn.Module):
    """Identity layer that records (BLAS threads, Numba threads) as a minicnn step runs it."""

    def __init__(self, seen: list) -> None:
        super().__init__()
        self.seen = seen

    def forward(self, x):
        import numba

        self.seen.append((threads.get_num_threads(), numba.get_num_threads()))
        return x

    def backward(self, dy):
        return dy


def _step(seen: list) -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), Probe(seen), nn.ReLU())
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    model.backward(model(x))


@numba_only
def test_num_threads_holds_for_the_block_and_puts_blas_and_numba_back():
    import numba

    backend.kernels("numba")
    before = (threads.get_num_threads(), numba.get_num_threads())
    seen: list = []
    with minicnn.use_backend("numba"), threads.num_threads(1):
        _step(seen)
    assert seen == [(1, 1)]
    assert (threads.get_num_threads(), numba.get_num_threads()) == before


@numba_only
def test_a_users_threadpoolctl_limit_is_respected_and_restored_around_minicnn():
    backend.kernels("numba")
    before = threads.get_num_threads()
    seen: list = []
    with threadpool_limits(1, user_api="blas"), minicnn.use_backend("numba"):
        _step(seen)
        with threads.num_threads(2):
            _step(seen)
        _step(seen)
        assert threads.get_num_threads() == 1
    assert [blas for blas, _ in seen] == [1, 2, 1]
    assert threads.get_num_threads() == before


def test_set_num_threads_refuses_what_is_not_a_positive_integer():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            threads.set_num_threads(bad)


_ORDER = """
import json, os
{first}
{second}
from threadpoolctl import threadpool_info
import numba
from minicnn import backend, threads
from tests.test_threads import _step
threads.set_num_threads(1)                 # before the numba backend loads: applied when it does
seen = []
with minicnn.use_backend("numba"):
    _step(seen)
print(json.dumps({{"blas": [(i["internal_api"], i["num_threads"]) for i in threadpool_info()],
                  "layer": numba.threading_layer(), "seen": seen,
                  "env": sorted(k for k in os.environ if k.startswith(("OPENBLAS", "OMP", "NUMBA")))}}))
"""


@numba_only
def test_both_import_orders_run_a_step_with_the_same_threads_and_no_variable_set():
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("OPENBLAS", "OMP", "NUMBA"))}
    runs = []
    for first, second in (("import numpy", "import minicnn"), ("import minicnn", "import numpy")):
        code = textwrap.dedent(_ORDER.format(first=first, second=second))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert runs[0] == runs[1]
    assert runs[0]["layer"] == "workqueue" and runs[0]["seen"] == [[1, 1]] and runs[0]["env"] == []
    assert [n for api, n in runs[0]["blas"] if api == "openblas"] == [1]
