"""The model zoo (shapes, inferred in_features, PyTorch key names) and ``python -m minicnn.summary``."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import minicnn
from minicnn import backend, nn
from minicnn.models import MODELS, build_model, classifier_head
from minicnn.summary import format_summary, layer_flops, main as summary_main, summarize

# first Linear's in_features, counted by hand once, for the shapes the models are meant for
FIRST_LINEAR = {
    ("compact_cnn", (1, 28, 28)): 32 * 7 * 7, ("compact_cnn", (3, 32, 32)): 32 * 8 * 8,
    ("simple_cnn", (1, 28, 28)): 10 * 14 * 14, ("simple_cnn", (3, 32, 32)): 10 * 16 * 16,
    ("custom_cnn", (1, 28, 28)): 256 * 1 * 1, ("custom_cnn", (3, 32, 32)): 1024,
    ("seed_net", (1, 28, 28)): 4 * 7 * 7, ("seed_net", (3, 32, 32)): 4 * 8 * 8,
    ("lenet5", (1, 28, 28)): 16 * 5 * 5, ("lenet5", (3, 32, 32)): 16 * 6 * 6,
    ("resnet_small", (1, 28, 28)): 64, ("resnet_small", (3, 32, 32)): 64,
}


def _first_linear(model: nn.Module) -> nn.Linear:
    return next(m for m in model.modules() if isinstance(m, nn.Linear))


@pytest.mark.parametrize("name, shape", sorted(FIRST_LINEAR), ids=lambda v: v if isinstance(v, str) else
                         "x".join(map(str, v)))
def test_model_shapes_and_inferred_in_features(name, shape):
    model = build_model(name, shape, 7)
    assert _first_linear(model).in_features == FIRST_LINEAR[(name, shape)]
    assert classifier_head(model)[1].out_features == 7
    x = backend.asarray(np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32))
    y = model(x)
    assert tuple(y.shape) == (2, 7) and y.dtype == np.float32
    dx = model.backward(backend.asarray(np.ones((2, 7), np.float32)))
    assert tuple(dx.shape) == (2, *shape)
    assert all(p.grad.shape == p.shape for p in model.parameters())
    assert any(float(np.abs(backend.to_numpy(p.grad)).sum()) > 0 for p in model.parameters())


@pytest.mark.parametrize("name", ["compact_cnn", "resnet_small"])
def test_models_agree_across_backends(backend_name, name):
    """Forward and the input gradient of a zoo model on every backend match the numpy reference."""
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    dy = np.random.default_rng(1).standard_normal((3, 10)).astype(np.float32)
    results = []
    for which in ("numpy", backend_name):
        with minicnn.use_backend(which):
            minicnn.manual_seed(0)
            model = build_model(name, (1, 28, 28), 10)
            y = model(backend.asarray(x))
            results.append((backend.to_numpy(y), backend.to_numpy(model.backward(backend.asarray(dy)))))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_odd_input_sizes_infer_in_features(name):
    model = build_model(name, (2, 36, 44), 3)
    y = model.eval()(backend.asarray(np.zeros((1, 2, 36, 44), np.float32)))
    assert tuple(y.shape) == (1, 3)


def test_inference_pass_leaves_no_trace():
    model = build_model("seed_net", (1, 28, 28), 10)
    assert model.training
    bn = model[1]
    np.testing.assert_array_equal(backend.to_numpy(bn.running_mean), 0)
    assert int(backend.to_numpy(bn.num_batches_tracked)) == 0
    with pytest.raises(RuntimeError, match="backward"):
        model.backward(backend.asarray(np.ones((1, 10), np.float32)))


def test_seed_makes_weights_reproducible():
    minicnn.manual_seed(3)
    a = build_model("compact_cnn", (1, 28, 28), 10).state_dict()
    minicnn.manual_seed(3)
    b = build_model("compact_cnn", (1, 28, 28), 10).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_errors():
    with pytest.raises(ValueError, match="unknown model 'vgg'; choose one of compact_cnn"):
        build_model("vgg", (1, 28, 28), 10)
    with pytest.raises(ValueError, match=r"input shape \(1, 6, 6\) is too small"):
        build_model("lenet5", (1, 6, 6), 10)
    with pytest.raises(ValueError, match="input_shape must be"):
        build_model("lenet5", (28, 28), 10)
    with pytest.raises(ValueError, match="at least 2"):
        build_model("lenet5", (1, 28, 28), 1)


def _torch_compact(c: int, k: int, f: int) -> torch.nn.Sequential:
    T = torch.nn
    return T.Sequential(T.Conv2d(c, 16, 3, padding=1, bias=False), T.BatchNorm2d(16), T.ReLU(), T.MaxPool2d(2),
                        T.Conv2d(16, 32, 3, padding=1, bias=False), T.BatchNorm2d(32), T.ReLU(), T.MaxPool2d(2),
                        T.Flatten(), T.Linear(f, k))


def _torch_resnet_small(c: int, k: int) -> torch.nn.Sequential:
    T = torch.nn

    class Residual(T.Module):
        def __init__(self, body, shortcut=None):
            super().__init__()
            self.body, self.shortcut = body, shortcut

        def forward(self, x):
            return self.body(x) + (x if self.shortcut is None else self.shortcut(x))

    def block(ci, co, s):
        body = T.Sequential(T.Conv2d(ci, co, 3, s, 1, bias=False), T.BatchNorm2d(co), T.ReLU(),
                            T.Conv2d(co, co, 3, 1, 1, bias=False), T.BatchNorm2d(co))
        short = None if s == 1 and ci == co else T.Sequential(T.Conv2d(ci, co, 1, s, bias=False), T.BatchNorm2d(co))
        return T.Sequential(Residual(body, short), T.ReLU())

    return T.Sequential(T.Conv2d(c, 16, 3, padding=1, bias=False), T.BatchNorm2d(16), T.ReLU(), block(16, 16, 1),
                        block(16, 32, 2), block(32, 64, 2), T.AdaptiveAvgPool2d(1), T.Flatten(), T.Linear(64, k))


@pytest.mark.parametrize("name, torch_model", [("compact_cnn", lambda: _torch_compact(1, 10, 32 * 7 * 7)),
                                               ("resnet_small", lambda: _torch_resnet_small(1, 10))])
def test_pytorch_mirror_has_same_keys_and_outputs(name, torch_model):
    torch.manual_seed(0)
    ref = torch_model().double().eval()
    ours = build_model(name, (1, 28, 28), 10).astype(np.float64).eval()
    theirs = {k: v.numpy() for k, v in ref.state_dict().items()}
    ours_sd = ours.state_dict()
    assert list(ours_sd) == list(theirs)
    assert all(ours_sd[k].shape == theirs[k].shape for k in theirs)
    ours.load_state_dict(theirs)
    x = np.random.default_rng(1).standard_normal((3, 1, 28, 28))
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(backend.to_numpy(ours(backend.asarray(x))), want, rtol=1e-9, atol=1e-10)


# ---- summary ---------------------------------------------------------------------------------------------


def test_summary_rows_shapes_params_and_flops():
    model = build_model("compact_cnn", (1, 28, 28), 10)
    rows = summarize(model, (1, 28, 28))
    assert [r.kind for r in rows] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d", "BatchNorm2d", "ReLU",
                                      "MaxPool2d", "Flatten", "Linear"]
    assert [r.output_shape for r in rows][::4] == [(16, 28, 28), (32, 14, 14), (1568,)]
    assert sum(r.params for r in rows) == sum(p.data.size for p in model.parameters()) == 20538
    assert rows[0].flops == 2 * 16 * 28 * 28 * 9                  # no bias
    assert rows[4].flops == 2 * 32 * 14 * 14 * 16 * 9
    assert rows[9].flops == 2 * 1568 * 10 + 10
    assert rows[3].flops == 16 * 14 * 14 * 4
    text = format_summary(rows)
    assert "total" in text and "20,538" in text and f"{sum(r.flops for r in rows):,}" in text


def test_summary_walks_residual_blocks():
    rows = summarize(build_model("resnet_small", (3, 32, 32), 10), (3, 32, 32))
    names = [r.name for r in rows]
    assert "4.0.body.0" in names and "4.0.shortcut.0" in names and "3.0.shortcut.0" not in names
    add = rows[names.index("4.0")]
    assert add.kind == "Residual add" and add.output_shape == (32, 16, 16) and add.flops == 32 * 16 * 16
    assert rows[-1].output_shape == (10,)


def test_layer_flops_conv_with_groups_and_bias():
    conv = nn.Conv2d(4, 6, 3, groups=2)
    assert layer_flops(conv, (4, 5, 5), (6, 3, 3)) == 6 * 3 * 3 * (2 * 2 * 9) + 6 * 3 * 3


def test_summary_cli(capsys):
    assert summary_main(["lenet5", "--input-shape", "1,28,28"]) == 0
    out = capsys.readouterr().out
    assert "lenet5 for input 1x28x28" in out and "16x5x5" in out and "61,706" in out
    assert summary_main(["lenet5", "--input-shape", "1,4,4"]) == 2
    assert "too small" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        summary_main(["lenet5", "--input-shape", "1,28"])


def test_summary_of_a_chain_network_follows_the_forward():
    """torchvision's ResNet block runs its one relu twice: two rows, then the addition's, in forward order."""
    rows = summarize(build_model("resnet18", (1, 28, 28), 10), (1, 28, 28))
    names = [r.name for r in rows]
    block = names[names.index("layer2.0.conv1"):names.index("layer2.0") + 1]
    assert block == ["layer2.0.conv1", "layer2.0.bn1", "layer2.0.relu", "layer2.0.conv2", "layer2.0.bn2",
                     "layer2.0.downsample.0", "layer2.0.downsample.1", "layer2.0.relu", "layer2.0"]
    assert rows[names.index("layer2.0")].kind == "Residual add"
    assert names[-3:] == ["avgpool", "flatten", "fc"]
    conv = rows[names.index("layer2.0.conv2")]
    assert conv.macs == 32 * 14 * 14 * 32 * 9 and conv.flops == 2 * conv.macs


def test_summary_num_classes(capsys):
    assert summary_main(["nin", "--input-shape", "3,32,32", "--num-classes", "4"]) == 0
    out = capsys.readouterr().out
    assert "nin for input 3x32x32, 4 classes (small-input form)" in out
    assert re.search(r"^9\s+Flatten\s+4\s", out, re.M)


def test_summary_all_table(monkeypatch, capsys):
    import minicnn.summary as summary

    monkeypatch.setattr(summary, "MODELS", {"lenet5": None, "nin": None})
    assert summary_main(["--all"]) == 0
    out = capsys.readouterr().out
    nin = next(line for line in out.splitlines() if line.startswith("nin "))
    assert "2.02M (-0.2%)" in nin and "0.830G (-0.4%)" in nin and "0.833G" in nin
    assert "python -m minicnn.train fashion_mnist --model NAME" in out
    with pytest.raises(SystemExit):
        summary_main(["nin", "--all"])


def test_summary_memory_estimate_is_close():
    import minicnn.summary as summary

    exact = summary._bytes_at("compact_cnn", (1, 600, 700), 10)
    assert summary.estimate_bytes("compact_cnn", (1, 600, 700), 10) == pytest.approx(exact, rel=0.02)
    assert summary.estimate_bytes("compact_cnn", (1, 28, 28), 10) is None


def test_summary_refuses_an_input_too_large_for_memory(monkeypatch, capsys):
    import minicnn.summary as summary

    monkeypatch.setattr(summary, "available_bytes", lambda: 8 * 2**30)
    assert summary_main(["compact_cnn", "--input-shape", "3,20000,20000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "compact_cnn for input 3x20000x20000 needs about" in err[0] and "8.0 GiB" in err[0]
