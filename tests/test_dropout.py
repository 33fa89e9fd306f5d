"""Inverted dropout: mask statistics, scaling, eval identity, seeding, and gradients against PyTorch.

The hypothesis comparison with torch's own masks is dropout's row in tests/op_table.py.
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


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_mask_statistics_and_scaling(backend_name, p):
    x = cst.arrays((200, 500), np.float32, 1)
    y, _ = F.dropout_forward(backend.asarray(x), p)
    y = backend.to_numpy(y)
    assert y.dtype == np.float32
    dropped = y == 0
    n = x.size
    assert abs(dropped.sum() - p * n) < 5 * np.sqrt(n * p * (1 - p))
    assert_close(y[~dropped], x[~dropped] / np.float32(1 - p), 2e-7, 0, "survivors")
    rows = dropped.mean(axis=1)
    assert rows.std() < 3 * np.sqrt(p * (1 - p) / x.shape[1])


def test_dropout_is_identity_in_eval_and_for_p_zero(backend_name):
    x = backend.asarray(cst.arrays((3, 4, 5), np.float64, 2))
    dy = backend.asarray(cst.arrays((3, 4, 5), np.float64, 3))
    for p, training in [(0.5, False), (0.0, True)]:
        y, cache = F.dropout_forward(x, p, training)
        assert_close(y, x, 0, 0, "y")
        assert_close(F.dropout_backward(dy, cache), dy, 0, 0, "dx")
    layer = nn.Dropout(0.7).eval()
    assert_close(layer(x), x, 0, 0, "eval layer")
    assert_close(layer.backward(dy), dy, 0, 0, "eval layer dx")


def test_dropout_seeded_masks_are_reproducible_and_backend_independent(backend_name):
    x = backend.asarray(np.ones((4, 6, 5, 5), np.float32))
    minicnn.manual_seed(123)
    a = backend.to_numpy(nn.Dropout(0.3)(x))
    b = backend.to_numpy(nn.Dropout(0.3)(x))
    minicnn.manual_seed(123)
    a2 = backend.to_numpy(nn.Dropout(0.3)(x))
    assert_close(a, a2, 0, 0, "same seed")
    assert not np.array_equal(a, b)
    with minicnn.use_backend("numpy"):
        minicnn.manual_seed(123)
        ref = backend.to_numpy(nn.Dropout(0.3)(np.ones((4, 6, 5, 5), np.float32)))
    assert_close(a, ref, 0, 0, "numpy backend")
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    state = minicnn.random.get_state()
    ya, _ = F.dropout_forward(x, 0.3, rng=rng_a)
    yb, _ = F.dropout_forward(x, 0.3, rng=rng_b)
    assert_close(ya, yb, 0, 0, "explicit rng")
    assert minicnn.random.get_state() == state


def test_dropout_backward_uses_the_forward_mask(backend_name):
    x = cst.arrays((8, 16), np.float64, 4)
    dy = cst.arrays((8, 16), np.float64, 5)
    layer = nn.Dropout(0.4).astype(np.float64)
    y = backend.to_numpy(layer(backend.asarray(x)))
    dx = layer.backward(backend.asarray(dy))
    keep = y != 0
    assert_close(dx, np.where(keep, dy / 0.6, 0.0), 1e-15, 0, "dx")
    assert_close(y, np.where(keep, x / 0.6, 0.0), 1e-15, 0, "y")


def test_dropout_layer_next_mask_reproduces_torch(backend_name):
    x = cst.arrays((5, 7), np.float64, 6)
    dy = cst.arrays((5, 7), np.float64, 7)
    torch.manual_seed(0)
    tl = torch.nn.Dropout(0.25)
    tx = t(x)
    ty = tl(tx)
    ty.backward(torch.from_numpy(dy))
    layer = nn.Dropout(0.25).astype(np.float64)
    layer.next_mask = backend.asarray(ty.detach().numpy() != 0)
    y = layer(backend.asarray(x))
    assert layer.next_mask is None
    assert_close(y, ty.detach().numpy(), 1e-15, 0, "y")
    assert_close(layer.backward(backend.asarray(dy)), tx.grad.numpy(), 1e-15, 0, "dx")
    mask = backend.asarray(np.arange(35).reshape(5, 7) % 2 == 0)
    assert_close(layer(backend.asarray(x), mask), np.where(backend.to_numpy(mask), x / 0.75, 0), 1e-15, 0, "kw")


def test_dropout_gradcheck_with_fixed_mask(backend_name):
    x = cst.arrays((3, 4, 2, 2), np.float64, 8)
    mask = backend.asarray(cst.arrays((3, 4, 2, 2), np.float64, 9) > 0)
    assert gradcheck((lambda x_: F.dropout_forward(x_, 0.3, True, mask=mask), F.dropout_backward), x)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match="Dropout: p must be"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="dropout: p must be"):
        F.dropout_forward(np.ones(3), p)


def test_dropout_rejects_bad_input_and_masks():
    layer = nn.Dropout(0.5)
    with pytest.raises(TypeError, match=r"Dropout\(p=0.5\).*floating"):
        layer(np.ones((2, 2), np.int64))
    with pytest.raises(ValueError, match=r"Dropout\(p=0.5\): dropout: mask has shape \(2, 3\)"):
        layer(np.ones((2, 2), np.float32), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="mask has shape"):
        F.dropout_forward(np.ones((2, 2)), 0.5, mask=np.ones(4, bool))
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward\\(\\)"):
        nn.Dropout().backward(np.ones(2, np.float32))


def test_dropout_takes_numpy_probabilities_and_rejects_non_numbers():
    assert nn.Dropout(np.float32(0.25)).p == 0.25
    y, _ = F.dropout_forward(np.ones((4, 4), np.float32), np.float32(0.5), mask=np.eye(4, dtype=bool))
    assert y.dtype == np.float32 and np.array_equal(y, 2 * np.eye(4))
    for bad in ("0.5", None, True):
        with pytest.raises(TypeError, match="Dropout: p must be a number"):
            nn.Dropout(bad)
    with pytest.raises(ValueError, match="dropout: p must be finite"):
        F.dropout_forward(np.ones(3), float("nan"))
