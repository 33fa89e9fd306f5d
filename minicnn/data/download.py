"""Downloads with checksum verification and atomic writes, and the default data folder.

A file is streamed into a temporary file beside its destination while its digest
is computed; only when the digest equals the published checksum is the temporary
file renamed over the destination (``os.replace``, atomic on one filesystem), so an
interrupted or corrupted download never leaves a file that looks complete.
Addresses are tried in order (the official one, then mirrors); a checksum mismatch
deletes the partial file, says so, and moves on to the next address.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import DownloadError

__all__ = ["default_data_dir", "file_digest", "parse_checksum", "download_file", "atomic_write"]

CHUNK = 1 << 20


def default_data_dir() -> Path:
    """``$MINICNN_DATA`` if set, else the per-user cache folder (``~/.cache/minicnn``,
    ``$XDG_CACHE_HOME/minicnn``, or ``%LOCALAPPDATA%\\minicnn`` on Windows)."""
    env = os.environ.get("MINICNN_DATA")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "minicnn"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "minicnn"


def parse_checksum(checksum: str) -> tuple[str, str]:
    """``"sha256:ab12.."`` or ``"md5:ab12.."`` -> ``(algorithm, lowercase hex digest)``."""
    algorithm, sep, digest = checksum.partition(":")
    if not sep or algorithm not in ("md5", "sha1", "sha256") or not digest:
        raise ValueError(f"checksum must look like 'sha256:<hex>' or 'md5:<hex>', got {checksum!r}")
    return algorithm, digest.lower()


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def atomic_write(dest: str | Path) -> Iterator[IO[bytes]]:
    """Write ``dest`` through a temporary file in the same folder, renamed over it on success.

    The file gets the usual permissions (0666 less the umask; ``mkstemp`` alone would give 0600).
    On any exception the temporary file is deleted and ``dest`` is left untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)  # reading the umask means setting it: put it straight back
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _BadContent(Exception):
    """The downloaded bytes are incomplete or do not have the published digest (carries why)."""


def _fetch(url: str, dest: Path, algorithm: str, expected: str, timeout: float,
           progress: Callable[[int, int | None], None] | None) -> str | None:
    """Download ``url`` to ``dest``; None on success, else why it failed."""
    digest = hashlib.new(algorithm)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_write(dest) as fh:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            for chunk in iter(lambda: response.read(CHUNK), b""):
                fh.write(chunk)
                digest.update(chunk)
                if progress is not None:
                    progress(fh.tell(), total)
            if total is not None and fh.tell() != total:
                raise _BadContent(f"incomplete: the connection ended after {fh.tell()} of {total} bytes")
            if digest.hexdigest() != expected:
                raise _BadContent(f"checksum mismatch ({algorithm} expected {expected}, got {digest.hexdigest()})")
    except _BadContent as exc:
        return f"{exc.args[0]}; the partial file was deleted"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError, timeouts, bad URLs, broken replies
        return str(getattr(exc, "reason", None) or exc) or type(exc).__name__
    return None


def download_file(urls: Sequence[str], dest: str | Path, checksum: str, timeout: float = 30.0,
                  progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Fetch ``dest`` from the first of ``urls`` whose content has ``checksum``; return ``dest``.

    ``checksum`` is ``"sha256:<hex>"`` or ``"md5:<hex>"``. Raises :class:`DownloadError`
    listing every address and why it failed; ``dest`` is then neither created nor changed.
    """
    algorithm, expected = parse_checksum(checksum)
    dest = Path(dest)
    failures = []
    for url in urls:
        why = _fetch(url, dest, algorithm, expected, timeout, progress)
        if why is None:
            return dest
        failures.append(f"{url}: {why}")
    raise DownloadError(f"could not download {dest.name}: " + "; ".join(failures))
