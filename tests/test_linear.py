"""linear and flatten: gradcheck, layers against PyTorch, state_dict, init and bad input.

The hypothesis comparison of the functional ops with PyTorch is their rows in tests/op_table.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn
from minicnn import backend, nn
from minicnn import functional as F
from minicnn.testing import assert_close, gradcheck
from minicnn.testing import strategies as cst
from torch_ref import t

DTYPES = [np.float64, np.float32]


def test_linear_and_flatten_gradcheck_functional(backend_name):
    x = cst.arrays((3, 5), np.float64, 1)
    w = cst.arrays((4, 5), np.float64, 2)
    b = cst.arrays((4,), np.float64, 3)
    assert gradcheck((F.linear_forward, F.linear_backward), x, w, b)
    assert gradcheck((lambda x_: F.flatten_forward(x_, 2), F.flatten_backward), cst.arrays((2, 3, 2, 2), np.float64, 4))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_and_flatten_layers_gradcheck(backend_name, bias):
    assert gradcheck(nn.Linear(6, 3, bias=bias).astype(np.float64), cst.arrays((4, 6), np.float64, 5))
    assert gradcheck(nn.Flatten(), cst.arrays((2, 3, 2, 1), np.float64, 6))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_layer_matches_torch_layer_and_state_dict(backend_name, dtype, bias):
    tl = torch.nn.Linear(7, 5, bias=bias).to(torch.float64 if dtype == np.float64 else torch.float32)
    ml = nn.Linear(7, 5, bias=bias).astype(dtype)
    keys = ["weight", "bias"] if bias else ["weight"]
    assert list(ml.state_dict()) == list(tl.state_dict()) == keys
    assert [name for name, _ in ml.named_parameters()] == [name for name, _ in tl.named_parameters()]
    ml.load_state_dict({k: v.numpy() for k, v in tl.state_dict().items()})
    x = cst.arrays((4, 7), dtype, 7)
    tx = t(x)
    ty = tl(tx)
    dy = cst.arrays((4, 5), dtype, 8)
    ty.backward(torch.from_numpy(dy))
    y = ml(backend.asarray(x))
    dx = ml.backward(backend.asarray(dy))
    tol = cst.tolerance(dtype)
    assert backend.to_numpy(y).dtype == dtype
    assert_close(y, ty.detach().numpy(), tol.rtol, tol.atol, "y")
    assert_close(dx, tx.grad.numpy(), tol.rtol, tol.atol, "dx")
    assert_close(ml.weight.grad, tl.weight.grad.numpy(), tol.rtol, tol.atol, "dw")
    if bias:
        assert_close(ml.bias.grad, tl.bias.grad.numpy(), tol.rtol, tol.atol, "db")
    else:
        assert ml.bias is None
    assert all(np.array_equal(v, tl.state_dict()[k].numpy()) for k, v in ml.state_dict().items())


def test_linear_backward_accumulates_into_grad():
    layer = nn.Linear(3, 2).astype(np.float64)
    x, dy = cst.arrays((4, 3), np.float64, 1), cst.arrays((4, 2), np.float64, 2)
    layer(x)
    layer.backward(dy)
    once = layer.weight.grad.copy()
    layer(x)
    layer.backward(dy)
    assert_close(layer.weight.grad, 2 * once, 1e-12, 0, "accumulated dw")


@pytest.mark.parametrize("start_dim", [1, 2, -1, 0])
def test_flatten_layer_matches_torch_layer(backend_name, start_dim):
    x = cst.arrays((2, 3, 4, 5), np.float32, 9)
    tx = t(x)
    ty = torch.nn.Flatten(start_dim)(tx)
    dy = cst.arrays(tuple(ty.shape), np.float32, 10)
    ty.backward(torch.from_numpy(dy))
    layer = nn.Flatten(start_dim)
    assert layer.state_dict() == {}
    y = layer(backend.asarray(x))
    assert_close(y, ty.detach().numpy(), 0, 0, "y")
    assert_close(layer.backward(backend.asarray(dy)), tx.grad.numpy(), 0, 0, "dx")


def test_flatten_default_keeps_the_batch_axis():
    assert nn.Flatten()(np.zeros((2, 3, 4, 5), np.float32)).shape == (2, 60)
    assert F.flatten_forward(np.zeros((2, 3, 4, 5)))[0].shape == (2, 60)


def test_linear_default_init_matches_torch_distribution():
    minicnn.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w, b = backend.to_numpy(layer.weight.data), backend.to_numpy(layer.bias.data)
    assert w.dtype == np.float32 and w.shape == (300, 400) and b.shape == (300,)
    for a in (w, b):
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.9 * bound
    assert abs(float(w.std()) - bound / np.sqrt(3)) < 0.05 * bound


@pytest.mark.parametrize("bad, err, match", [
    (np.zeros((2, 3, 5), np.float32), ValueError, "4 features"),
    (np.zeros(5, np.float32), ValueError, "4 features"),
    (np.zeros((2, 5), np.float32), ValueError, "4 features"),
    (np.zeros((2, 4), np.int64), TypeError, "floating"),
    ([[0.0] * 4], TypeError, "array"),
])
def test_linear_layer_rejects_bad_input(bad, err, match):
    with pytest.raises(err, match=match) as info:
        nn.Linear(4, 3)(bad)
    assert "Linear(in_features=4, out_features=3" in str(info.value)


@pytest.mark.parametrize("bad, start_dim, err, match", [
    (np.zeros((2, 3), np.int32), 1, TypeError, "floating"),
    (np.zeros((2, 3), np.float32), 2, ValueError, "out of range"),
    (np.zeros((2, 3), np.float32), -3, ValueError, "out of range"),
])
def test_flatten_layer_rejects_bad_input(bad, start_dim, err, match):
    with pytest.raises(err, match=match) as info:
        nn.Flatten(start_dim)(bad)
    assert f"Flatten(start_dim={start_dim}, end_dim=-1)" in str(info.value)


@pytest.mark.parametrize("args", [(0, 3), (3, 0), (-1, 2)])
def test_linear_rejects_impossible_sizes(args):
    with pytest.raises(ValueError, match="Linear: in_features and out_features"):
        nn.Linear(*args)


@pytest.mark.parametrize("call, err, match", [
    (lambda: F.linear_forward(np.zeros((2, 3)), np.zeros((4, 5))), ValueError, "expected 5 features"),
    (lambda: F.linear_forward(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros(3)), ValueError, "bias"),
    (lambda: F.linear_forward(np.zeros((2, 3), np.int64), np.zeros((4, 3))), TypeError, "floating"),
    (lambda: F.flatten_forward(np.zeros((2, 3)), 5), ValueError, "out of range"),
])
def test_linear_and_flatten_functional_reject_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_linear_and_flatten_backward_before_forward_is_a_clear_error():
    for layer, dy in ((nn.Linear(2, 2), np.zeros((1, 2), np.float32)), (nn.Flatten(), np.zeros((1, 4), np.float32))):
        with pytest.raises(RuntimeError, match="backward\\(\\) called before forward\\(\\)"):
            layer.backward(dy)


@pytest.mark.parametrize("args", [(3.0, 2), (3, True), ("3", 2)])
def test_linear_rejects_non_integer_sizes(args):
    with pytest.raises(ValueError, match="Linear: in_features and out_features must be ints >= 1"):
        nn.Linear(*args)


def test_flatten_rejects_a_non_integer_start_dim():
    with pytest.raises(TypeError, match="Flatten: start_dim must be an int"):
        nn.Flatten(1.0)
