"""``python -m minicnn.train``: end to end, exact resume, Ctrl-C, non-finite loss, transfer, errors;
plus the schedules, the metrics and ``python -m minicnn.predict``."""
from __future__ import annotations

import errno
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from datafiles import (labelled_images, make_cifar_tarball, make_idx_dataset, make_image_folder,
                       shared_datasets)
from minicnn import nn, optim
from minicnn import train as T
from minicnn.checkpoint import load_checkpoint, save_checkpoint
from minicnn.metrics import classification_metrics, format_metrics_table
from minicnn.models import MODELS
from minicnn.models.zoo import _with_head
from minicnn.predict import main as predict_main
from minicnn.schedules import learning_rate

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data folder whose fashion_mnist/ holds 240 + 60 small synthetic IDX images."""
    root = tmp_path_factory.mktemp("data")
    make_idx_dataset(root / "fashion_mnist", n_train=240, n_test=60)
    return root


def _train(args: list[str], capsys) -> tuple[int, str, str]:
    code = T.main([*args, "--backend", "numpy", "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def _tiny_dropout(input_shape, num_classes):
    """Conv (stride 2), BatchNorm, ReLU, Dropout, Linear: every kind of state a resume must restore."""
    features = [nn.Conv2d(input_shape[0], 4, 3, stride=2), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3)]
    return _with_head(features, input_shape, lambda f: [nn.Linear(f, num_classes)])


class _LossHook:
    """Patches CrossEntropyLoss.forward to act on its N-th call (training and evaluation calls alike)."""

    def __init__(self, monkeypatch, at: int, action: str) -> None:
        self.calls, self.at, self.action = 0, at, action
        original = nn.CrossEntropyLoss.forward

        def forward(loss_self, logits, targets):
            self.calls += 1
            value = original(loss_self, logits, targets)
            if self.calls == self.at and self.action == "sigint":
                os.kill(os.getpid(), signal.SIGINT)
            if self.calls >= self.at and self.action == "nan":
                return float("nan")
            return value

        monkeypatch.setattr(nn.CrossEntropyLoss, "forward", forward)


# ---- units --------------------------------------------------------------------------------------------


def test_learning_rate_schedules():
    lr = learning_rate
    kw = dict(total_steps=100, steps_per_epoch=10)
    assert lr(0, 0.1, "none", **kw) == lr(99, 0.1, "none", **kw) == 0.1
    assert [lr(s, 0.1, "none", warmup_epochs=1, **kw) for s in (0, 4, 9, 10)] == pytest.approx([0.01, 0.05, 0.1, 0.1])
    assert [lr(s, 1.0, "step", step_size=3, gamma=0.5, **kw) for s in (0, 29, 30, 60, 99)] == [1, 1, 0.5, 0.25, 0.125]
    assert lr(0, 0.2, "cosine", **kw) == 0.2 and lr(50, 0.2, "cosine", **kw) == pytest.approx(0.1)
    assert lr(100, 0.2, "cosine", **kw) == pytest.approx(0.0, abs=1e-12)
    assert lr(20, 0.2, "cosine", warmup_epochs=2, **kw) == 0.2
    assert lr(60, 0.2, "cosine", warmup_epochs=2, **kw) == pytest.approx(0.1)
    one = [lr(s, 1.0, "onecycle", **kw) for s in range(101)]
    assert one[0] == pytest.approx(1 / 25) and max(one) == one[30] == 1.0 and one[100] == pytest.approx(1 / 25e4)
    assert all(a <= b for a, b in zip(one[:30], one[1:31])) and all(a >= b for a, b in zip(one[30:], one[31:]))
    assert lr(10, 1.0, "onecycle", warmup_epochs=1, **kw) == 1.0
    with pytest.raises(ValueError, match="unknown schedule"):
        lr(0, 1.0, "exp", **kw)


def test_classification_metrics_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    m = classification_metrics(y_true, y_pred, ["a", "b", "c", "d"])
    assert m["confusion_matrix"] == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": pytest.approx(2 / 3), "f1": pytest.approx(0.8),
                                   "support": 3}
    assert m["per_class"]["b"]["precision"] == 0.5 and m["per_class"]["b"]["recall"] == 0.5
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)     # "d" never occurs: left out of the mean
    table = format_metrics_table(m)
    assert "macro F1" in table and "confusion matrix" in table


# ---- end to end on the real data ----------------------------------------------------------------------------


@pytest.mark.data
def test_end_to_end_on_shared_fashion_mnist(tmp_path):
    root = shared_datasets()
    if root is None:
        pytest.skip("real data not found: set MINICNN_DATA or provide ../shared/datasets/fashion_mnist")
    out = tmp_path / "run"
    env = {**os.environ, "MINICNN_DATA": str(root)}
    proc = subprocess.run([sys.executable, "-m", "minicnn.train", "fashion_mnist", "--backend", "numpy",
                           "--limit-train", "800", "--limit-test", "300", "--epochs", "2", "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "epoch 2/2" in proc.stdout and "Ankle boot" in proc.stdout and "macro F1" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].startswith("fashion_mnist compact_cnn: test accuracy")
    metrics = json.loads((out / "metrics.json").read_text())
    assert isinstance(metrics["test_accuracy"], float) and metrics["test_accuracy"] > 0.5   # chance is 0.1
    assert isinstance(metrics["test_loss"], float) and metrics["epochs"] == 2
    assert metrics["train_images_per_s"] > 0
    assert set(metrics["per_class"]) == {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                         "Sneaker", "Bag", "Ankle boot"}
    cm = np.array(metrics["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 300
    assert np.trace(cm) / 300 == pytest.approx(metrics["test_accuracy"])
    assert (out / "curves.png").read_bytes()[:8] == PNG and (out / "confusion.png").read_bytes()[:8] == PNG
    ckpt = load_checkpoint(out / "checkpoint.npz")
    assert ckpt["position"] == {"epoch": 2, "batch": 0, "step": 2 * math.ceil(720 / 64)}
    assert len(ckpt["history"]) == 2


# ---- resume, Ctrl-C, non-finite loss ---------------------------------------------------------------------------


def test_resume_after_any_stop_equals_uninterrupted_run(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(MODELS, "tiny_dropout", _tiny_dropout)
    common = ["fashion_mnist", "--data-dir", str(data_dir), "--model", "tiny_dropout", "--epochs", "2",
              "--limit-train", "200", "--val-split", "0.2", "--batch-size", "32", "--crop-padding", "2", "--hflip",
              "--seed", "11"]
    assert _train([*common, "--out", str(tmp_path / "a")], capsys)[0] == 0
    reference = load_checkpoint(tmp_path / "a" / "checkpoint.npz")
    # 5 training batches and 1 validation batch per epoch: call 3 is mid-epoch, call 6 is the validation
    for name, call, position in (("b", 3, (0, 3)), ("c", 6, (1, 0))):
        with monkeypatch.context() as patch:
            _LossHook(patch, call, "sigint")
            code, _, err = _train([*common, "--out", str(tmp_path / name)], capsys)
        assert code == 130 and "checkpoint saved to" in err, err
        saved = load_checkpoint(tmp_path / name / "checkpoint.npz")
        assert (saved["position"]["epoch"], saved["position"]["batch"]) == position
        code, out, _ = _train(["fashion_mnist", "--resume", str(tmp_path / name / "checkpoint.npz")], capsys)
        assert code == 0 and "resumed at epoch" in out
        final = load_checkpoint(tmp_path / name / "checkpoint.npz")
        for key, value in reference["model"].items():
            assert np.array_equal(final["model"][key], value), f"{name}: {key} differs from the uninterrupted run"
        for key, state in reference["optimizer"]["state"].items():
            for field, value in state.items():
                assert np.array_equal(final["optimizer"]["state"][key][field], value), f"{name}: {key}.{field}"
        assert [h["train_loss"] for h in final["history"]] == [h["train_loss"] for h in reference["history"]]
        assert [h["val_acc"] for h in final["history"]] == [h["val_acc"] for h in reference["history"]]
        assert json.loads((tmp_path / name / "metrics.json").read_text())["epochs"] == 2


def test_resume_rejects_changed_settings_but_may_extend(data_dir, tmp_path, capsys):
    args = ["fashion_mnist", "--data-dir", str(data_dir), "--limit-train", "64", "--limit-test", "20",
            "--epochs", "1", "--out", str(tmp_path)]
    assert _train(args, capsys)[0] == 0
    ckpt = str(tmp_path / "checkpoint.npz")
    code, _, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--resume", ckpt, "--lr", "0.1"], capsys)
    assert code == 2 and "--lr 0.1 (the checkpoint has 0.003)" in err
    code, _, err = _train(["mnist", "--data-dir", str(data_dir), "--resume", ckpt], capsys)
    assert code == 2 and "was trained on 'fashion_mnist'" in err
    code, out, _ = _train(["fashion_mnist", "--data-dir", str(data_dir), "--resume", ckpt, "--epochs", "2"], capsys)
    assert code == 0 and "epoch 2/2" in out and load_checkpoint(ckpt)["position"]["epoch"] == 2
    code, _, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--resume", ckpt, "--epochs", "1"], capsys)
    assert code == 2 and f"--epochs 1 is fewer than the 2 epochs {ckpt} has already trained" in err


def test_a_new_run_never_overwrites_another_runs_checkpoint(data_dir, tmp_path, capsys):
    args = ["fashion_mnist", "--data-dir", str(data_dir), "--limit-train", "64", "--limit-test", "20",
            "--epochs", "1", "--out", str(tmp_path)]
    assert _train(args, capsys)[0] == 0
    before = (tmp_path / "checkpoint.npz").read_bytes()
    code, _, err = _train([*args, "--seed", "3"], capsys)
    assert code == 2 and f"{tmp_path} already holds checkpoint.npz from another run" in err
    assert f"--resume {tmp_path / 'checkpoint.npz'}" in err
    assert (tmp_path / "checkpoint.npz").read_bytes() == before


def test_resume_refuses_changed_data(data_dir, tmp_path, capsys):
    args = ["fashion_mnist", "--limit-train", "64", "--limit-test", "20", "--epochs", "1"]
    assert _train([*args, "--data-dir", str(data_dir), "--out", str(tmp_path / "run")], capsys)[0] == 0
    make_idx_dataset(tmp_path / "other" / "fashion_mnist", n_train=240, n_test=60, seed=5)
    code, _, err = _train(["fashion_mnist", "--data-dir", str(tmp_path / "other"), "--epochs", "2",
                           "--resume", str(tmp_path / "run" / "checkpoint.npz")], capsys)
    assert code == 2 and "is not the data" in err and "mean, std differ" in err


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(data_dir, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "minicnn.train", "fashion_mnist", "--data-dir", str(data_dir),
                             "--backend", "numpy", "--epochs", "300", "--limit-train", "96", "--val-split", "0",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.npz").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "checkpoint saved to" in stderr and "--resume" in stderr and "Traceback" not in stderr + stdout
    saved = load_checkpoint(out / "checkpoint.npz")
    assert saved["position"]["epoch"] >= 1 and len(saved["history"]) == saved["position"]["epoch"]
    assert saved["position"]["epoch"] < 300 and not (out / "metrics.json").exists()


def test_nonfinite_loss_names_the_step_and_keeps_last_good_checkpoint(data_dir, tmp_path, capsys, monkeypatch):
    _LossHook(monkeypatch, 7, "nan")                    # 5 batches per epoch: epoch 2, batch 2, step 7
    code, _, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--limit-train", "160", "--val-split", "0",
                           "--batch-size", "32", "--epochs", "3", "--out", str(tmp_path)], capsys)
    assert code == 1
    assert "the training loss became nan at step 7 (epoch 2, batch 2" in err and "Traceback" not in err
    assert f"the last good checkpoint, {tmp_path / 'checkpoint.npz'} (after epoch 1), is kept" in err
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    assert saved["position"] == {"epoch": 1, "batch": 0, "step": 5}
    assert all(np.isfinite(v).all() for v in saved["model"].values() if v.dtype.kind == "f")


def test_weights_gone_non_finite_behind_a_finite_loss_are_never_checkpointed(data_dir, tmp_path, capsys,
                                                                            monkeypatch):
    original, calls = optim.Adam.step, []

    def step(opt_self):                                 # the 10th step (last of epoch 2) breaks a weight
        original(opt_self)
        calls.append(1)
        if len(calls) == 10:
            opt_self._params[0].data[...] = np.nan

    monkeypatch.setattr(optim.Adam, "step", step)
    code, _, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--limit-train", "160", "--val-split", "0",
                           "--batch-size", "32", "--epochs", "3", "--out", str(tmp_path)], capsys)
    assert code == 1 and "Traceback" not in err
    assert "the loss stayed finite but parameter 0.weight became NaN or infinite by step 10" in err
    assert f"the last good checkpoint, {tmp_path / 'checkpoint.npz'} (after epoch 1), is kept" in err
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    assert saved["position"] == {"epoch": 1, "batch": 0, "step": 5}
    assert all(np.isfinite(v).all() for v in saved["model"].values() if v.dtype.kind == "f")


def test_nonfinite_loss_after_resuming_mid_epoch_names_that_checkpoint(data_dir, tmp_path, capsys, monkeypatch):
    args = ["fashion_mnist", "--data-dir", str(data_dir), "--limit-train", "160", "--val-split", "0",
            "--batch-size", "32", "--epochs", "2", "--out", str(tmp_path)]
    with monkeypatch.context() as patch:
        _LossHook(patch, 3, "sigint")
        assert _train(args, capsys)[0] == 130
    ckpt = tmp_path / "checkpoint.npz"
    _LossHook(monkeypatch, 1, "nan")
    code, _, err = _train(["fashion_mnist", "--resume", str(ckpt)], capsys)
    assert code == 1 and "the training loss became nan at step 4 (epoch 1, batch 4" in err
    assert f"the last good checkpoint, {ckpt} (at epoch 1, batch 3), is kept" in err
    assert load_checkpoint(ckpt)["position"] == {"epoch": 0, "batch": 3, "step": 3}


def _tiny_batch_norm_1d(input_shape, num_classes):
    """Flatten, Linear, BatchNorm1d, ReLU, Linear: batch norm over features, which one image cannot have
    (custom_cnn's head, in miniature)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), 8), nn.BatchNorm1d(8), nn.ReLU(),
                         nn.Linear(8, num_classes))


