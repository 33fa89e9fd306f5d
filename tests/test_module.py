"""Module, Parameter and Sequential: PyTorch's names, order and state_dict semantics."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn
from minicnn import backend, nn


def _pair():
    mine = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 5)))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                 torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 5)))
    return mine, theirs


def test_names_and_order_match_torch():
    mine, theirs = _pair()
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert [p.shape for p in mine.parameters()] == [tuple(p.shape) for p in theirs.parameters()]


def test_state_dict_round_trip_with_torch_both_ways():
    mine, theirs = _pair()
    mine.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    back = theirs.__class__(*[m for m in theirs])
    back.load_state_dict({k: torch.from_numpy(v) for k, v in mine.state_dict().items()})
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(mine.state_dict()[k], v.numpy())
        np.testing.assert_array_equal(back.state_dict()[k].numpy(), v.numpy())


def test_load_state_dict_copies_and_state_dict_returns_copies():
    mine, _ = _pair()
    state = {k: v.copy() for k, v in mine.state_dict().items()}
    mine.load_state_dict(state)
    state["0.weight"][...] = 123.0
    assert not np.any(backend.to_numpy(mine[0].weight.data) == 123.0)
    mine.state_dict()["0.weight"][...] = 7.0
    assert not np.any(backend.to_numpy(mine[0].weight.data) == 7.0)


def test_load_state_dict_lists_every_bad_key_and_shape():
    mine, _ = _pair()
    state = mine.state_dict()
    state.pop("1.running_mean")
    state["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match="1.running_mean.*extra"):
        mine.load_state_dict(state)
    state = mine.state_dict()
    state["0.weight"] = np.zeros((4, 1, 2, 2), np.float32)
    with pytest.raises(ValueError, match=r"0.weight: expected shape \(4, 1, 3, 3\), got \(4, 1, 2, 2\)"):
        mine.load_state_dict(state)


def test_sequential_indexing_train_eval_zero_grad():
    mine, _ = _pair()
    assert isinstance(mine[0], nn.Conv2d) and len(mine) == 4 and isinstance(mine[3][1], nn.Linear)
    assert [type(m).__name__ for m in mine[1:3]] == ["BatchNorm2d", "ReLU"]
    mine.eval()
    assert not any(m.training for m in mine.modules())
    mine.train()
    assert all(m.training for m in mine.modules())
    for p in mine.parameters():
        p.grad += 1
    mine.zero_grad()
    assert all(not np.any(backend.to_numpy(p.grad)) for p in mine.parameters())


def test_astype_casts_parameters_and_float_buffers_only():
    mine, _ = _pair()
    mine.astype(np.float64)
    assert all(p.data.dtype == np.float64 and p.grad.dtype == np.float64 for p in mine.parameters())
    assert mine[1].running_mean.dtype == np.float64
    assert mine[1].num_batches_tracked.dtype == np.int64


def test_to_backend_moves_a_model_and_keeps_its_outputs(backend_name):
    minicnn.manual_seed(3)
    with minicnn.use_backend("numpy"):
        mine, _ = _pair()
        x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
        mine.eval()
        want = mine(x)
    mine.to_backend(backend_name)
    got = mine(backend.asarray(x))
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=1e-5, atol=1e-6)


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="argument 1 is a int"):
        nn.Sequential(nn.ReLU(), 3)


def test_assigning_to_a_buffer_keeps_it_in_the_state_dict():
    bn = nn.BatchNorm2d(2)
    bn.running_mean = np.full(2, 3.0, np.float32)                       # as in PyTorch: the buffer is replaced
    assert "running_mean" in bn.state_dict()
    np.testing.assert_array_equal(bn.state_dict()["running_mean"], [3.0, 3.0])
    bn(np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32))
    assert not np.array_equal(backend.to_numpy(bn.running_mean), [3.0, 3.0])   # the forward updated that buffer


def test_a_parameter_is_replaced_only_by_a_parameter_or_none():
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="Linear: cannot assign a ndarray to parameter 'weight'"):
        layer.weight = np.zeros((2, 3), np.float32)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    layer.bias = None
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    layer.bias = nn.Parameter(np.zeros(2, np.float32))                  # a plain None must not shadow it
    assert isinstance(layer.bias, nn.Parameter) and [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_sequential_slices_keep_torchs_child_names():
    mine, theirs = _pair()
    assert list(mine[1:3].state_dict()) == list(theirs[1:3].state_dict())
    assert list(mine[-1:].state_dict()) == list(theirs[-1:].state_dict()) == ["3.1.weight", "3.1.bias"]


def test_call_passes_keyword_arguments_to_forward():
    x = np.ones((2, 3), np.float32)
    mask = np.array([[True, False, True], [False, True, True]])
    np.testing.assert_array_equal(nn.Dropout(0.5)(x, mask=mask), np.where(mask, 2.0, 0.0))


def test_input_layer_is_the_first_step_of_a_chain_and_none_where_the_input_fans_out():
    conv = nn.Conv2d(1, 2, 3)
    assert nn.Sequential(nn.Sequential(conv, nn.ReLU()), nn.Flatten()).input_layer() is conv
    assert nn.ReLU().input_layer() is not None and nn.Sequential().input_layer() is None
    assert nn.Residual(nn.Sequential(conv)).input_layer() is None
    assert nn.Sequential(nn.Concat(conv, nn.Identity()), nn.ReLU()).input_layer() is None
