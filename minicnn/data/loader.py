"""Batches for training: seeded shuffling, augmentation, normalisation, validation split.

Randomness is a pure function of ``(seed, epoch)`` for the order and of
``(seed, epoch, batch index)`` for augmentation, each drawn from its own
``numpy.random.Generator`` seeded with that tuple. So a run can stop after any
batch and resume at the next one with exactly the batches an uninterrupted run
would have seen: the loader's whole state is ``(seed, epoch, batch index)``.

Normalisation maps a uint8 pixel p of channel c to ``(p / 255 - mean[c]) / std[c]``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import DatasetError

__all__ = ["Augment", "DataLoader", "channel_stats", "check_memory", "memory_limit", "normalize", "stratified_split"]

_ORDER, _AUGMENT, _SPLIT = 0, 1, 2   # stream tags, so the three uses never share draws


@dataclass(frozen=True)
class Augment:
    """Random crop of the original size from the image zero-padded by ``crop_padding`` on every
    side, then a horizontal flip with probability 1/2 when ``hflip``."""

    crop_padding: int = 0
    hflip: bool = False

    def __bool__(self) -> bool:
        return self.crop_padding > 0 or self.hflip

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augmented copy of a uint8 batch (N, C, H, W)."""
        n, _, h, w = images.shape
        out = images
        p = self.crop_padding
        if p > 0:
            padded = np.pad(images, ((0, 0), (0, 0), (p, p), (p, p)))
            dy = rng.integers(0, 2 * p + 1, size=n)
            dx = rng.integers(0, 2 * p + 1, size=n)
            # every h x w window of the padded images, (N, C, 2p+1, 2p+1, H, W); image i keeps window (dy_i, dx_i)
            out = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))[np.arange(n), :, dy, dx]
        if self.hflip:
            flip = rng.random(n) < 0.5
            out = out.copy() if out is images else out
            out[flip] = out[flip, :, :, ::-1]
        return out


def memory_limit() -> int:
    """Bytes of physical memory here (no limit where the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 2 ** 63


def check_memory(nbytes: int, what: str, remedy: str) -> None:
    """:class:`DatasetError` when ``what`` needs more than the machine's physical memory: said before
    allocating, instead of a MemoryError traceback (or the kernel's out-of-memory kill) half-way."""
    limit = memory_limit()
    if nbytes > limit:
        raise DatasetError(f"{what} would need {nbytes / 2 ** 30:,.1f} GiB of memory, more than the "
                           f"{limit / 2 ** 30:,.1f} GiB this machine has; {remedy}")


def channel_stats(images: np.ndarray, chunk: int = 4096, chunk_bytes: int = 1 << 27
                  ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images (N, C, H, W), in units of 1/255.

    Sums run over float64 blocks of at most ``chunk`` images and ``chunk_bytes`` bytes, so large
    images never need 8 bytes per pixel of the whole set at once.
    """
    c = images.shape[1]
    total, total_sq = np.zeros(c), np.zeros(c)
    step = max(1, min(chunk, chunk_bytes // (8 * max(1, int(np.prod(images.shape[1:]))))))
    for start in range(0, len(images), step):
        block = images[start:start + step].astype(np.float64) / 255.0
        total += block.sum(axis=(0, 2, 3))
        total_sq += np.square(block).sum(axis=(0, 2, 3))
    count = max(1, images.shape[0] * images.shape[2] * images.shape[3])
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0))
    return tuple(float(m) for m in mean), tuple(float(s) if s > 1e-8 else 1.0 for s in std)


def normalize(images: np.ndarray, mean: Sequence[float], std: Sequence[float], dtype: type = np.float32) -> np.ndarray:
    """``(images / 255 - mean[c]) / std[c]`` as ``dtype``, per channel c of (N, C, H, W)."""
    mean64, std64 = (np.asarray(v, dtype=np.float64).reshape(1, -1, 1, 1) for v in (mean, std))
    # one multiply-add per value: p * scale + shift, with scale = 1 / (255 std) and shift = -mean / std
    return images.astype(dtype) * (1.0 / (255.0 * std64)).astype(dtype) + (-mean64 / std64).astype(dtype)


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)``: ``round(fraction * count)`` of every class go to val, chosen at random.

    Both index arrays are sorted, so the training order stays the loader's business.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the validation fraction must lie in [0, 1), got {fraction}")
    rng = np.random.default_rng([seed, _SPLIT])
    val = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        val.append(rng.permutation(members)[:int(round(fraction * len(members)))])
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    return np.setdiff1d(np.arange(len(labels)), val_idx, assume_unique=True), val_idx


class DataLoader:
    """Mini-batches ``(x, y)`` of normalised float images and int64 labels from uint8 arrays.

    With ``shuffle`` the order of epoch e is a permutation drawn from ``(seed, e)``;
    ``augment`` (training only) draws from ``(seed, e, batch index)``. Iterate with
    :meth:`batches`, or ``set_epoch`` then ``iter``. With ``merge_single`` a last batch that would hold
    a single example joins the batch before it (batch norm cannot normalise one example).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, *, shuffle: bool = False,
                 seed: int = 0, mean: Sequence[float] = (0.0,), std: Sequence[float] = (1.0,),
                 augment: Augment | None = None, drop_last: bool = False, merge_single: bool = False,
                 dtype: type = np.float32) -> None:
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"DataLoader: expected uint8 images (N, C, H, W), got {images.dtype} {images.shape}")
        if len(images) != len(labels):
            raise ValueError(f"DataLoader: {len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if len(mean) != images.shape[1] or len(std) != images.shape[1]:
            raise ValueError(f"DataLoader: mean and std need {images.shape[1]} values (one per channel), "
                             f"got {len(mean)} and {len(std)}")
        self.images, self.labels = images, np.asarray(labels, dtype=np.int64)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.mean, self.std = tuple(mean), tuple(std)
        self.augment, self.drop_last, self.merge_single, self.dtype = augment, drop_last, merge_single, dtype
        self.epoch = 0

    def __len__(self) -> int:
        n, size = len(self.images), self.batch_size
        if self.drop_last:
            return n // size
        return n // size + (n % size > (1 if self.merge_single and n > size else 0))

    def order(self, epoch: int) -> np.ndarray:
        """The example indices of ``epoch``, in the order they are served."""
        if not self.shuffle:
            return np.arange(len(self.images))
        return np.random.default_rng([self.seed, _ORDER, epoch]).permutation(len(self.images))

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Batches ``start, start + 1, ...`` of ``epoch``."""
        order, last = self.order(epoch), len(self) - 1
        for b in range(start, len(self)):
            idx = order[b * self.batch_size:None if b == last and not self.drop_last else (b + 1) * self.batch_size]
            x = self.images[idx]
            if self.augment:
                x = self.augment(x, np.random.default_rng([self.seed, _AUGMENT, epoch, b]))
            yield normalize(x, self.mean, self.std, self.dtype), self.labels[idx]

    def set_epoch(self, epoch: int) -> None:
        """The epoch that ``iter(loader)`` serves."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self.batches(self.epoch)
