"""The two pictures of a training run, drawn with matplotlib's Agg backend (no display needed)
and written atomically as PNG: ``curves.png`` and ``confusion.png``."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .data.download import atomic_write

__all__ = ["plot_curves", "plot_confusion"]


@contextmanager
def _figure(path: Path, *grid: int, **kwargs: Any) -> Iterator[tuple[Any, Any]]:
    """A matplotlib figure ``(fig, axes)`` of ``plt.subplots(*grid, **kwargs)`` (Agg backend, constrained
    layout), written to ``path`` as PNG when the block ends without an error, and closed in any case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(*grid, layout="constrained", **kwargs)
    try:
        yield fig, axes
        with atomic_write(path) as fh:
            fig.savefig(fh, format="png", dpi=110)
    finally:
        plt.close(fig)


def plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    """Loss and accuracy per epoch, train and validation, side by side.

    ``history`` holds one dict per epoch with ``epoch``, ``train_loss``, ``train_acc`` and
    ``val_loss``/``val_acc`` (None when there was no validation split).
    """
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    with _figure(path, 1, 2, figsize=(10, 4)) as (_, axes):
        for ax, key, label in ((axes[0], "loss", "loss"), (axes[1], "acc", "accuracy")):
            ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train")
            val = [(e, h[f"val_{key}"]) for e, h in zip(epochs, history) if h.get(f"val_{key}") is not None]
            if val:
                ax.plot(*zip(*val), "s-", label="validation")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            ax.legend()
        axes[0].set_title("loss per epoch")
        axes[1].set_title("accuracy per epoch")


def plot_confusion(cm: np.ndarray, classes: Sequence[str], path: Path, title: str) -> None:
    """Heat map of the confusion matrix (rows: true class), colours normalised per true class,
    counts written in the cells when there are at most 20 classes."""
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    size = max(5.0, 0.6 * len(classes) + 2)
    with _figure(path, figsize=(size + 1, size)) as (fig, ax):
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        fig.colorbar(image, ax=ax, label="share of the true class")
        ax.set_xticks(range(len(classes)), labels=classes, rotation=45, ha="right")
        ax.set_yticks(range(len(classes)), labels=classes)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(title)
        if len(classes) <= 20:
            for i in range(cm.shape[0]):
                for j in range(cm.shape[1]):
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                            color="white" if share[i, j] > 0.5 else "black")
