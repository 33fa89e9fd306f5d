"""max_pool2d, avg_pool2d and adaptive_avg_pool2d: the loop oracles, constant planes and borders, layers.

The hypothesis comparison of the functional ops with PyTorch (ties included) is their rows in
tests/op_table.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minicnn import backend, nn
from minicnn import functional as F
from minicnn.functional.loops import (avg_pool2d_backward_loops, avg_pool2d_loops, max_pool2d_backward_loops,
                                      max_pool2d_loops)
from minicnn.testing import assert_close, gradcheck
from minicnn.testing import strategies as cst
from torch_ref import t, torch_grads

DTYPES = [np.float64, np.float32]
TF = torch.nn.functional


def _pool_vs_torch(ours_fwd, ours_bwd, theirs, x, dy_seed, tol):
    """Run one pooling op on both engines with a random upstream gradient; compare y and dx."""
    y, cache = ours_fwd(backend.asarray(x))
    dy = cst.arrays(tuple(y.shape), x.dtype, dy_seed)
    dx = ours_bwd(backend.asarray(dy), cache)
    ty, (tdx,) = torch_grads(theirs, [t(x)], dy)
    assert backend.to_numpy(y).dtype == x.dtype and backend.to_numpy(dx).dtype == x.dtype
    assert_close(y, ty, tol.rtol, tol.atol, "y")
    assert_close(dx, tdx, tol.rtol, tol.atol, "dx")


@pytest.mark.parametrize("op", ["max", "avg"])
@given(g=cst.pool_geometry(max_batch=2, max_channels=3, max_size=7, ceil_mode=None), count_include_pad=st.booleans(),
       seed=cst.seeds())
def test_pools_match_loop_oracles(op, g, count_include_pad, seed):
    x = cst.arrays(g.x_shape, np.float64, seed)
    geom = (g.kernel, g.stride, g.padding)
    if op == "max":
        y, cache = F.max_pool2d_forward(x, *geom, g.ceil_mode)
        dy = cst.arrays(y.shape, np.float64, seed + 1)
        want_y = max_pool2d_loops(x, *geom, g.ceil_mode)
        want_dx = max_pool2d_backward_loops(dy, x, *geom)
        dx = F.max_pool2d_backward(dy, cache)
    else:
        y, cache = F.avg_pool2d_forward(x, *geom, g.ceil_mode, count_include_pad)
        dy = cst.arrays(y.shape, np.float64, seed + 1)
        want_y = avg_pool2d_loops(x, *geom, g.ceil_mode, count_include_pad)
        want_dx = avg_pool2d_backward_loops(dy, g.x_shape, *geom, count_include_pad)
        dx = F.avg_pool2d_backward(dy, cache)
    assert_close(y, want_y, 1e-12, 1e-12, "y")
    assert_close(dx, want_dx, 1e-12, 1e-12, "dx")


@pytest.mark.parametrize("fill", [0.0, -1.0, 3.5, -np.inf], ids=["zeros", "negative", "positive", "minus_inf"])
@pytest.mark.parametrize("kernel, stride, padding, ceil_mode", [
    (3, 1, 1, False), (2, 2, 1, False), ((3, 2), (2, 1), (1, 1), False), (5, 1, 2, False),
    (3, 2, 1, True), ((2, 4), 3, (1, 2), True)])
def test_max_pool2d_constant_input_and_padded_borders(backend_name, fill, kernel, stride, padding, ceil_mode):
    """Constant planes tie everywhere; negative ones also show that padding never wins (it is -inf, not 0);
    an all -inf plane ties with the padding itself, and the gradient still goes to the first real pixel.
    With ceil_mode, last windows run past the padded input (on 6x5: the rows of 3, 2, 1 and the columns
    of (2, 4), 3, (1, 2))."""
    x = np.full((2, 3, 6, 5), fill)
    _pool_vs_torch(lambda x_: F.max_pool2d_forward(x_, kernel, stride, padding, ceil_mode), F.max_pool2d_backward,
                   lambda x_: TF.max_pool2d(x_, kernel, stride, padding, ceil_mode=ceil_mode),
                   x, 7, cst.tolerance(np.float64))
    y, _ = F.max_pool2d_forward(backend.asarray(x), kernel, stride, padding, ceil_mode)
    assert np.all(backend.to_numpy(y) == fill)


def test_max_pool2d_tie_goes_to_first_maximum_in_row_major_order(backend_name):
    x = np.array([[[[1.0, 2.0, 2.0],
                    [2.0, 0.0, 1.0],
                    [0.0, 2.0, 2.0]]]])
    y, cache = F.max_pool2d_forward(backend.asarray(x), 3)
    dx = F.max_pool2d_backward(backend.asarray(np.array([[[[5.0]]]])), cache)
    want = np.zeros_like(x)
    want[0, 0, 0, 1] = 5.0
    assert_close(y, np.array([[[[2.0]]]]), 0, 0, "y")
    assert_close(dx, want, 0, 0, "dx")


@pytest.mark.parametrize("name", ["max", "avg", "max_ceil", "avg_ceil", "adaptive_uniform", "adaptive_bins"])
def test_pool_gradcheck_functional(backend_name, name):
    x = cst.arrays((2, 3, 7, 6), np.float64, 11)
    pair = {
        "max": (lambda x_: F.max_pool2d_forward(x_, (3, 2), (2, 1), (1, 1)), F.max_pool2d_backward),
        "avg": (lambda x_: F.avg_pool2d_forward(x_, (3, 2), (2, 1), (1, 1)), F.avg_pool2d_backward),
        "max_ceil": (lambda x_: F.max_pool2d_forward(x_, 3, (3, 4), 1, True), F.max_pool2d_backward),
        "avg_ceil": (lambda x_: F.avg_pool2d_forward(x_, 3, (3, 4), 1, True, False), F.avg_pool2d_backward),
        "adaptive_uniform": (lambda x_: F.adaptive_avg_pool2d_forward(x_, (7, 2)), F.adaptive_avg_pool2d_backward),
        "adaptive_bins": (lambda x_: F.adaptive_avg_pool2d_forward(x_, (3, 4)), F.adaptive_avg_pool2d_backward),
    }[name]
    assert gradcheck(pair, x)


@pytest.mark.parametrize("layer", [nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(2, 1), nn.AvgPool2d(3, 2, 1, True, False),
                                   nn.AdaptiveAvgPool2d(1), nn.AdaptiveAvgPool2d((4, 3))], ids=repr)
def test_pool_layers_gradcheck(backend_name, layer):
    assert gradcheck(layer, cst.arrays((2, 2, 5, 6), np.float64, 12))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("ours, theirs", [
    (lambda: nn.MaxPool2d(3, 2, 1), lambda: torch.nn.MaxPool2d(3, 2, 1)),
    (lambda: nn.MaxPool2d((2, 3), padding=(1, 0)), lambda: torch.nn.MaxPool2d((2, 3), padding=(1, 0))),
    (lambda: nn.AvgPool2d((3, 2), (1, 2), (1, 1)), lambda: torch.nn.AvgPool2d((3, 2), (1, 2), (1, 1))),
    (lambda: nn.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2)),
    (lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True), lambda: torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
    (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True), lambda: torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True)),
    (lambda: nn.AvgPool2d((2, 3), 3, (1, 0), True, False), lambda: torch.nn.AvgPool2d((2, 3), 3, (1, 0), True, False)),
    (lambda: nn.AdaptiveAvgPool2d(1), lambda: torch.nn.AdaptiveAvgPool2d(1)),
    (lambda: nn.AdaptiveAvgPool2d((3, 5)), lambda: torch.nn.AdaptiveAvgPool2d((3, 5))),
], ids=["max", "max_rect", "avg", "avg_default_stride", "max_ceil", "avg_ceil", "avg_ceil_no_pad_count",
        "adaptive_1", "adaptive_3x5"])
def test_pool_layers_match_torch_layers(backend_name, dtype, ours, theirs):
    ml, tl = ours(), theirs()
    assert ml.state_dict() == {} and not tl.state_dict() and ml.parameters() == []
    x = cst.arrays((3, 4, 9, 8), dtype, 21)
    tx = t(x)
    ty = tl(tx)
    dy = cst.arrays(tuple(ty.shape), dtype, 22)
    ty.backward(torch.from_numpy(dy))
    y = ml(backend.asarray(x))
    dx = ml.backward(backend.asarray(dy))
    tol = cst.tolerance(dtype)
    assert backend.to_numpy(y).dtype == dtype and tuple(y.shape[1:]) == ml.output_shape(x.shape[1:])
    assert_close(y, ty.detach().numpy(), tol.rtol, tol.atol, "y")
    assert_close(dx, tx.grad.numpy(), tol.rtol, tol.atol, "dx")


@pytest.mark.parametrize("layer", [nn.MaxPool2d(3), nn.AvgPool2d(3, padding=1), nn.AdaptiveAvgPool2d(2)], ids=repr)
@pytest.mark.parametrize("bad, err, match", [
    (np.zeros((2, 3, 8), np.float32), ValueError, "4-D"),
    (np.zeros((2, 3, 8, 8), np.int64), TypeError, "floating"),
    ([[1.0, 2.0]], TypeError, "array"),
])
def test_pool_layers_reject_bad_input(layer, bad, err, match):
    with pytest.raises(err, match=match) as info:
        layer(bad)
    assert type(layer).__name__ + "(" in str(info.value)


@pytest.mark.parametrize("layer, shape", [(nn.MaxPool2d(3), (1, 1, 2, 5)), (nn.AvgPool2d(5, padding=1), (1, 1, 6, 2)),
                                          (nn.MaxPool2d((1, 4), padding=(0, 1)), (2, 2, 3, 1))], ids=repr)
def test_pool_layers_reject_kernel_larger_than_padded_input(layer, shape):
    with pytest.raises(ValueError, match="larger than the padded input") as info:
        layer(np.zeros(shape, np.float32))
    assert type(layer).__name__ + "(kernel_size=" in str(info.value)


@pytest.mark.parametrize("cls", [nn.MaxPool2d, nn.AvgPool2d])
@pytest.mark.parametrize("kwargs, match", [
    (dict(kernel_size=0), "kernel_size"),
    (dict(kernel_size=2, stride=0), "stride"),
    (dict(kernel_size=(2, 3), stride=(1, 0)), "stride"),
    (dict(kernel_size=3, padding=2), "half the kernel"),
    (dict(kernel_size=(4, 1), padding=(2, 1)), "half the kernel"),
    (dict(kernel_size=3, padding=-1), "padding"),
    (dict(kernel_size=(1, 2, 3)), "pair of ints"),
])
def test_pool_layers_reject_impossible_hyperparameters(cls, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        cls(**kwargs)
    assert cls.__name__ in str(info.value)


@pytest.mark.parametrize("make", [lambda: nn.MaxPool2d(2, ceil_mode=1), lambda: nn.AvgPool2d(2, ceil_mode="yes"),
                                  lambda: nn.AvgPool2d(2, count_include_pad=None),
                                  lambda: F.max_pool2d_forward(np.zeros((1, 1, 4, 4)), 2, ceil_mode=0),
                                  lambda: F.avg_pool2d_forward(np.zeros((1, 1, 4, 4)), 2, count_include_pad=1)])
def test_pool_flags_must_be_bools(make):
    """As in torch, ceil_mode and count_include_pad take True or False, not 0, 1 or None."""
    with pytest.raises(TypeError, match="must be a bool"):
        make()


@pytest.mark.parametrize("size, kernel, stride, padding, want", [
    (4, 2, 3, 1, 2),     # ceil(4 / 3) + 1 = 3 windows, but the third would start at x_pad row 6 >= H + p = 5
    (8, 3, 2, 1, 5),     # ceil(7 / 2) + 1 = 5: the last starts at x_pad row 8 < 9 and runs 1 row past x_pad
    (5, 2, 2, 0, 3),     # the third window holds the last row and 1 row past x
    (5, 4, 3, 2, 3),     # ceil(5 / 3) + 1 = 3: rows 6-9 of x_pad: 1 pixel, 2 of padding, 1 past x_pad
    (2, 3, 2, 0, 1),     # a 3-row kernel on 2 rows: floor mode has no window, ceil mode one
])
def test_ceil_mode_output_size_and_values_match_torch(backend_name, size, kernel, stride, padding, want):
    """kernels.out_size's ceiling and PyTorch's rule that a last window starting in the right padding is
    dropped; the windows that remain (partial ones, running past x_pad) pool as torch's."""
    assert F.pool_output_size(size, kernel, stride, padding, True) == want
    assert nn.MaxPool2d(kernel, stride, padding, ceil_mode=True).output_shape((3, size, 9)) == \
        (3, want, F.pool_output_size(9, kernel, stride, padding, True))
    x = cst.arrays((2, 3, size, 9), np.float64, 5)
    tol = cst.tolerance(np.float64)
    _pool_vs_torch(lambda x_: F.max_pool2d_forward(x_, kernel, stride, padding, True), F.max_pool2d_backward,
                   lambda x_: TF.max_pool2d(x_, kernel, stride, padding, ceil_mode=True), x, 6, tol)
    for count_include_pad in (True, False):
        _pool_vs_torch(lambda x_: F.avg_pool2d_forward(x_, kernel, stride, padding, True, count_include_pad),
                       F.avg_pool2d_backward,
                       lambda x_: TF.avg_pool2d(x_, kernel, stride, padding, True, count_include_pad), x, 6, tol)


