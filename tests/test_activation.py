"""Pointwise activations against PyTorch: kinks, extremes, gradcheck, layers, bad input, erf.

The hypothesis comparison of the functional ops with PyTorch is their rows in tests/op_table.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from minicnn import backend, nn
from minicnn import functional as F
from minicnn.kernels.special import erf, erfc
from minicnn.testing import assert_close, gradcheck
from minicnn.testing import strategies as cst
from torch_ref import t, torch_grads

DTYPES = [np.float64, np.float32]
TF = torch.nn.functional


def _floats(lo: float, hi: float) -> st.SearchStrategy:
    return st.floats(lo, hi, allow_nan=False, allow_subnormal=False)


@dataclass(frozen=True)
class Op:
    """One activation: its functional pair, torch's version and its hyper-parameter strategy."""

    forward: Callable[..., tuple[Any, Any]]
    backward: Callable[[Any, Any], Any]
    torch_fn: Callable[..., torch.Tensor]
    hyper: st.SearchStrategy        # draws the keyword arguments, e.g. {"alpha": 0.7}
    layer: Callable[..., nn.Module]
    torch_layer: Callable[..., torch.nn.Module]


OPS = {
    "relu": Op(F.relu_forward, F.relu_backward, lambda x: torch.relu(x), st.just({}),
               nn.ReLU, torch.nn.ReLU),
    "leaky_relu": Op(F.leaky_relu_forward, F.leaky_relu_backward,
                     lambda x, negative_slope: TF.leaky_relu(x, negative_slope),
                     st.fixed_dictionaries({"negative_slope": _floats(-1.0, 1.0)}),
                     nn.LeakyReLU, torch.nn.LeakyReLU),
    "elu": Op(F.elu_forward, F.elu_backward, lambda x, alpha: TF.elu(x, alpha),
              st.fixed_dictionaries({"alpha": _floats(0.0, 3.0)}), nn.ELU, torch.nn.ELU),
    "sigmoid": Op(F.sigmoid_forward, F.sigmoid_backward, lambda x: torch.sigmoid(x), st.just({}),
                  nn.Sigmoid, torch.nn.Sigmoid),
    "tanh": Op(F.tanh_forward, F.tanh_backward, lambda x: torch.tanh(x), st.just({}), nn.Tanh, torch.nn.Tanh),
    "relu6": Op(F.relu6_forward, F.relu6_backward, TF.relu6, st.just({}), nn.ReLU6, torch.nn.ReLU6),
    "hardsigmoid": Op(F.hardsigmoid_forward, F.hardsigmoid_backward, TF.hardsigmoid, st.just({}),
                      nn.Hardsigmoid, torch.nn.Hardsigmoid),
    "hardswish": Op(F.hardswish_forward, F.hardswish_backward, TF.hardswish, st.just({}),
                    nn.Hardswish, torch.nn.Hardswish),
    "silu": Op(F.silu_forward, F.silu_backward, TF.silu, st.just({}), nn.SiLU, torch.nn.SiLU),
    "softplus": Op(F.softplus_forward, F.softplus_backward,
                   lambda x, beta, threshold: TF.softplus(x, beta, threshold),
                   st.fixed_dictionaries({"beta": st.one_of(_floats(0.25, 4.0), _floats(-4.0, -0.25)),
                                          "threshold": _floats(0.5, 30.0)}),
                   nn.Softplus, torch.nn.Softplus),
    "gelu": Op(F.gelu_forward, F.gelu_backward, lambda x: TF.gelu(x), st.just({}), nn.GELU, torch.nn.GELU),
}


def _input(shape: tuple[int, ...], dtype: Any, seed: int, scale: float, zero_fraction: float) -> np.ndarray:
    """Normal values times ``scale`` with a fraction set to exactly 0, so the kinks are hit."""
    x = cst.arrays(shape, np.float64, seed, scale)
    x[np.random.default_rng(seed + 7).random(shape) < zero_fraction] = 0.0
    return x.astype(dtype)


# ---- the kinks, explicitly ------------------------------------------------------------

KINK_X = np.array([[-2.0, -0.5, 0.0, -0.0, 0.5, 3.0]])
KINK_DY = np.array([[0.3, -1.2, 0.7, -1.1, -0.4, 2.0]])


