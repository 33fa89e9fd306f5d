"""Winograd convolution: the transforms in exact rationals, the tile kernels' adjoint identity, and
forward and all three gradients against PyTorch on every backend."""
from __future__ import annotations

import types
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from minicnn import backend
from minicnn.functional.winograd import (POINTS, winograd_conv2d_backward, winograd_conv2d_forward,
                                         winograd_matrices)
from minicnn.kernels.numpy_ref import winograd as ref
from minicnn.testing import assert_close
from minicnn.testing import strategies as cst
from torch_ref import t, torch_grads

F32_ERROR = {2: 1e-6, 4: 8e-6}
"""float32 tolerance per tile side m, relative to the largest sum of absolute terms of the array (see
test_matches_torch); the largest error seen over 12,000 random geometries was 3.7e-7 (m = 2) and 3.0e-6 (m = 4)."""


def _correlate(d: list, g: list, m: int) -> list:
    return [sum(d[i + k] * g[k] for k in range(3)) for i in range(m)]


@pytest.mark.parametrize("m", sorted(POINTS))
@given(d=st.lists(st.fractions(-9, 9, max_denominator=7), min_size=8, max_size=8),
       g=st.lists(st.fractions(-9, 9, max_denominator=7), min_size=3, max_size=3))
def test_one_d_identity_is_exact_in_rationals(m, d, g):
    at, gm, bt = winograd_matrices(m)
    d = np.array(d[:m + 2], dtype=object)
    assert list(at @ ((gm @ np.array(g, dtype=object)) * (bt @ d))) == _correlate(list(d), g, m)


@given(points=st.lists(st.fractions(-4, 4, max_denominator=4), min_size=5, max_size=5, unique=True),
       seed=cst.seeds())
def test_two_d_identity_is_exact_for_any_points(points, seed):
    rng = np.random.default_rng(seed)
    at, gm, bt = winograd_matrices(4, points)
    d = np.array([[Fraction(int(v)) for v in row] for row in rng.integers(-9, 10, (6, 6))], dtype=object)
    g = np.array([[Fraction(int(v)) for v in row] for row in rng.integers(-9, 10, (3, 3))], dtype=object)
    y = at @ ((gm @ g @ gm.T) * (bt @ d @ bt.T)) @ at.T
    assert (y == np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(4)] for i in range(4)])).all()


def test_matrices_are_lavins_for_f2_and_reject_repeated_points():
    at, g, bt = winograd_matrices(2)
    assert (at == [[1, 1, 1, 0], [0, 1, -1, 1]]).all()
    assert (g == [[1, 0, 0], [Fraction(1, 2)] * 3, [Fraction(1, 2), Fraction(-1, 2), Fraction(1, 2)], [0, 0, 1]]).all()
    assert (bt == [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]]).all()
    with pytest.raises(ValueError, match="distinct"):
        winograd_matrices(4, (0, 1, 1, 2, -2))


@st.composite
def geometry(draw):
    """(n, c_in, c_out, h, w, padding): 3x3 stride-1 convolutions with an output of at least 1x1."""
    p = draw(st.integers(0, 2))
    h, w = (draw(st.integers(max(1, 3 - 2 * p), 13)) for _ in range(2))
    return draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6)), h, w, p


