"""The token networks' own pieces (minicnn.models.tokens, Affine) and what ViT does differently from the
other zoo models (its class token, a fixed image size, the ``heads.head`` classifier); parity of the
whole networks with their torch.nn twins is in test_zoo.py."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from minicnn import backend, nn
from minicnn.models import build_model, classifier_head
from minicnn.models.mixer import Affine, Mlp
from minicnn.models.tokens import Mean, ResidualBranches, Select, Transpose
from minicnn.testing import gradcheck
from minicnn.transfer import apply_init

from torch_zoo_tokens import TWINS


def _x(*shape):
    return backend.asarray(np.random.default_rng(0).standard_normal(shape))


@pytest.mark.parametrize("layer, torch_fn", [
    (Transpose(1, 2), lambda t: t.transpose(1, 2)),
    (Transpose(0, -1), lambda t: t.transpose(0, -1)),
    (Select(1, 0), lambda t: t[:, 0]),
    (Select(-1, 2), lambda t: t.select(-1, 2)),
    (Mean(1), lambda t: t.mean(1)),
], ids=["transpose12", "transpose0-1", "select10", "select-12", "mean1"])
def test_token_layers_against_torch(backend_name, layer, torch_fn):
    x = _x(2, 4, 3)
    xt = torch.from_numpy(backend.to_numpy(x)).requires_grad_()
    want = torch_fn(xt)
    dy = np.random.default_rng(1).standard_normal(tuple(want.shape))
    want.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(backend.to_numpy(layer(x)), want.detach().numpy())
    np.testing.assert_allclose(backend.to_numpy(layer.backward(backend.asarray(dy))), xt.grad.numpy())


class _Scaled(ResidualBranches):
    """x + ls1 * mlp(affine(x)), then + transpose(linear(transpose(x))): both branch kinds, one scaled."""

    def __init__(self):
        super().__init__()
        self.norm = Affine(4)
        self.mlp = Mlp(4, 6)
        self.linear = nn.Linear(3, 3)
        self.ls1 = nn.Parameter(backend.asarray(np.linspace(0.5, 2.0, 4)))
        self.transpose = Transpose(1, 2)

    def branches(self):
        return [[self.norm, self.mlp], [self.transpose, self.linear, self.transpose]]

    def layer_scales(self):
        return [self.ls1, None]


def test_residual_branches_gradcheck():
    """Every input and parameter gradient of a block with a layer scale, a reused Transpose and Affine."""
    block = _Scaled().astype(np.float64)
    block.norm.alpha.data = _x(1, 1, 4) + 1.0
    block.norm.beta.data = _x(1, 1, 4)
    assert gradcheck(block, _x(2, 3, 4))


def test_vit_refuses_another_image_size():
    model = build_model("vit", (1, 28, 28), 10)
    with pytest.raises(ValueError, match="built for 28x28"):
        model(backend.asarray(np.zeros((1, 1, 32, 32), np.float32)))


def test_vit_head_and_input_layer():
    model = build_model("vit", (3, 32, 32), 10)
    key, head = classifier_head(model)
    assert key == "heads.head" and head.out_features == 10 and model.input_layer() is model.conv_proj


def test_vit_loads_a_torchvision_named_state_dict_with_another_head():
    """--init-from a torchvision-named ViT state_dict with 1000 classes (what --freeze-features does):
    every key but the head's loads."""
    shape = (3, 32, 32)
    torch.manual_seed(0)
    state = {k: v.detach().numpy() for k, v in TWINS["vit"](shape, 1000).state_dict().items()}
    model = build_model("vit", shape, 10)
    apply_init(model, state, "twin", keep_head=True)
    ours = model.state_dict()
    assert all(np.array_equal(ours[k], v) for k, v in state.items() if not k.startswith("heads."))
    assert ours["heads.head.weight"].shape == (10, 128)
