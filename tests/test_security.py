"""Hostile inputs (issue 9): crafted weight files, edited checkpoints, a bogus environment, oversized images.

Every case ends with the project's own error: exit status 2 and one message, never a traceback,
never code run from a file.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from datafiles import make_idx_dataset, make_image_folder, png_bytes
from minicnn import train as T
from minicnn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minicnn.predict import main as predict_main
from minicnn.trainer import load_run_checkpoint


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    make_idx_dataset(root / "fashion_mnist", n_train=120, n_test=30)
    return root


@pytest.fixture(scope="module")
def run_checkpoint(data_dir, tmp_path_factory) -> Path:
    """checkpoint.npz of a one-epoch run (Adam, 2 batches) on 64 images."""
    out = tmp_path_factory.mktemp("run")
    assert T.main(["fashion_mnist", "--data-dir", str(data_dir), "--backend", "numpy", "--no-progress", "--epochs", "1",
                   "--limit-train", "64", "--limit-test", "20", "--batch-size", "32", "--val-split", "0",
                   "--out", str(out)]) == 0
    return out / "checkpoint.npz"


def _main(tool, args: list[str], capsys) -> tuple[int, str]:
    code = tool([*args, "--backend", "numpy"] + (["--no-progress"] if tool is T.main else []))
    return code, capsys.readouterr().err


# ---- 1. --init-from reads tensors only ----------------------------------------------------------------------


class _Payload:
    """Unpickling this opens (so creates) the marker file: what a crafted .pt would do with os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_init_from_never_runs_code_from_the_file(data_dir, tmp_path, capsys, zip_format):
    marker = tmp_path / "marker"
    torch.save({"0.weight": torch.zeros(16, 1, 3, 3), "x": _Payload(marker)}, tmp_path / "w.pt",
               _use_new_zipfile_serialization=zip_format)
    code, err = _main(T.main, ["fashion_mnist", "--data-dir", str(data_dir), "--init-from", str(tmp_path / "w.pt"),
                               "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "minicnn never runs code from a file" in err and not marker.exists()


def test_a_whole_pickled_module_is_refused_saying_how_to_save_weights(data_dir, tmp_path, capsys):
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), tmp_path / "m.pt")
    code, err = _main(T.main, ["fashion_mnist", "--data-dir", str(data_dir), "--init-from", str(tmp_path / "m.pt")],
                      capsys)
    assert code == 2 and err.startswith(f"error: --init-from: {tmp_path / 'm.pt'} holds Python objects other than")
    assert "save the weights instead with torch.save(model.state_dict(), PATH)" in err