@pytest.mark.parametrize("m", sorted(POINTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@given(g=geometry(), bias=st.booleans(), seed=cst.seeds())
@example(g=(1, 1, 1, 3, 3, 0), bias=True, seed=0)            # one output pixel, batch 1
@example(g=(1, 2, 3, 7, 10, 1), bias=False, seed=1)          # odd and even sides, neither a multiple of 4
@example(g=(2, 3, 2, 12, 9, 2), bias=True, seed=2)           # padding 2: tiles past both borders
@example(g=(1, 1, 1, 3, 3, 0), bias=False, seed=8)           # one pixel, its nine terms cancel to 0.03
def test_matches_torch(backend_name, dtype, m, g, bias, seed):
    """float64 to 1e-9; float32 within F32_ERROR[m] times the largest sum of absolute terms of each array
    (y's from |x| and |w|, dx's from |dy| and |w|, dw's from |x| and |dy|): the transforms add and subtract
    values up to max|B^T| max|A^T| times larger than the output (36x for F(4x4, 3x3)), so the rounding
    error scales with the largest terms, not with each element, nor with a result that cancels to near 0.
    db is dy summed over (n, h, w), no transform, so it takes the float32 parity tolerance of every other sum."""
    n, c_in, c_out, h, w, p = g
    x, wt = cst.arrays((n, c_in, h, w), dtype, seed), cst.arrays((c_out, c_in, 3, 3), dtype, seed + 1)
    b = cst.arrays((c_out,), dtype, seed + 2) if bias else None
    dy = cst.arrays((n, c_out, h + 2 * p - 2, w + 2 * p - 2), dtype, seed + 3)
    y, cache = winograd_conv2d_forward(backend.asarray(x), backend.asarray(wt),
                                       None if b is None else backend.asarray(b), p, m)
    got = (y, *winograd_conv2d_backward(backend.asarray(dy), cache))
    inputs = [t(x), t(wt)] + ([t(b)] if bias else [])

    def conv(*a):
        return torch.nn.functional.conv2d(a[0], a[1], a[2] if bias else None, 1, p)
    ty, grads = torch_grads(conv, inputs, dy)
    scale_y, scales = torch_grads(conv, [t(np.abs(v).astype(np.float64)) for v in (x, wt, b)[:len(inputs)]],
                                  np.abs(dy).astype(np.float64))
    for name, value, want, scale in zip(("y", "dx", "dw", "db"), got, [ty, *grads, None], [scale_y, *scales, None]):
        if name == "db" and not bias:
            assert value is None
            continue
        assert backend.to_numpy(value).dtype == dtype, name
        if dtype == np.float64 or name == "db":
            tol = cst.tolerance(dtype)
            assert_close(value, want, tol.rtol, tol.atol, name)
        else:
            assert_close(value, want, 0.0, F32_ERROR[m] * float(scale.max()), name)


@given(n=st.integers(1, 3), c=st.integers(1, 4), h=st.integers(1, 11), w=st.integers(1, 11),
       k=st.integers(2, 6), a=st.integers(2, 6), step=st.integers(1, 4), offset=st.integers(-2, 1),
       seed=cst.seeds())
def test_gather_and_scatter_are_adjoint(backend_name, n, c, h, w, k, a, step, offset, seed):
    """<gather(x, t), v> = <x, scatter(v, t^T)> for any tiling, transform and backend."""
    kernels = backend.kernels()
    tiles = (max(1, -(-(h - offset) // step)), max(1, -(-(w - offset) // step)))
    rng = np.random.default_rng(seed)
    x, tm = rng.standard_normal((n, c, h, w)), rng.standard_normal((a, k))
    v = kernels.winograd_gather(backend.asarray(x), tm, step, offset, tiles)
    y = rng.standard_normal(v.shape)
    back = kernels.winograd_scatter(backend.asarray(y), np.ascontiguousarray(tm.T), step, offset, tiles,
                           backend.asarray(np.full(x.shape, np.nan)))
    assert float(np.sum(backend.to_numpy(v) * y)) == pytest.approx(float(np.sum(x * backend.to_numpy(back))),
                                                                   rel=1e-12, abs=1e-12)
    assert_close(v, ref.winograd_gather(x, tm, step, offset, tiles), 1e-12, 1e-12, "gather vs numpy_ref")


def test_numba_parallel_and_serial_twins_agree():
    nc = pytest.importorskip("minicnn.kernels.numba_cpu")
    from minicnn.kernels.numba_cpu import winograd as nw
    rng = np.random.default_rng(0)
    x, tm = rng.standard_normal((5, 3, 9, 10)).astype(np.float32), rng.standard_normal((6, 6)).astype(np.float32)
    runs = []
    for work in (0, 1 << 62):
        with nc.min_parallel_work(work):
            v = nw.winograd_gather(x, tm, 4, -1, (3, 3))
            runs.append((v, nw.winograd_scatter(v, np.ascontiguousarray(tm.T), 4, -1, (3, 3), np.empty_like(x))))
    assert all(np.array_equal(p, s) for p, s in zip(*runs))


def test_reference_uses_only_array_functions_cupy_has():
    """The CuPy kernels run the NumPy reference with xp=cupy: it may call only these four of xp."""
    xp = types.SimpleNamespace(**{name: getattr(np, name) for name in ("asarray", "empty", "matmul", "zeros")})
    x, tm = np.random.default_rng(0).standard_normal((2, 3, 7, 6)), np.eye(6, 4)
    v = ref.gather_tiles(xp, x, tm, 2, 0, (2, 2))
    assert np.array_equal(ref.scatter_tiles(xp, v, tm.T, 2, 0, (2, 2), np.empty((2, 3, 4, 4))),
                          ref.winograd_scatter(v, tm.T, 2, 0, (2, 2), np.empty((2, 3, 4, 4))))


@pytest.mark.parametrize("args, match", [
    (((2, 3, 5, 5), (4, 3, 5, 5), 1, 4), "weight must be"),
    (((2, 3, 5, 5), (4, 2, 3, 3), 1, 4), "weight must be"),
    (((2, 3, 5, 5), (4, 3, 3, 3), 1, 3), "m in"),
    (((2, 3, 1, 5), (4, 3, 3, 3), 0, 4), "at least 3x3"),
    (((2, 3, 5, 5), (4, 3, 3, 3), -1, 2), "padding"),
])
def test_rejects_what_it_cannot_compute(args, match):
    x_shape, w_shape, padding, m = args
    with pytest.raises(ValueError, match=match):
        winograd_conv2d_forward(np.zeros(x_shape), np.zeros(w_shape), None, padding, m)


