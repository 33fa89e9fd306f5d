"""Reader for the IDX format of MNIST and Fashion-MNIST, with structure validation.

An IDX file (optionally gzip-compressed) is

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 d bytes   the d sizes, big-endian uint32
    the data    prod(sizes) elements, big-endian, row-major

so the images file starts with the magic number 0x00000803 (uint8, 3-D: count x 28 x 28)
and the labels file with 0x00000801 (uint8, 1-D: count). Every check below raises
:class:`CorruptDataset` naming the file and what is wrong, never an IndexError deep
inside NumPy.
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import CorruptDataset

__all__ = ["read_idx", "read_idx_pair"]

IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_gunzipped(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic 1f 8b (the whole stream, so that
    its CRC-32 and length are checked and damaged bytes fail instead of loading as other values)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorruptDataset(path, f"cannot be read ({exc.strerror or exc})") from exc
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise CorruptDataset(path, "truncated gzip stream (the file ends before the compressed data does)") from exc
    except (OSError, zlib.error) as exc:
        raise CorruptDataset(path, f"corrupt gzip data ({exc})") from exc


def read_idx(path: str | Path, ndim: int | None = None, item_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The array stored in IDX file ``path`` (``.gz`` or raw), in native byte order.

    ``ndim`` and ``item_shape`` (the sizes after the first) are checked when given.
    """
    path = Path(path)
    raw = read_gunzipped(path)
    if len(raw) < 4:
        raise CorruptDataset(path, f"only {len(raw)} bytes, shorter than the 4-byte IDX header")
    code, dims_count = raw[2], raw[3]
    if raw[:2] != b"\x00\x00" or code not in IDX_TYPES:
        raise CorruptDataset(path, f"bad magic number 0x{raw[:4].hex()}: not an IDX file "
                                   "(expected 0x0000 then a type code 08/09/0b/0c/0d/0e)")
    if ndim is not None and dims_count != ndim:
        raise CorruptDataset(path, f"expected a {ndim}-dimensional IDX array (magic 0x0000{code:02x}{ndim:02x}), "
                                   f"the header says {dims_count} dimensions")
    header = 4 + 4 * dims_count
    if len(raw) < header:
        raise CorruptDataset(path, f"truncated header: {dims_count} dimensions need {header} bytes, "
                                   f"the file holds {len(raw)}")
    dims = struct.unpack(f">{dims_count}I", raw[4:header])
    if item_shape is not None and tuple(dims[1:]) != tuple(item_shape):
        want = "x".join(map(str, item_shape))
        raise CorruptDataset(path, f"expected items of shape {want}, the header says "
                                   f"{'x'.join(map(str, dims[1:])) or 'scalars'}")
    dtype = np.dtype(IDX_TYPES[code])
    count = int(np.prod(dims, dtype=np.int64))
    expected, present = count * dtype.itemsize, len(raw) - header
    if present < expected:
        raise CorruptDataset(path, f"truncated: the header promises {'x'.join(map(str, dims))} values "
                                   f"({expected} bytes of data), the file holds {present}")
    if present > expected:
        raise CorruptDataset(path, f"{present - expected} unexpected bytes after the "
                                   f"{'x'.join(map(str, dims))} values the header promises")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx_pair(images_path: str | Path, labels_path: str | Path, image_shape: tuple[int, int],
                  num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, H, W) uint8 and labels (N,) int64 from an IDX image file and its label file.

    Checks: images are 3-D uint8 of ``image_shape``, labels 1-D uint8, the two counts
    agree, every label is in ``[0, num_classes)``.
    """
    images = read_idx(images_path, ndim=3, item_shape=image_shape)
    labels = read_idx(labels_path, ndim=1)
    for path, arr in ((images_path, images), (labels_path, labels)):
        if arr.dtype != np.uint8:
            raise CorruptDataset(path, f"expected uint8 values (type code 0x08), got {arr.dtype}")
    if len(images) != len(labels):
        raise CorruptDataset(labels_path, f"holds {len(labels)} labels but {Path(images_path).name} "
                                          f"holds {len(images)} images")
    if len(labels) and int(labels.max()) >= num_classes:
        bad = int(np.argmax(labels >= num_classes))
        raise CorruptDataset(labels_path, f"label {int(labels[bad])} at index {bad} is outside 0..{num_classes - 1}")
    return images[:, None, :, :], labels.astype(np.int64)
