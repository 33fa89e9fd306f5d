"""Bad input never reaches a kernel: wrong upstream gradients, unsupported dtypes and half-valid
state dicts are refused with an error naming the op or layer, on every backend."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn import backend, nn
from minicnn.kernels.pointwise import POINTWISE

POINTWISE_LAYERS = {cls.op: cls for cls in vars(nn).values()
                    if isinstance(cls, type) and issubclass(cls, nn.Module) and hasattr(cls, "op")
                    and cls.op in POINTWISE}

LAYERS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "Conv2d": (lambda: nn.Conv2d(3, 4, 3, padding=1), (5, 3, 6, 6)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), (5, 3, 6, 6)),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, 1, 1), (5, 3, 6, 6)),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d(2), (5, 3, 5, 5)),
    "Linear": (lambda: nn.Linear(6, 3), (5, 6)),
    "Flatten": (lambda: nn.Flatten(), (5, 3, 2, 2)),
    "PReLU": (lambda: nn.PReLU(3), (5, 3, 4, 4)),
    "Softmax": (lambda: nn.Softmax(1), (5, 4)),
    "LogSoftmax": (lambda: nn.LogSoftmax(1), (5, 4)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (5, 3)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), (5, 3, 4, 4)),
    "LayerNorm": (lambda: nn.LayerNorm((4, 4)), (5, 3, 4, 4)),
    "LocalResponseNorm": (lambda: nn.LocalResponseNorm(3), (5, 3, 4, 4)),
    "Dropout": (lambda: nn.Dropout(0.3), (5, 3, 4)),
    "Residual": (lambda: nn.Residual(nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.ReLU())), (5, 3, 4, 4)),
    "Identity": (nn.Identity, (5, 3, 4)),
    "Unflatten": (lambda: nn.Unflatten(1, (2, 3)), (5, 6)),
    "ChannelShuffle": (lambda: nn.ChannelShuffle(3), (5, 6, 2, 2)),
    "Concat": (lambda: nn.Concat(nn.Conv2d(3, 2, 1), nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())),
               (5, 3, 4, 4)),
    "SqueezeExcitation": (lambda: nn.SqueezeExcitation(3, 2), (5, 3, 4, 4)),
    "MultiheadAttention": (lambda: nn.MultiheadAttention(6, 2), (5, 4, 6)),
    **{cls.__name__: (cls, (5, 3, 4)) for cls in POINTWISE_LAYERS.values()},
}
"""Every layer of minicnn.nn with an input it accepts (a batch of 5)."""


def test_every_layer_has_a_row():
    layers = {name for name, cls in vars(nn).items() if isinstance(cls, type) and issubclass(cls, nn.Module)
              and name not in ("Module", "Sequential", "CrossEntropyLoss")}
    assert layers == set(LAYERS)


def _wrong_dy(y_shape: tuple[int, ...], dtype: Any, how: str) -> tuple[np.ndarray, type]:
    """An upstream gradient that differs from the output (shape ``y_shape``, ``dtype``) in one way,
    and the error it must raise."""
    shape = {"batch 1": (1,) + y_shape[1:], "double batch": (2 * y_shape[0],) + y_shape[1:],
             "extra axis": y_shape + (1,), "last axis": y_shape[:-1] + (y_shape[-1] + 1,),
             "flat": (int(np.prod(y_shape)),)}.get(how, y_shape)
    dy_dtype = {"int64": np.int64, "float16": np.float16,
                "other float": np.float64 if dtype == np.float32 else np.float32}.get(how, dtype)
    return np.ones(shape, dy_dtype), ValueError if dy_dtype == dtype else TypeError


@pytest.mark.parametrize("name", sorted(LAYERS))
@given(how=st.sampled_from(["batch 1", "double batch", "extra axis", "last axis", "flat", "int64", "float16",
                            "other float"]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_backward_refuses_a_gradient_unlike_the_output(backend_name, name, how, dtype):
    make, shape = LAYERS[name]
    layer = make().astype(dtype)
    y = layer(backend.asarray(np.random.default_rng(0).standard_normal(shape).astype(dtype)))
    dy, error = _wrong_dy(tuple(y.shape), dtype, how)
    with pytest.raises(error, match="dout|dtype|shape") as info:
        layer.backward(backend.asarray(dy))
    assert str(tuple(y.shape)) in str(info.value) or error is TypeError


@pytest.mark.parametrize("make", [lambda: nn.PReLU(3), lambda: nn.AvgPool2d(2)], ids=["PReLU", "AvgPool2d"])
@pytest.mark.parametrize("batch", [64, 512])
def test_a_batch_one_gradient_after_a_large_batch_is_refused(backend_name, make, batch):
    """The case that made the Numba kernels read past their arrays (garbage at 64, a crash at 512)."""
    layer = make()
    layer(backend.asarray(np.ones((batch, 3, 8, 8), np.float32)))
    with pytest.raises(ValueError, match=rf"dout has shape \(1, 3, .*the forward output has shape \({batch}, 3"):
        layer.backward(backend.asarray(np.ones((1, 3) + ((8, 8) if isinstance(layer, nn.PReLU) else (4, 4)),
                                               np.float32)))


def test_cross_entropy_backward_refuses_a_non_scalar_or_foreign_gradient():
    loss = nn.CrossEntropyLoss()
    loss(np.zeros((3, 4), np.float32), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"dout has shape \(2,\)"):
        loss.backward(np.ones(2, np.float32))
    loss(np.zeros((3, 4), np.float32), np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="dtype int64"):
        loss.backward(np.array(1))
    loss(np.zeros((3, 4), np.float32), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="finite"):
        loss.backward(float("nan"))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_float16_is_refused_naming_the_layer_and_the_supported_dtypes(backend_name, name):
    make, shape = LAYERS[name]
    layer = make()
    with pytest.raises(TypeError, match=r"supported dtypes: float32 and float64\), got dtype float16") as info:
        layer(backend.asarray(np.ones(shape, np.float16)))
    named = [m._name() for m in layer.modules() if m is layer or not m._modules]   # it, or the leaf that checked
    assert str(info.value).startswith(tuple(named))


# ---- load_state_dict: all or nothing ------------------------------------------------------------
def _model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2, 3))


@pytest.mark.parametrize("bad", [np.array(["a", "b", "c"]), np.array([object(), 1, 2], dtype=object),
                                 "abc", np.zeros((3, 1)), [[1.0], [2.0, 3.0]]],
                         ids=["strings", "objects", "a string", "wrong shape", "ragged"])
def test_a_bad_late_entry_leaves_the_module_as_it_was(bad):
    model = _model()
    before = model.state_dict()
    state = {k: v + 1 if v.dtype.kind == "f" else v for k, v in _model().state_dict().items()}
    state["3.bias"] = bad                                  # the last entry, after every other was valid
    with pytest.raises(ValueError, match=r"3\.bias: .*nothing was loaded|nothing was loaded: 3\.bias"):
        model.load_state_dict(state)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_load_state_dict_refuses_what_is_not_a_dict():
    with pytest.raises(TypeError, match="expected a dict of arrays, got list"):
        _model().load_state_dict([("0.weight", np.zeros((2, 1, 3, 3)))])