# ---- 6. the environment ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool, args", [("train", ["fashion_mnist"]), ("predict", ["c.npz", "x.png"])])
def test_a_bogus_minicnn_backend_exits_2(tmp_path, tool, args):
    proc = subprocess.run([sys.executable, "-m", f"minicnn.{tool}", *args], capture_output=True, text=True,
                          env={**os.environ, "MINICNN_BACKEND": "bogus"}, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == "error: MINICNN_BACKEND=bogus: unknown backend 'bogus'; expected one of numpy, numba, cupy\n"


# ---- 7. resource limits ----------------------------------------------------------------------------------------


def test_images_that_cannot_fit_in_memory_are_refused_before_loading(tmp_path, capsys):
    root = make_image_folder(tmp_path / "pets")
    code, err = _main(T.main, [str(root), "--image-size", "1000000"], capsys)
    assert code == 2 and re.fullmatch(rf"error: 6 images of {root / 'train'} at 3x1000000x1000000 would need "
                                      r"[\d,.]+ GiB of memory, more than the [\d,.]+ GiB this machine has; "
                                      r"choose a smaller --image-size\n", err), err


def test_a_crop_padding_larger_than_the_images_exits_2(data_dir, capsys):
    code, err = _main(T.main, ["fashion_mnist", "--data-dir", str(data_dir), "--crop-padding", "100000"], capsys)
    assert code == 2 and err == "error: --crop-padding 100000 must be smaller than the 28x28 images\n"


def test_a_decompression_bomb_is_refused_naming_the_file(run_checkpoint, tmp_path, capsys):
    root = make_image_folder(tmp_path / "pets")
    bomb = root / "train" / "cat" / "huge.png"
    bomb.write_bytes(png_bytes(15000, 15000))
    code, err = _main(T.main, [str(root), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err.startswith(f"error: {bomb}: refused: Image size (225000000 pixels) exceeds limit")
    assert "shrink the image or remove it" in err
    code, err = _main(predict_main, [str(run_checkpoint), str(bomb)], capsys)
    assert code == 2 and err.startswith(f"error: {bomb}: refused: Image size (225000000 pixels)")


# ---- 10. edited checkpoints -------------------------------------------------------------------------------------

EDITS = {
    "no config": (lambda s: s.pop("config"), "config is missing"),
    "no lr": (lambda s: s["config"].pop("lr"), "config.lr is missing"),
    "no position": (lambda s: s.pop("position"), "position is missing"),
    "list for a dict": (lambda s: s.update(config=[]), "config must be a dict, got []"),
    "string for a dict": (lambda s: s.update(position="x"), "position must be a dict, got 'x'"),
    "negative epoch": (lambda s: s["position"].update(epoch=-1), "position.epoch must be an integer >= 0, got -1"),
    "bool epoch": (lambda s: s["position"].update(epoch=True), "position.epoch must be an integer >= 0, got True"),
    "unknown model": (lambda s: s["config"].update(model="nope"), "config.model must be one of"),
    "infinite lr": (lambda s: s["config"].update(lr=float("inf")), "config.lr must be > 0 and finite, got inf"),
    "string seed": (lambda s: s["config"].update(seed="0"), "config.seed must be an integer >= 0, got '0'"),
    "mean per channel": (lambda s: s["config"].update(mean=[0.5, 0.5]), "config.mean must hold 1 values"),
    "zero std": (lambda s: s["config"].update(std=[0.0]), "config.std[0] must be a finite number > 0, got 0.0"),
    "huge input": (lambda s: s["config"].update(input_shape=[1, 100000, 100000]),
                   "config.input_shape [1, 100000, 100000] is not the shape of the data's images, [1, 28, 28]"),
    "lost history": (lambda s: s.update(history=[]), "the number of epochs in the history (0)"),
    "history record": (lambda s: s["history"][0].pop("lr"), "history[0] must be a dict of epoch, train_loss"),
    "nan weight": (lambda s: s["model"]["0.weight"].fill(np.nan), "model.0.weight must be a numeric array with "
                                                                   "finite values"),
    "string weight": (lambda s: s["model"].update({"0.weight": "w"}), "model.0.weight must be a numeric array"),
    "more correct than seen": (lambda s: s["tally"].update(correct=5), "tally.correct is larger than tally.seen"),
    "batch past the epoch": (lambda s: s["position"].update(batch=10 ** 6),
                             "position: {'epoch': 1, 'batch': 1000000, 'step': 2} is not a position of a run of 2 "
                             "batches per epoch"),
    "missing moment": (lambda s: [v.pop("exp_avg_sq") for v in s["optimizer"]["state"].values()],
                       "optimizer: state.0.weight must hold ['exp_avg', 'exp_avg_sq', 'step'] after 2 steps"),
    "other betas": (lambda s: s["optimizer"]["hyperparams"].update(betas=(0.5, 0.5)),
                    "optimizer: hyperparams {'betas': (0.5, 0.5)"),
    "missing weight": (lambda s: s["model"].pop("0.weight"),
                       "model: Sequential().load_state_dict: missing keys ['0.weight']"),
    "foreign rng": (lambda s: s["rng"].update(minicnn={"bit_generator": "MT19937"}),
                    "rng.minicnn: state must be for a PCG64 RNG"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_checkpoint_is_damaged_naming_what(run_checkpoint, data_dir, tmp_path, capsys, edit):
    change, message = EDITS[edit]
    state = load_checkpoint(run_checkpoint)
    change(state)
    path = save_checkpoint(tmp_path / "edited" / "checkpoint.npz", state)
    code, err = _main(T.main, ["fashion_mnist", "--resume", str(path)], capsys)
    assert code == 2 and err.startswith("error: damaged checkpoint: ") and message in err, err
    assert err.endswith(f" ({path})\n") and len(err.splitlines()) == 1


@pytest.mark.parametrize("edit", ["unknown model", "huge input", "nan weight", "missing weight"])
def test_predict_refuses_an_edited_checkpoint(run_checkpoint, tmp_path, capsys, edit):
    from PIL import Image

    state = load_checkpoint(run_checkpoint)
    EDITS[edit][0](state)
    path = save_checkpoint(tmp_path / "checkpoint.npz", state)
    Image.new("L", (28, 28)).save(tmp_path / "x.png")
    code, err = _main(predict_main, [str(path), str(tmp_path / "x.png")], capsys)
    assert code == 2 and err.startswith("error: damaged checkpoint: ") and EDITS[edit][1] in err


def _npy(header: dict, data: bytes) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, header)
    return out.getvalue() + data


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


TREE = _npy({"descr": "<U2", "fortran_order": False, "shape": ()}, "{}".encode("utf-32-le"))


@pytest.mark.parametrize("members, compression, message", [
    ({"__tree__.npy": _npy({"descr": "<U400000", "fortran_order": False, "shape": ()},
                           ("[" * 200000 + "]" * 200000).encode("utf-32-le"))}, zipfile.ZIP_STORED, "RecursionError"),
    ({"__tree__.npy": TREE, "a0.npy": _npy({"descr": "<f4", "fortran_order": False, "shape": (10 ** 12,)}, b"\0" * 16)},
     zipfile.ZIP_STORED, "member 'a0.npy' declares float32 (1000000000000,) (4000000000000 bytes) but holds 16 bytes"),
    ({"__tree__.npy": TREE}, zipfile.ZIP_DEFLATED, "member '__tree__.npy' is not an uncompressed .npy array"),
    ({"__tree__.npy": TREE, "notes.txt": b"hi"}, zipfile.ZIP_STORED, "member 'notes.txt' is not an uncompressed"),
], ids=["nested json", "huge header", "compressed", "foreign member"])
def test_crafted_archives_are_refused_before_allocating(tmp_path, members, compression, message):
    path = _zip(tmp_path / "c.npz", members, compression)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="^damaged checkpoint: cannot read"):
        load_run_checkpoint(path)
