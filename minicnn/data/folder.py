"""Image folders: ``root/train/<class>/<image>`` and ``root/test/<class>/<image>`` (or ``val/``).

Class names are the sub-folder names of ``train/`` that hold images, sorted, and label
``i`` is the i-th name. Sub-folders without images, and hidden names (starting with ``.``,
such as ``.ipynb_checkpoints/`` or macOS's ``._photo.png``), are ignored. Every image is
decoded with Pillow, converted to grayscale (1 channel) or RGB (3 channels) and resized to
``image_size`` x ``image_size`` with bilinear filtering, giving uint8 NCHW arrays like the
other readers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import CorruptDataset, DatasetNotFound
from .loader import check_memory

__all__ = ["IMAGE_SUFFIXES", "load_image", "read_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def load_image(path: str | Path, image_size: int | tuple[int, int], channels: int) -> np.ndarray:
    """One image file as a uint8 array (channels, H, W), converted and resized.

    An image larger than Pillow's decompression-bomb limit is refused, naming the file; any other
    failure to decode the file's bytes is a :class:`CorruptDataset` naming it.
    """
    from PIL import Image

    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFound(f"image file {path} does not exist (or is not a regular file)")
    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            if img.size != (w, h):
                img = img.resize((w, h), Image.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except Image.DecompressionBombError as exc:
        raise CorruptDataset(path, f"refused: {exc} (Pillow's limit, Image.MAX_IMAGE_PIXELS); shrink the image "
                                   "or remove it") from exc
    except Exception as exc:  # Pillow raises many kinds (SyntaxError, struct.error, ...) on damaged bytes
        raise CorruptDataset(path, f"cannot be decoded as an image ({type(exc).__name__}: {exc})") from exc
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _is_image_file(path: Path) -> bool:
    return _visible(path) and path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def _images_by_class(split_dir: Path) -> dict[str, list[Path]]:
    """``{class folder name: sorted image files}`` for every visible sub-folder that holds images."""
    found = {d.name: sorted(f for f in d.iterdir() if _is_image_file(f))
             for d in sorted(split_dir.iterdir()) if _visible(d) and d.is_dir()}
    return {name: files for name, files in found.items() if files}


def _read_split(split_dir: Path, classes: list[str], image_size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    found = _images_by_class(split_dir)
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise CorruptDataset(split_dir, f"has classes {unknown} that train/ does not have ({classes})")
    files = [(path, classes.index(name)) for name, paths in found.items() for path in paths]
    if not files:
        raise DatasetNotFound(f"{split_dir} holds no images ({', '.join(IMAGE_SUFFIXES)}) in class sub-folders")
    check_memory(2 * len(files) * channels * image_size ** 2, f"{len(files):,} images of {split_dir} at "
                 f"{channels}x{image_size}x{image_size}", "choose a smaller --image-size")
    images = np.stack([load_image(path, image_size, channels) for path, _ in files])
    return images, np.array([label for _, label in files], dtype=np.int64)


def read_image_folder(root: str | Path, image_size: int = 32, channels: int = 3
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(train_x, train_y, test_x, test_y, classes)`` from ``root/train`` and ``root/test`` (or ``root/val``)."""
    root = Path(root)
    layout = "root/train/<class>/<image> and root/test/<class>/<image> (or root/val/...)"
    train_dir = root / "train"
    test_dir = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    if not train_dir.is_dir() or test_dir is None:
        raise DatasetNotFound(f"image folder {root} must be laid out as {layout}; "
                              f"found {'no' if not train_dir.is_dir() else 'no test/ or val/'} folder there")
    classes = list(_images_by_class(train_dir))
    if len(classes) < 2:
        raise DatasetNotFound(f"{train_dir} needs at least two class sub-folders with images, found {classes}")
    return (*_read_split(train_dir, classes, image_size, channels),
            *_read_split(test_dir, classes, image_size, channels), classes)
