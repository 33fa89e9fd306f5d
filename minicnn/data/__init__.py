"""minicnn.data: datasets (IDX, CIFAR-10 pickles, image folders), downloads and the loader.

    from minicnn.data import load_dataset, DataLoader, channel_stats
    ds = load_dataset("fashion_mnist")            # DATA_DIR/fashion_mnist/*.gz, downloaded if missing
    mean, std = channel_stats(ds.train_x)
    loader = DataLoader(ds.train_x, ds.train_y, 128, shuffle=True, seed=0, mean=mean, std=std)
    for x, y in loader.batches(epoch=0): ...
"""
from .cifar import CIFAR10_CLASSES, read_cifar10
from .datasets import DATASETS, Dataset, DatasetSpec, RemoteFile, dataset_folder, load_dataset
from .download import atomic_write, default_data_dir, download_file, file_digest, parse_checksum
from .errors import CorruptDataset, DatasetError, DatasetNotFound, DownloadError
from .folder import IMAGE_SUFFIXES, load_image, read_image_folder
from .idx import read_idx, read_idx_pair
from .loader import Augment, DataLoader, channel_stats, check_memory, memory_limit, normalize, stratified_split

__all__ = [
    "CIFAR10_CLASSES", "read_cifar10", "DATASETS", "Dataset", "DatasetSpec", "RemoteFile", "dataset_folder",
    "load_dataset", "atomic_write", "default_data_dir", "download_file", "file_digest", "parse_checksum",
    "CorruptDataset", "DatasetError", "DatasetNotFound", "DownloadError", "IMAGE_SUFFIXES", "load_image",
    "read_image_folder", "read_idx", "read_idx_pair", "Augment", "DataLoader", "channel_stats", "check_memory",
    "memory_limit", "normalize", "stratified_split",
]
