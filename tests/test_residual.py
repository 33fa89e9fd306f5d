"""The residual add and the Residual layer against PyTorch, with conv bodies and 1x1 conv shortcuts.

The hypothesis comparison of the functional add with PyTorch is its row in tests/op_table.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minicnn import backend, nn
from minicnn import functional as F
from minicnn.testing import assert_close, gradcheck
from minicnn.testing import strategies as cst
from torch_ref import step_matches_torch, t

DTYPES = [np.float64, np.float32]


class TorchResidual(torch.nn.Module):
    """The PyTorch module that nn.Residual mirrors: same attributes, same state_dict keys."""

    def __init__(self, body: torch.nn.Module, shortcut: torch.nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


def test_add_gradcheck(backend_name):
    assert gradcheck((F.add_forward, F.add_backward), cst.arrays((2, 3, 4), np.float64, 1),
                     cst.arrays((2, 3, 4), np.float64, 2))


@pytest.mark.parametrize("a, b, err, match", [
    (np.zeros((2, 3)), np.zeros((3, 2)), ValueError, r"same shape, got \(2, 3\) and \(3, 2\)"),
    (np.zeros((2, 3)), np.zeros((1, 3)), ValueError, "same shape"),
    (np.zeros(3), np.zeros(3, np.float32), TypeError, "same dtype"),
    (np.zeros(3, np.int64), np.zeros(3, np.int64), TypeError, "floating"),
])
def test_add_rejects_mismatched_inputs(a, b, err, match):
    with pytest.raises(err, match=match):
        F.add_forward(a, b)


def test_add_backward_rejects_a_gradient_of_the_wrong_shape():
    _, cache = F.add_forward(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"add backward: dout has shape \(3, 2\), the forward output has shape"):
        F.add_backward(np.zeros((3, 2)), cache)


def _pair(c_in, c_out, stride, projection):
    """A two-conv body and (optionally) a strided 1x1 conv shortcut, in both engines."""
    ours = nn.Residual(nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1),
                                     nn.Conv2d(c_out, c_out, 3, padding=1)),
                       nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)) if projection else None)
    theirs = TorchResidual(torch.nn.Sequential(torch.nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1),
                                               torch.nn.Conv2d(c_out, c_out, 3, padding=1)),
                           torch.nn.Sequential(torch.nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False))
                           if projection else None)
    return ours, theirs


@st.composite
def residual_geometry(draw):
    """(n, c_in, c_out, h, w, stride, projection): identity skips only where the shapes allow them."""
    projection = draw(st.booleans())
    c_in = draw(st.integers(1, 4))
    c_out = draw(st.integers(1, 4)) if projection else c_in
    stride = draw(st.integers(1, 2)) if projection else 1
    return draw(st.integers(1, 3)), c_in, c_out, draw(st.integers(1, 8)), draw(st.integers(1, 8)), stride, projection


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@given(geo=residual_geometry(), seed=cst.seeds())
def test_residual_matches_torch_module(backend_name, dtype, geo, seed):
    n, c_in, c_out, h, w, stride, projection = geo
    torch.manual_seed(seed % 2**31)
    ours, theirs = _pair(c_in, c_out, stride, projection)
    theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.astype(dtype).load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    step_matches_torch(ours, theirs, cst.arrays((n, c_in, h, w), dtype, seed), seed + 1, cst.tolerance(dtype))


def test_residual_state_dict_keys_are_pytorch_names():
    ours, theirs = _pair(3, 4, 2, projection=True)
    keys = ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "shortcut.0.weight"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == keys
    assert [k for k, _ in ours.named_parameters()] == keys
    identity, _ = _pair(3, 3, 1, projection=False)
    assert list(identity.state_dict()) == keys[:4] and identity.shortcut is None


@pytest.mark.parametrize("projection", [True, False])
def test_residual_gradcheck(backend_name, projection):
    ours, _ = _pair(2, 2, 1 + projection, projection)
    assert gradcheck(ours.astype(np.float64), cst.arrays((2, 2, 4, 3), np.float64, 3))


def test_small_network_with_every_layer_here_matches_torch(backend_name):
    """Conv residual block, both pools, adaptive pooling, flatten and linear, composed in both engines."""
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Residual(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1)),
                                     nn.Sequential(nn.Conv2d(3, 4, 1))),
                         nn.MaxPool2d(2), nn.AvgPool2d(3, 1, 1), nn.AdaptiveAvgPool2d((2, 3)),
                         nn.Flatten(), nn.Linear(24, 5)).astype(np.float64)
    theirs = torch.nn.Sequential(TorchResidual(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1)),
                                               torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1))),
                                 torch.nn.MaxPool2d(2), torch.nn.AvgPool2d(3, 1, 1), torch.nn.AdaptiveAvgPool2d((2, 3)),
                                 torch.nn.Flatten(), torch.nn.Linear(24, 5)).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = cst.arrays((2, 3, 9, 11), np.float64, 4)
    tx = t(x)
    ty = theirs(tx)
    dy = cst.arrays(tuple(ty.shape), np.float64, 5)
    ty.backward(torch.from_numpy(dy))
    assert_close(ours(backend.asarray(x)), ty.detach().numpy(), 1e-9, 1e-10, "y")
    assert_close(ours.backward(backend.asarray(dy)), tx.grad.numpy(), 1e-9, 1e-10, "dx")
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, torch_params[name].grad.numpy(), 1e-9, 1e-10, name)
    small = nn.Sequential(*list(ours)[:1], nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    assert gradcheck(small.astype(np.float64), cst.arrays((1, 3, 4, 4), np.float64, 6))


def test_residual_rejects_branches_of_different_shapes():
    block = nn.Residual(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1)))
    with pytest.raises(ValueError, match=r"Residual: body output shape \(1, 4, 5, 5\) != input shape \(1, 3, 5, 5\)"):
        block(np.zeros((1, 3, 5, 5), np.float32))
    strided = nn.Residual(nn.Sequential(nn.Conv2d(3, 3, 3, stride=2, padding=1)), nn.Sequential(nn.Conv2d(3, 3, 1)))
    with pytest.raises(ValueError, match="shortcut output shape"):
        strided(np.zeros((1, 3, 6, 6), np.float32))


@pytest.mark.parametrize("body, shortcut, match", [
    ("not a module", None, "body must be a Module"),
    (None, None, "body must be a Module"),
    (nn.Flatten(), lambda x: x, "shortcut must be a Module or None"),
])
def test_residual_rejects_non_modules(body, shortcut, match):
    with pytest.raises(TypeError, match=match):
        nn.Residual(body, shortcut)


def test_residual_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward\\(\\)"):
        nn.Residual(nn.Flatten()).backward(np.zeros((1, 1), np.float32))


def test_residual_train_and_eval_reach_both_branches():
    block, _ = _pair(2, 3, 1, projection=True)
    block.eval()
    assert not any(m.training for m in block.modules())
    block.train()
    assert all(m.training for m in block.modules())
