"""Every op of minicnn.functional against PyTorch, from the table in tests/op_table.py.

For each row, backend and dtype, hypothesis draws cases; each is run through our forward and
backward and through torch's function with the same arguments and the same random upstream
gradient (never ones). Compared, in this order: the output's shape, dtype and values; then for
every input with a gradient slot its gradient's presence, shape, dtype and values; then every
State array after the call. Our inputs and the upstream gradient must come back unchanged.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minicnn import backend
from minicnn import functional as F
from minicnn.testing import assert_close
from op_table import ROWS, Arr, Case, Row, State, map_markers, markers

DTYPE_IDS = {np.dtype(np.float64): "f64", np.dtype(np.float32): "f32"}


def _flatten(grads: Any) -> list[Any]:
    """The backward's result as a flat list: a single array, or tuples/lists of them, nested."""
    if isinstance(grads, (tuple, list)):
        return [g for item in grads for g in _flatten(item)]
    return [grads]


def _on_torch(case: Case) -> tuple[tuple, dict, list[torch.Tensor | None]]:
    """The case's arguments as torch tensors (floating Arr ones require grad), and one tensor (or None)
    per marker, in order."""
    tensors: list[torch.Tensor | None] = []

    def to_torch(m: Any) -> torch.Tensor | None:
        x = None if m.value is None else torch.from_numpy(np.array(m.value, copy=True))
        if x is not None and isinstance(m, Arr) and x.is_floating_point():
            x.requires_grad_(True)
        tensors.append(x)
        return x
    return map_markers(case.args, to_torch), map_markers(case.kwargs, to_torch), tensors


def _on_backend(case: Case) -> tuple[tuple, dict, list[Any]]:
    """The case's arguments as arrays of the current backend (copies), and one array (or None) per marker."""
    arrays: list[Any] = []

    def to_backend(m: Any) -> Any:
        a = None if m.value is None else backend.asarray(np.array(m.value, copy=True))
        arrays.append(a)
        return a
    return map_markers(case.args, to_backend), map_markers(case.kwargs, to_backend), arrays


def check_against_torch(row: Row, case: Case, dtype: Any) -> None:
    """Run ``case`` (cast to ``dtype``) through row.op and row.torch; compare everything (module docstring)."""
    case, dtype = case.cast(dtype), np.dtype(dtype)
    tol = row.tol(dtype)
    found = markers(case)
    forward, backward = F.OPS[row.op]

    targs, tkwargs, tensors = _on_torch(case)
    torch.default_generator.manual_seed(case.seed)        # the CPU generator only: cheap
    tout = row.torch(*targs, **tkwargs)
    dout = np.random.default_rng(case.seed + 1).standard_normal(tuple(tout.shape)).astype(dtype)
    tout.backward(torch.from_numpy(dout.copy()))

    args, kwargs, arrays = _on_backend(case)
    dout_d = backend.asarray(dout.copy())
    with row.context(case):
        out, cache = forward(*args, **kwargs)
        host = backend.to_numpy(out)
        assert host.shape == tuple(tout.shape), f"{row.id}: output shape {host.shape} != torch's {tuple(tout.shape)}"
        assert host.dtype == dtype, f"{row.id}: output is {host.dtype} for {dtype} input"
        assert_close(host, tout.detach().numpy(), tol.rtol, tol.atol, f"{row.id} output")
        grads = _flatten(backward(dout_d, cache))

    slots = [i for i, m in enumerate(found) if isinstance(m, Arr)]
    assert len(grads) == len(slots), (f"{row.id}: backward returned {len(grads)} gradient(s) for "
                                      f"{len(slots)} array input(s)")
    for k, (i, g) in enumerate(zip(slots, grads)):
        m, name = found[i], f"{row.id} gradient {k}"
        if m.value is None or m.value.dtype.kind != "f":
            assert g is None, f"{name}: expected None for {'an absent' if m.value is None else 'an integer'} input"
            continue
        assert g is not None, f"{name}: got None for a floating input"
        g = backend.to_numpy(g)
        assert g.dtype == m.value.dtype, f"{name}: {g.dtype} for a {m.value.dtype} input"
        want = tensors[i].grad
        want = np.zeros_like(m.value) if want is None else want.numpy()
        assert_close(g, want, tol.rtol, tol.atol, name)
    for i, m in enumerate(found):
        if isinstance(m, State):
            got = backend.to_numpy(arrays[i])
            assert got.dtype == m.value.dtype, f"{row.id} state {i}: {got.dtype}, was {m.value.dtype}"
            assert_close(got, tensors[i].numpy(), tol.rtol, tol.atol, f"{row.id} state {i} after the call")
        elif m.value is not None:
            assert np.array_equal(backend.to_numpy(arrays[i]), m.value), f"{row.id}: input {i} was modified"
    assert np.array_equal(backend.to_numpy(dout_d), dout), f"{row.id}: the backward modified dout"


