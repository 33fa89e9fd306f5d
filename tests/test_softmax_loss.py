"""softmax, log_softmax and cross-entropy (with label smoothing): huge logits, gradcheck, layers, bad input.

The hypothesis comparison of the functional ops with PyTorch is their rows in tests/op_table.py.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from minicnn import backend, nn
from minicnn import functional as F
from minicnn.testing import assert_close, gradcheck
from minicnn.testing import strategies as cst
from torch_ref import t, torch_grads

DTYPES = [np.float64, np.float32]
TF = torch.nn.functional
SOFTMAXES = {
    "softmax": (F.softmax_forward, F.softmax_backward, TF.softmax, nn.Softmax, torch.nn.Softmax),
    "log_softmax": (F.log_softmax_forward, F.log_softmax_backward, TF.log_softmax, nn.LogSoftmax,
                    torch.nn.LogSoftmax),
}


# ---- stability --------------------------------------------------------------------------

def test_huge_logits_give_finite_exact_results(backend_name):
    x = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [5e3, 1e4, 1e4]])
    p = backend.to_numpy(F.softmax_forward(backend.asarray(x), 1)[0])
    lp = backend.to_numpy(F.log_softmax_forward(backend.asarray(x), 1)[0])
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    assert_close(p, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.5, 0.5]], 1e-15, 0, "softmax")
    assert_close(lp, [[0.0, -1e4, -2e4], [-math.log(3)] * 3, [-5e3 - math.log(2), -math.log(2), -math.log(2)]],
                 1e-15, 0, "log_softmax")
    targets = np.array([2, 0, 0])
    loss, cache = F.cross_entropy_forward(backend.asarray(x), backend.asarray(targets), 0.1)
    dz = F.cross_entropy_backward(1.0, cache)[0]
    tz = t(x)
    tloss = TF.cross_entropy(tz, torch.from_numpy(targets), label_smoothing=0.1)
    tloss.backward()
    assert np.isfinite(float(backend.to_numpy(loss))) and float(backend.to_numpy(loss)) > 2e3
    assert_close(loss, tloss.detach().numpy(), 1e-12, 0, "loss")
    assert_close(dz, tz.grad.numpy(), 1e-12, 1e-15, "dlogits")
    for dtype in DTYPES:
        y32 = backend.to_numpy(F.log_softmax_forward(backend.asarray(x.astype(dtype)), 1)[0])
        assert y32.dtype == dtype and np.all(np.isfinite(y32))


def test_cross_entropy_gradient_is_softmax_minus_smoothed_onehot(backend_name):
    z = cst.arrays((4, 5), np.float64, 3)
    targets = np.array([4, 0, 2, 2])
    _, cache = F.cross_entropy_forward(backend.asarray(z), backend.asarray(targets), 0.2)
    dz = backend.to_numpy(F.cross_entropy_backward(2.5, cache)[0])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    q = 0.8 * np.eye(5)[targets] + 0.2 / 5
    assert_close(dz, 2.5 * (p - q) / 4, 1e-14, 1e-16, "dlogits")
    assert abs(dz.sum()) < 1e-14                                          # rows of p - q sum to 0


# ---- gradcheck ------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SOFTMAXES))
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_gradcheck_functional_and_layer(backend_name, name, dim):
    forward, backward, _, layer_cls, _ = SOFTMAXES[name]
    x = cst.arrays((3, 4, 2), np.float64, 5, scale=2.0)
    assert gradcheck((lambda x_: forward(x_, dim), backward), x)
    assert gradcheck(layer_cls(dim), x)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_gradcheck_functional_and_layer(backend_name, label_smoothing):
    z = cst.arrays((5, 4), np.float64, 6, scale=2.0)
    targets = np.array([3, 0, 1, 3, 2])
    assert gradcheck((lambda z_, t_: F.cross_entropy_forward(z_, t_, label_smoothing), F.cross_entropy_backward),
                     z, targets)
    loss = nn.CrossEntropyLoss(label_smoothing)

    def layer_forward(z_: Any, t_: Any) -> tuple[Any, None]:
        return backend.asarray(np.asarray(loss(z_, t_))), None

    def layer_backward(dout: Any, _: None) -> tuple[Any, None]:
        return loss.backward(float(backend.to_numpy(dout))), None
    assert gradcheck((layer_forward, layer_backward), z, targets)


# ---- layers ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(SOFTMAXES))
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_softmax_layers_match_torch_layers(backend_name, dtype, name, dim):
    _, _, _, layer_cls, torch_cls = SOFTMAXES[name]
    tol = cst.tolerance(dtype)
    layer = layer_cls(dim)
    assert layer_cls().dim == 1 and layer.state_dict() == {}
    assert repr(layer) == repr(torch_cls(dim)) == f"{torch_cls.__name__}(dim={dim})"
    x = cst.arrays((2, 5, 3, 2), dtype, 7, scale=3.0)
    dy = cst.arrays(x.shape, dtype, 8)
    y = layer(backend.asarray(x))
    dx = layer.backward(backend.asarray(dy))
    ty, (tdx,) = torch_grads(torch_cls(dim), [t(x)], dy)
    assert_close(y, ty, tol.rtol, tol.atol, f"{name} layer y")
    assert_close(dx, tdx, tol.rtol, tol.atol, f"{name} layer dx")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.75])
def test_cross_entropy_loss_matches_torch_module(backend_name, dtype, label_smoothing):
    tol = cst.tolerance(dtype)
    logits = cst.arrays((6, 7), dtype, 9, scale=3.0)
    targets = np.array([0, 6, 3, 3, 1, 5])
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    tloss_fn = torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    loss = loss_fn(backend.asarray(logits), backend.asarray(targets))
    dlogits = loss_fn.backward()
    tz = t(logits)
    tloss = tloss_fn(tz, torch.from_numpy(targets))
    tloss.backward()
    assert isinstance(loss, float)
    assert loss == pytest.approx(tloss.item(), rel=tol.rtol)
    assert backend.to_numpy(dlogits).dtype == dtype
    assert_close(dlogits, tz.grad.numpy(), tol.rtol, tol.atol, "dlogits")
    loss_fn(backend.asarray(logits), targets)                         # host targets are accepted
    assert_close(loss_fn.backward(-0.5), -0.5 * tz.grad.numpy(), tol.rtol, tol.atol, "dlogits * dloss")


def test_cross_entropy_loss_defaults_and_repr():
    assert nn.CrossEntropyLoss().label_smoothing == torch.nn.CrossEntropyLoss().label_smoothing == 0.0
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.CrossEntropyLoss(0.1)) == "CrossEntropyLoss(label_smoothing=0.1)"
    assert nn.CrossEntropyLoss().parameters() == []


# ---- bad input ------------------------------------------------------------------------

GOOD_LOGITS = np.zeros((3, 4), np.float32)
GOOD_TARGETS = np.array([0, 3, 1])


@pytest.mark.parametrize("logits, targets, err, match", [
    (np.zeros((3, 4, 2), np.float32), GOOD_TARGETS, ValueError, r"2-D logits \(N, K\)"),
    (np.zeros(4, np.float32), GOOD_TARGETS, ValueError, "2-D logits"),
    (np.zeros((0, 4), np.float32), GOOD_TARGETS[:0], ValueError, "N, K >= 1"),
    (np.zeros((3, 4), np.int64), GOOD_TARGETS, TypeError, "logits must be a floating-point array"),
    (GOOD_LOGITS, GOOD_TARGETS.astype(np.float32), TypeError, "targets must be an integer array"),
    (GOOD_LOGITS, GOOD_TARGETS.astype(bool), TypeError, "targets must be an integer array"),
    (GOOD_LOGITS, [0, 3, 1], TypeError, "targets must be an integer array"),
    (GOOD_LOGITS, GOOD_TARGETS[:, None], ValueError, r"expected targets of shape \(3,\)"),
    (GOOD_LOGITS, GOOD_TARGETS[:2], ValueError, r"expected targets of shape \(3,\)"),
    (GOOD_LOGITS, np.array([0, 4, 1]), ValueError, "target 4 is out of range for 4 classes"),
    (GOOD_LOGITS, np.array([0, -1, 1]), ValueError, "target -1 is out of range"),
])
def test_cross_entropy_rejects_bad_input(logits, targets, err, match):
    with pytest.raises(err, match=match) as info:
        nn.CrossEntropyLoss()(logits, targets)
    assert str(info.value).startswith("CrossEntropyLoss()")
    with pytest.raises(err, match=match) as info:
        F.cross_entropy_forward(logits, targets)
    assert str(info.value).startswith("cross_entropy:")


@pytest.mark.parametrize("value, err", [(1.5, ValueError), (-0.1, ValueError), ("some", TypeError)])
def test_label_smoothing_outside_unit_interval_is_rejected(value, err):
    with pytest.raises(err, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=value)
    with pytest.raises(err, match="cross_entropy: label_smoothing"):
        F.cross_entropy_forward(GOOD_LOGITS, GOOD_TARGETS, value)


@pytest.mark.parametrize("make", [nn.Softmax, nn.LogSoftmax, nn.CrossEntropyLoss], ids=lambda c: c.__name__)
def test_backward_before_forward_is_a_clear_error(make):
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward\\(\\)"):
        make().backward(np.ones((3, 4)))


@pytest.mark.parametrize("make, name", [(nn.Softmax, "Softmax"), (nn.LogSoftmax, "LogSoftmax")])
def test_softmax_layers_reject_bad_input(make, name):
    with pytest.raises(TypeError, match=f"^{name}\\(dim=1\\): .*expected a floating-point input"):
        make()(np.zeros((2, 3), np.int32))
    with pytest.raises(ValueError, match=f"^{name}\\(dim=2\\).*dim 2 is out of range for a 2-D input"):
        make(2)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        make(0)(np.zeros(()))
    with pytest.raises(TypeError, match="dim must be an int"):
        make("1")
    with pytest.raises(TypeError, match="dim must be an int"):
        make(True)


def test_functional_softmax_rejects_bad_input():
    with pytest.raises(ValueError, match="softmax: dim -3 is out of range"):
        F.softmax_forward(np.zeros((2, 3)), -3)
    with pytest.raises(TypeError, match="log_softmax"):
        F.log_softmax_forward(np.zeros((2, 3), np.int64))
