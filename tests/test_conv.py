"""conv2d, im2col and col2im: the loop oracle, their adjoint identity, the layer against PyTorch.

The hypothesis comparison of conv2d with PyTorch (in column chunks of 1, 3 and all images) is its
rows in tests/op_table.py; depthwise layers (groups == C_in), which the Numba backend computes with
its own kernels, are drawn here on their own, through the same runner.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn
from minicnn import backend, nn
from minicnn import functional as F
from minicnn.functional.loops import conv2d_backward_loops, conv2d_loops
from minicnn.testing import assert_close, gradcheck
from minicnn.testing import strategies as cst
from minicnn.threads import num_threads
from op_table import Arr, Case, Row
from test_parity import check_against_torch
from torch_ref import t

DTYPES = [np.float64, np.float32]
KERNEL_SETS = ["numpy", "numba"]


@st.composite
def depthwise_geometry(draw: st.DrawFn) -> cst.ConvGeometry:
    """groups == C_in (1-4) with channel multiplier 1-3, batch 1-3, kernel 1-4, stride 1-2, dilation 1-2,
    padding 0-2 or half the dilated kernel (as often: "same" layers, Numba's flat-plane loops) and H, W 1-12,
    drawn per axis (non-square); output size >= 1."""
    n, c, m = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    dims = []
    for _ in range(2):
        k = draw(st.integers(1, 4))
        d = draw(st.integers(1, 2)) if k > 1 else 1
        p, s = draw(st.one_of(st.just(d * (k - 1) // 2), st.integers(0, 2))), draw(st.integers(1, 2))
        least = max(1, d * (k - 1) + 1 - 2 * p)
        dims.append((k, s, p, d, draw(st.integers(least, max(least, 12)))))
    (kh, sh, ph, dh, h), (kw, sw, pw, dw, w) = dims
    return cst.ConvGeometry(n, c, c * m, h, w, (kh, kw), (sh, sw), (ph, pw), (dh, dw), c)


@st.composite
def depthwise_case(draw: st.DrawFn) -> Case:
    """A depthwise conv2d call, with or without bias."""
    g, seed = draw(depthwise_geometry()), draw(cst.seeds())
    b = cst.arrays((g.c_out,), np.float64, seed + 2) if draw(st.booleans()) else None
    return Case((Arr(cst.arrays(g.x_shape, np.float64, seed)), Arr(cst.arrays(g.w_shape, np.float64, seed + 1)),
                 Arr(b), g.stride, g.padding, g.dilation, g.groups), seed=seed)


DEPTHWISE = Row("conv2d", torch.nn.functional.conv2d, depthwise_case(), variant="depthwise")


@given(g=cst.conv_geometry(max_batch=2, max_channels=4, max_size=7), seed=cst.seeds())
def test_im2col_col2im_are_adjoint(backend_name, g, seed):
    x = cst.arrays((g.n, g.c_in, g.h, g.w), np.float64, seed)
    cols = F.im2col(backend.asarray(x), g.kernel, g.stride, g.padding, g.dilation)
    y = cst.arrays(tuple(cols.shape), np.float64, seed + 1)
    back = F.col2im(backend.asarray(y), g.x_shape, g.kernel, g.stride, g.padding, g.dilation)
    lhs = float(np.sum(backend.to_numpy(cols) * y))
    rhs = float(np.sum(x * backend.to_numpy(back)))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


@given(g=cst.conv_geometry(max_batch=2, max_channels=4, max_size=6, max_kernel=3), seed=cst.seeds())
def test_conv2d_matches_loop_oracle(g, seed):
    x = cst.arrays(g.x_shape, np.float64, seed)
    w = cst.arrays(g.w_shape, np.float64, seed + 1)
    b = cst.arrays((g.c_out,), np.float64, seed + 2)
    y, cache = F.conv2d_forward(x, w, b, g.stride, g.padding, g.dilation, g.groups)
    assert_close(y, conv2d_loops(x, w, b, g.stride, g.padding, g.dilation, g.groups), 1e-12, 1e-12, "y")
    dy = cst.arrays(y.shape, np.float64, seed + 3)
    for got, want, name in zip(F.conv2d_backward(dy, cache),
                               conv2d_backward_loops(dy, x, w, g.stride, g.padding, g.dilation, g.groups),
                               ("dx", "dw", "db")):
        assert_close(got, want, 1e-12, 1e-12, name)


def test_conv2d_gradcheck_functional_and_layer(backend_name):
    x = cst.arrays((2, 4, 5, 6), np.float64, 1)
    w = cst.arrays((6, 2, 3, 2), np.float64, 2)
    b = cst.arrays((6,), np.float64, 3)
    fwd = lambda x_, w_, b_: F.conv2d_forward(x_, w_, b_, (2, 1), (1, 0), (1, 2), 2)  # noqa: E731
    assert gradcheck((fwd, F.conv2d_backward), x, w, b)
    layer = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2).astype(np.float64)
    assert gradcheck(layer, x)


def test_conv2d_layer_matches_torch_layer_and_state_dict(backend_name):
    tl = torch.nn.Conv2d(3, 8, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=1).double()
    ml = nn.Conv2d(3, 8, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(2, 1)).astype(np.float64)
    assert list(ml.state_dict()) == list(tl.state_dict()) == ["weight", "bias"]
    ml.load_state_dict({k: v.numpy() for k, v in tl.state_dict().items()})
    x = cst.arrays((2, 3, 9, 7), np.float64, 5)
    y = ml(backend.asarray(x))
    tx = t(x)
    ty = tl(tx)
    dy = cst.arrays(tuple(ty.shape), np.float64, 6)
    ty.backward(torch.from_numpy(dy))
    dx = ml.backward(backend.asarray(dy))
    assert_close(y, ty.detach().numpy(), 1e-9, 1e-10, "y")
    assert_close(dx, tx.grad.numpy(), 1e-9, 1e-10, "dx")
    assert_close(ml.weight.grad, tl.weight.grad.numpy(), 1e-9, 1e-10, "dw")
    assert_close(ml.bias.grad, tl.bias.grad.numpy(), 1e-9, 1e-10, "db")


def test_conv2d_default_init_matches_torch_distribution():
    minicnn.manual_seed(0)
    layer = nn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)
    w = backend.to_numpy(layer.weight.data)
    assert w.dtype == np.float32 and w.shape == (32, 16, 3, 3)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(float(w.std()) - bound / np.sqrt(3)) < 0.05 * bound


@pytest.mark.parametrize("bad, err, match", [
    (np.zeros((2, 3, 8), np.float32), ValueError, "4-D"),
    (np.zeros((2, 4, 8, 8), np.float32), ValueError, "3 channels"),
    (np.zeros((2, 3, 8, 8), np.int64), TypeError, "floating"),
    (np.zeros((2, 3, 1, 1), np.float32), ValueError, "larger than the padded input"),
])
def test_conv2d_layer_rejects_bad_input(bad, err, match):
    layer = nn.Conv2d(3, 4, 3)
    with pytest.raises(err, match=match) as info:
        layer(bad)
    assert "Conv2d(3, 4" in str(info.value)


@pytest.mark.parametrize("kwargs, match", [
    (dict(in_channels=3, out_channels=4, kernel_size=3, groups=2), "groups"),
    (dict(in_channels=4, out_channels=4, kernel_size=3, stride=0), "stride"),
    (dict(in_channels=4, out_channels=4, kernel_size=0), "kernel_size"),
])
def test_conv2d_rejects_impossible_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.Conv2d(**kwargs)


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward\\(\\)"):
        nn.Conv2d(1, 1, 1).backward(np.zeros((1, 1, 1, 1), np.float32))


@pytest.mark.parametrize("call, err, match", [
    (lambda: F.conv2d_forward(np.zeros((2, 3, 8)), np.zeros((4, 3, 3, 3))), ValueError,
     r"conv2d: expected a 4-D \(N, C, H, W\) input, got shape \(2, 3, 8\)"),
    (lambda: F.conv2d_forward(np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3))), ValueError, "conv2d weight: expected a 4-D"),
    (lambda: F.conv2d_forward(np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3), np.int64)), TypeError,
     "conv2d weight: expected a floating-point input"),
    (lambda: F.conv2d_forward(np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3)), stride=0), ValueError,
     r"conv2d: kernel_size, stride and dilation must be >= 1.*stride=\(0, 0\)"),
    (lambda: F.conv2d_forward(np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3)), padding=-1), ValueError,
     "padding >= 0"),
    (lambda: F.conv2d_forward(np.zeros((2, 4, 8, 8)), np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     "conv2d: groups=2 must be an int >= 1 dividing the weight's 3 output channels"),
    (lambda: F.conv2d_forward(np.zeros((2, 4, 8, 8)), np.zeros((4, 4, 3, 3)), groups=0), ValueError, "groups=0"),
    (lambda: F.conv2d_forward(np.zeros((2, 4, 8, 8)), np.zeros((4, 3, 3, 3))), ValueError,
     r"conv2d: expected 3 channels \(axis 1\).*input of shape \(2, 4, 8, 8\)"),
    (lambda: F.conv2d_forward(np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3)), np.zeros(3)), ValueError,
     r"conv2d: bias must have shape \(4,\), got \(3,\)"),
    (lambda: F.conv2d_forward(np.zeros((2, 3, 4, 4)), np.zeros((4, 3, 3, 3)), dilation=2), ValueError,
     r"conv2d: kernel 3x3 \(dilation \(2, 2\)\) is larger than the padded input 4x4"),
    (lambda: F.im2col(np.zeros((3, 8, 8)), 3), ValueError, "im2col: expected a 4-D"),
    (lambda: F.im2col(np.zeros((1, 3, 8, 8)), 3, stride=(1, 0)), ValueError, "im2col: kernel_size, stride"),
    (lambda: F.im2col(np.zeros((1, 3, 2, 2)), 3), ValueError, "im2col: kernel 3x3 is larger than the padded input"),
    (lambda: F.col2im(np.zeros((1, 27, 35)), (1, 3, 8, 8), 3), ValueError,
     r"col2im: expected columns of shape \(1, 27, 36\) for x_shape \(1, 3, 8, 8\), got \(1, 27, 35\)"),
    (lambda: F.col2im(np.zeros((1, 27, 36)), (3, 8, 8), 3), ValueError, r"col2im: x_shape must be \(N, C, H, W\)"),
])
def test_conv2d_functional_rejects_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()


@pytest.mark.parametrize("kwargs", [dict(in_channels=3.0, out_channels=4, kernel_size=3),
                                    dict(in_channels=4, out_channels=4, kernel_size=3, groups=2.0),
                                    dict(in_channels=4, out_channels=4, kernel_size=3, groups=True)])
def test_conv2d_rejects_non_integer_sizes(kwargs):
    with pytest.raises(ValueError, match="Conv2d: .*ints? >= 1"):
        nn.Conv2d(**kwargs)


def test_conv2d_takes_numpy_integers_like_python_ints():
    layer = nn.Conv2d(np.int64(3), np.int64(4), np.int64(3), stride=(np.int32(2), 1))
    assert (layer.kernel_size, layer.stride, layer.in_channels) == ((3, 3), (2, 1), 3)
    assert type(layer.kernel_size[0]) is int and repr(layer) == repr(nn.Conv2d(3, 4, 3, stride=(2, 1)))


@pytest.mark.parametrize("make, shape", [(lambda: nn.Conv2d(2, 3, 3, padding=1), (2, 2, 5, 5)),
                                         (lambda: nn.Linear(4, 3), (2, 4))], ids=["Conv2d", "Linear"])
def test_a_first_layer_can_skip_its_input_gradient(backend_name, make, shape):
    """input_grad=False: no dx (None), the same parameter gradients."""
    x = cst.arrays(shape, np.float64, 1)
    full, first = make().astype(np.float64), make().astype(np.float64)
    first.load_state_dict(full.state_dict())
    first.input_grad = False
    dy = cst.arrays(tuple(full(backend.asarray(x)).shape), np.float64, 2)
    assert full.backward(backend.asarray(dy)) is not None
    first(backend.asarray(x))
    assert first.backward(backend.asarray(dy)) is None
    for (name, p), q in zip(full.named_parameters(), first.parameters()):
        assert_close(q.grad, p.grad, 0, 0, name)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@given(data=st.data())
def test_depthwise_conv2d_matches_torch(backend_name, dtype, data):
    check_against_torch(DEPTHWISE, data.draw(DEPTHWISE.case), dtype)


def _depthwise_inputs(g: cst.ConvGeometry, dtype: type, seed: int) -> tuple[np.ndarray, ...]:
    """x, w and a random upstream gradient dy."""
    dy_shape = (g.n, g.c_out, *g.out_hw)
    return tuple(cst.arrays(shape, dtype, seed + k) for k, shape in enumerate((g.x_shape, g.w_shape, dy_shape)))


@pytest.mark.parametrize("name", KERNEL_SETS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@given(g=depthwise_geometry(), seed=cst.seeds())
def test_depthwise_kernels_match_torch_with_and_without_input_grad(name, dtype, g, seed):
    """Each kernel set's depthwise_conv2d and its backward (whether conv2d takes them or not) against
    torch; without input_grad dx is None and dw the same, bit for bit."""
    kernels, tol = backend.kernels(name), cst.tolerance(dtype)
    x, w, dy = _depthwise_inputs(g, dtype, seed)
    tx, tw = t(x), t(w)
    ty = torch.nn.functional.conv2d(tx, tw, None, g.stride, g.padding, g.dilation, g.groups)
    ty.backward(torch.from_numpy(dy))
    y = kernels.depthwise_conv2d(x, w, g.stride, g.padding, g.dilation)
    dx, dw = kernels.depthwise_conv2d_backward(dy, x, w, g.stride, g.padding, g.dilation, True)
    no_dx, dw_alone = kernels.depthwise_conv2d_backward(dy, x, w, g.stride, g.padding, g.dilation, False)
    for got, want, what in ((y, ty, "y"), (dx, tx.grad, "dx"), (dw, tw.grad, "dw")):
        assert got.dtype == dtype, what
        assert_close(got, want.detach().numpy(), tol.rtol, tol.atol, f"{name} {what}")
    assert no_dx is None
    assert np.array_equal(dw_alone, dw)


@given(g=depthwise_geometry(), seed=cst.seeds())
def test_depthwise_numba_is_the_same_on_any_thread_count(g, seed):
    """The serial twins, and the parallel ones on 1 and on 2 threads, give the same bits."""
    from minicnn.kernels.numba_cpu import min_parallel_work
    kernels = backend.kernels("numba")
    x, w, dy = _depthwise_inputs(g, np.float64, seed)
    runs = []
    for work, threads in ((1 << 62, 1), (0, 1), (0, 2)):
        with min_parallel_work(work), num_threads(threads):
            y = kernels.depthwise_conv2d(x, w, g.stride, g.padding, g.dilation)
            runs.append((y, *kernels.depthwise_conv2d_backward(dy, x, w, g.stride, g.padding, g.dilation, True)))
    for run in runs[1:]:
        for got, want in zip(run, runs[0]):
            assert np.array_equal(got, want)


@pytest.mark.parametrize("name, c_in, c_out, groups, depthwise", [
    ("numba", 4, 4, 4, True), ("numba", 3, 6, 3, True), ("numba", 1, 5, 1, False), ("numba", 4, 4, 2, False),
    ("numba", 4, 4, 1, False), ("numpy", 4, 4, 4, False)])
def test_conv2d_takes_the_depthwise_kernels_where_the_backend_says(name, c_in, c_out, groups, depthwise):
    """groups == C_in on a kernel set with DEPTHWISE_CONV2D; the cache says which path ran, and its
    backward follows it (without input_grad too)."""
    x, w = cst.arrays((2, c_in, 6, 5), seed=0), cst.arrays((c_out, c_in // groups, 3, 3), seed=1)
    b = cst.arrays((c_out,), seed=2)
    with minicnn.use_backend(name):
        y, cache = F.conv2d_forward(x, w, b, 1, 1, 1, groups)
        dy = cst.arrays(y.shape, seed=3)
        dx, dw, db = F.conv2d_backward(dy, cache)
        no_dx, dw_alone, db_alone = F.conv2d_backward(dy, cache, input_grad=False)
    assert cache.depthwise is depthwise and cache.winograd is None
    assert no_dx is None and np.array_equal(dw_alone, dw) and np.array_equal(db_alone, db)
    want = conv2d_backward_loops(dy, x, w, (1, 1), (1, 1), (1, 1), groups)
    assert_close(y, conv2d_loops(x, w, b, (1, 1), (1, 1), (1, 1), groups), 1e-12, 1e-12, "y")
    for got, expected, what in zip((dx, dw, db), want, ("dx", "dw", "db")):
        assert_close(got, expected, 1e-12, 1e-12, what)