def test_every_op_has_a_row_and_every_row_an_op():
    ops, rows = set(F.OPS), {row.op for row in ROWS}
    assert not ops - rows, f"ops of minicnn.functional.OPS without a row in tests/op_table.py: {sorted(ops - rows)}"
    assert not rows - ops, f"rows of tests/op_table.py naming no op of minicnn.functional.OPS: {sorted(rows - ops)}"
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)), "two rows share an op and variant"


@pytest.mark.parametrize("row, dtype", [pytest.param(row, np.dtype(dtype), id=f"{row.id}-{DTYPE_IDS[np.dtype(dtype)]}")
                                        for row in ROWS for dtype in row.dtypes])
@given(data=st.data())
def test_op_matches_torch(backend_name, row, dtype, data):
    check_against_torch(row, data.draw(row.case, label=row.id), dtype)


# ---- the runner itself: it passes a right op with a list input and catches wrong ones ---------------

def _cat_forward(xs: list[Any], dim: int = 1) -> tuple[Any, Any]:
    return np.concatenate(xs, dim), (dim, [x.shape[dim] for x in xs])


def _cat_backward(dout: Any, cache: Any) -> tuple[Any, ...]:
    dim, sizes = cache
    return tuple(np.split(dout, np.cumsum(sizes)[:-1], dim))


def _relu(forward_dtype: Any = None, backward: Any = None) -> tuple[Any, Any]:
    """A NumPy relu pair with one fault: its output cast to ``forward_dtype``, or another backward."""
    def forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.maximum(x, 0).astype(forward_dtype or x.dtype), x
    return forward, backward or (lambda dout, x: dout * (x > 0))


def _in_place_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    dout *= x > 0
    return dout


FAULTS = {                      # our pair (None: the real relu), torch's function, the expected complaint
    "wrong function": (None, torch.sigmoid, "relu output"),
    "wrong gradient": (None, lambda x: torch.relu(x).detach() + 0 * x, "relu gradient 0"),
    "output upcast": (_relu(np.float64), torch.relu, "float64 for float32"),
    "gradient missing": (_relu(backward=lambda dout, x: None), torch.relu, "got None"),
    "gradient downcast": (_relu(backward=lambda dout, x: (dout * (x > 0)).astype(np.float16)), torch.relu,
                          "float16 for a float32 input"),
    "dout modified": (_relu(backward=_in_place_backward), torch.relu, "modified dout"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_runner_catches_faults(monkeypatch, fault):
    pair, torch_fn, message = FAULTS[fault]
    if pair is not None:
        monkeypatch.setitem(F.OPS, "relu", pair)
    case = Case((Arr(np.linspace(-2.0, 2.0, 12).reshape(3, 4) + 0.1),))
    with pytest.raises(AssertionError, match=message):
        check_against_torch(Row("relu", torch_fn, st.nothing()), case, np.float32)


CAT = Row("cat", lambda xs, dim: torch.cat(xs, dim), st.nothing())


def test_runner_takes_lists_of_inputs_and_absent_ones(monkeypatch):
    monkeypatch.setitem(F.OPS, "cat", (_cat_forward, _cat_backward))
    xs = [np.arange(6.0).reshape(2, 3) / 7, np.ones((2, 1)) / 3, np.linspace(0, 1, 4).reshape(2, 2)]
    cat = Case(([Arr(x) for x in xs], 1))
    check_against_torch(CAT, cat, np.float64)
    monkeypatch.setitem(F.OPS, "cat", (_cat_forward, lambda dout, cache: _cat_backward(dout, cache)[:2]))
    with pytest.raises(AssertionError, match="2 gradient"):
        check_against_torch(CAT, cat, np.float64)
    no_bias = Case((Arr(xs[0]), Arr(np.ones((4, 3))), Arr(None)))
    check_against_torch(Row("linear", torch.nn.functional.linear, st.nothing()), no_bias, np.float32)
