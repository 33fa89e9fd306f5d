"""minicnn.data readers and loader: IDX, CIFAR-10 pickles, image folders, shuffling, augmentation, splits."""
from __future__ import annotations

import gzip
import pickle
import re
import tarfile

import numpy as np
import pytest

from datafiles import (IDX_NAMES, cifar_batch, idx_bytes, labelled_images, make_cifar_tarball, make_idx_dataset,
                       make_image_folder, shared_datasets, write_file)
from minicnn.data import (Augment, CorruptDataset, DataLoader, DatasetError, DatasetNotFound, channel_stats,
                          load_dataset, normalize, read_cifar10, read_idx, read_idx_pair, read_image_folder,
                          stratified_split)

# ---- IDX ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                         (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_every_type(tmp_path, gz, code, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if code == 0x08:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    got = read_idx(write_file(tmp_path / "a.idx", idx_bytes(arr, code), gz=gz))
    assert got.dtype == dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


def test_read_idx_pair_gives_nchw_and_int64(tmp_path):
    images, labels = labelled_images(7, 0)
    x, y = read_idx_pair(write_file(tmp_path / "i.gz", idx_bytes(images)), write_file(tmp_path / "l.gz", idx_bytes(labels)),
                         (28, 28), 10)
    assert x.shape == (7, 1, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 0], images)
    np.testing.assert_array_equal(y, labels)


def _images(tmp_path, data: bytes, gz: bool = True):
    return write_file(tmp_path / "train-images-idx3-ubyte.gz", data, gz=gz)


def _labels(tmp_path, n: int = 5):
    return write_file(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(n, np.uint8)))


GOOD = idx_bytes(np.zeros((5, 28, 28), np.uint8))


@pytest.mark.parametrize("data, gz, message", [
    (b"\x1f\x8b" + GOOD[:10], False, "gzip"),                                   # gzip magic, garbage after
    (None, True, "truncated gzip"),                                              # GOOD, gzipped, cut short
    (b"\x00\x00", True, "shorter than the 4-byte IDX header"),
    (b"PK\x03\x04" + GOOD[4:], True, "bad magic number 0x504b0304"),
    (b"\x00\x00\x07\x03" + GOOD[4:], True, "bad magic number 0x00000703"),
    (idx_bytes(np.zeros((5, 784), np.uint8)), True, "expected a 3-dimensional IDX array"),
    (idx_bytes(np.zeros((5, 28, 27), np.uint8)), True, "expected items of shape 28x28, the header says 28x27"),
    (GOOD[:10], True, "truncated header"),
    (GOOD[:-100], True, "truncated: the header promises 5x28x28 values (3920 bytes of data), the file holds 3820"),
    (GOOD + b"\x00" * 3, True, "3 unexpected bytes after"),
    (idx_bytes(np.zeros((5, 28, 28), np.int32), 0x0C), True, "expected uint8 values"),
], ids=["bad-gzip", "truncated-gzip", "tiny", "bad-magic", "bad-type", "wrong-dims", "wrong-size",
        "truncated-header", "truncated-data", "trailing", "wrong-type"])
def test_corrupt_idx_images_name_file_and_problem(tmp_path, data, gz, message):
    if data is None:
        path = _images(tmp_path, GOOD)
        path.write_bytes(path.read_bytes()[:-20])
    else:
        path = _images(tmp_path, data, gz=gz)
    with pytest.raises(CorruptDataset, match=re.escape(message)) as info:
        read_idx_pair(path, _labels(tmp_path), (28, 28), 10)
    assert info.value.path == path and str(path) in str(info.value)


def test_count_mismatch_names_the_label_file(tmp_path):
    labels = _labels(tmp_path, 4)
    with pytest.raises(CorruptDataset, match="holds 4 labels but train-images-idx3-ubyte.gz holds 5 images") as info:
        read_idx_pair(_images(tmp_path, GOOD), labels, (28, 28), 10)
    assert info.value.path == labels


