"""minicnn.nn.init against PyTorch's formulas and samples; layer defaults; seeded reproducibility."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import minicnn
from minicnn import backend, nn
from minicnn.nn import init
from minicnn.nn.module import Parameter
from minicnn.testing import assert_close

SHAPES = [(256, 128), (64, 32, 3, 3), (48, 40, 5)]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                 ("tanh", None), ("relu", None), ("leaky_relu", None),
                                                 ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param),
                                                                     rel=1e-15)


def _check_sample(got: np.ndarray, want: torch.Tensor, uniform: bool, scale: float) -> None:
    """Zero mean; for uniform draws |w| <= bound = scale and max |w| near it; std = scale/sqrt(3) or scale."""
    std = scale / math.sqrt(3) if uniform else scale
    assert abs(float(got.mean())) < 5 * std / math.sqrt(got.size)
    assert float(got.std()) == pytest.approx(std, rel=0.03)
    assert float(got.std()) == pytest.approx(float(want.std()), rel=0.05)
    if uniform:
        assert np.abs(got).max() <= scale * (1 + 1e-6)
        assert np.abs(got).max() > 0.99 * scale
        assert float(want.abs().max()) <= scale * (1 + 1e-6)


@pytest.mark.parametrize("shape", SHAPES, ids=["linear", "conv2d", "conv1d"])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("a, nonlinearity", [(0.0, "relu"), (0.0, "leaky_relu"), (math.sqrt(5), "leaky_relu")])
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "normal"])
def test_kaiming_matches_torch(backend_name, shape, mode, a, nonlinearity, uniform):
    fan_in, fan_out = _fans(shape)
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    p = Parameter(backend.asarray(np.zeros(shape, np.float32)))
    fn = init.kaiming_uniform_ if uniform else init.kaiming_normal_
    tfn = torch.nn.init.kaiming_uniform_ if uniform else torch.nn.init.kaiming_normal_
    assert fn(p, a=a, mode=mode, nonlinearity=nonlinearity) is p
    got = backend.to_numpy(p.data)
    assert got.dtype == np.float32 and got.shape == shape
    want = tfn(torch.empty(shape), a=a, mode=mode, nonlinearity=nonlinearity)
    _check_sample(got, want, uniform, math.sqrt(3) * std if uniform else std)


@pytest.mark.parametrize("shape", SHAPES, ids=["linear", "conv2d", "conv1d"])
@pytest.mark.parametrize("gain", [1.0, 5.0 / 3])
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "normal"])
def test_xavier_matches_torch(backend_name, shape, gain, uniform):
    fan_in, fan_out = _fans(shape)
    arr = backend.asarray(np.zeros(shape, np.float64))
    fn = init.xavier_uniform_ if uniform else init.xavier_normal_
    tfn = torch.nn.init.xavier_uniform_ if uniform else torch.nn.init.xavier_normal_
    assert fn(arr, gain=gain) is arr
    got = backend.to_numpy(arr)
    assert got.dtype == np.float64
    want = tfn(torch.empty(shape), gain=gain)
    scale = gain * math.sqrt((6.0 if uniform else 2.0) / (fan_in + fan_out))
    _check_sample(got, want, uniform, scale)


def test_zeros_fills_parameters_and_arrays(backend_name):
    p = Parameter(backend.asarray(np.ones((3, 2), np.float32)))
    arr = backend.asarray(np.ones(4))
    assert init.zeros_(p) is p and init.zeros_(arr) is arr
    assert_close(p.data, np.zeros((3, 2)), 0, 0)
    assert_close(arr, np.zeros(4), 0, 0)
    assert backend.to_numpy(p.data).dtype == np.float32


@pytest.mark.parametrize("make, fan_in", [(lambda: nn.Linear(300, 200), 300), (lambda: nn.Conv2d(16, 40, 5), 400),
                                          (lambda: nn.Conv2d(8, 32, 3, groups=4), 18)],
                         ids=["linear", "conv2d", "conv2d-groups"])
def test_layer_default_init_matches_torch(make, fan_in):
    """PyTorch's default: weight and bias both U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    w = backend.to_numpy(layer.weight.data)
    b = backend.to_numpy(layer.bias.data)
    assert w.dtype == b.dtype == np.float32
    tw = torch.empty(w.shape)
    torch.nn.init.kaiming_uniform_(tw, a=math.sqrt(5))
    _check_sample(w, tw, True, bound)
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.5 * bound


def test_seeded_initialisation_is_reproducible_on_every_backend(backend_name):
    def build() -> dict[str, np.ndarray]:
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(8, 4)).state_dict()
    minicnn.manual_seed(42)
    a = build()
    b = build()
    minicnn.manual_seed(42)
    a2 = build()
    with minicnn.use_backend("numpy"):
        minicnn.manual_seed(42)
        ref = build()
    for k in a:
        assert_close(a2[k], a[k], 0, 0, k)
        assert_close(ref[k], a[k], 0, 0, k)
        assert not np.array_equal(a[k], b[k])


def test_init_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode must be"):
        init.kaiming_uniform_(np.zeros((3, 3)), mode="fan_avg")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_normal_(np.zeros(5))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