@pytest.mark.parametrize("name, hyper, slope_at_zero", [
    ("relu", {}, 0.0),
    ("leaky_relu", {"negative_slope": 0.2}, 0.2),
    ("leaky_relu", {"negative_slope": -0.7}, -0.7),
    ("elu", {"alpha": 1.7}, 1.7),
    ("elu", {"alpha": 0.4}, 0.4),
])
def test_pointwise_gradient_at_zero_is_torchs(backend_name, name, hyper, slope_at_zero):
    op = OPS[name]
    y, cache = op.forward(backend.asarray(KINK_X), **hyper)
    dx = backend.to_numpy(op.backward(backend.asarray(KINK_DY), cache))
    ty, (tdx,) = torch_grads(lambda x_: op.torch_fn(x_, **hyper), [t(KINK_X)], KINK_DY)
    assert_close(y, ty, 0, 0, f"{name} y")
    assert_close(dx, tdx, 1e-15, 0, f"{name} dx")
    assert dx[0, 2] == KINK_DY[0, 2] * slope_at_zero and dx[0, 3] == KINK_DY[0, 3] * slope_at_zero


TORCH_F32_CONSTANT = {"hardsigmoid": 1e-7}
"""torch's float64 hardsigmoid gradient is dy * float32(1/6), 3e-8 off; ours is dy / 6."""


@pytest.mark.parametrize("name, kinks, slopes", [
    ("relu6", [0.0, 6.0], [0.0, 0.0]),
    ("hardsigmoid", [-3.0, 3.0], [0.0, 0.0]),
    ("hardswish", [-3.0, 3.0], [0.0, 1.0]),
])
def test_piecewise_gradient_at_each_kink_is_torchs(backend_name, name, kinks, slopes):
    op = OPS[name]
    x = np.array([[k + d for k in kinks for d in (-0.25, 0.0, 0.25)]])
    dy = np.linspace(-1.5, 2.0, x.size).reshape(x.shape)
    y, cache = op.forward(backend.asarray(x))
    dx = backend.to_numpy(op.backward(backend.asarray(dy), cache))
    ty, (tdx,) = torch_grads(op.torch_fn, [t(x)], dy)
    assert_close(y, ty, 1e-15, 0, f"{name} y")
    assert_close(dx, tdx, TORCH_F32_CONSTANT.get(name, 1e-15), 0, f"{name} dx")
    assert np.array_equal(dx[0, 1::3], dy[0, 1::3] * np.array(slopes))


def test_prelu_gradient_at_zero_is_torchs(backend_name):
    x = np.stack([KINK_X[0], -KINK_X[0]])[:, :, None]                   # (2, 6, 1): zeros in channels 2, 3
    w = np.array([0.1, -0.2, 0.3, 0.4, 0.5, -0.6])
    dy = np.stack([KINK_DY[0], KINK_DY[0][::-1]])[:, :, None]
    y, cache = F.prelu_forward(backend.asarray(x), backend.asarray(w))
    dx, dw = (backend.to_numpy(g) for g in F.prelu_backward(backend.asarray(dy), cache))
    ty, (tdx, tdw) = torch_grads(TF.prelu, [t(x), t(w)], dy)
    assert_close(y, ty, 0, 0, "prelu y")
    assert_close(dx, tdx, 1e-15, 0, "prelu dx")
    assert_close(dw, tdw, 1e-15, 0, "prelu dweight")
    assert np.array_equal(dx[:, 2:4, 0], w[2:4] * dy[:, 2:4, 0])       # the slope at 0 is w[c]
    assert dw[2] == 0.0 and dw[3] == 0.0                                 # x dy = 0 at x = 0


@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 3.0), (0.5, 1.0), (-2.0, 3.0)])
def test_softplus_switches_exactly_where_torch_does(backend_name, beta, threshold):
    at = threshold / beta                                              # beta * at == threshold exactly
    assert at * beta == threshold
    toward = math.inf if beta > 0 else -math.inf
    x = np.array([np.nextafter(at, -toward), at, np.nextafter(at, toward), 2 * at, 0.0, -at])
    dy = np.array([0.9, -1.3, 0.6, 1.7, -0.8, 0.4])
    y, cache = F.softplus_forward(backend.asarray(x), beta, threshold)
    dx = backend.to_numpy(F.softplus_backward(backend.asarray(dy), cache))
    y = backend.to_numpy(y)
    ty, (tdx,) = torch_grads(lambda x_: TF.softplus(x_, beta, threshold), [t(x)], dy)
    assert_close(y, ty, 1e-15, 0, "softplus y")
    assert_close(dx, tdx, 1e-15, 0, "softplus dx")
    assert y[1] != x[1] and dx[1] != dy[1]                              # beta x == threshold: smooth branch
    assert y[2] == x[2] and dx[2] == dy[2]                              # just past it: the identity
    assert y[3] == x[3] and dx[3] == dy[3]


