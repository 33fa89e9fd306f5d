"""The named datasets (fashion_mnist, mnist, cifar10) and image folders, behind one loader.

A named dataset lives in ``DATA_DIR/<name>/`` under its official file names, e.g.
``DATA_DIR/fashion_mnist/train-images-idx3-ubyte.gz``. Missing files are downloaded
from the official address, then the mirror, and verified against the published
checksum. Files that are already there are checked for structure only (a user's
own copy, or a subset, is accepted as long as it is well formed).
"""
from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cifar import BATCH_DIR, CIFAR10_CLASSES, read_cifar10
from .download import default_data_dir, download_file
from .errors import DatasetNotFound, DownloadError
from .folder import read_image_folder
from .idx import read_idx_pair

__all__ = ["RemoteFile", "DatasetSpec", "DATASETS", "Dataset", "load_dataset", "dataset_folder"]


@dataclass(frozen=True)
class RemoteFile:
    """An official file name and its published checksum (``"md5:<hex>"`` or ``"sha256:<hex>"``)."""

    name: str
    checksum: str


@dataclass(frozen=True)
class DatasetSpec:
    """Where a named dataset comes from and what it holds."""

    name: str
    classes: tuple[str, ...]
    files: tuple[RemoteFile, ...]
    urls: tuple[str, ...]          # base addresses, official first, then mirrors
    image_shape: tuple[int, int, int]


_IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", tuple(str(d) for d in range(10)),
        tuple(RemoteFile(n, "md5:" + c) for n, c in zip(_IDX_NAMES, (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"))),
        ("http://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/"),
        (1, 28, 28)),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        tuple(RemoteFile(n, "md5:" + c) for n, c in zip(_IDX_NAMES, (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"))),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        (1, 28, 28)),
    "cifar10": DatasetSpec(
        "cifar10", CIFAR10_CLASSES,
        (RemoteFile("cifar-10-python.tar.gz", "md5:c58f30108f718f92721af3b95e74349a"),),
        ("https://www.cs.toronto.edu/~kriz/",),
        (3, 32, 32)),
}


@dataclass
class Dataset:
    """uint8 NCHW images and int64 labels of a train and a test split, with class names."""

    name: str
    classes: list[str]
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.train_x.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def dataset_folder(name: str, data_dir: str | Path | None = None) -> Path:
    """``DATA_DIR/<name>``, with DATA_DIR from the argument, ``$MINICNN_DATA`` or the user cache."""
    return Path(data_dir if data_dir is not None else default_data_dir()).expanduser() / name


def _local(folder: Path, name: str) -> Path | None:
    """The file ``name`` in ``folder``, or its gunzipped twin (``name`` without ``.gz``)."""
    return next((path for path in (folder / name, folder / name.removesuffix(".gz")) if path.is_file()), None)


def _show_bytes(bar: Any, done: int, total: int | None) -> None:
    """Move the tqdm byte counter ``bar`` to ``done`` of ``total`` bytes (a ``download_file`` progress callback)."""
    if total is not None and bar.total != total:
        bar.total = total
    bar.update(done - bar.n)


def _ensure_files(spec: DatasetSpec, folder: Path, download: bool, urls: Sequence[str] | None) -> list[Path]:
    """The local path of every file of ``spec``, downloading the missing ones."""
    if urls is None:
        env = os.environ.get("MINICNN_MIRRORS")
        urls = [u.strip() for u in env.split(",") if u.strip()] if env else list(spec.urls)
    names = ", ".join(f.name for f in spec.files)
    how = (f"Put the official files ({names}) in {folder}, or point --data-dir or MINICNN_DATA at a folder "
           f"that holds {spec.name}/.")
    paths = []
    for remote in spec.files:
        path = _local(folder, remote.name)
        if path is None:
            if not download:
                raise DatasetNotFound(f"{spec.name}: {remote.name} not found in {folder} (downloads are off). {how}")
            print(f"{spec.name}: downloading {remote.name} into {folder}", file=sys.stderr, flush=True)
            from tqdm import tqdm

            # a byte counter on stderr, drawn only when stderr is a terminal (tqdm's disable=None)
            with tqdm(desc=remote.name, unit="B", unit_scale=True, leave=False, disable=None) as bar:
                try:
                    path = download_file([u.rstrip("/") + "/" + remote.name for u in urls], folder / remote.name,
                                         remote.checksum, progress=functools.partial(_show_bytes, bar))
                except DownloadError as exc:
                    raise DatasetNotFound(f"{spec.name}: {remote.name} not found in {folder} and {exc}. {how}") from exc
        paths.append(path)
    return paths


def load_dataset(name: str, data_dir: str | Path | None = None, *, download: bool = True,
                 urls: Sequence[str] | None = None, image_size: int = 32, channels: int = 3) -> Dataset:
    """Load ``fashion_mnist``, ``mnist``, ``cifar10`` or an image folder (a path).

    ``urls`` replaces the download addresses (base URLs; default ``$MINICNN_MIRRORS``,
    comma-separated, else the official address then the mirror). ``image_size`` and
    ``channels`` apply to image folders. Raises :class:`DatasetNotFound` or
    :class:`CorruptDataset` with one message a user can act on.
    """
    spec = DATASETS.get(name)
    if spec is None:
        root = Path(name).expanduser()
        if not root.is_dir():
            raise DatasetNotFound(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)} "
                                  "or the path of an image folder (root/train/<class>/<image>, root/test/...)")
        train_x, train_y, test_x, test_y, classes = read_image_folder(root, image_size, channels)
        return Dataset(root.name, classes, train_x, train_y, test_x, test_y)
    folder = dataset_folder(name, data_dir)
    if name != "cifar10":
        images, labels, test_images, test_labels = _ensure_files(spec, folder, download, urls)
        hw, k = spec.image_shape[1:], len(spec.classes)
        arrays = (*read_idx_pair(images, labels, hw, k), *read_idx_pair(test_images, test_labels, hw, k))
    elif (folder / BATCH_DIR).is_dir():                             # the extracted batches: nothing to download
        arrays = read_cifar10(folder / BATCH_DIR)
    else:
        arrays = read_cifar10(_ensure_files(spec, folder, download, urls)[0])
    return Dataset(name, list(spec.classes), *arrays)
