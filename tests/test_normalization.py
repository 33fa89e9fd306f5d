"""layer_norm and local_response_norm (functional, LayerNorm, LocalResponseNorm): gradcheck, constant rows of
large values, layer steps and state dicts against PyTorch, constructor checks.

The hypothesis comparison of both ops with PyTorch (outputs and every gradient) is their rows in
tests/op_table.py; batch norm has tests/test_batchnorm.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from minicnn import backend, nn
from minicnn import functional as F
from minicnn.testing import assert_close, gradcheck
from minicnn.testing import strategies as cst
from torch_ref import step_matches_torch

DTYPES = [pytest.param(np.float64, id="f64"), pytest.param(np.float32, id="f32")]


@pytest.mark.parametrize("shape, normalized, affine", [
    ((4, 5), (5,), (True, True)), ((2, 3, 2, 3), (2, 3), (True, False)), ((3, 2, 2, 2), (2, 2, 2), (False, True)),
    ((3, 4), 4, (False, False))], ids=["1-axis", "2-axes-no-bias", "3-axes-no-weight", "int-no-affine"])
def test_layer_norm_gradcheck(backend_name, shape, normalized, affine):
    s = (normalized,) if isinstance(normalized, int) else normalized
    weight, bias = (cst.arrays(s, np.float64, i) if given else None for i, given in zip((2, 3), affine))

    def fwd(x, *params):
        it = iter(params)
        return F.layer_norm_forward(x, normalized, next(it) if affine[0] else None, next(it) if affine[1] else None,
                                    1e-3)
    assert gradcheck((fwd, F.layer_norm_backward), cst.arrays(shape, np.float64, 1),
                     *(p for p in (weight, bias) if p is not None))


@pytest.mark.parametrize("shape, size", [((2, 5, 3), 3), ((2, 4, 2, 3), 2), ((1, 3, 2, 1, 2), 6), ((2, 1, 3), 1)],
                         ids=["3d-odd", "4d-even", "5d-wider", "one-channel"])
def test_local_response_norm_gradcheck(backend_name, shape, size):
    assert gradcheck((lambda x: F.local_response_norm_forward(x, size, 0.8, 0.6, 1.2), F.local_response_norm_backward),
                     cst.arrays(shape, np.float64, 4, scale=2.0))


@pytest.mark.parametrize("layer", [lambda: nn.LayerNorm((3, 4)), lambda: nn.LayerNorm(4, bias=False),
                                   lambda: nn.LocalResponseNorm(3, alpha=0.5, beta=0.7, k=1.5)],
                         ids=["LayerNorm", "LayerNorm-no-bias", "LocalResponseNorm"])
def test_normalization_layer_gradcheck(backend_name, layer):
    m = layer().astype(np.float64)
    for i, p in enumerate(m.parameters()):
        p.data = backend.asarray(cst.arrays(p.shape, np.float64, 5 + i))
    assert gradcheck(m, cst.arrays((2, 5, 3, 4), np.float64, 7))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [0.1, -1257.3, 3e6])
@pytest.mark.parametrize("d", [7, 1])
def test_layer_norm_of_a_constant_row_is_exact(backend_name, dtype, value, d):
    """var = 0 exactly (the corrected two-pass mean is the value itself), so y = beta and
    dx = s (g - mean g), g = gamma dy, s = 1/sqrt(eps), whatever the size of the value;
    a row of one element (d = 1) is constant, and its dx is 0."""
    eps = 1e-5
    x = np.full((3, d), value, dtype)
    gamma, beta, dy = (cst.arrays(shape, dtype, i) for i, shape in enumerate([(d,), (d,), (3, d)]))
    y, cache = F.layer_norm_forward(backend.asarray(x), d, backend.asarray(gamma), backend.asarray(beta), eps)
    dx, dgamma, dbeta = F.layer_norm_backward(backend.asarray(dy), cache)
    assert np.array_equal(backend.to_numpy(y), np.broadcast_to(beta, x.shape))
    g = gamma.astype(np.float64) * dy
    tol = cst.tolerance(dtype)
    assert_close(dx, (g - g.mean(axis=1, keepdims=True)) / np.sqrt(eps), tol.rtol, tol.atol, "dx")
    assert np.array_equal(backend.to_numpy(dgamma), np.zeros(d, dtype))
    assert_close(dbeta, dy.sum(axis=0), tol.rtol, tol.atol, "dbeta")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["affine", "no-bias", "no-affine", "lrn"])
def test_layer_steps_and_state_dict_match_torch(backend_name, dtype, kind):
    """Two steps (parameter gradients accumulating) against the torch module; the state dict goes both ways."""
    tol = cst.tolerance(dtype)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    make = {"affine": lambda m: m.LayerNorm((4, 3), eps=1e-4), "no-bias": lambda m: m.LayerNorm(3, bias=False),
            "no-affine": lambda m: m.LayerNorm([4, 3], elementwise_affine=False),
            "lrn": lambda m: m.LocalResponseNorm(4, alpha=0.3, beta=0.9, k=2.0)}[kind]
    tl, ml = make(torch.nn).to(tdtype), make(nn).astype(dtype)
    with torch.no_grad():
        for i, p in enumerate(tl.parameters()):
            p.copy_(torch.from_numpy(cst.arrays(tuple(p.shape), dtype, i)))
    ml.load_state_dict({k: v.numpy().copy() for k, v in tl.state_dict().items()})
    assert [n for n, _ in ml.named_parameters()] == [n for n, _ in tl.named_parameters()]
    for step in range(2):
        step_matches_torch(ml, tl, cst.arrays((2, 5, 4, 3), dtype, 10 + step, scale=3.0), 20 + step, tol,
                           f" step {step}")
    fresh = make(torch.nn).to(tdtype)
    fresh.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ml.state_dict().items()})
    assert list(fresh.state_dict()) == list(ml.state_dict())


def test_defaults_and_refusals():
    m = nn.LayerNorm(5)
    assert (m.normalized_shape, m.eps, m.elementwise_affine) == ((5,), 1e-5, True)
    assert_close(m.weight.data, np.ones(5), 0, 0)
    assert_close(m.bias.data, np.zeros(5), 0, 0)
    assert m.weight.data.dtype == np.float32 and nn.LayerNorm(5, elementwise_affine=False).parameters() == []
    lrn = nn.LocalResponseNorm(5)
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 1.0) and lrn.parameters() == []
    for bad, error in [(0, ValueError), ((), ValueError), ((3, -1), ValueError), ("5", TypeError), (2.0, TypeError)]:
        with pytest.raises(error, match="LayerNorm: normalized_shape"):
            nn.LayerNorm(bad)
    with pytest.raises(ValueError, match="LayerNorm: eps must be > 0"):
        nn.LayerNorm(3, eps=0.0)
    with pytest.raises(ValueError, match="LocalResponseNorm: size"):
        nn.LocalResponseNorm(0)
    with pytest.raises(TypeError, match="LocalResponseNorm: beta must be a number"):
        nn.LocalResponseNorm(3, beta="1")
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\).*normalized_shape \(4,\), got shape \(2, 3\)"):
        nn.LayerNorm(4)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"local_response_norm: expected an input of 3 or more axes"):
        F.local_response_norm_forward(np.zeros((2, 3)), 3)
    with pytest.raises(TypeError, match="layer_norm: weight must have the input's dtype float32"):
        F.layer_norm_forward(np.zeros((2, 3), np.float32), 3, np.ones(3))
