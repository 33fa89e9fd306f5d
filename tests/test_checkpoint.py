"""minicnn.checkpoint: exact round trips of nested state, atomic writes, no pickles."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import nn, optim
from minicnn import random as mrandom
from minicnn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minicnn.models import build_model


def test_round_trip_of_nested_state(tmp_path):
    minicnn.manual_seed(5)
    mrandom.generator().random(3)
    state = {
        "config": {"lr": 3e-3, "betas": (0.9, 0.999), "name": "x", "flag": True, "none": None, "limit": None},
        "by_index": {0: {"exp_avg": np.arange(6, dtype=np.float32).reshape(2, 3), "step": 7}, 1: {}},
        "scalar": np.zeros((), np.int64), "big": 2 ** 100 + 1, "nan": float("nan"), "inf": -float("inf"),
        "rng": mrandom.get_state(), "list": [1, 2.5, "a", [np.float64(0.5)]], "__dunder": 1,
        "np_scalars": [np.int32(4), np.float32(0.25), np.bool_(True)],
    }
    got = load_checkpoint(save_checkpoint(tmp_path / "c.npz", state))
    assert got["config"] == state["config"] and isinstance(got["config"]["betas"], tuple)
    assert list(got["by_index"]) == [0, 1] and got["by_index"][0]["step"] == 7
    a = got["by_index"][0]["exp_avg"]
    assert a.dtype == np.float32 and np.array_equal(a, state["by_index"][0]["exp_avg"])
    assert got["scalar"].shape == () and got["scalar"].dtype == np.int64
    assert got["big"] == 2 ** 100 + 1 and np.isnan(got["nan"]) and got["inf"] == -float("inf")
    assert got["rng"] == state["rng"] and got["list"] == [1, 2.5, "a", [0.5]] and got["__dunder"] == 1
    assert got["np_scalars"] == [4, 0.25, True]


def test_model_and_optimiser_state_round_trip_exactly(tmp_path):
    model = build_model("seed_net", (1, 28, 28), 10)
    opt = optim.Adam(model.named_parameters(), lr=1e-2)
    loss = nn.CrossEntropyLoss()
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    loss.forward(model(x), np.array([1, 2, 3, 4]))
    model.backward(loss.backward())
    opt.step()
    path = save_checkpoint(tmp_path / "m.npz", {"model": model.state_dict(), "optimizer": opt.state_dict()})
    got = load_checkpoint(path)
    fresh = build_model("seed_net", (1, 28, 28), 10)
    fresh.load_state_dict(got["model"])
    fresh_opt = optim.Adam(fresh.named_parameters(), lr=1.0)
    fresh_opt.load_state_dict(got["optimizer"])
    assert fresh_opt.lr == 1e-2
    for k, v in model.state_dict().items():
        assert np.array_equal(fresh.state_dict()[k], v), k
    assert got["optimizer"]["state"]["0.weight"]["exp_avg"].dtype == np.float32


def test_failed_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.npz", {"epoch": 1})

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_unstorable_values_and_bad_files(tmp_path):
    with pytest.raises(TypeError, match="cannot store a set"):
        save_checkpoint(tmp_path / "x.npz", {"s": {1, 2}})
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match="damaged checkpoint: cannot read"):
        load_checkpoint(tmp_path / "junk.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(CheckpointError, match="not a minicnn checkpoint"):
        load_checkpoint(tmp_path / "plain.npz")
    np.save(tmp_path / "array.npy", np.zeros(2))
    with pytest.raises(CheckpointError, match="damaged checkpoint: cannot read"):
        load_checkpoint(tmp_path / "array.npy")
    np.savez(tmp_path / "pickled.npz", __tree__=np.array("{}"), a0=np.array([object()], dtype=object))
    with pytest.raises(CheckpointError, match="damaged checkpoint: cannot read"):
        load_checkpoint(tmp_path / "pickled.npz")
    good = save_checkpoint(tmp_path / "good.npz", {"w": np.arange(1000.0)})
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="damaged checkpoint: cannot read"):
        load_checkpoint(tmp_path / "cut.npz")
    np.savez(tmp_path / "dangling.npz", __tree__=np.array('{"w": {"__array__": "a7"}}'))
    with pytest.raises(CheckpointError, match="damaged checkpoint: cannot read"):
        load_checkpoint(tmp_path / "dangling.npz")


def test_object_arrays_are_refused_when_saving(tmp_path):
    with pytest.raises(TypeError, match="array of Python objects"):
        save_checkpoint(tmp_path / "o.npz", {"a": np.array([{"x": 1}], dtype=object)})
    assert list(tmp_path.iterdir()) == []
