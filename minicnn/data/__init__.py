"""minicnn.data: datasets (IDX, CIFAR-10 pickles, image folders), downloads and the loader.

    from minicnn.data import load_dataset, DataLoader, channel_stats
    ds = load_dataset("fashion_mnist")            # DATA_DIR/fashion_mnist/*.gz, downloaded if missing
    mean, std = channel_stats(ds.train_x)
    loader = DataLoader(ds.train_x, ds.train_y, 128, shuffle=True, seed=0, mean=mean, std=std)
    for x, y in loader.batches(epoch=0): ...
"""
from . import cifar, datasets, download, errors, folder, idx, loader
from .cifar import *  # noqa: F401,F403
from .datasets import *  # noqa: F401,F403
from .download import *  # noqa: F401,F403
from .errors import *  # noqa: F401,F403
from .folder import *  # noqa: F401,F403
from .idx import *  # noqa: F401,F403
from .loader import *  # noqa: F401,F403

__all__ = [name for module in (cifar, datasets, download, errors, folder, idx, loader) for name in module.__all__]
"""Every submodule's public names, each listed once, in that submodule's own ``__all__``."""