def test_label_out_of_range(tmp_path):
    labels = write_file(tmp_path / "l.gz", idx_bytes(np.array([1, 2, 12, 3, 4], np.uint8)))
    with pytest.raises(CorruptDataset, match="label 12 at index 2 is outside 0..9"):
        read_idx_pair(_images(tmp_path, GOOD), labels, (28, 28), 10)


def test_labels_file_with_images_inside(tmp_path):
    with pytest.raises(CorruptDataset, match="expected a 1-dimensional IDX array"):
        read_idx_pair(_images(tmp_path, GOOD), _images(tmp_path.joinpath("x"), GOOD), (28, 28), 10)


# ---- CIFAR-10 ---------------------------------------------------------------------------------------


def test_cifar_tarball_and_extracted_folder(tmp_path):
    tar = make_cifar_tarball(tmp_path / "cifar-10-python.tar.gz", n=4)
    train_x, train_y, test_x, test_y = read_cifar10(tar)
    assert train_x.shape == (20, 3, 32, 32) and test_x.shape == (4, 3, 32, 32)
    assert train_x.dtype == np.uint8 and train_y.dtype == np.int64
    first = pickle.loads(cifar_batch(4, 1), encoding="bytes")
    np.testing.assert_array_equal(train_x[:4].reshape(4, -1), first[b"data"])   # rows are R, G, B planes
    np.testing.assert_array_equal(train_y[:4], first[b"labels"])
    with tarfile.open(tar) as t:
        t.extractall(tmp_path / "x", filter="data")
    for got, want in zip(read_cifar10(tmp_path / "x"), (train_x, train_y, test_x, test_y)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_pickle_protocols(tmp_path, protocol):
    tar = make_cifar_tarball(tmp_path / "c.tar.gz", n=2, members={"test_batch": cifar_batch(3, 7, protocol)})
    assert read_cifar10(tar)[2].shape == (3, 3, 32, 32)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("member, message", [
    (cifar_batch(4, 1, overrides={b"data": np.zeros((4, 3000), np.uint8)}), r"uint8 array of shape \(N, 3072\)"),
    (cifar_batch(4, 1, overrides={b"labels": [1, 2, 3]}), "holds 4 images but 3 labels"),
    (cifar_batch(4, 1, overrides={b"labels": [1, 2, 3, 10]}), "labels must lie in 0..9"),
    (pickle.dumps({b"data": _Evil(), b"labels": []}), "refusing to load builtins.print"),
    (b"not a pickle", "not a readable CIFAR-10 batch pickle"),
    (pickle.dumps([1, 2]), "expected a dict"),
    (cifar_batch(4, 1, overrides={b"labels": [1.5, 2.0, 3.0, 4.0]}), "labels must be integers"),
], ids=["bad-shape", "count-mismatch", "label-range", "forbidden-global", "garbage", "not-dict", "float-labels"])
def test_corrupt_cifar_batches(tmp_path, member, message, capsys):
    tar = make_cifar_tarball(tmp_path / "c.tar.gz", n=4, members={"data_batch_3": member})
    with pytest.raises(CorruptDataset, match=message) as info:
        read_cifar10(tar)
    assert "data_batch_3" in str(info.value)
    assert "pwned" not in capsys.readouterr().out


def test_a_damaged_pixel_in_the_cifar_tarball_fails_its_gzip_crc(tmp_path):
    tar = make_cifar_tarball(tmp_path / "c.tar.gz", n=4)
    raw = gzip.decompress(tar.read_bytes())
    stored = bytearray(gzip.compress(raw, compresslevel=0, mtime=0))   # deflate's stored blocks: no check of its own
    stored[10 + 5 + 512 + 4000] ^= 1                    # gzip header, block header, tar header, into data_batch_1
    tar.write_bytes(bytes(stored))
    with pytest.raises(CorruptDataset, match="corrupt gzip data .*CRC check failed"):
        read_cifar10(tar)


def test_cifar_truncated_archive_and_missing_member(tmp_path):
    tar = make_cifar_tarball(tmp_path / "c.tar.gz", n=4)
    tar.write_bytes(tar.read_bytes()[:300])
    with pytest.raises(CorruptDataset, match="truncated gzip stream"):
        read_cifar10(tar)
    with tarfile.open(tmp_path / "d.tar.gz", "w:gz"):
        pass
    with pytest.raises(CorruptDataset, match="has no cifar-10-batches-py/data_batch_1"):
        read_cifar10(tmp_path / "d.tar.gz")


# ---- image folders -------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_image_folder_reads_converts_and_resizes(tmp_path, channels):
    root = make_image_folder(tmp_path / "pets", classes=("cat", "dog", "eel"), per_class=2, test_name="val")
    train_x, train_y, test_x, test_y, classes = read_image_folder(root, image_size=8, channels=channels)
    assert classes == ["cat", "dog", "eel"]
    assert train_x.shape == (6, channels, 8, 8) and test_x.shape == (6, channels, 8, 8)
    assert train_x.dtype == np.uint8
    np.testing.assert_array_equal(train_y, [0, 0, 1, 1, 2, 2])
    means = [train_x[train_y == k].mean() for k in range(3)]
    assert means[0] < means[1] < means[2]         # the class brightness survives decoding and resizing


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetNotFound, match="must be laid out as root/train/<class>/<image>"):
        read_image_folder(tmp_path)
    root = make_image_folder(tmp_path / "a")
    (root / "test" / "cow").mkdir()
    (root / "test" / "cow" / "0.png").write_bytes((root / "train" / "cat" / "0.png").read_bytes())
    with pytest.raises(CorruptDataset, match=r"has classes \['cow'\] that train/ does not have"):
        read_image_folder(root)
    root = make_image_folder(tmp_path / "b")
    bad = root / "train" / "dog" / "1.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(CorruptDataset, match="cannot be decoded as an image") as info:
        read_image_folder(root)
    assert info.value.path == bad