def test_a_last_batch_of_one_image_joins_the_batch_before_with_batch_norm(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(MODELS, "tiny_bn1d", _tiny_batch_norm_1d)
    args = ["fashion_mnist", "--data-dir", str(data_dir), "--model", "tiny_bn1d", "--limit-train", "65",
            "--val-split", "0", "--limit-test", "20", "--epochs", "1"]
    code, out, err = _train([*args, "--batch-size", "32", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert out.count("the last batch of every epoch would hold a single image") == 1
    assert "joins the batch before it (33 images)" in out and "1 epochs x 2 batches of 32" in out
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    assert saved["position"] == {"epoch": 1, "batch": 0, "step": 2} and saved["history"][0]["train_loss"] > 0
    code, _, err = _train([*args, "--batch-size", "1", "--out", str(tmp_path / "one")], capsys)
    assert code == 2 and "--model tiny_bn1d has batch norm, which needs at least 2 images per batch" in err


def test_output_folder_problems_exit_2_with_one_message(data_dir, tmp_path, capsys, monkeypatch):
    args = ["fashion_mnist", "--data-dir", str(data_dir), "--limit-train", "64", "--limit-test", "20", "--epochs", "1"]
    (tmp_path / "file").write_text("mine")
    for out, why in ((tmp_path / "file", "File exists"), (tmp_path / "file" / "sub", "Not a directory")):
        code, _, err = _train([*args, "--out", str(out)], capsys)
        assert code == 2 and err == f"error: cannot write to the output folder {out} ({why}: {out})\n"

    def read_only(self, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    code, _, err = _train([*args, "--out", str(tmp_path / "ro")], capsys)
    assert code == 2 and err == f"error: cannot write to the output folder {tmp_path / 'ro'} (Read-only file system: " \
                                f"{tmp_path / 'ro'})\n"
    assert (tmp_path / "file").read_text() == "mine"


def test_a_full_disk_at_a_checkpoint_exits_2_keeping_the_last_good_one(data_dir, tmp_path, capsys, monkeypatch):
    original, calls = np.savez, []

    def savez(fh, *args, **kwargs):                     # the second checkpoint (after epoch 2) fills the disk
        calls.append(1)
        if len(calls) == 2:
            fh.write(b"\0" * 1000)
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(fh, *args, **kwargs)

    monkeypatch.setattr(np, "savez", savez)
    code, _, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--limit-train", "64", "--limit-test", "20",
                           "--epochs", "3", "--out", str(tmp_path)], capsys)
    ckpt = tmp_path / "checkpoint.npz"
    assert code == 2 and err == (f"error: cannot write the checkpoint {ckpt} (No space left on device); the last good "
                                 f"checkpoint, {ckpt} (after epoch 1), is kept.\n")
    assert load_checkpoint(ckpt)["position"]["epoch"] == 1 and not list(tmp_path.glob(".*.part"))


def test_partial_files_of_a_killed_write_are_removed_by_the_next_run(data_dir, tmp_path, capsys):
    stale, foreign = tmp_path / ".checkpoint.npz.k1ll3d.part", tmp_path / ".notes.txt.k1ll3d.part"
    for path in (stale, foreign):
        path.write_bytes(b"\0" * 1000)
    code, _, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--limit-train", "64", "--limit-test", "20",
                           "--epochs", "1", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert not stale.exists() and foreign.exists() and load_checkpoint(tmp_path / "checkpoint.npz")


@pytest.mark.parametrize("stderr_tty", [True, False])
def test_progress_bar_follows_stderr_where_it_is_drawn(data_dir, tmp_path, capsys, monkeypatch, stderr_tty):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: stderr_tty)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: not stderr_tty)
    code = T.main(["fashion_mnist", "--data-dir", str(data_dir), "--backend", "numpy", "--limit-train", "64",
                   "--limit-test", "20", "--epochs", "1", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0 and "epoch 1/1  train loss" in out
    assert ("epoch 1/1:" in err and "batch" in err) == stderr_tty


# ---- errors with exit status 2 -------------------------------------------------------------------------------


def test_missing_dataset_exits_2_without_traceback(tmp_path):
    env = {**os.environ, "MINICNN_MIRRORS": (tmp_path / "no-mirror").as_uri() + "/"}
    env.pop("MINICNN_DATA", None)
    proc = subprocess.run([sys.executable, "-m", "minicnn.train", "mnist", "--data-dir", str(tmp_path / "d"),
                           "--backend", "numpy"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(tmp_path / "d" / "mnist") in lines[0] and "--data-dir" in lines[0]


def test_corrupt_file_exits_2_naming_it(data_dir, tmp_path, capsys):
    bad = tmp_path / "fashion_mnist"
    bad.mkdir()
    for f in (data_dir / "fashion_mnist").iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    target = bad / "train-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-50])
    code, _, err = _train(["fashion_mnist", "--data-dir", str(tmp_path)], capsys)
    assert code == 2 and err.startswith(f"error: {target}: truncated gzip stream")


@pytest.mark.parametrize("option, value, message", [
    ("--lr", "inf", "must be > 0 and finite, got inf"), ("--lr", "nan", "must be > 0 and finite, got nan"),
    ("--momentum", "inf", "must be in [0, 1) and finite"), ("--weight-decay", "inf", "must be >= 0 and finite"),
    ("--warmup-epochs", "inf", "must be >= 0 and finite"), ("--seed", "-1", "must be >= 0, got -1"),
    ("--gamma", "inf", "must be in (0, 1] and finite"), ("--gamma", "-1", "must be in (0, 1] and finite, got -1.0"),
    ("--epochs", "0", "must be >= 1, got 0"), ("--val-split", "1.5", "must be in [0, 1) and finite, got 1.5"),
    ("--limit-test", "0", "must be >= 1, got 0"), ("--batch-size", "2.5", "expected an integer, got '2.5'"),
    ("--image-size", str(2 ** 63), "must be >= 4, got 9223372036854775808"),
])
def test_every_numeric_option_is_checked_as_it_is_parsed(capsys, option, value, message):
    with pytest.raises(SystemExit) as exit_:
        T.main(["fashion_mnist", option, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"error: argument {option}: {message}" in err


def test_a_warmup_longer_than_the_run_exits_2(data_dir, capsys):
    code, _, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--warmup-epochs", "1e300"], capsys)
    assert code == 2 and err == "error: --warmup-epochs 1e+300 is longer than the run (--epochs 5)\n"


def test_unavailable_backend_exits_2(data_dir, capsys):
    from minicnn.backend import is_available
    if is_available("cupy"):
        pytest.skip("cupy is usable here")
    code = T.main(["fashion_mnist", "--data-dir", str(data_dir), "--backend", "cupy"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: backend 'cupy'") and len(err.strip().splitlines()) == 1


# ---- transfer from PyTorch ---------------------------------------------------------------------------------------


def _torch_compact(width2: int = 32) -> torch.nn.Sequential:
    N = torch.nn
    torch.manual_seed(0)
    return N.Sequential(N.Conv2d(1, 16, 3, padding=1, bias=False), N.BatchNorm2d(16), N.ReLU(), N.MaxPool2d(2),
                        N.Conv2d(16, width2, 3, padding=1, bias=False), N.BatchNorm2d(width2), N.ReLU(),
                        N.MaxPool2d(2), N.Flatten(), N.Linear(width2 * 49, 10))


def test_init_from_pytorch_with_frozen_features(data_dir, tmp_path, capsys):
    ref = _torch_compact()
    with torch.no_grad():
        ref[1].running_mean.fill_(0.25)
    torch.save(ref.state_dict(), tmp_path / "w.pt")
    code, out, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--init-from", str(tmp_path / "w.pt"),
                             "--freeze-features", "--epochs", "1", "--limit-train", "64", "--limit-test", "20",
                             "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert "features frozen" in out
    got = load_checkpoint(tmp_path / "o" / "checkpoint.npz")["model"]
    want = {k: v.numpy() for k, v in ref.state_dict().items()}
    for key in ("0.weight", "1.weight", "1.running_mean", "1.running_var", "4.weight", "5.bias"):
        assert np.array_equal(got[key], want[key]), f"{key} changed although the features are frozen"
    assert not np.array_equal(got["9.weight"], want["9.weight"])


def test_init_from_mismatch_lists_keys_and_shapes(data_dir, tmp_path, capsys):
    sd = _torch_compact(width2=8).state_dict()
    sd["extra.weight"] = torch.zeros(2)
    del sd["0.weight"]
    torch.save(sd, tmp_path / "w.pt")
    code, _, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--init-from", str(tmp_path / "w.pt")], capsys)
    assert code == 2
    assert "missing keys ['0.weight']" in err and "unexpected keys ['extra.weight']" in err
    assert "4.weight: model (32, 16, 3, 3), file (8, 16, 3, 3)" in err and "9.weight: model (10, 1568), file (10, 392)" in err


def test_init_from_without_torch_is_a_clear_message(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    code, _, err = _train(["fashion_mnist", "--data-dir", str(data_dir), "--init-from", str(tmp_path / "w.pt")], capsys)
    assert code == 2 and "needs PyTorch to read the file: pip install torch" in err


# ---- image folders, default output folder, predict -------------------------------------------------------------


def test_image_folder_run_default_out_and_predict(tmp_path, capsys, monkeypatch):
    root = make_image_folder(tmp_path / "pets", classes=("ant", "bee", "cow"), per_class=4, size=(16, 16))
    monkeypatch.chdir(tmp_path)
    code, out, err = _train([str(root), "--image-size", "12", "--epochs", "2", "--batch-size", "4",
                             "--val-split", "0.25"], capsys)
    assert code == 0, err
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("pets-")
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    assert list(metrics["per_class"]) == ["ant", "bee", "cow"] and metrics["config"]["input_shape"] == [3, 12, 12]
    assert predict_main([str(runs[0] / "checkpoint.npz"), str(root / "test" / "cow" / "0.jpg"),
                         str(root / "train" / "ant" / "1.png")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "0.jpg" in lines[0] and "1.png" in lines[1]
    shares = [float(tok.rstrip("%")) for tok in lines[0].split() if tok.endswith("%")]
    assert len(shares) == 3 and shares == sorted(shares, reverse=True) and sum(shares) <= 100.01


def test_images_too_small_for_the_model_exit_2(tmp_path, capsys):
    root = make_image_folder(tmp_path / "pets", size=(8, 8))
    code, _, err = _train([str(root), "--image-size", "6", "--model", "lenet5", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err.startswith("error: --model lenet5: input shape (3, 6, 6) is too small")
    assert "Traceback" not in err


def test_cifar10_default_recipe_runs(tmp_path, capsys):
    make_cifar_tarball(tmp_path / "cifar10" / "cifar-10-python.tar.gz", n=8)
    code, out, err = _train(["cifar10", "--data-dir", str(tmp_path), "--epochs", "1", "--batch-size", "16",
                             "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert "resnet_small" in out and "adamw" in out and "airplane" in out
    config = json.loads((tmp_path / "o" / "config.json").read_text())
    assert (config["crop_padding"], config["hflip"], config["input_shape"]) == (4, True, [3, 32, 32])
    assert len(config["mean"]) == 3


def test_predict_errors(tmp_path, capsys):
    save_checkpoint(tmp_path / "c.npz", {"format": "something else"})
    img = tmp_path / "x.png"
    from PIL import Image
    Image.fromarray(labelled_images(1, 0)[0][0]).save(img)
    assert predict_main([str(tmp_path / "c.npz"), str(img)]) == 2
    assert "not a checkpoint written by minicnn.train" in capsys.readouterr().err
    assert predict_main([str(tmp_path / "missing.npz"), str(img)]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        predict_main([str(tmp_path / "c.npz"), str(img), "--top", "0"])
    assert "--top: must be at least 1" in capsys.readouterr().err


def test_training_skips_the_data_gradient_of_the_first_layer(tmp_path):
    """The first layer's input is data: the run asks it for no input gradient, as torch does."""
    from dataclasses import asdict

    from minicnn.train import RECIPES
    from minicnn.trainer import Run
    root = shared_datasets()
    if root is None:
        pytest.skip("real data not found: set MINICNN_DATA or provide ../shared/datasets")
    config = {**asdict(RECIPES["mnist"]), "dataset": "mnist", "data_dir": str(root), "limit_train": 64,
              "limit_test": 16}
    run = Run(config, out=tmp_path / "run", download=False)
    first = run.model.input_layer()
    assert isinstance(first, nn.Conv2d) and first.input_grad is False
    assert math.isfinite(run.train_batch(*next(run.train_loader.batches(0))))


def test_a_model_without_a_linear_head_trains_but_cannot_freeze_its_features(data_dir, tmp_path, capsys):
    """NiN's classifier is a convolution: it trains whole; --freeze-features says why it cannot."""
    args = ["fashion_mnist", "--data-dir", str(data_dir), "--model", "nin", "--limit-train", "32", "--limit-test", "8",
            "--epochs", "1", "--batch-size", "16"]
    code, out, err = _train([*args, "--out", str(tmp_path / "whole")], capsys)
    assert code == 0 and "test accuracy" in out, err
    code, _, err = _train([*args, "--freeze-features", "--out", str(tmp_path / "frozen")], capsys)
    assert code == 2 and "--freeze-features trains a Linear classifier head" in err and "Traceback" not in err
