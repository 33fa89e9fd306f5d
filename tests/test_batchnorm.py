"""batch_norm (functional and BatchNorm1d/2d): kernel statistics, gradcheck, layer steps against PyTorch.

The hypothesis comparison of batch_norm with PyTorch (outputs, every gradient, running statistics)
is its row in tests/op_table.py.
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


@st.composite
def bn_shapes(draw) -> tuple[int, ...]:
    """(N, C), (N, C, L) or (N, C, H, W) with at least 2 values per channel."""
    ndim = draw(st.sampled_from([2, 3, 4]))
    c = draw(st.integers(1, 8))
    spatial = tuple(draw(st.integers(1, 6)) for _ in range(ndim - 2))
    n = draw(st.integers(1, 6))
    if n * int(np.prod(spatial)) < 2:
        n = 2
    return (n, c, *spatial)


@given(shape=bn_shapes(), seed=cst.seeds())
def test_batch_norm_kernel_statistics(backend_name, shape, seed):
    """The kernel's mean and (biased) variance are NumPy's, over N and L of each channel."""
    x = cst.arrays(shape, np.float64, seed)
    x3 = x.reshape(shape[0], shape[1], -1)
    c = shape[1]
    y, mean, var, inv_std = backend.kernels().batch_norm_train(
        backend.asarray(x3), backend.asarray(np.ones(c)), backend.asarray(np.zeros(c)), 1e-5)
    assert_close(mean, x3.mean(axis=(0, 2)), 1e-12, 1e-12, "mean")
    assert_close(var, x3.var(axis=(0, 2)), 1e-12, 1e-12, "var")
    assert_close(inv_std, 1 / np.sqrt(x3.var(axis=(0, 2)) + 1e-5), 1e-12, 1e-12, "inv_std")
    assert_close(y, (x3 - x3.mean(axis=(0, 2), keepdims=True)) * backend.to_numpy(inv_std)[:, None],
                 1e-12, 1e-12, "y")


def test_running_statistics_use_unbiased_variance(backend_name):
    x = cst.arrays((3, 2, 2, 2), np.float64, 7)
    rm, rv = backend.asarray(np.zeros(2)), backend.asarray(np.ones(2))
    F.batch_norm_forward(backend.asarray(x), backend.asarray(np.ones(2)), backend.asarray(np.zeros(2)),
                         rm, rv, True, momentum=0.25)
    assert_close(rm, 0.25 * x.mean(axis=(0, 2, 3)), 1e-12, 1e-15, "running_mean")
    assert_close(rv, 0.75 + 0.25 * x.var(axis=(0, 2, 3), ddof=1), 1e-12, 1e-15, "running_var")


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 4), (2, 3, 3, 2)], ids=["2d", "3d", "4d"])
def test_batch_norm_gradcheck_functional(backend_name, training, shape):
    c = shape[1]
    x = cst.arrays(shape, np.float64, 1)
    gamma, beta = cst.arrays((c,), np.float64, 2), cst.arrays((c,), np.float64, 3)
    rm, rv = cst.arrays((c,), np.float64, 4), np.exp(cst.arrays((c,), np.float64, 5))

    def fwd(x_, g_, b_):
        return F.batch_norm_forward(x_, g_, b_, backend.asarray(rm), backend.asarray(rv), training, 0.1, 1e-5)
    assert gradcheck((fwd, F.batch_norm_backward), x, gamma, beta)


@pytest.mark.parametrize("layer, shape", [(nn.BatchNorm1d, (6, 4)), (nn.BatchNorm1d, (3, 4, 5)),
                                          (nn.BatchNorm2d, (2, 4, 3, 3))], ids=["1d-2d", "1d-3d", "2d"])
def test_batchnorm_layer_gradcheck(backend_name, layer, shape):
    m = layer(4).astype(np.float64)
    m.weight.data = backend.asarray(cst.arrays((4,), np.float64, 8))
    m.bias.data = backend.asarray(cst.arrays((4,), np.float64, 9))
    assert gradcheck(m, cst.arrays(shape, np.float64, 10))
    m.eval()
    assert gradcheck(m, cst.arrays(shape, np.float64, 11))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("kind, shape", [("1d", (6, 5)), ("1d", (4, 5, 3)), ("2d", (3, 5, 4, 3))],
                         ids=["1d-2d", "1d-3d", "2d"])
def test_batchnorm_layer_steps_match_torch(backend_name, dtype, kind, shape):
    """Several training steps (gradients accumulating), then eval; then the state_dict goes both ways."""
    tol = cst.tolerance(dtype)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    tl = (torch.nn.BatchNorm1d if kind == "1d" else torch.nn.BatchNorm2d)(5, eps=1e-4, momentum=0.3).to(tdtype)
    ml = (nn.BatchNorm1d if kind == "1d" else nn.BatchNorm2d)(5, eps=1e-4, momentum=0.3).astype(dtype)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(cst.arrays((5,), dtype, 1)))
        tl.bias.copy_(torch.from_numpy(cst.arrays((5,), dtype, 2)))
    ml.load_state_dict({k: v.numpy().copy() for k, v in tl.state_dict().items()})
    for step in range(3):
        x = cst.arrays(shape, dtype, 10 + step, scale=1.0 + step) + step
        step_matches_torch(ml, tl, x, 20 + step, tol, f" step {step}")
        assert_close(ml.running_mean, tl.running_mean.numpy(), tol.rtol, tol.atol, f"running_mean {step}")
        assert_close(ml.running_var, tl.running_var.numpy(), tol.rtol, tol.atol, f"running_var {step}")
    assert int(backend.to_numpy(ml.num_batches_tracked)) == int(tl.num_batches_tracked) == 3
    tl.eval()
    ml.eval()
    x = cst.arrays(shape, dtype, 30)
    assert_close(ml(backend.asarray(x)), tl(t(x, grad=False)).detach().numpy(), tol.rtol, tol.atol, "eval y")
    assert int(backend.to_numpy(ml.num_batches_tracked)) == 3

    sd = ml.state_dict()
    assert list(sd) == list(tl.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                                 "num_batches_tracked"]
    assert sd["num_batches_tracked"].dtype == np.int64 and sd["num_batches_tracked"].shape == ()
    fresh = (torch.nn.BatchNorm1d if kind == "1d" else torch.nn.BatchNorm2d)(5, eps=1e-4).to(tdtype).eval()
    fresh.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()})
    for k, v in fresh.state_dict().items():
        assert_close(v.numpy(), sd[k], 0, 0, k)
    assert_close(ml(backend.asarray(x)), fresh(t(x, grad=False)).detach().numpy(), tol.rtol, tol.atol, "reloaded")


def test_batchnorm_defaults_and_dtypes():
    m = nn.BatchNorm2d(3)
    sd = m.state_dict()
    assert_close(sd["weight"], np.ones(3), 0, 0)
    assert_close(sd["bias"], np.zeros(3), 0, 0)
    assert_close(sd["running_mean"], np.zeros(3), 0, 0)
    assert_close(sd["running_var"], np.ones(3), 0, 0)
    assert sd["weight"].dtype == sd["running_var"].dtype == np.float32
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert (m.eps, m.momentum) == (1e-5, 0.1)
    y = m(np.ones((2, 3, 2, 2), np.float32))
    assert y.dtype == np.float32
    m.astype(np.float64)
    assert m.state_dict()["num_batches_tracked"].dtype == np.int64


@pytest.mark.parametrize("layer, bad, err, match", [
    (nn.BatchNorm2d(3), np.zeros((2, 3, 4), np.float32), ValueError, "4-D"),
    (nn.BatchNorm2d(3), np.zeros((2, 4, 2, 2), np.float32), ValueError, "3 channels"),
    (nn.BatchNorm1d(3), np.zeros((2, 3, 2, 2), np.float32), ValueError, "2-D or 3-D"),
    (nn.BatchNorm1d(3), np.zeros((4, 5), np.float32), ValueError, "3 channels"),
    (nn.BatchNorm1d(3), np.zeros((4, 3), np.int32), TypeError, "floating"),
    (nn.BatchNorm1d(3), np.zeros((1, 3), np.float32), ValueError, "more than 1 value per channel"),
    (nn.BatchNorm2d(3), np.zeros((1, 3, 1, 1), np.float32), ValueError, "more than 1 value per channel"),
])
def test_batchnorm_rejects_bad_input(layer, bad, err, match):
    with pytest.raises(err, match=match) as info:
        layer(bad)
    assert type(layer).__name__ + "(3" in str(info.value)


def test_batchnorm_batch_of_one_is_fine_in_eval_and_with_spatial_extent():
    m = nn.BatchNorm1d(3).eval()
    assert_close(m(np.full((1, 3), 2.0, np.float32)), np.full((1, 3), 2.0 / np.sqrt(1 + 1e-5)), 1e-6, 0)
    assert int(m.num_batches_tracked) == 0
    m2 = nn.BatchNorm2d(3)
    m2(cst.arrays((1, 3, 2, 1), np.float32, 0))
    assert int(m2.num_batches_tracked) == 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_features=0), "num_features"), (dict(num_features=3, eps=0.0), "eps"),
    (dict(num_features=3, momentum=1.5), "momentum"), (dict(num_features=3, momentum=-0.1), "momentum"),
])
def test_batchnorm_rejects_impossible_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.BatchNorm2d(**kwargs)


def test_batch_norm_functional_errors():
    x = np.zeros((1, 2), np.float64)
    with pytest.raises(ValueError, match="more than 1 value"):
        F.batch_norm_forward(x, np.ones(2), np.zeros(2), None, None, True)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm_forward(x, np.ones(2), np.zeros(2), None, None, False)
    with pytest.raises(ValueError, match=r"expected 3 channels \(axis 1\).*input of shape \(3, 2\)"):
        F.batch_norm_forward(np.zeros((3, 2)), np.ones(3), np.zeros(3), None, None, True)


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward\\(\\)"):
        nn.BatchNorm1d(2).backward(np.zeros((2, 2), np.float32))