def test_folders_whose_images_cannot_fit_in_memory_are_refused_before_decoding(tmp_path, monkeypatch):
    root = make_image_folder(tmp_path / "pets")
    monkeypatch.setattr("minicnn.data.loader.memory_limit", lambda: 2 * 6 * 3 * 16 * 16)
    assert read_image_folder(root, image_size=16)[0].shape == (6, 3, 16, 16)
    with pytest.raises(DatasetError, match=r"6 images of .*train at 3x17x17 would need 0.0 GiB of memory, more than "
                                           r"the 0.0 GiB this machine has; choose a smaller --image-size"):
        read_image_folder(root, image_size=17)


def test_image_folder_ignores_empty_and_hidden_entries(tmp_path):
    root = make_image_folder(tmp_path / "pets", classes=("cat", "dog"), per_class=2)
    for split in ("train", "test"):
        (root / split / "empty").mkdir()
        (root / split / ".ipynb_checkpoints").mkdir()
        (root / split / ".ipynb_checkpoints" / "0.png").write_bytes((root / "train" / "cat" / "0.png").read_bytes())
        (root / split / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble, not an image")
    train_x, train_y, test_x, _, classes = read_image_folder(root, image_size=8)
    assert classes == ["cat", "dog"] and len(train_x) == len(test_x) == 4
    np.testing.assert_array_equal(train_y, [0, 0, 1, 1])


def test_load_dataset_image_folder_path(tmp_path):
    root = make_image_folder(tmp_path / "pets")
    ds = load_dataset(str(root), image_size=10, channels=1)
    assert ds.name == "pets" and ds.classes == ["cat", "dog"] and ds.input_shape == (1, 10, 10)


# ---- named datasets from a data folder -----------------------------------------------------------------


def test_load_dataset_from_data_dir_and_env(tmp_path, monkeypatch):
    make_idx_dataset(tmp_path / "fashion_mnist", n_train=30, n_test=10)
    ds = load_dataset("fashion_mnist", tmp_path, download=False)
    assert ds.train_x.shape == (30, 1, 28, 28) and ds.test_x.shape == (10, 1, 28, 28)
    assert ds.classes[0] == "T-shirt/top" and ds.num_classes == 10
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path))
    np.testing.assert_array_equal(load_dataset("fashion_mnist", download=False).train_y, ds.train_y)


