"""The seed-zoo architectures: parity with torch.nn twins of the same names, parameter counts at
3x224x224, small-input forms, classifier heads, and the zoo table."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn
from minicnn import backend, nn
from minicnn.models import MODELS, SMALL_FORMS, build_model, classifier_head, count_parameters, head_is_last
from minicnn.models import inception
from minicnn.models.blocks import Branches, Chain, ResidualBlock, back_steps, run_steps
from minicnn.models.reported import REPORTED

from torch_zoo import NARROW, TWINS

ZOO = sorted(TWINS)

#: parameters for 3x224x224 and 10 classes (torchvision's counts with a 10-class head where it has the model)
PARAMS_224 = {"alexnet": 57_044_810, "vgg11": 128_807_306, "vgg11_bn": 128_812_810, "nin": 2_015_398,
              "resnet18": 11_181_642, "resnet50": 23_528_522, "resnext50_32x4d": 23_000_394,
              "darknet53": 40_595_178, "mobilenet_v1": 3_217_226, "xception": 20_827_442,
              "googlenet": 5_610_154, "inception_v3": 21_806_058, "densenet40": 179_050,
              "mobilenet_v2": 2_236_682, "efficientnet_b0": 4_020_358, "se_resnet18": 11_268_682,
              "squeezenet1_1": 727_626, "shufflenet_v2": 1_263_854,
              "vit": 53_610_506, "mlp_mixer": 13_615_266, "resmlp": 14_969_722}

#: where the seed's count is another architecture's (explained on docs/zoo.md)
SEED_DIFFERS = {"alexnet", "googlenet"}


def test_every_zoo_model_has_a_twin_and_a_small_form():
    assert set(TWINS) == set(NARROW) == set(SMALL_FORMS) == set(PARAMS_224) and set(SMALL_FORMS) <= set(MODELS)


def _numpy_state(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _no_dropout(module):
    for m in module.modules():
        if isinstance(m, (nn.Dropout, torch.nn.Dropout)):
            m.eval()


@pytest.mark.parametrize("name", ZOO)
def test_parity_with_torch_twin(backend_name, name):
    """One state_dict in both; logits, loss, input gradient, every parameter gradient and the running
    statistics agree in float64 (training mode: batch statistics; dropout off on both sides). The
    networks are narrow versions of the small-input forms (test_small_input_forms checks the zoo's
    own configurations against the same twins)."""
    shape = (3, 24, 24)          # every small form's last stage at 2x2 or more: batch norm over 8+ values
    make_ours, make_ref = NARROW[name]
    torch.manual_seed(0)
    ref = make_ref().double().train()
    ours = make_ours().astype(np.float64).train()
    _no_dropout(ref), _no_dropout(ours)
    theirs = _numpy_state(ref)
    assert list(ours.state_dict()) == list(theirs)
    ours.load_state_dict(theirs)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, *shape)), np.array([3, 7])
    xt = torch.from_numpy(x).requires_grad_()
    logits = ref(xt)
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
    loss.backward()
    criterion = nn.CrossEntropyLoss()
    got = ours(backend.asarray(x))
    got_loss = criterion.forward(got, backend.asarray(y))
    dx = ours.backward(criterion.backward())

    def close(a, b, what):
        b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
        np.testing.assert_allclose(backend.to_numpy(a), b, rtol=1e-7, atol=1e-9 * (np.abs(b).max() + 1e-3),
                                   err_msg=f"{name}: {what}")

    close(got, logits, "logits")
    assert got_loss == pytest.approx(loss.item(), rel=1e-8)
    close(dx, xt.grad, "input gradient")
    grads = dict(ref.named_parameters())
    for key, p in ours.named_parameters():
        close(p.grad, grads[key].grad, f"gradient of {key}")
    running = _numpy_state(ref)
    for key, value in ours.state_dict().items():
        if "running" in key:
            close(value, running[key], key)


@pytest.mark.parametrize("name", [n for n in ZOO if n != "vgg11_bn"])       # vgg11 + 5,504 batch-norm parameters
def test_parameters_at_224(name):
    """The standard (ImageNet) form's parameter count, and the seed's within 2% where it is the same
    architecture."""
    model = MODELS[name]((3, 224, 224), 10)
    n = count_parameters(model)
    del model
    assert n == PARAMS_224[name]
    seed = REPORTED.get(name)
    if seed is not None and seed.params is not None and name not in SEED_DIFFERS:
        assert abs(n - seed.params) <= 0.02 * seed.params


def test_googlenet_with_the_papers_5x5_branch_has_the_seeds_count():
    """torchvision's GoogLeNet (the zoo's) has a 3x3 where the paper has a 5x5 (pytorch/vision#906); the
    seed's 5.98M is the paper's network."""
    n = count_parameters(inception.GoogLeNet(10, branch3_kernel=5))
    assert n == 5_991_082 and abs(n - REPORTED["googlenet"].params) <= 0.02 * REPORTED["googlenet"].params


@pytest.mark.parametrize("name", ZOO)
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)], ids=["1x28x28", "3x32x32"])
def test_small_input_forms(name, shape):
    """MNIST and CIFAR shapes build the small-input form (keys and shapes as the twin's) and give logits."""
    model = build_model(name, shape, 10)
    twin = TWINS[name](shape, 10)
    assert {k: v.shape for k, v in model.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in twin.state_dict().items()}
    y = model.eval()(backend.asarray(np.zeros((1, *shape), np.float32)))
    assert tuple(y.shape) == (1, 10) and y.dtype == np.float32


def test_too_small_inputs_are_refused_when_built():
    with pytest.raises(ValueError, match="too small"):
        build_model("alexnet", (3, 4, 4), 10)


# ---- classifier heads ----------------------------------------------------------------------------------------

HEADS = {"alexnet": "classifier.6", "vgg11": "classifier.6", "vgg11_bn": "classifier.6", "nin": None,
         "resnet18": "fc", "resnet50": "fc", "resnext50_32x4d": "fc", "darknet53": "fc", "mobilenet_v1": "fc",
         "xception": "fc", "compact_cnn": "9", "custom_cnn": "41", "googlenet": "fc", "inception_v3": "fc",
         "densenet40": "classifier", "mobilenet_v2": "classifier.1", "efficientnet_b0": "classifier.1",
         "se_resnet18": "fc", "squeezenet1_1": None, "shufflenet_v2": "fc", "mlp_mixer": "head",
         "resmlp": "head"}


@pytest.mark.parametrize("name", sorted(HEADS))
def test_classifier_head(name):
    model = build_model(name, (1, 28, 28), 10)
    found = classifier_head(model)
    if HEADS[name] is None:
        assert found is None
        return
    key, head = found
    assert key == HEADS[name] and isinstance(head, nn.Linear) and head.out_features == 10
    assert head_is_last(model, head)


def test_frozen_features_backward_through_the_head_alone():
    """With the features frozen, the head's backward alone gives the head's gradients, as the full backward."""
    model = build_model("resnet18", (1, 28, 28), 10).astype(np.float64)
    _, head = classifier_head(model)
    model.eval()
    x = backend.asarray(np.random.default_rng(0).standard_normal((2, 1, 28, 28)))
    dy = backend.asarray(np.random.default_rng(1).standard_normal((2, 10)))
    model(x)
    model.backward(dy)
    want = [backend.to_numpy(p.grad).copy() for p in head.parameters()]
    model.zero_grad()
    model(x)
    head.backward(dy)
    for p, w in zip(head.parameters(), want):
        np.testing.assert_allclose(backend.to_numpy(p.grad), w)
    assert not head_is_last(model, model.layer4)


def test_head_replaced_for_new_classes_from_a_torch_state_dict():
    """--init-from a torchvision-named state_dict with 1000 classes into a 10-class model: every key
    but the head's loads (what minicnn.transfer.apply_init does with --freeze-features)."""
    from minicnn.transfer import apply_init

    shape = (3, 16, 16)
    torch.manual_seed(0)
    state = _numpy_state(TWINS["resnet18"](shape, 1000))
    model = build_model("resnet18", shape, 10)
    apply_init(model, state, "twin", keep_head=True)
    ours = model.state_dict()
    assert all(np.array_equal(ours[k], v) for k, v in state.items() if not k.startswith("fc."))
    assert ours["fc.weight"].shape == (10, 128)


# ---- blocks ----------------------------------------------------------------------------------------------


def test_a_layer_run_twice_keeps_both_caches():
    """torchvision's single relu runs several times per block: each backward gets its own forward's mask."""
    relu = nn.ReLU()
    scale = nn.Conv2d(1, 1, 1, bias=False)
    x = backend.asarray(np.array([-1.0, 2.0, 3.0, -4.0]).reshape(1, 1, 2, 2))
    scale.weight.data = backend.asarray(np.full((1, 1, 1, 1), -1.0))
    steps = [relu, scale, relu]                 # relu(-relu(x)) = 0 everywhere; gradient 0
    y, tape = run_steps(steps, x)
    assert not np.any(backend.to_numpy(y))
    dx = back_steps(steps, tape, backend.asarray(np.ones((1, 1, 2, 2))))
    assert not np.any(backend.to_numpy(dx))


def test_residual_block_sums_both_paths():
    class Twice(ResidualBlock):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 1, bias=False)

        def body(self):
            return [self.conv]

    block = Twice().astype(np.float64)
    assert minicnn.testing.gradcheck(block, backend.asarray(np.random.default_rng(0).standard_normal((2, 2, 3, 3))))


def test_branches_split_dy_and_add_the_paths_input_gradients():
    """y = cat([x, conv(x)]): an empty path passes x on; x feeds both paths."""
    class Dense(Branches):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3, padding=1, bias=False)

        def paths(self):
            return [[], [self.conv]]

    block = Dense().astype(np.float64)
    x = backend.asarray(np.random.default_rng(0).standard_normal((2, 2, 3, 3)))
    assert tuple(block(x).shape) == (2, 5, 3, 3)
    assert minicnn.testing.gradcheck(block, x)


@pytest.mark.parametrize("name, first", [("googlenet", "conv1.conv"), ("inception_v3", "Conv2d_1a_3x3.conv"),
                                         ("densenet40", "features.conv0"), ("resnet18", "conv1")])
def test_a_chains_input_layer_is_its_first_steps(name, first):
    """Training skips the data's gradient at the layer the input alone reaches."""
    model = build_model(name, (1, 28, 28), 10)
    assert model.input_layer() is dict(model.named_modules())[first]


def test_chain_runs_children_in_order():
    class Two(Chain):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.flatten = nn.Flatten()

    net = Two().astype(np.float64)
    assert list(net.state_dict()) == ["conv.weight", "conv.bias"]
    assert minicnn.testing.gradcheck(net, backend.asarray(np.random.default_rng(0).standard_normal((2, 1, 4, 4))))
