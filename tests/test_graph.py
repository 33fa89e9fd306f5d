"""The multi-path containers against the same blocks written with torch.nn: Concat, SqueezeExcitation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minicnn import backend, nn
from minicnn.testing import assert_close, gradcheck
from minicnn.testing import strategies as cst
from torch_ref import t


class TorchConcat(torch.nn.Module):
    """torch's version of Concat: branches "0", "1", ... and torch.cat of their outputs."""

    def __init__(self, *branches: torch.nn.Module, dim: int = 1) -> None:
        super().__init__()
        for i, branch in enumerate(branches):
            self.add_module(str(i), branch)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], self.dim)


class TorchSqueezeExcitation(torch.nn.Module):
    """torchvision.ops.SqueezeExcitation, attribute for attribute (torchvision is not installable here)."""

    def __init__(self, input_channels: int, squeeze_channels: int, activation=torch.nn.ReLU,
                 scale_activation=torch.nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc1 = torch.nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = torch.nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))


class ExactHardsigmoid(torch.nn.Module):
    """relu6(x + 3) / 6 in autograd's own ops: its float64 gradient is dy / 6 in float64, where
    torch.nn.Hardsigmoid's backward multiplies by float32(1/6) in every dtype (3e-8 off, and the block's
    sums carry that error onto results much smaller than their terms). relu6's slope at 0 and 6 is 0,
    as Hardsigmoid's at -3 and 3."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.relu6(x + 3) / 6


def _compare(ours: nn.Module, theirs: torch.nn.Module, x: np.ndarray, dtype, tol=None) -> None:
    """Same weights in both; output, input gradient and every parameter gradient under a random dy."""
    theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    ours = ours.astype(dtype).to_backend()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    tol = tol or cst.tolerance(dtype)
    tx = t(x.astype(dtype))
    ty = theirs(tx)
    dy = cst.arrays(tuple(ty.shape), dtype, 5)
    ty.backward(torch.from_numpy(dy))
    y = ours(backend.asarray(x.astype(dtype)))
    dx = ours.backward(backend.asarray(dy))
    assert_close(y, ty.detach().numpy(), tol.rtol, tol.atol, "output")
    assert_close(dx, tx.grad.numpy(), tol.rtol, tol.atol, "input gradient")
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, tgrads[name].grad.numpy(), tol.rtol, tol.atol, f"grad {name}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@given(c=st.integers(1, 4), size=st.integers(3, 6), dim=st.sampled_from([1, -3]), seed=cst.seeds())
def test_concat_matches_torch_branches(backend_name, dtype, c, size, dim, seed):
    torch.manual_seed(seed)
    ours = nn.Concat(nn.Conv2d(c, 3, 1), nn.Sequential(nn.Conv2d(c, 2, 3, padding=1), nn.ReLU()),
                     nn.MaxPool2d(3, 1, 1), dim=dim)
    theirs = TorchConcat(torch.nn.Conv2d(c, 3, 1), torch.nn.Sequential(torch.nn.Conv2d(c, 2, 3, padding=1),
                                                                         torch.nn.ReLU()),
                         torch.nn.MaxPool2d(3, 1, 1), dim=dim)
    _compare(ours, theirs, cst.arrays((2, c, size, size), np.float64, seed), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("gates", [(nn.ReLU, nn.Sigmoid, torch.nn.ReLU, torch.nn.Sigmoid),
                                   (nn.SiLU, nn.Sigmoid, torch.nn.SiLU, torch.nn.Sigmoid),
                                   (nn.ReLU, nn.Hardsigmoid, torch.nn.ReLU, torch.nn.Hardsigmoid)],
                         ids=["relu-sigmoid", "silu-sigmoid", "relu-hardsigmoid"])
@given(c=st.integers(1, 6), squeeze=st.integers(1, 4), size=st.integers(1, 5), seed=cst.seeds())
def test_squeeze_excitation_matches_torchvision_block(backend_name, dtype, gates, c, squeeze, size, seed):
    act, scale, tact, tscale = gates
    torch.manual_seed(seed)
    ours = nn.SqueezeExcitation(c, squeeze, activation=act, scale_activation=scale)
    exact = tscale is torch.nn.Hardsigmoid and dtype == np.float64
    theirs = TorchSqueezeExcitation(c, squeeze, tact, ExactHardsigmoid if exact else tscale)
    _compare(ours, theirs, cst.arrays((3, c, size, size), np.float64, seed, scale=2.0), dtype)


def test_containers_gradcheck(backend_name):
    x = cst.arrays((2, 3, 4, 4), np.float64, 3)
    assert gradcheck(nn.SqueezeExcitation(3, 2, activation=nn.SiLU).astype(np.float64), x)
    assert gradcheck(nn.Concat(nn.Identity(), nn.Conv2d(3, 2, 3, padding=1), nn.ChannelShuffle(3)).astype(np.float64), x)
    assert gradcheck(nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, -1))).astype(np.float64), x)


def test_container_arguments_are_checked():
    with pytest.raises(ValueError, match="at least one branch"):
        nn.Concat()
    with pytest.raises(TypeError, match="branch 1 is a int"):
        nn.Concat(nn.ReLU(), 3)
    with pytest.raises(ValueError, match="SqueezeExcitation: input_channels"):
        nn.SqueezeExcitation(0, 2)
    with pytest.raises(ValueError, match="cat: input 1 has shape"):
        nn.Concat(nn.Conv2d(3, 2, 1), nn.MaxPool2d(2))(np.zeros((1, 3, 4, 4), np.float32))