def test_extreme_inputs_stay_finite_and_exact(backend_name):
    x = np.array([-1e300, -1e4, -745.0, -40.0, -8.0, 8.0, 40.0, 745.0, 1e4, 1e300])
    dy = np.linspace(-1.0, 2.0, x.size)

    def run(name: str, **hyper: Any) -> tuple[np.ndarray, np.ndarray]:
        op = OPS[name]
        y, cache = op.forward(backend.asarray(x), **hyper)
        return backend.to_numpy(y), backend.to_numpy(op.backward(backend.asarray(dy), cache))

    y, dx = run("sigmoid")
    assert np.all(np.isfinite(dx)) and y[0] == 0.0 and y[-1] == 1.0
    assert y[3] == pytest.approx(math.exp(-40.0) / (1 + math.exp(-40.0)), rel=1e-15)
    y, dx = run("tanh")
    assert np.array_equal(y[[0, -1]], [-1.0, 1.0]) and np.array_equal(dx[[0, -1]], [0.0, 0.0])
    y, dx = run("elu", alpha=1.5)
    assert y[0] == -1.5 and y[-1] == 1e300 and dx[0] == 0.0 and dx[-1] == dy[-1]
    y, dx = run("softplus", beta=1.0, threshold=1e305)                # smooth branch everywhere
    assert np.all(np.isfinite(y)) and y[0] == 0.0 and y[-1] == 1e300 and y[-2] == 1e4
    assert y[3] == pytest.approx(math.log1p(math.exp(-40.0)), rel=1e-15)
    assert dx[-1] == dy[-1] and dx[0] == 0.0
    y, dx = run("gelu")
    assert np.array_equal(y[[0, 1, 2]], [0.0, 0.0, 0.0]) and np.array_equal(y[-3:], x[-3:])
    assert np.array_equal(dx[[0, 1, 2]], [0.0, 0.0, 0.0]) and np.array_equal(dx[-3:], dy[-3:])
    assert y[4] == pytest.approx(-8.0 * 0.5 * math.erfc(8.0 / math.sqrt(2.0)), rel=1e-13)
    ty, (tdx,) = torch_grads(TF.gelu, [t(x[2:-2])], dy[2:-2])
    assert_close(y[2:-2], ty, 1e-9, 1e-10, "gelu y")
    assert_close(dx[2:-2], tdx, 1e-9, 1e-10, "gelu dx")


# ---- gradcheck ------------------------------------------------------------------------

GRADCHECK_HYPER = {"relu": {}, "leaky_relu": {"negative_slope": 0.3}, "elu": {"alpha": 1.3}, "sigmoid": {},
                   "tanh": {}, "softplus": {"beta": 1.5, "threshold": 2.0}, "gelu": {}, "relu6": {},
                   "hardsigmoid": {}, "hardswish": {}, "silu": {}}


@pytest.mark.parametrize("name", list(OPS))
def test_activation_gradcheck_functional_and_layer(backend_name, name):
    op, hyper = OPS[name], GRADCHECK_HYPER[name]
    x = cst.arrays((2, 3, 4), np.float64, 11, scale=2.0)
    assert np.abs(x).min() > 1e-3 and np.abs(x * 1.5 - 2.0).min() > 1e-3       # away from every kink
    assert np.abs(np.abs(x) - 3.0).min() > 1e-3 and np.abs(x - 6.0).min() > 1e-3
    assert gradcheck((lambda x_: op.forward(x_, **hyper), op.backward), x)
    assert gradcheck(op.layer(**hyper), x)


def test_prelu_gradcheck_functional_and_layer(backend_name):
    x = cst.arrays((2, 3, 4, 2), np.float64, 12)
    assert np.abs(x).min() > 1e-3
    assert gradcheck((F.prelu_forward, F.prelu_backward), x, cst.arrays((3,), np.float64, 13))
    assert gradcheck((F.prelu_forward, F.prelu_backward), x, np.array([-0.3]))
    for layer in (nn.PReLU(3, init=-0.4), nn.PReLU()):
        assert gradcheck(layer.astype(np.float64), x)


