"""Fuzzing the readers (issue 9): random byte-level damage to files minicnn reads.

A damaged checkpoint, gzipped IDX file, CIFAR-10 tarball or PNG either loads exactly the
original data or fails with the project's own error (``CheckpointError``, ``DatasetError``), and
through the CLI with exit status 2 and no traceback. Formats without a checksum (a CIFAR-10 batch
pickle in the extracted folder) load well-formed data or fail the same way. No crafted pickle,
damaged or not, ever runs: its payload would create a marker file.

Bounded for CI: a fixed number of derandomised examples per format on files of a few kB, plus
three CLI runs.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datafiles import cifar_batch, idx_bytes, labelled_images, make_cifar_tarball, make_idx_dataset, write_file
from minicnn import train as T
from minicnn.checkpoint import CheckpointError
from minicnn.data import DatasetError, load_image, read_cifar10, read_idx
from minicnn.trainer import load_run_checkpoint
from minicnn.transfer import TransferError, load_torch_state

FUZZ = settings(max_examples=100, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

#: One kind of damage, positions as fractions of the file's length: flipped bytes, a cut, inserted or deleted bytes.
DAMAGE = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                                        min_size=1, max_size=4)),
    st.tuples(st.just("cut"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.floats(0, 1, exclude_max=True), st.integers(1, 16)),
)


def damage(data: bytes, how: tuple) -> bytes:
    kind, *args = how
    out = bytearray(data)
    at = int(args[0] * len(out)) if kind != "flip" else 0
    if kind == "flip":
        for where, mask in args[0]:
            out[int(where * len(out))] ^= mask
    elif kind == "cut":
        del out[at:]
    elif kind == "insert":
        out[at:at] = args[1]
    else:
        del out[at:at + args[1]]
    return bytes(out)


def same(a, b) -> bool:
    """Deep equality of loaded data: dicts, lists, tuples, arrays (dtype, shape, values), NaN equal to NaN."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    return (a != a and b != b) or (type(a) is type(b) and a == b)


class _Payload:
    """Unpickling this opens (so creates) ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _well_formed_cifar(data) -> bool:
    train_x, train_y, test_x, test_y = data
    return (train_x.dtype == np.uint8 and train_x.shape[1:] == (3, 32, 32) and len(train_x) == len(train_y)
            and test_x.shape[1:] == (3, 32, 32) and len(test_x) == len(test_y)
            and all(y.dtype == np.int64 and ((0 <= y) & (y <= 9)).all() for y in (train_y, test_y)))


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """The folder of the valid files; a crafted pickle that ran would create ``root/marker``."""
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def files(root) -> dict[str, tuple[Path, object, type, object]]:
    """name -> (valid file, loader of a path, the project's error, and None when damage must load exactly the
    original data, else a check of what a format without a checksum may load)."""
    make_idx_dataset(root / "data" / "fashion_mnist", n_train=64, n_test=20)
    assert T.main(["fashion_mnist", "--data-dir", str(root / "data"), "--backend", "numpy", "--no-progress",
                   "--model", "seed_net", "--epochs", "1", "--val-split", "0", "--limit-test", "10",
                   "--out", str(root / "run")]) == 0
    images = write_file(root / "images.gz", idx_bytes(labelled_images(6, 0)[0]))
    tar = make_cifar_tarball(root / "cifar.tar.gz", n=2)
    folder, crafted = root / "cifar", root / "crafted"
    for batches in (folder, crafted):
        batches.mkdir()
        for name, seed in [(f"data_batch_{i}", i) for i in range(1, 6)] + [("test_batch", 9)]:
            (batches / name).write_bytes(cifar_batch(2, seed))
    (crafted / "data_batch_1").write_bytes(cifar_batch(2, 1, overrides={b"filenames": _Payload(root / "marker")}))
    torch.save({"w": torch.arange(6.0), "x": _Payload(root / "marker")}, root / "crafted.pt")
    from PIL import Image
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)).save(root / "x.png")

    return {
        "checkpoint": (root / "run" / "checkpoint.npz", load_run_checkpoint, CheckpointError, None),
        "idx": (images, lambda p: read_idx(p, 3, (28, 28)), DatasetError, None),
        "cifar tarball": (tar, read_cifar10, DatasetError, None),
        "png": (root / "x.png", lambda p: load_image(p, (6, 5), 3), DatasetError, None),
        "cifar batch": (folder / "data_batch_1", lambda p: read_cifar10(p.parent),
                        DatasetError, _well_formed_cifar),
        "crafted cifar batch": (crafted / "data_batch_1", lambda p: read_cifar10(p.parent), DatasetError,
                                _well_formed_cifar),
        "crafted .pt": (root / "crafted.pt", load_torch_state, TransferError,
                        lambda got: isinstance(got, dict) and all(isinstance(v, np.ndarray) for v in got.values())),
    }


@pytest.mark.parametrize("name", ["checkpoint", "idx", "cifar tarball", "png", "cifar batch", "crafted cifar batch",
                                  "crafted .pt"])
@FUZZ
@given(how=DAMAGE)
def test_damaged_files_load_exactly_or_fail_with_the_projects_error(files, root, name, how):
    good, load, error, check = files[name]
    original = good.read_bytes()
    try:
        good.write_bytes(damage(original, how))
        try:
            got = load(good)
        except error:
            return
        finally:
            assert not (root / "marker").exists(), "a crafted pickle ran"
        good.write_bytes(original)
        assert check(got) if check else same(got, load(good)), f"{name}: damaged bytes loaded as other data"
    finally:
        good.write_bytes(original)


@pytest.mark.parametrize("tool, how", [
    ("predict", ("flip", [(0.5, 0x40)])), ("resume", ("cut", 0.7)), ("train", ("flip", [(0.3, 0x01)])),
])
def test_damaged_files_exit_2_without_a_traceback_from_the_cli(files, tmp_path, tool, how):
    ckpt = files["checkpoint"][0]
    data = ckpt.parent.parent / "data"
    if tool == "train":
        (tmp_path / "fashion_mnist").mkdir()
        for f in (data / "fashion_mnist").iterdir():
            (tmp_path / "fashion_mnist" / f.name).write_bytes(f.read_bytes())
        target = tmp_path / "fashion_mnist" / "train-images-idx3-ubyte.gz"
        args = ["minicnn.train", "fashion_mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]
    else:
        target = tmp_path / "checkpoint.npz"
        png = files["png"][0]
        args = (["minicnn.predict", str(target), str(png)] if tool == "predict"
                else ["minicnn.train", "fashion_mnist", "--resume", str(target)])
        target.write_bytes(ckpt.read_bytes())
    target.write_bytes(damage(target.read_bytes(), how))
    proc = subprocess.run([sys.executable, "-m", *args, "--backend", "numpy"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, env={**os.environ, "MINICNN_DATA": str(data)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: ") and str(target) in proc.stderr and len(proc.stderr.splitlines()) == 1