@pytest.mark.parametrize("size", [0, (2, 0), (-1, 1)])
def test_adaptive_avg_pool2d_rejects_bad_output_size(size):
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: output_size"):
        nn.AdaptiveAvgPool2d(size)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size"):
        F.adaptive_avg_pool2d_forward(np.zeros((1, 1, 4, 4)), size)


@pytest.mark.parametrize("call, err, match", [
    (lambda: F.max_pool2d_forward(np.zeros((1, 1, 4, 4)), 2, 2, 2), ValueError, "half the kernel"),
    (lambda: F.avg_pool2d_forward(np.zeros((1, 1, 2, 2)), 3), ValueError, "larger than the padded input"),
    (lambda: F.max_pool2d_forward(np.zeros((1, 4, 4)), 2), ValueError, "4-D"),
    (lambda: F.avg_pool2d_forward(np.zeros((1, 1, 4, 4), np.int32), 2), TypeError, "floating"),
])
def test_pool_functional_rejects_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_pool_backward_before_forward_is_a_clear_error():
    for layer in (nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1)):
        with pytest.raises(RuntimeError, match="backward\\(\\) called before forward\\(\\)"):
            layer.backward(np.zeros((1, 1, 1, 1), np.float32))


def test_pool_reprs_name_the_geometry():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert repr(nn.AvgPool2d(3, 1, 1)) == "AvgPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(nn.MaxPool2d(3, 2, ceil_mode=True)) == \
        "MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(0, 0), ceil_mode=True)"
    assert repr(nn.AvgPool2d(3, 2, 1, count_include_pad=False)) == \
        "AvgPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), count_include_pad=False)"
    assert repr(nn.AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)"