def test_load_dataset_accepts_gunzipped_files(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist", n_train=12, n_test=4)
    for name in IDX_NAMES:
        (folder / name.removesuffix(".gz")).write_bytes(gzip.decompress((folder / name).read_bytes()))
        (folder / name).unlink()
    assert load_dataset("mnist", tmp_path, download=False).train_x.shape == (12, 1, 28, 28)


def test_load_dataset_cifar10_from_tarball(tmp_path):
    make_cifar_tarball(tmp_path / "cifar10" / "cifar-10-python.tar.gz", n=3)
    ds = load_dataset("cifar10", tmp_path, download=False)
    assert ds.input_shape == (3, 32, 32) and ds.classes[0] == "airplane" and len(ds.train_y) == 15


def test_missing_dataset_names_folder_and_remedy(tmp_path):
    with pytest.raises(DatasetNotFound) as info:
        load_dataset("mnist", tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message and "train-images-idx3-ubyte.gz" in message
    assert "--data-dir" in message and "MINICNN_DATA" in message


def test_missing_dataset_download_failure_is_dataset_not_found(tmp_path):
    with pytest.raises(DatasetNotFound, match="could not download train-images-idx3-ubyte.gz") as info:
        load_dataset("fashion_mnist", tmp_path, urls=[(tmp_path / "nowhere").as_uri()])
    assert str(tmp_path / "fashion_mnist") in str(info.value)


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(DatasetNotFound, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet", tmp_path)


def test_corrupt_local_file_is_reported(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist", n_train=12, n_test=4)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    write_file(target, idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(CorruptDataset, match="holds 3 labels but t10k-images-idx3-ubyte.gz holds 4 images"):
        load_dataset("mnist", tmp_path, download=False)


@pytest.mark.data
def test_shared_fashion_mnist_subset():
    root = shared_datasets()
    if root is None:
        pytest.skip("real data not found: set MINICNN_DATA or provide ../shared/datasets/fashion_mnist")
    ds = load_dataset("fashion_mnist", root, download=False)
    assert ds.train_x.shape == (4000, 1, 28, 28) and ds.test_x.shape == (1000, 1, 28, 28)
    assert set(np.unique(ds.train_y)) == set(range(10))
    assert ds.train_y[0] == 9            # the official training file starts with an ankle boot


# ---- loader ------------------------------------------------------------------------------------------------


def _loader(n: int = 50, **kw) -> DataLoader:
    x, y = labelled_images(n, 3, shape=(1, 6, 5))
    return DataLoader(x, y.astype(np.int64), kw.pop("batch_size", 8), **kw)


def test_shuffle_is_a_function_of_seed_and_epoch():
    a, b = _loader(shuffle=True, seed=4), _loader(shuffle=True, seed=4)
    np.testing.assert_array_equal(a.order(3), b.order(3))
    assert not np.array_equal(a.order(3), a.order(4))
    assert not np.array_equal(a.order(3), _loader(shuffle=True, seed=5).order(3))
    assert sorted(a.order(3)) == list(range(50))
    np.testing.assert_array_equal(_loader().order(7), np.arange(50))


def test_batches_cover_epoch_once_and_resume_at_any_batch():
    loader = _loader(shuffle=True, seed=1, augment=Augment(2, True))
    batches = list(loader.batches(2))
    assert len(batches) == len(loader) == 7 and [len(y) for _, y in batches] == [8] * 6 + [2]
    np.testing.assert_array_equal(np.sort(np.concatenate([y for _, y in batches])), np.sort(loader.labels))
    for (x1, y1), (x2, y2) in zip(batches[3:], loader.batches(2, start=3)):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    loader.set_epoch(2)
    np.testing.assert_array_equal(next(iter(loader))[0], batches[0][0])
    assert len(_loader(drop_last=True)) == 6


def test_a_single_example_remainder_joins_the_batch_before_when_asked():
    x, y = labelled_images(17, 0, shape=(1, 2, 2))
    for merge, sizes in ((False, [8, 8, 1]), (True, [8, 9])):
        loader = DataLoader(x, y, 8, shuffle=True, merge_single=merge)
        batches = [len(b) for _, b in loader.batches(0)]
        assert batches == sizes and len(loader) == len(sizes)
        assert sorted(np.concatenate([b for _, b in loader.batches(0)])) == sorted(y)
        assert [len(b) for _, b in loader.batches(0, start=1)] == sizes[1:]
    assert [len(b) for _, b in DataLoader(x[:1], y[:1], 8, merge_single=True).batches(0)] == [1]
    assert [len(b) for _, b in DataLoader(x, y, 8, merge_single=True, drop_last=True).batches(0)] == [8, 8]


def test_normalisation_matches_formula():
    x = np.array([[[[0, 255], [51, 102]]], [[[10, 20], [30, 40]]]], np.uint8)
    got = normalize(x, (0.2,), (0.5,))
    np.testing.assert_allclose(got, (x / 255.0 - 0.2) / 0.5, rtol=1e-6, atol=1e-6)
    assert got.dtype == np.float32
    loader = DataLoader(x, np.array([0, 1]), 2, mean=(0.2,), std=(0.5,))
    np.testing.assert_allclose(next(iter(loader))[0], got)


def test_channel_stats():
    x = np.random.default_rng(0).integers(0, 256, size=(9, 3, 4, 5)).astype(np.uint8)
    for blocks in ({"chunk": 4}, {"chunk_bytes": 8 * 60 * 2}):            # 4 images, or 2 images of 60 values
        mean, std = channel_stats(x, **blocks)
        np.testing.assert_allclose(mean, (x / 255.0).mean(axis=(0, 2, 3)), rtol=1e-12)
        np.testing.assert_allclose(std, (x / 255.0).std(axis=(0, 2, 3)), rtol=1e-9)
    assert channel_stats(np.zeros((2, 1, 3, 3), np.uint8))[1] == (1.0,)    # a constant channel keeps std 1


def test_random_crop_is_a_shifted_window_of_the_padded_image():
    x = np.random.default_rng(0).integers(1, 256, size=(16, 2, 5, 6)).astype(np.uint8)
    out = Augment(crop_padding=2)(x, np.random.default_rng(1))
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    shifts = set()
    for n in range(16):
        found = [(dy, dx) for dy in range(5) for dx in range(5)
                 if np.array_equal(out[n], padded[n, :, dy:dy + 5, dx:dx + 6])]
        assert found, f"image {n} is not a crop of its padded input"
        shifts.add(found[0])
    assert len(shifts) > 3


def test_horizontal_flip_flips_about_half():
    x = np.random.default_rng(0).integers(0, 256, size=(200, 1, 3, 4)).astype(np.uint8)
    out = Augment(hflip=True)(x, np.random.default_rng(2))
    flipped = np.array([np.array_equal(o, i[:, :, ::-1]) for o, i in zip(out, x)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert np.all(flipped | kept) and 60 < flipped.sum() < 140
    assert not Augment() and Augment(hflip=True)


def test_stratified_split():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    train, val = stratified_split(labels, 0.1, seed=0)
    assert np.bincount(labels[val]).tolist() == [1, 2, 3, 4]
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 100
    np.testing.assert_array_equal(stratified_split(labels, 0.1, seed=0)[1], val)
    assert not np.array_equal(stratified_split(labels, 0.1, seed=1)[1], val)
    assert len(stratified_split(labels, 0.0, seed=0)[1]) == 0
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        stratified_split(labels, 1.0, seed=0)


def test_loader_rejects_bad_arguments():
    x, y = labelled_images(4, 0, shape=(1, 3, 3))
    with pytest.raises(ValueError, match="uint8 images"):
        DataLoader(x.astype(np.float32), y, 2)
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        DataLoader(x, y[:3], 2)
    with pytest.raises(ValueError, match="one per channel"):
        DataLoader(x, y, 2, mean=(0.1, 0.2), std=(1.0, 1.0))
