"""max_pool2d, avg_pool2d and adaptive_avg_pool2d: the loop oracles, constant planes and borders, layers.

The hypothesis comparison of the functional ops with PyTorch (ties included) is their rows in
tests/op_table.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given

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
@given(g=cst.pool_geometry(max_batch=2, max_channels=3, max_size=7), seed=cst.seeds())
def test_pools_match_loop_oracles(op, g, seed):
    x = cst.arrays(g.x_shape, np.float64, seed)
    if op == "max":
        y, cache = F.max_pool2d_forward(x, g.kernel, g.stride, g.padding)
        dy = cst.arrays(y.shape, np.float64, seed + 1)
        want_y = max_pool2d_loops(x, g.kernel, g.stride, g.padding)
        want_dx = max_pool2d_backward_loops(dy, x, g.kernel, g.stride, g.padding)
        dx = F.max_pool2d_backward(dy, cache)
    else:
        y, cache = F.avg_pool2d_forward(x, g.kernel, g.stride, g.padding)
        dy = cst.arrays(y.shape, np.float64, seed + 1)
        want_y = avg_pool2d_loops(x, g.kernel, g.stride, g.padding)
        want_dx = avg_pool2d_backward_loops(dy, g.x_shape, g.kernel, g.stride, g.padding)
        dx = F.avg_pool2d_backward(dy, cache)
    assert_close(y, want_y, 1e-12, 1e-12, "y")
    assert_close(dx, want_dx, 1e-12, 1e-12, "dx")


@pytest.mark.parametrize("fill", [0.0, -1.0, 3.5, -np.inf], ids=["zeros", "negative", "positive", "minus_inf"])
@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 1), (2, 2, 1), ((3, 2), (2, 1), (1, 1)), (5, 1, 2)])
def test_max_pool2d_constant_input_and_padded_borders(backend_name, fill, kernel, stride, padding):
    """Constant planes tie everywhere; negative ones also show that padding never wins (it is -inf, not 0);
    an all -inf plane ties with the padding itself, and the gradient still goes to the first real pixel."""
    x = np.full((2, 3, 6, 5), fill)
    _pool_vs_torch(lambda x_: F.max_pool2d_forward(x_, kernel, stride, padding), F.max_pool2d_backward,
                   lambda x_: TF.max_pool2d(x_, kernel, stride, padding),
                   x, 7, cst.tolerance(np.float64))
    y, _ = F.max_pool2d_forward(backend.asarray(x), kernel, stride, padding)
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


@pytest.mark.parametrize("name", ["max", "avg", "adaptive_uniform", "adaptive_bins"])
def test_pool_gradcheck_functional(backend_name, name):
    x = cst.arrays((2, 3, 7, 6), np.float64, 11)
    pair = {
        "max": (lambda x_: F.max_pool2d_forward(x_, (3, 2), (2, 1), (1, 1)), F.max_pool2d_backward),
        "avg": (lambda x_: F.avg_pool2d_forward(x_, (3, 2), (2, 1), (1, 1)), F.avg_pool2d_backward),
        "adaptive_uniform": (lambda x_: F.adaptive_avg_pool2d_forward(x_, (7, 2)), F.adaptive_avg_pool2d_backward),
        "adaptive_bins": (lambda x_: F.adaptive_avg_pool2d_forward(x_, (3, 4)), F.adaptive_avg_pool2d_backward),
    }[name]
    assert gradcheck(pair, x)


@pytest.mark.parametrize("layer", [nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(2, 1), nn.AdaptiveAvgPool2d(1),
                                   nn.AdaptiveAvgPool2d((4, 3))], ids=repr)
def test_pool_layers_gradcheck(backend_name, layer):
    assert gradcheck(layer, cst.arrays((2, 2, 5, 6), np.float64, 12))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("ours, theirs", [
    (lambda: nn.MaxPool2d(3, 2, 1), lambda: torch.nn.MaxPool2d(3, 2, 1)),
    (lambda: nn.MaxPool2d((2, 3), padding=(1, 0)), lambda: torch.nn.MaxPool2d((2, 3), padding=(1, 0))),
    (lambda: nn.AvgPool2d((3, 2), (1, 2), (1, 1)), lambda: torch.nn.AvgPool2d((3, 2), (1, 2), (1, 1))),
    (lambda: nn.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2)),
    (lambda: nn.AdaptiveAvgPool2d(1), lambda: torch.nn.AdaptiveAvgPool2d(1)),
    (lambda: nn.AdaptiveAvgPool2d((3, 5)), lambda: torch.nn.AdaptiveAvgPool2d((3, 5))),
], ids=["max", "max_rect", "avg", "avg_default_stride", "adaptive_1", "adaptive_3x5"])
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
    assert backend.to_numpy(y).dtype == dtype
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
    assert repr(nn.AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)"
