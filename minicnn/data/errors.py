"""The errors the data package raises: each carries one message a user can act on.

The training CLI turns any :class:`DatasetError` into that message on stderr and
exit status 2, without a traceback.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["DatasetError", "DatasetNotFound", "CorruptDataset", "DownloadError"]


class DatasetError(Exception):
    """Base class: a dataset could not be found, read or fetched."""


class DatasetNotFound(DatasetError):
    """The files are not in the data folder and could not be downloaded."""


class DownloadError(DatasetError):
    """No address gave a file with the published checksum."""


class CorruptDataset(DatasetError):
    """A local file exists but its structure is wrong (magic number, dimensions, counts, truncation)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