# ---- layers ---------------------------------------------------------------------------

LAYER_HYPER = {"relu": {}, "leaky_relu": {"negative_slope": 0.05}, "elu": {"alpha": 0.8}, "sigmoid": {},
               "tanh": {}, "softplus": {"beta": 2.0, "threshold": 5.0}, "gelu": {}, "relu6": {}, "hardsigmoid": {},
               "hardswish": {}, "silu": {}}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(OPS))
def test_activation_layer_matches_torch_layer(backend_name, name, dtype):
    op, hyper = OPS[name], LAYER_HYPER[name]
    tol = cst.tolerance(dtype)
    layer, tlayer = op.layer(**hyper), op.torch_layer(**hyper)
    assert layer.state_dict() == {} and layer.parameters() == []
    x = _input((2, 3, 5, 4), dtype, 21, 3.0, 0.1)
    dy = cst.arrays(x.shape, dtype, 22)
    y = layer(backend.asarray(x))
    dx = layer.backward(backend.asarray(dy))
    ty, (tdx,) = torch_grads(tlayer, [t(x)], dy)
    assert backend.to_numpy(dx).dtype == dtype
    assert_close(y, ty, tol.rtol, tol.atol, f"{name} layer y")
    assert_close(dx, tdx, max(tol.rtol, TORCH_F32_CONSTANT.get(name, 0.0)), tol.atol, f"{name} layer dx")


def test_layer_defaults_and_reprs_match_torch():
    assert (nn.LeakyReLU().negative_slope, nn.ELU().alpha) == (0.01, 1.0)
    assert (nn.Softplus().beta, nn.Softplus().threshold) == (1.0, 20.0)
    assert repr(nn.LeakyReLU()) == repr(torch.nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.ELU(0.5)) == "ELU(alpha=0.5)"
    assert repr(nn.Softplus()) == repr(torch.nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.PReLU(4)) == repr(torch.nn.PReLU(4)) == "PReLU(num_parameters=4)"
    assert repr(nn.ReLU()) == repr(torch.nn.ReLU()) == "ReLU()"


def test_prelu_parameter_and_state_dict_match_torch(backend_name):
    layer, tlayer = nn.PReLU(), torch.nn.PReLU()
    assert [n for n, _ in layer.named_parameters()] == [n for n, _ in tlayer.named_parameters()] == ["weight"]
    sd = layer.state_dict()
    assert list(sd) == ["weight"] and sd["weight"].dtype == np.float32
    assert np.array_equal(sd["weight"], tlayer.state_dict()["weight"].numpy())
    assert nn.PReLU(5, init=0.1).state_dict()["weight"].shape == (5,)


@pytest.mark.parametrize("num_parameters", [1, 3])
def test_prelu_layer_matches_torch_layer(backend_name, num_parameters):
    tlayer = torch.nn.PReLU(num_parameters, init=0.1).double()
    with torch.no_grad():
        tlayer.weight.copy_(torch.from_numpy(cst.arrays((num_parameters,), np.float64, 31)))
    layer = nn.PReLU(num_parameters).astype(np.float64)
    layer.load_state_dict({k: v.numpy() for k, v in tlayer.state_dict().items()})
    x = _input((4, 3, 5, 2), np.float64, 32, 1.0, 0.1)
    dy = cst.arrays(x.shape, np.float64, 33)
    tx = t(x)
    ty = tlayer(tx)
    ty.backward(torch.from_numpy(dy))
    y = layer(backend.asarray(x))
    dx = layer.backward(backend.asarray(dy))
    assert_close(y, ty.detach().numpy(), 1e-9, 1e-10, "PReLU y")
    assert_close(dx, tx.grad.numpy(), 1e-9, 1e-10, "PReLU dx")
    assert_close(layer.weight.grad, tlayer.weight.grad.numpy(), 1e-9, 1e-10, "PReLU weight grad")
    layer(backend.asarray(x))
    layer.backward(backend.asarray(dy))                                 # gradients ADD up
    assert_close(layer.weight.grad, 2 * tlayer.weight.grad.numpy(), 1e-9, 1e-10, "PReLU accumulated grad")


# ---- bad input ------------------------------------------------------------------------

