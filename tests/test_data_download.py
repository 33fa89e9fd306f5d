"""Downloads against a local HTTP server on 127.0.0.1 and file:// URLs only: never the internet."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from datafiles import IDX_NAMES, make_idx_dataset
from minicnn.data import (DATASETS, DownloadError, RemoteFile, atomic_write, default_data_dir, download_file,
                          file_digest, load_dataset, parse_checksum)

PAYLOAD = b"minicnn test payload " * 5000


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder) of an HTTP server on 127.0.0.1 for the test's duration."""
    root = tmp_path / "served"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_download_with_right_checksum(server, tmp_path, algorithm):
    base, root = server
    (root / "blob.bin").write_bytes(PAYLOAD)
    dest = tmp_path / "data" / "blob.bin"
    seen = []
    got = download_file([base + "blob.bin"], dest, f"{algorithm}:{hashlib.new(algorithm, PAYLOAD).hexdigest()}",
                        progress=lambda done, total: seen.append((done, total)))
    assert got == dest and dest.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert _leftovers(dest.parent) == []
    assert dest.stat().st_mode & 0o044 == 0o044 or dest.stat().st_mode & 0o004 == 0   # umask respected, not 0600


def test_download_with_wrong_checksum_deletes_partial_and_says_so(server, tmp_path):
    base, root = server
    (root / "blob.bin").write_bytes(PAYLOAD)
    dest = tmp_path / "blob.bin"
    with pytest.raises(DownloadError) as info:
        download_file([base + "blob.bin"], dest, "sha256:" + "0" * 64)
    message = str(info.value)
    assert "checksum mismatch" in message and "the partial file was deleted" in message
    assert hashlib.sha256(PAYLOAD).hexdigest() in message and base + "blob.bin" in message
    assert not dest.exists() and _leftovers(tmp_path) == []


class _ShortHandler(http.server.BaseHTTPRequestHandler):
    """Promises 100000 bytes, sends 5000, then closes the connection."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(PAYLOAD[:5000])
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_cut_off_download_says_so_and_leaves_nothing(tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ShortHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        with pytest.raises(DownloadError) as info:
            download_file([f"http://127.0.0.1:{httpd.server_address[1]}/blob.bin"], tmp_path / "blob.bin",
                          "sha256:" + hashlib.sha256(PAYLOAD).hexdigest(), timeout=10)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
    assert "the connection ended after 5000 of 100000 bytes; the partial file was deleted" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_mismatch_leaves_an_existing_file_untouched(server, tmp_path):
    base, root = server
    (root / "blob.bin").write_bytes(PAYLOAD)
    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"old")
    with pytest.raises(DownloadError):
        download_file([base + "blob.bin"], dest, "md5:" + "f" * 32)
    assert dest.read_bytes() == b"old"


def test_falls_back_to_the_mirror(server, tmp_path):
    base, root = server
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "blob.bin").write_bytes(PAYLOAD)
    dest = tmp_path / "out" / "blob.bin"
    download_file([base + "blob.bin", (mirror / "blob.bin").as_uri()], dest,
                  "sha256:" + hashlib.sha256(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD


def test_every_failure_is_listed(server, tmp_path):
    base, _ = server
    missing = (tmp_path / "nothing.bin").as_uri()
    with pytest.raises(DownloadError) as info:
        download_file([base + "nothing.bin", missing], tmp_path / "x.bin", "sha256:" + "0" * 64)
    message = str(info.value)
    assert "could not download x.bin" in message
    assert base + "nothing.bin" in message and "HTTP 404" in message and missing in message
    assert not (tmp_path / "x.bin").exists()


def test_load_dataset_downloads_missing_files(server, tmp_path, monkeypatch):
    base, root = server
    make_idx_dataset(root, n_train=20, n_test=8)
    files = tuple(RemoteFile(n, "sha256:" + file_digest(root / n)) for n in IDX_NAMES)
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], files=files,
                                                               urls=("http://127.0.0.1:9/unused/",)))
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    (tmp_path / "data" / "mnist" / IDX_NAMES[0]).write_bytes((root / IDX_NAMES[0]).read_bytes())
    monkeypatch.setenv("MINICNN_MIRRORS", f"{(tmp_path / 'empty').as_uri()}/, {base}")
    ds = load_dataset("mnist", tmp_path / "data")
    assert ds.train_x.shape == (20, 1, 28, 28) and ds.test_x.shape == (8, 1, 28, 28)
    for name in IDX_NAMES:
        assert (tmp_path / "data" / "mnist" / name).read_bytes() == (root / name).read_bytes()


def test_official_addresses_and_checksums_are_declared():
    for spec in DATASETS.values():
        assert len(spec.urls) >= 1 and all(u.startswith(("http://", "https://")) for u in spec.urls)
        for f in spec.files:
            algorithm, digest = parse_checksum(f.checksum)
            assert len(digest) == {"md5": 32, "sha256": 64}[algorithm]
    assert len(DATASETS["mnist"].urls) == len(DATASETS["fashion_mnist"].urls) == 2


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    dest = tmp_path / "f.txt"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(dest) as fh:
            fh.write(b"new, half written")
            raise RuntimeError("boom")
    assert dest.read_bytes() == b"old" and _leftovers(tmp_path) == []
    with atomic_write(dest) as fh:
        fh.write(b"new")
    assert dest.read_bytes() == b"new"


def test_parse_checksum():
    assert parse_checksum("SHA256:ABcd".lower()) == ("sha256", "abcd")
    assert parse_checksum("md5:AB") == ("md5", "ab")
    for bad in ("abcd", "crc32:12", "sha256:"):
        with pytest.raises(ValueError, match="checksum must look like"):
            parse_checksum(bad)


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path / "d"))
    assert default_data_dir() == tmp_path / "d"
    monkeypatch.delenv("MINICNN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_data_dir() == tmp_path / "cache" / "minicnn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "minicnn"


def test_file_digest_matches_hashlib(tmp_path):
    data = np.random.default_rng(0).bytes(3 << 20)
    (tmp_path / "b").write_bytes(data)
    assert file_digest(tmp_path / "b") == hashlib.sha256(data).hexdigest()
    assert file_digest(tmp_path / "b", "md5") == hashlib.md5(data).hexdigest()
