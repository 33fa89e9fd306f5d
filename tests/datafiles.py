"""Small dataset files written by the tests themselves: IDX, CIFAR-10 pickles, image folders.

Everything is built byte by byte here (not with minicnn's own readers' help), so the
readers are tested against the formats, not against themselves.
"""
from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """The IDX encoding of ``array``: 0x0000, type code, ndim, big-endian sizes, big-endian data."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array).astype(dtype).tobytes()


def write_file(path: Path, data: bytes, gz: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def labelled_images(n: int, seed: int, shape: tuple[int, ...] = (28, 28), classes: int = 10
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Random labels and images whose brightness depends on the label (so a model can learn them)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n).astype(np.uint8)
    noise = rng.integers(0, 60, size=(n, *shape))
    images = (noise + (labels.reshape(-1, *[1] * len(shape)).astype(np.int64) * 19)).clip(0, 255).astype(np.uint8)
    return images, labels


def make_idx_dataset(folder: Path, n_train: int = 120, n_test: int = 40, seed: int = 0) -> Path:
    """The four gzipped IDX files of an MNIST-like dataset in ``folder``."""
    train_x, train_y = labelled_images(n_train, seed)
    test_x, test_y = labelled_images(n_test, seed + 1)
    for name, arr in zip(IDX_NAMES, (train_x, train_y, test_x, test_y)):
        write_file(folder / name, idx_bytes(arr))
    return folder


def cifar_batch(n: int, seed: int, protocol: int = 2, overrides: dict[bytes, object] | None = None) -> bytes:
    """A pickled CIFAR-10 batch dict with ``n`` random images (keys as bytes, like the official files)."""
    images, labels = labelled_images(n, seed, shape=(3072,))
    batch = {b"batch_label": b"test batch", b"data": images, b"labels": [int(v) for v in labels],
             b"filenames": [f"img{i}.png".encode() for i in range(n)]}
    batch.update(overrides or {})
    return pickle.dumps(batch, protocol=protocol)


def make_cifar_tarball(path: Path, n: int = 6, members: dict[str, bytes] | None = None) -> Path:
    """``cifar-10-python.tar.gz`` with five training batches and a test batch of ``n`` images each."""
    contents = {f"data_batch_{i}": cifar_batch(n, i) for i in range(1, 6)}
    contents["test_batch"] = cifar_batch(n, 9)
    contents.update(members or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in contents.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def make_image_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog"), per_class: int = 3,
                      size: tuple[int, int] = (20, 12), test_name: str = "test") -> Path:
    """``root/train/<class>/*.png`` and ``root/<test_name>/<class>/*.jpg`` with coloured noise images."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, suffix in (("train", ".png"), (test_name, ".jpg")):
        for k, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                pixels = rng.integers(0, 50, size=(size[1], size[0], 3)) + 100 * k
                Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / f"{i}{suffix}")
    return root


def png_bytes(width: int, height: int, rows: bytes = b"") -> bytes:
    """A grayscale 8-bit PNG of ``width`` x ``height`` whose IDAT holds ``rows`` (filter byte, then pixels, per
    row), chunk by chunk with their CRCs: a header-only 15000x15000 "image" costs a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def shared_datasets() -> Path | None:
    """The real datasets folder (absolute): $MINICNN_DATA if it holds fashion_mnist/, else ../shared/datasets."""
    for candidate in (os.environ.get("MINICNN_DATA"), REPO.parent / "shared" / "datasets"):
        if candidate and (Path(candidate) / "fashion_mnist" / IDX_NAMES[0]).is_file():
            return Path(candidate).resolve()
    return None
