"""The constructors and functions that the public contract (shared/docs/contract.md) names, with its argument
names and defaults: minicnn's signatures start with exactly the contract's parameters (in order, same defaults),
and each layer's torch twin takes the same names with the same defaults, so that code moves between the two."""
from __future__ import annotations

import inspect

import pytest
import torch

import minicnn
from minicnn import functional as F
from minicnn import nn, optim, testing

LAYERS = {
    "Conv2d": "in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True",
    "MaxPool2d": "kernel_size, stride=None, padding=0, ceil_mode=False",
    "AvgPool2d": "kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True",
    "AdaptiveAvgPool2d": "output_size",
    "Linear": "in_features, out_features, bias=True",
    "Flatten": "start_dim=1, end_dim=-1",
    "Unflatten": "dim, unflattened_size",
    "ChannelShuffle": "groups",
    "Identity": "",
    "ReLU": "", "ReLU6": "", "SiLU": "", "Hardswish": "", "Hardsigmoid": "", "Sigmoid": "", "Tanh": "",
    "GELU": "",
    "LeakyReLU": "negative_slope=0.01",
    "ELU": "alpha=1.0",
    "PReLU": "num_parameters=1, init=0.25",
    "Softplus": "beta=1.0, threshold=20.0",
    "Softmax": "dim=1",
    "LogSoftmax": "dim=1",
    "BatchNorm1d": "num_features, eps=1e-5, momentum=0.1",
    "BatchNorm2d": "num_features, eps=1e-5, momentum=0.1",
    "LayerNorm": "normalized_shape, eps=1e-5, elementwise_affine=True",
    "LocalResponseNorm": "size, alpha=1e-4, beta=0.75, k=1.0",
    "Dropout": "p=0.5",
    "CrossEntropyLoss": "label_smoothing=0.0",
    "MultiheadAttention": "embed_dim, num_heads, bias=True, batch_first=True",
}
"""contract.md's constructors (the later, longer form where it names a layer twice)."""

OURS_ONLY = {
    "nn.Sequential": (nn.Sequential, "*modules"),
    "nn.Concat": (nn.Concat, "*branches, dim=1"),
    "nn.SqueezeExcitation": (nn.SqueezeExcitation, "input_channels, squeeze_channels"),
    "nn.Residual": (nn.Residual, "body, shortcut=None"),
    "optim.SGD": (optim.SGD, "params, lr, momentum=0.0, nesterov=False, weight_decay=0.0"),
    "optim.Adam": (optim.Adam, "params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0"),
    "optim.AdamW": (optim.AdamW, "params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2"),
    "F.conv2d_forward": (F.conv2d_forward, "x, w, b, stride=1, padding=0, dilation=1, groups=1"),
    "F.conv2d_backward": (F.conv2d_backward, "dout, cache"),
    "F.cat_forward": (F.cat_forward, "xs, dim=1"),
    "F.mul_forward": (F.mul_forward, "a, b"),
    "F.layer_norm_forward": (F.layer_norm_forward, "x, normalized_shape, weight, bias, eps"),
    "F.scaled_dot_product_attention_forward": (F.scaled_dot_product_attention_forward, "q, k, v"),
    "testing.gradcheck": (testing.gradcheck, "module_or_fn, *inputs, eps=1e-6"),
    "models.build_model": (minicnn.models.build_model, "name, input_shape, num_classes"),
}
"""contract.md's other signatures, checked against minicnn alone (torch's optimisers order theirs
differently and require no lr; the functional pairs and containers are minicnn's own)."""


TORCH_DIFFERS = {("MultiheadAttention", "batch_first"), ("Softmax", "dim"), ("LogSoftmax", "dim")}
"""Defaults the contract sets apart from torch's: batch_first=True (torch: False), dim=1 (torch: None, the
implicit dim it deprecates)."""


def _contract(spec: str) -> list[inspect.Parameter]:
    return list(inspect.signature(eval(f"lambda {spec}: None")).parameters.values())


def _params(fn) -> list[inspect.Parameter]:
    params = list(inspect.signature(fn).parameters.values())
    return params[1:] if params and params[0].name == "self" else params


def _key(p: inspect.Parameter, with_default: bool) -> tuple:
    return (p.name, p.kind == p.VAR_POSITIONAL) + ((p.default,) if with_default else ())


def _same(contract: list[inspect.Parameter], actual: list[inspect.Parameter], where: str) -> None:
    """actual starts with contract's names (and * arguments); where the contract gives a default, the same one
    (where it gives none, a default only makes the argument optional)."""
    got = [_key(a, c.default is not c.empty) for a, c in zip(actual, contract)]
    want = [_key(c, c.default is not c.empty) for c in contract]
    assert got == want, f"{where}: {got} != the contract's {want}"


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_constructors_match_the_contract_and_torch(name):
    contract = _contract(LAYERS[name])
    _same(contract, _params(getattr(nn, name).__init__), f"minicnn.nn.{name}")
    theirs = {p.name: p for p in _params(getattr(torch.nn, name).__init__)}
    for p in contract:
        assert p.name in theirs, f"torch.nn.{name} has no argument {p.name}"
        if (name, p.name) not in TORCH_DIFFERS:
            assert theirs[p.name].default == p.default, f"torch.nn.{name}: {p.name}={theirs[p.name].default!r}"


@pytest.mark.parametrize("name", sorted(OURS_ONLY))
def test_other_signatures_match_the_contract(name):
    fn, spec = OURS_ONLY[name]
    _same(_contract(spec), _params(fn.__init__ if isinstance(fn, type) else fn), name)


def test_the_top_level_names_and_init_functions_exist():
    for name in ("nn", "functional", "F", "optim", "data", "models", "testing", "set_backend", "get_backend",
                 "use_backend", "BackendUnavailable"):
        assert hasattr(minicnn, name), name
    assert minicnn.F is minicnn.functional
    for name in ("kaiming_normal_", "kaiming_uniform_", "xavier_uniform_", "xavier_normal_", "zeros_"):
        assert callable(getattr(nn.init, name)), name
    assert callable(F.im2col) and callable(F.col2im) and callable(minicnn.backend.to_numpy)


def test_the_training_cli_takes_the_contract_options():
    from minicnn.train import _parser

    actions = {option: action for action in _parser()._actions for option in action.option_strings}
    for option in ("--model", "--epochs", "--batch-size", "--lr", "--optimizer", "--backend", "--seed",
                   "--data-dir", "--out", "--resume", "--limit-train", "--limit-test", "--no-progress"):
        assert option in actions, option
    assert set(actions["--optimizer"].choices) == {"sgd", "adam", "adamw"}
    assert set(actions["--backend"].choices) == {"numpy", "numba", "cupy"}
