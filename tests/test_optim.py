"""SGD, Adam and AdamW against torch.optim over 10+ steps, checkpoints, and argument checks."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from minicnn import backend, nn, optim
from minicnn.nn.module import Parameter
from minicnn.optim.updates import adam_update_, sgd_update_
from minicnn.testing import assert_close
from minicnn.testing import strategies as cst

SHAPES = [(3, 4), (5,), (2, 3, 2, 2)]

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.02)),
    ("SGD", dict(lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.05)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-7, weight_decay=0.3)),
]
CONFIG_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CONFIGS]


def _grads(params: list[np.ndarray], step: int) -> list[np.ndarray]:
    """A gradient that depends on the current parameters (loss sum(p^4/4 - p)) plus fixed noise."""
    return [p ** 3 - 1 + cst.arrays(p.shape, p.dtype, 100 * step + i) for i, p in enumerate(params)]


def _run_torch(name: str, kwargs: dict, init: list[np.ndarray], steps: int,
               lr_at: dict[int, float]) -> list[np.ndarray]:
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    opt = getattr(torch.optim, name)(tp, **kwargs)
    for k in range(steps):
        if k in lr_at:
            opt.param_groups[0]["lr"] = lr_at[k]
        opt.zero_grad()
        for p, g in zip(tp, _grads([p.detach().numpy() for p in tp], k)):
            p.grad = torch.from_numpy(g)
        opt.step()
    return [p.detach().numpy() for p in tp]


def _run_minicnn(opt: optim.Optimizer, params: list[Parameter], first: int, last: int,
                 lr_at: dict[int, float]) -> None:
    for k in range(first, last):
        if k in lr_at:
            opt.lr = lr_at[k]
        opt.zero_grad()
        for p, g in zip(params, _grads([backend.to_numpy(p.data) for p in params], k)):
            p.grad += backend.asarray(g)
        opt.step()


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_optimizer_matches_torch_over_12_steps(backend_name, dtype, name, kwargs):
    init = [cst.arrays(s, dtype, i) for i, s in enumerate(SHAPES)]
    lr_at = {8: kwargs.get("lr", 1e-3) / 2}
    expected = _run_torch(name, kwargs, init, 12, lr_at)
    params = [Parameter(backend.asarray(a.copy())) for a in init]
    opt = getattr(optim, name)(params, **kwargs)
    _run_minicnn(opt, params, 0, 12, lr_at)
    rtol, atol = (1e-12, 1e-13) if dtype == np.float64 else (1e-5, 1e-6)
    for i, (p, e) in enumerate(zip(params, expected)):
        assert backend.to_numpy(p.data).dtype == dtype
        assert_close(p.data, e, rtol, atol, f"parameter {i}")


@pytest.mark.parametrize("name, kwargs", [CONFIGS[5], CONFIGS[8], CONFIGS[10]],
                         ids=[CONFIG_IDS[5], CONFIG_IDS[8], CONFIG_IDS[10]])
def test_optimizer_state_dict_round_trip_continues_identically(backend_name, name, kwargs):
    init = [cst.arrays(s, np.float64, 10 + i) for i, s in enumerate(SHAPES)]
    lr_at = {2: 0.003}
    straight = [Parameter(backend.asarray(a.copy())) for a in init]
    _run_minicnn(getattr(optim, name)(straight, **kwargs), straight, 0, 10, lr_at)

    first = [Parameter(backend.asarray(a.copy())) for a in init]
    opt = getattr(optim, name)(first, **kwargs)
    _run_minicnn(opt, first, 0, 4, lr_at)
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    assert all(isinstance(v, (np.ndarray, int)) for s in saved["state"].values() for v in s.values())
    resumed = [Parameter(backend.asarray(backend.to_numpy(p.data).copy())) for p in first]
    opt2 = getattr(optim, name)(resumed, **kwargs)
    opt2.load_state_dict(saved)
    assert opt2.lr == 0.003
    _run_minicnn(opt2, resumed, 4, 10, lr_at)
    for i, (a, b) in enumerate(zip(resumed, straight)):
        assert_close(a.data, b.data, 0, 0, f"parameter {i}")


def test_optimizer_state_is_keyed_by_name_for_named_parameters():
    model = nn.Sequential(nn.BatchNorm1d(3), nn.BatchNorm1d(3))
    opt = optim.Adam(model.named_parameters(), lr=0.1)
    model(cst.arrays((4, 3), np.float32, 0))
    model.backward(cst.arrays((4, 3), np.float32, 1))
    opt.step()
    sd = opt.state_dict()
    assert sd["keys"] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert set(sd["state"]) == set(sd["keys"])
    assert sd["state"]["1.bias"]["step"] == 1 and sd["state"]["1.bias"]["exp_avg"].dtype == np.float32
    assert sd["hyperparams"] == {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}
    indexed = optim.Adam(model.parameters(), lr=0.1)
    assert indexed.state_dict()["keys"] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="parameter keys"):
        indexed.load_state_dict(sd)
    with pytest.raises(ValueError, match="'Adam' optimiser"):
        optim.AdamW(model.named_parameters()).load_state_dict(sd)
    sd["state"]["0.weight"]["exp_avg"] = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"0.weight.exp_avg: expected \(3,\), got \(4,\)"):
        optim.Adam(model.named_parameters()).load_state_dict(sd)


def test_zero_grad_and_update_functions_leave_gradients_alone(backend_name):
    p = Parameter(backend.asarray(cst.arrays((4,), np.float64, 0)))
    p.grad += backend.asarray(cst.arrays((4,), np.float64, 1))
    grad_before = backend.to_numpy(p.grad).copy()
    state: dict = {}
    sgd_update_(p.data, p.grad, state, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)
    adam_update_(p.data, p.grad, {}, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1)
    assert_close(p.grad, grad_before, 0, 0, "grad")
    assert_close(state["momentum_buffer"], grad_before + 0.1 * cst.arrays((4,), np.float64, 0), 1e-15, 0)
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad()
    assert_close(p.grad, np.zeros(4), 0, 0, "zeroed")


@pytest.mark.parametrize("make, match", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "learning rate"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "momentum"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "nesterov"),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1.0), "weight_decay"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), "betas"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "betas"),
    (lambda ps: optim.AdamW(ps, eps=-1e-8), "eps"),
    (lambda ps: optim.AdamW(ps, lr=float("nan")), "learning rate"),
    (lambda ps: optim.Adam(ps, weight_decay=-0.1), "weight_decay"),
    (lambda ps: optim.Adam([]), "empty parameter list"),
    (lambda ps: optim.Adam(ps + ps), "more than once"),
])
def test_optimizers_reject_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make([Parameter(np.zeros(2, np.float32))])


def test_optimizer_lr_is_settable_and_checked():
    opt = optim.SGD([Parameter(np.zeros(2, np.float32))], lr=0.1)
    opt.lr = 0.5
    assert opt.lr == 0.5
    with pytest.raises(ValueError, match="learning rate"):
        opt.lr = -1
    with pytest.raises(TypeError, match="Parameters or \\(name, Parameter\\) pairs"):
        optim.SGD([np.zeros(2)], lr=0.1)


def test_optimizer_hyperparameters_accept_numpy_scalars_and_name_bad_types():
    opt = optim.SGD([Parameter(np.zeros(2, np.float32))], lr=np.float32(0.5), momentum=np.float64(0.9))
    assert (opt.lr, opt.momentum) == (0.5, 0.9)
    opt.lr = np.float32(0.25)                                           # a schedule computed in NumPy
    assert opt.lr == 0.25 and isinstance(opt.lr, float)
    with pytest.raises(TypeError, match="SGD: momentum must be a number"):
        optim.SGD([Parameter(np.zeros(2, np.float32))], lr=0.1, momentum="0.9")
    with pytest.raises(TypeError, match="Adam: eps must be a number"):
        optim.Adam([Parameter(np.zeros(2, np.float32))], eps=None)


def test_load_state_dict_sets_only_the_optimizers_own_hyperparameters():
    """An edited checkpoint cannot overwrite methods or other attributes through "hyperparams"."""
    p = Parameter(np.ones(3))
    opt = optim.SGD([p], lr=0.1)
    state = opt.state_dict()
    state["hyperparams"]["step"] = 0
    with pytest.raises(ValueError, match=r"unknown hyper-parameters \['step'\]"):
        opt.load_state_dict(state)
    assert callable(opt.step) and opt.lr == 0.1
