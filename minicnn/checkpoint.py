"""Checkpoints: nested dicts of arrays and plain values in one ``.npz`` file, written atomically.

A checkpoint is any tree of dicts, lists, tuples, strings, numbers, booleans, None
and arrays (NumPy, or CuPy, copied to the host). Arrays are stored as ``.npz``
members ``a0, a1, ...``; the tree itself, with each array replaced by a reference
to its member, is stored as JSON in the member ``__tree__``. Nothing is pickled,
so loading a checkpoint never runs code, and integers of any size (NumPy's generator
states) survive exactly.

Reading trusts nothing in the file: members must be stored uncompressed (as ``numpy.savez``
writes them, so memory never exceeds the file's size), each array header must promise
exactly the bytes its member holds (a header claiming 10^12 values is refused before
anything is allocated), object arrays are refused, and the zip's CRC-32 of every member is
checked, so damaged bytes fail instead of loading as other numbers.

Writing goes through a temporary file in the same folder, fsync'd and then renamed
over the destination, so a crash mid-write leaves the previous checkpoint intact.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import backend
from .data.download import atomic_write

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointError"]

_TREE = "__tree__"


class CheckpointError(Exception):
    """A checkpoint file is missing, unreadable or not a minicnn checkpoint."""


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-able skeleton of ``obj``; arrays go to ``arrays`` under fresh names."""
    if isinstance(obj, (bool, str)) or obj is None:
        return obj
    if isinstance(obj, (int, float, np.integer, np.floating, np.bool_)):
        value = obj.item() if isinstance(obj, np.generic) else obj
        if isinstance(value, float) and not np.isfinite(value):
            return {"__float__": repr(value)}
        return value
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        array = np.asarray(backend.to_numpy(obj))
        if array.dtype.hasobject:       # would be pickled, and then refused when loading
            raise TypeError("cannot store an array of Python objects in a checkpoint")
        name = f"a{len(arrays)}"
        arrays[name] = array
        return {"__array__": name}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k.startswith("__") for k in obj):
            return {k: _encode(v, arrays) for k, v in obj.items()}
        return {"__items__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint")


def _decode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of :func:`_encode`; KeyError when an array member is missing."""
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__array__" in obj:
        return arrays[obj["__array__"]]
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in obj["__items__"]}
    return {k: _decode(v, arrays) for k, v in obj.items()}


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename); returns the path."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    tree = json.dumps(_encode(state, arrays))
    with atomic_write(path) as fh:
        np.savez(fh, **{_TREE: np.array(tree)}, **arrays)
    return path


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """The array in one ``.npy`` member; ValueError unless its header describes exactly its bytes."""
    if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
        raise ValueError(f"member {info.filename!r} is not an uncompressed .npy array")
    data = io.BytesIO(zf.read(info))          # checks the CRC-32
    major, _ = np.lib.format.read_magic(data)
    read_header = {1: np.lib.format.read_array_header_1_0, 2: np.lib.format.read_array_header_2_0}.get(major)
    if read_header is None:
        raise ValueError(f"member {info.filename!r} has .npy format version {major}")
    shape, _, dtype = read_header(data)
    size, held = math.prod(shape) * dtype.itemsize, len(data.getbuffer()) - data.tell()
    if dtype.hasobject or size != held:
        raise ValueError(f"member {info.filename!r} declares {dtype} {shape} ({size} bytes) but holds {held} bytes")
    data.seek(0)
    return np.lib.format.read_array(data, allow_pickle=False)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The state stored by :func:`save_checkpoint` (arrays as host NumPy arrays).

    Raises :class:`CheckpointError` for a missing, truncated, damaged or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with zipfile.ZipFile(path) as zf:
            arrays = {info.filename[:-4]: _read_member(zf, info) for info in zf.infolist()}
        tree = arrays.pop(_TREE, None)
        if tree is not None and tree.dtype.kind == "U" and tree.shape == ():
            return _decode(json.loads(str(tree)), arrays)
    except Exception as exc:  # the bytes are untrusted: zipfile, numpy and json fail in a dozen ways on damage
        raise CheckpointError(f"damaged checkpoint: cannot read {path} ({type(exc).__name__}: {exc})") from exc
    raise CheckpointError(f"{path} is not a minicnn checkpoint (no {_TREE} entry)")