ALL_LAYERS = [nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.Hardsigmoid, nn.Hardswish, nn.ELU, nn.PReLU, nn.Sigmoid, nn.Tanh,
              nn.SiLU, nn.Softplus, nn.GELU]


@pytest.mark.parametrize("make", ALL_LAYERS, ids=lambda cls: cls.__name__)
def test_layers_reject_non_float_input(make):
    layer = make()
    for dtype in (np.int64, np.float16):
        with pytest.raises(TypeError, match="supported dtypes: float32 and float64") as info:
            layer(np.zeros((2, 3), dtype))
        assert str(info.value).startswith(f"{layer._name()}: {getattr(layer, 'op', 'prelu')}:")
    with pytest.raises(TypeError, match="expected an array"):
        layer([1.0, 2.0])


@pytest.mark.parametrize("make", ALL_LAYERS, ids=lambda cls: cls.__name__)
def test_backward_before_forward_is_a_clear_error(make):
    layer = make()
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward\\(\\)"):
        layer.backward(np.zeros((2, 3)))
    layer(np.ones((2, 3)))
    layer.backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="or twice for one forward"):
        layer.backward(np.ones((2, 3)))


@pytest.mark.parametrize("bad", [np.zeros((2, 4, 5), np.float32), np.zeros((3,), np.float32)])
def test_prelu_rejects_wrong_channel_count(bad):
    with pytest.raises(ValueError, match=r"prelu: weight must have shape \(1,\) or \(C,\)"):
        nn.PReLU(3)(bad)


@pytest.mark.parametrize("make, err, match", [
    (lambda: nn.PReLU(0), ValueError, "num_parameters"),
    (lambda: nn.PReLU(2.0), ValueError, "num_parameters"),
    (lambda: nn.PReLU(init=float("nan")), ValueError, "init"),
    (lambda: nn.Softplus(beta=0.0), ValueError, "beta"),
    (lambda: nn.Softplus(threshold=float("inf")), ValueError, "threshold"),
    (lambda: nn.LeakyReLU("big"), TypeError, "negative_slope"),
    (lambda: nn.ELU(float("inf")), ValueError, "alpha"),
])
def test_constructors_reject_impossible_hyperparameters(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_functional_ops_reject_bad_input():
    with pytest.raises(TypeError, match="relu"):
        F.relu_forward(np.arange(3))
    with pytest.raises(TypeError, match="gelu"):
        F.gelu_forward(np.ones(3, np.int32))
    with pytest.raises(ValueError, match=r"prelu: weight must have shape \(1,\) or \(C,\)"):
        F.prelu_forward(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="prelu"):
        F.prelu_forward(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="softplus: beta"):
        F.softplus_forward(np.ones(3), beta=0.0)


# ---- erf, written from the maths ------------------------------------------------------

ERF_GRID = np.concatenate([
    np.linspace(-7.0, 7.0, 4001),
    np.logspace(-300, 0, 301), -np.logspace(-300, 0, 301),
    np.linspace(1.9, 2.1, 201),                                         # both sides of the method switch
    np.linspace(7.0, 27.0, 401), -np.linspace(7.0, 27.0, 401),
    [1e10, 1e300, -1e300, np.inf, -np.inf, 0.0, -0.0],
])


def test_erf_matches_math_erf_to_a_few_ulps():
    got = erf(ERF_GRID)
    want = np.array([math.erf(v) for v in ERF_GRID])
    assert_close(got, want, 2e-15, 0.0, "erf")
    assert np.array_equal(np.signbit(got), np.signbit(ERF_GRID))                     # odd, incl. -0.0


def test_erfc_matches_math_erfc_in_both_tails():
    got = erfc(ERF_GRID)
    want = np.array([math.erfc(v) for v in ERF_GRID])
    assert_close(got, want, 3e-13, 2e-15, "erfc (absolute)")
    tail = (ERF_GRID >= 2.0) & (want > 1e-300)                          # the continued fraction: relative
    assert_close(got[tail], want[tail], 2e-15, 0.0, "erfc right tail")


def test_erf_keeps_float32():
    x = np.linspace(-5, 5, 101, dtype=np.float32)
    got = erf(x)
    assert got.dtype == np.float32
    assert_close(got, np.array([math.erf(float(v)) for v in x]), 1e-6, 1e-7, "erf float32")
