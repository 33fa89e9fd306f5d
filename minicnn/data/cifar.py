"""Reader for CIFAR-10's official python-pickle release, straight from the tarball.

``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/data_batch_1`` .. ``_5`` and
``test_batch``: each a pickled dict with ``b"data"`` (10000, 3072) uint8, rows laid out
as 1024 red, 1024 green, 1024 blue values of a 32x32 image (so ``reshape(-1, 3, 32, 32)``
is NCHW), and ``b"labels"``, a list of ints in 0..9. The already extracted folder
``cifar-10-batches-py`` is read the same way. The tarball is gunzipped whole before it is
opened, so that the gzip CRC-32 guards every byte (``tarfile`` reading a ``.gz`` stops after
the last member it needs, before the CRC).

Pickles can run code when loaded, so they are read with an unpickler that only
resolves the few NumPy names an array needs; anything else is a :class:`CorruptDataset`.
"""
from __future__ import annotations

import codecs
import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CorruptDataset
from .idx import read_gunzipped

__all__ = ["CIFAR10_CLASSES", "read_cifar10"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"

# _codecs.encode is how protocol-2 pickles from Python 3 spell bytes
_ALLOWED: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                        ("_codecs", "encode"): codecs.encode}
for _core in ("numpy.core", "numpy._core"):  # NumPy 1 and NumPy 2 names of the same module
    _ALLOWED[(f"{_core}.multiarray", "_reconstruct")] = np.ndarray((0,)).__reduce__()[0]
    _ALLOWED[(f"{_core}.multiarray", "scalar")] = np.int64(0).__reduce__()[0]
    _ALLOWED[(f"{_core}.numeric", "_frombuffer")] = np.zeros(1).__reduce_ex__(5)[0]


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and plain containers, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only NumPy arrays are allowed)")
        return found


def _load_batch(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # any unpickling failure means the file is damaged
        raise CorruptDataset(where, f"not a readable CIFAR-10 batch pickle ({exc})") from exc
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise CorruptDataset(where, "expected a dict with b'data' and b'labels'")
    images, labels = batch[b"data"], np.asarray(batch[b"labels"])
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3072:
        shape = getattr(images, "shape", None)
        raise CorruptDataset(where, f"b'data' must be a uint8 array of shape (N, 3072), got "
                                    f"{getattr(images, 'dtype', type(images).__name__)} {shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise CorruptDataset(where, f"holds {len(images)} images but {labels.size} labels")
    if len(labels) and labels.dtype.kind not in "iu":
        raise CorruptDataset(where, f"labels must be integers, got {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise CorruptDataset(where, f"labels must lie in 0..9, found {int(labels.min())}..{int(labels.max())}")
    return images.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _read_members(path: Path) -> dict[str, tuple[bytes, str]]:
    """``{batch name: (bytes, where)}`` for every batch, from the tarball or the extracted folder."""
    names = (*TRAIN_BATCHES, TEST_BATCH)
    out: dict[str, tuple[bytes, str]] = {}
    if path.is_dir():
        folder = path / BATCH_DIR if (path / BATCH_DIR).is_dir() else path
        for name in names:
            file = folder / name
            if not file.is_file():
                raise CorruptDataset(folder, f"the CIFAR-10 batch {name} is missing")
            out[name] = (file.read_bytes(), str(file))
        return out
    try:
        with tarfile.open(fileobj=io.BytesIO(read_gunzipped(path)), mode="r:*") as tar:
            for name in names:
                try:
                    member = tar.extractfile(f"{BATCH_DIR}/{name}")
                except KeyError as exc:
                    raise CorruptDataset(path, f"the archive has no {BATCH_DIR}/{name}") from exc
                if member is None:
                    raise CorruptDataset(path, f"{BATCH_DIR}/{name} in the archive is not a regular file")
                out[name] = (member.read(), f"{path}:{BATCH_DIR}/{name}")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CorruptDataset(path, f"not a readable tar.gz archive ({exc})") from exc
    return out


def read_cifar10(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_x, train_y, test_x, test_y)``: uint8 NCHW images (3x32x32) and int64 labels.

    ``path`` is ``cifar-10-python.tar.gz`` or a folder holding ``cifar-10-batches-py``
    (or the batch files themselves).
    """
    members = _read_members(Path(path))
    train_x, train_y = zip(*(_load_batch(*members[name]) for name in TRAIN_BATCHES))
    return (np.concatenate(train_x), np.concatenate(train_y), *_load_batch(*members[TEST_BATCH]))
