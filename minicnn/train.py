"""``python -m minicnn.train DATASET``: train a zoo model, evaluate it, write metrics, plots and checkpoints.

DATASET is ``fashion_mnist``, ``mnist``, ``cifar10`` or the path of an image folder
(``root/train/<class>/<image>``, ``root/test/...`` or ``root/val/...``). Every option
has a per-dataset default chosen for accuracy per second on a 2-core CPU
(:data:`RECIPES`), so ``python -m minicnn.train fashion_mnist`` is a complete run.

Output folder ``--out`` (default ``runs/<dataset>-<time>``):

* ``checkpoint.npz``: written atomically after every epoch and on Ctrl-C: model and
  optimiser state, position (epoch, batch, step), the RNG state, config and history.
  ``--resume`` continues from it and ends with exactly the weights an uninterrupted
  run with the same seed would have: the data order and augmentation are functions
  of (seed, epoch, batch) (``minicnn.data.loader``), the learning rate a function of
  the step, and the dropout generator's state is saved.
* ``metrics.json`` (test accuracy and loss, per-class precision/recall/F1, macro F1,
  confusion matrix, history), ``curves.png`` and ``confusion.png``.

Exit status: 0 done; 1 the loss became non-finite (the last good checkpoint is kept);
2 a usage or data problem (one message, no traceback); 130 interrupted with Ctrl-C
after saving a checkpoint.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import backend, nn, optim
from . import random as mrandom
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import (Augment, DataLoader, DatasetError, channel_stats, load_dataset, stratified_split)
from .data.download import atomic_write
from .models import MODELS, build_model, last_linear

__all__ = ["Recipe", "RECIPES", "learning_rate", "classification_metrics", "main", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.npz"
EXIT_NONFINITE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


@dataclass(frozen=True)
class Recipe:
    """The defaults of every training setting for one dataset."""

    model: str = "compact_cnn"
    epochs: int = 5
    batch_size: int = 64
    lr: float = 3e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float | None = None     # None: the optimiser's own default (0; AdamW 1e-2)
    schedule: str = "onecycle"
    warmup_epochs: float = 0.0
    step_size: int = 2
    gamma: float = 0.1
    label_smoothing: float = 0.0
    crop_padding: int = 0
    hflip: bool = False
    val_split: float = 0.1
    seed: int = 0
    limit_train: int | None = None
    limit_test: int | None = None
    image_size: int = 32
    channels: int = 3
    freeze_features: bool = False
    init_from: str | None = None


#: Defaults per dataset ("folder" for image folders), chosen for accuracy per second on 2 cores.
#: Measured with numba: fashion_mnist (the 4,000-image subset) 89.0-90.5% test accuracy over 12 seeds
#: in about 11 s of training; mnist 98.8% in about 64 s. cifar10 (no data on the measuring machine) is a
#: conventional small-ResNet recipe: resnet_small trains at about 200 images/s, so 10 epochs take ~40 min.
RECIPES: dict[str, Recipe] = {
    "fashion_mnist": Recipe(),
    "mnist": Recipe(epochs=2),
    "cifar10": Recipe(model="resnet_small", epochs=10, batch_size=128, lr=2e-3, optimizer="adamw",
                      weight_decay=5e-4, crop_padding=4, hflip=True, val_split=0.05),
    "folder": Recipe(epochs=10, crop_padding=4, hflip=True),
}
SETTINGS = tuple(Recipe.__dataclass_fields__)


class UsageError(Exception):
    """A problem with the command line, a checkpoint or an init file: one message, exit status 2."""


class NonFiniteLoss(Exception):
    """The training loss became NaN or infinite."""


# ---- learning-rate schedules ---------------------------------------------------------------------

def learning_rate(step: int, base_lr: float, schedule: str, total_steps: int, steps_per_epoch: int,
                  warmup_epochs: float = 0.0, step_size: int = 1, gamma: float = 0.1) -> float:
    """The learning rate of optimiser step ``step`` (0-based): a pure function, so resuming needs only ``step``.

    * warm-up (``warmup_epochs`` W > 0, all schedules but onecycle): ``lr * (step + 1) / (W steps_per_epoch)``
      until the warm-up ends, then the schedule proper over the remaining steps;
    * ``none``: ``lr``;  ``step``: ``lr * gamma ** (epoch // step_size)``;
    * ``cosine``: ``lr (1 + cos(pi t)) / 2``, t going from 0 to 1 after the warm-up;
    * ``onecycle`` (PyTorch's OneCycleLR with cosine annealing): from ``lr / 25`` up to ``lr`` over the
      warm-up (W epochs, or 30% of training when W = 0), then down to ``lr / 25e4``.
    """
    warm = int(round(warmup_epochs * steps_per_epoch))
    if schedule == "onecycle":
        rise = warm if warm > 0 else max(1, int(round(0.3 * total_steps)))
        start, end = base_lr / 25.0, base_lr / 25e4
        if step < rise:
            return start + (base_lr - start) * (1 - math.cos(math.pi * step / rise)) / 2
        t = min(1.0, (step - rise) / max(1, total_steps - rise))
        return end + (base_lr - end) * (1 + math.cos(math.pi * t)) / 2
    if step < warm:
        return base_lr * (step + 1) / warm
    if schedule == "none":
        return base_lr
    if schedule == "step":
        return base_lr * gamma ** ((step // steps_per_epoch) // step_size)
    if schedule == "cosine":
        t = min(1.0, (step - warm) / max(1, total_steps - warm))
        return base_lr * (1 + math.cos(math.pi * t)) / 2
    raise ValueError(f"unknown schedule {schedule!r}")


# ---- metrics --------------------------------------------------------------------------------------

def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Confusion matrix (rows: true class, columns: predicted), per-class precision, recall, F1
    and support, accuracy and macro F1 (the mean F1 over classes that occur in truth or prediction).

    precision_c = TP_c / (TP_c + FP_c), recall_c = TP_c / (TP_c + FN_c), F1 = 2 P R / (P + R);
    a ratio with a zero denominator is 0.
    """
    k = len(classes)
    cm = np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(k), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    present = (predicted + actual) > 0
    per_class = {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                        "support": int(actual[i])} for i, name in enumerate(classes)}
    return {"accuracy": float(tp.sum() / max(1, cm.sum())), "macro_f1": float(f1[present].mean()) if present.any()
            else 0.0, "per_class": per_class, "confusion_matrix": cm.tolist()}


def format_metrics_table(metrics: dict[str, Any]) -> str:
    """The per-class table and the confusion matrix, as text."""
    names = list(metrics["per_class"])
    width = max(12, *(len(n) for n in names))
    lines = [f"{'class':<{width}}  precision  recall     f1  support"]
    for name, m in metrics["per_class"].items():
        lines.append(f"{name:<{width}}  {m['precision']:9.3f}  {m['recall']:6.3f}  {m['f1']:5.3f}  {m['support']:7d}")
    lines.append(f"{'macro F1':<{width}}  {'':9}  {'':6}  {metrics['macro_f1']:5.3f}")
    cm = np.asarray(metrics["confusion_matrix"])
    cell = max(4, len(str(cm.max())) + 1)
    lines += ["", "confusion matrix (rows: true class, columns: predicted class, in the order above)",
              " " * (width + 2) + "".join(f"{j:>{cell}}" for j in range(len(names)))]
    for i, name in enumerate(names):
        lines.append(f"{name:<{width}}  " + "".join(f"{v:>{cell}}" for v in cm[i]))
    return "\n".join(lines)


# ---- plots ----------------------------------------------------------------------------------------

def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig: Any, path: Path) -> None:
    with atomic_write(path) as fh:
        fig.savefig(fh, format="png", dpi=110)


def plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    """Loss and accuracy per epoch, train and validation, side by side."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
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
    _save_figure(fig, path)
    plt.close(fig)


def plot_confusion(cm: np.ndarray, classes: Sequence[str], path: Path, title: str) -> None:
    """Heat map of the confusion matrix, colours normalised per true class, counts written in the cells."""
    plt = _pyplot()
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    size = max(5.0, 0.6 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size), layout="constrained")
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
    _save_figure(fig, path)
    plt.close(fig)


# ---- Ctrl-C -----------------------------------------------------------------------------------------

class StopFlag:
    """Set by the first Ctrl-C; the training loop checks it after every batch. A second Ctrl-C aborts."""

    def __init__(self) -> None:
        self.requested = False

    def handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ninterrupted: finishing this batch, then saving a checkpoint (Ctrl-C again to abort)",
              file=sys.stderr, flush=True)

    @contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Route SIGINT to :meth:`handler` for the duration of the block (main thread only)."""
        self.requested = False
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self.handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


STOP = StopFlag()


# ---- command line ------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m minicnn.train",
        description="Train a minicnn model on a dataset, evaluate it on the test split, and write "
                    "checkpoints, metrics.json and plots. Unset options take the dataset's recipe defaults.")
    p.add_argument("dataset", metavar="DATASET",
                   help="fashion_mnist, mnist, cifar10, or an image folder with train/ and test/ (or val/)")
    g = p.add_argument_group("model and optimisation")
    g.add_argument("--model", choices=sorted(MODELS), help="zoo model (default per dataset: compact_cnn; "
                                                           "resnet_small for cifar10)")
    g.add_argument("--epochs", type=int, help="epochs to train (default 5; 2 for mnist, 10 for cifar10 and folders)")
    g.add_argument("--batch-size", type=int, help="training batch size (default 64)")
    g.add_argument("--lr", type=float, help="peak learning rate (default 3e-3)")
    g.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), help="default adam (adamw for cifar10)")
    g.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    g.add_argument("--weight-decay", type=float, help="weight decay (default: the optimiser's, 0 for sgd and adam, "
                                                       "1e-2 for adamw; 5e-4 for cifar10)")
    g.add_argument("--schedule", choices=("none", "step", "cosine", "onecycle"), help="lr schedule (default onecycle)")
    g.add_argument("--warmup-epochs", type=float, help="linear warm-up length in epochs (default 0; onecycle: "
                                                        "its rising phase, 30%% of training when 0)")
    g.add_argument("--step-size", type=int, help="step schedule: epochs between decays (default 2)")
    g.add_argument("--gamma", type=float, help="step schedule: decay factor (default 0.1)")
    g.add_argument("--label-smoothing", type=float, help="cross-entropy label smoothing (default 0)")
    g.add_argument("--freeze-features", action="store_true", default=None,
                   help="train only the last Linear layer (the rest stays fixed, in eval mode)")
    g.add_argument("--init-from", metavar="FILE.pt",
                   help="initial weights from a PyTorch state_dict or whole module saved with torch.save")
    d = p.add_argument_group("data")
    d.add_argument("--data-dir", help="folder holding <dataset>/ (default $MINICNN_DATA, else ~/.cache/minicnn)")
    d.add_argument("--no-download", action="store_true", help="never download missing files")
    d.add_argument("--val-split", type=float, help="fraction of the training set held out (default 0.1)")
    d.add_argument("--limit-train", type=int, help="use only the first N training examples")
    d.add_argument("--limit-test", type=int, help="use only the first N test examples")
    d.add_argument("--crop-padding", type=int, help="augmentation: random crop after zero padding by N pixels "
                                                    "(default 0; 4 for cifar10 and folders)")
    d.add_argument("--hflip", action=argparse.BooleanOptionalAction, default=None,
                   help="augmentation: random horizontal flips (default on for cifar10 and folders)")
    d.add_argument("--image-size", type=int, help="image folders: resize to N x N (default 32)")
    d.add_argument("--channels", type=int, choices=(1, 3), help="image folders: 1 grayscale, 3 RGB (default 3)")
    r = p.add_argument_group("run")
    r.add_argument("--backend", choices=backend.BACKENDS, default=os.environ.get("MINICNN_BACKEND") or "numba",
                   help="array backend (default $MINICNN_BACKEND, else numba)")
    r.add_argument("--seed", type=int, help="seed for weights, data order, augmentation, dropout (default 0)")
    r.add_argument("--out", help="output folder (default runs/<dataset>-<date>-<time>)")
    r.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT")
    r.add_argument("--no-progress", action="store_true", help="no progress bar (also off when stdout is not a terminal)")
    return p


def _resolve_config(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    """Every setting: given on the command line, else from the resumed checkpoint, else the recipe."""
    given = {k: getattr(args, k) for k in SETTINGS if getattr(args, k, None) is not None}
    if saved is not None:
        conflicts = [f"--{k.replace('_', '-')} {v} (the checkpoint has {saved[k]})" for k, v in given.items()
                     if k != "epochs" and v != saved.get(k)]
        if conflicts:
            raise UsageError("--resume continues a run with its own settings; these options differ: "
                             + ", ".join(conflicts) + ". Leave them out (only --epochs may change).")
        return {**{k: saved[k] for k in SETTINGS}, **given}
    recipe = RECIPES.get(args.dataset, RECIPES["folder"])
    config = {**asdict(recipe), **given}
    checks = [("epochs", config["epochs"] >= 1, ">= 1"), ("batch_size", config["batch_size"] >= 1, ">= 1"),
              ("lr", config["lr"] > 0, "> 0"), ("val_split", 0 <= config["val_split"] < 1, "in [0, 1)"),
              ("warmup_epochs", config["warmup_epochs"] >= 0, ">= 0"),
              ("weight_decay", (config["weight_decay"] or 0) >= 0, ">= 0"), ("step_size", config["step_size"] >= 1, ">= 1"),
              ("crop_padding", config["crop_padding"] >= 0, ">= 0"), ("image_size", config["image_size"] >= 4, ">= 4"),
              ("label_smoothing", 0 <= config["label_smoothing"] <= 1, "in [0, 1]"),
              ("limit_train", (config["limit_train"] or 1) >= 1, ">= 1"),
              ("limit_test", (config["limit_test"] or 1) >= 1, ">= 1")]
    bad = [f"--{name.replace('_', '-')} must be {rule}, got {config[name]}" for name, ok, rule in checks if not ok]
    if bad:
        raise UsageError("; ".join(bad))
    return config


# ---- transfer from PyTorch -----------------------------------------------------------------------------

def load_torch_state(path: str | Path) -> dict[str, np.ndarray]:
    """A PyTorch ``state_dict`` (or a whole module, or a dict holding ``state_dict``) as NumPy arrays."""
    try:
        import torch
    except ImportError as exc:
        raise UsageError(f"--init-from {path} needs PyTorch to read the file: pip install torch") from exc
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--init-from: {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a whole pickled module is refused by weights_only; it is the user's own file
        print(f"note: {path} is not a plain state_dict; loading it as a pickled module (this runs code from "
              "the file, so only use files you trust)", file=sys.stderr)
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise UsageError(f"--init-from: cannot read {path} with torch.load ({exc})") from exc
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UsageError(f"--init-from: {path} holds a {type(obj).__name__}, not a state_dict of tensors")
    return {k: v.detach().cpu().numpy() for k, v in obj.items()}


def apply_init(model: nn.Module, state: dict[str, np.ndarray], source: str, keep_head: bool) -> None:
    """Load ``state`` into ``model``, or raise UsageError listing every missing, unexpected and
    mis-shaped key. With ``keep_head`` (``--freeze-features``) the last Linear may differ (it is
    trained from scratch)."""
    own = model.state_dict()
    head = last_linear(model)
    head_name = next(name for name, m in model.named_modules() if m is head)
    head_keys = {f"{head_name}.weight", f"{head_name}.bias"}
    missing = [k for k in own if k not in state and not (keep_head and k in head_keys)]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: model {tuple(own[k].shape)}, file {tuple(state[k].shape)}" for k in own
              if k in state and tuple(own[k].shape) != tuple(state[k].shape) and not (keep_head and k in head_keys)]
    if missing or unexpected or shapes:
        parts = [f"missing keys {missing}"] if missing else []
        parts += [f"unexpected keys {unexpected}"] if unexpected else []
        parts += ["shape mismatches: " + "; ".join(shapes)] if shapes else []
        raise UsageError(f"--init-from {source} does not match the model: " + ", ".join(parts))
    usable = {k: v for k, v in state.items()
              if k in own and not (k in head_keys and tuple(v.shape) != tuple(own[k].shape))}
    model.load_state_dict({**own, **usable})


# ---- the training run ------------------------------------------------------------------------------------

@dataclass
class EpochTally:
    """Running sums of one epoch's training batches."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0


class Run:
    """One training run: data, model, optimiser, position and history, and the loop over them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        saved = load_checkpoint(args.resume) if args.resume else None
        if saved is not None and saved.get("format") != "minicnn-train":
            raise UsageError(f"{args.resume} is not a checkpoint written by minicnn.train")
        self.saved = saved
        if saved is not None and args.dataset != saved["config"]["dataset"]:
            raise UsageError(f"{args.resume} was trained on {saved['config']['dataset']!r}, not {args.dataset!r}")
        self.config = _resolve_config(args, saved["config"] if saved else None)
        c = self.config
        data_dir = args.data_dir or (saved["config"].get("data_dir") if saved else None)
        c["data_dir"] = str(Path(data_dir).expanduser().resolve()) if data_dir else None
        ds = load_dataset(args.dataset, c["data_dir"], download=not args.no_download,
                          image_size=c["image_size"], channels=c["channels"])
        train_x, train_y = ds.train_x[:c["limit_train"]], ds.train_y[:c["limit_train"]]
        test_x, test_y = ds.test_x[:c["limit_test"]], ds.test_y[:c["limit_test"]]
        train_idx, val_idx = stratified_split(train_y, c["val_split"], c["seed"])
        if len(train_idx) == 0:
            raise UsageError(f"no training examples left (--limit-train {c['limit_train']}, "
                             f"--val-split {c['val_split']})")
        mean, std = channel_stats(train_x[train_idx])
        self.classes, self.input_shape = ds.classes, ds.input_shape
        c.update(dataset=args.dataset, dataset_name=ds.name, classes=list(ds.classes),
                 input_shape=list(ds.input_shape), mean=list(mean), std=list(std))
        augment = Augment(c["crop_padding"], bool(c["hflip"]))
        self.train_loader = DataLoader(train_x[train_idx], train_y[train_idx], c["batch_size"], shuffle=True,
                                       seed=c["seed"], mean=mean, std=std, augment=augment)
        eval_batch = max(256, c["batch_size"])
        self.val_loader = (DataLoader(train_x[val_idx], train_y[val_idx], eval_batch, mean=mean, std=std)
                           if len(val_idx) else None)
        self.test_loader = DataLoader(test_x, test_y, eval_batch, mean=mean, std=std)

        mrandom.manual_seed(c["seed"])
        self.model = build_model(c["model"], ds.input_shape, ds.num_classes)
        self.head = last_linear(self.model)
        if c["init_from"] and saved is None:
            apply_init(self.model, load_torch_state(c["init_from"]), c["init_from"], bool(c["freeze_features"]))
        trainable = [(n, p) for n, p in self.model.named_parameters()
                     if not c["freeze_features"] or any(p is q for q in self.head.parameters())]
        self.optimizer = self._optimizer(trainable)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=c["label_smoothing"])
        self.epoch, self.batch, self.step = 0, 0, 0
        self.tally = EpochTally()
        self.history: list[dict[str, Any]] = []
        self.train_seconds, self.train_images = 0.0, 0
        if saved is not None:
            self._restore(saved)
        self.out = Path(args.out) if args.out else (Path(args.resume).parent if args.resume
                                                    else _default_out(ds.name))
        self.checkpoint_path = self.out / CHECKPOINT_NAME
        self.progress = not args.no_progress and sys.stdout.isatty()

    def _optimizer(self, params: list[tuple[str, nn.Parameter]]) -> optim.Optimizer:
        c = self.config
        if c["optimizer"] == "sgd":
            return optim.SGD(params, lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"] or 0.0)
        if c["optimizer"] == "adam":
            return optim.Adam(params, lr=c["lr"], weight_decay=c["weight_decay"] or 0.0)
        return optim.AdamW(params, lr=c["lr"], weight_decay=1e-2 if c["weight_decay"] is None else c["weight_decay"])

    def _restore(self, saved: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(saved["model"])
            self.optimizer.load_state_dict(saved["optimizer"])
        except (KeyError, ValueError) as exc:
            raise UsageError(f"{self.args.resume} does not fit the model {self.config['model']}: {exc}") from exc
        mrandom.set_state(saved["rng"]["minicnn"])
        pos = saved["position"]
        self.epoch, self.batch, self.step = pos["epoch"], pos["batch"], pos["step"]
        self.tally = EpochTally(**saved["tally"])
        self.history = list(saved["history"])
        self.train_seconds, self.train_images = saved["train_seconds"], saved["train_images"]

    # ---- checkpoints ----
    def save(self) -> Path:
        """Write the whole state to ``checkpoint.npz`` atomically."""
        return save_checkpoint(self.checkpoint_path, {
            "format": "minicnn-train", "version": 1, "config": self.config,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "rng": {"minicnn": mrandom.get_state()},
            "loader": {"seed": self.config["seed"], "epoch": self.epoch, "batch": self.batch},
            "position": {"epoch": self.epoch, "batch": self.batch, "step": self.step},
            "tally": asdict(self.tally), "history": self.history,
            "train_seconds": self.train_seconds, "train_images": self.train_images})

    # ---- evaluation ----
    def evaluate(self, loader: DataLoader) -> tuple[float, float, np.ndarray]:
        """(mean loss, accuracy, predictions) of the model in eval mode over ``loader``."""
        self.model.eval()
        loss_sum, preds = 0.0, []
        criterion = nn.CrossEntropyLoss()
        for x, y in loader.batches(0):
            logits = self.model(backend.asarray(x))
            loss_sum += criterion.forward(logits, backend.asarray(y)) * len(y)
            preds.append(backend.to_numpy(logits.argmax(axis=1)))
        self.model.train()
        pred = np.concatenate(preds)
        return loss_sum / len(pred), float(np.mean(pred == loader.labels)), pred

    # ---- training ----
    def _train_mode(self) -> None:
        self.model.train()
        if self.config["freeze_features"]:
            for m in self.model.modules():
                if m is not self.head and not any(True for _ in m.children()):
                    m.eval()

    def _backward(self, dlogits: Any) -> None:
        if self.config["freeze_features"] and isinstance(self.model, nn.Sequential) and self.model[-1] is self.head:
            self.head.backward(dlogits)
        else:
            self.model.backward(dlogits)

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> float:
        """One optimiser step on a batch; returns the batch's mean loss."""
        c = self.config
        self.optimizer.lr = learning_rate(self.step, c["lr"], c["schedule"], c["epochs"] * len(self.train_loader),
                                          len(self.train_loader), c["warmup_epochs"], c["step_size"], c["gamma"])
        logits = self.model(backend.asarray(x))
        targets = backend.asarray(y)
        loss = self.criterion.forward(logits, targets)
        if not math.isfinite(loss):
            raise NonFiniteLoss(loss)
        self.optimizer.zero_grad()
        self._backward(self.criterion.backward())
        self.optimizer.step()
        self.tally.loss_sum += loss * len(y)
        self.tally.correct += int((backend.to_numpy(logits.argmax(axis=1)) == y).sum())
        self.tally.seen += len(y)
        self.step += 1
        return loss

    def train_epoch(self, bar: Any) -> bool:
        """Train the rest of the current epoch; False when stopped by Ctrl-C."""
        self._train_mode()
        tick = time.perf_counter()
        for x, y in self.train_loader.batches(self.epoch, self.batch):
            self.train_batch(x, y)
            self.batch += 1
            now = time.perf_counter()
            self.tally.seconds += now - tick
            tick = now
            bar.update(1)
            t = self.tally
            bar.set_postfix_str(f"loss {t.loss_sum / t.seen:.4f}, acc {t.correct / t.seen:.2%}, "
                                f"{t.seen / max(t.seconds, 1e-9):.0f} img/s", refresh=False)
            if STOP.requested:
                return False
        return True

    def end_epoch(self) -> dict[str, Any]:
        """Validate, record the epoch in the history, advance the position and save a checkpoint."""
        t = self.tally
        record: dict[str, Any] = {
            "epoch": self.epoch + 1, "train_loss": t.loss_sum / max(1, t.seen), "train_acc": t.correct / max(1, t.seen),
            "val_loss": None, "val_acc": None, "lr": self.optimizer.lr, "seconds": t.seconds,
            "images_per_s": t.seen / max(t.seconds, 1e-9)}
        if self.val_loader is not None:
            record["val_loss"], record["val_acc"], _ = self.evaluate(self.val_loader)
        self.train_seconds += t.seconds
        self.train_images += t.seen
        record["elapsed"] = self.train_seconds
        self.history.append(record)
        self.epoch, self.batch, self.tally = self.epoch + 1, 0, EpochTally()
        self.save()
        return record

    def epoch_line(self, r: dict[str, Any]) -> str:
        val = (f"val loss {r['val_loss']:.4f} acc {r['val_acc']:6.2%}" if r["val_loss"] is not None
               else "val -")
        return (f"epoch {r['epoch']:>{len(str(self.config['epochs']))}}/{self.config['epochs']}  "
                f"train loss {r['train_loss']:.4f} acc {r['train_acc']:6.2%}  {val}  lr {r['lr']:.2e}  "
                f"{r['images_per_s']:6.0f} img/s  elapsed {r['elapsed']:.1f}s")


def _default_out(name: str) -> Path:
    base = Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    out, n = base, 2
    while out.exists():
        out, n = base.with_name(f"{base.name}-{n}"), n + 1
    return out


def _say(text: str, progress: bool) -> None:
    if progress:
        from tqdm import tqdm

        tqdm.write(text)
    else:
        print(text, flush=True)


def _run(args: argparse.Namespace) -> int:
    try:
        backend.set_backend(args.backend)
    except backend.BackendUnavailable as exc:
        raise UsageError(str(exc)) from exc
    run = Run(args)
    c = run.config
    run.out.mkdir(parents=True, exist_ok=True)
    with atomic_write(run.out / "config.json") as fh:
        fh.write(json.dumps(c, indent=2).encode())
    n_params = sum(int(np.prod(p.shape)) for p in run.model.parameters())
    val_n = len(run.val_loader.labels) if run.val_loader else 0
    print(f"minicnn: {c['dataset_name']} ({len(run.train_loader.labels):,} train / {val_n:,} val / "
          f"{len(run.test_loader.labels):,} test images, {len(run.classes)} classes, "
          f"{'x'.join(map(str, run.input_shape))}) | {c['model']} ({n_params:,} parameters"
          f"{', features frozen' if c['freeze_features'] else ''}) | {c['optimizer']} lr {c['lr']:g} {c['schedule']} | "
          f"{c['epochs']} epochs x {len(run.train_loader)} batches of {c['batch_size']} | backend {args.backend} | "
          f"out {run.out}" + (f" | resumed at epoch {run.epoch + 1}, batch {run.batch}" if run.saved else ""),
          flush=True)
    from tqdm import tqdm

    with STOP.installed():
        while run.epoch < c["epochs"]:
            bar = tqdm(total=len(run.train_loader), initial=run.batch, desc=f"epoch {run.epoch + 1}/{c['epochs']}",
                       unit="batch", leave=False, disable=not run.progress, dynamic_ncols=True)
            try:
                finished = run.train_epoch(bar)
            except NonFiniteLoss as exc:
                bar.close()
                kept = (f"the last good checkpoint, {run.checkpoint_path} (after epoch {run.history[-1]['epoch']}), "
                        "is kept" if run.history and run.checkpoint_path.is_file()
                        else "no checkpoint was written (no epoch had finished)")
                print(f"error: the training loss became {exc.args[0]} at step {run.step + 1} (epoch {run.epoch + 1}, "
                      f"batch {run.batch + 1}, lr {run.optimizer.lr:.3g}); stopping. Try a smaller --lr. {kept}.",
                      file=sys.stderr)
                return EXIT_NONFINITE
            bar.close()
            if not finished:
                run.save()
                print(f"stopped at epoch {run.epoch + 1}, batch {run.batch}; checkpoint saved to "
                      f"{run.checkpoint_path}. Continue with: python -m minicnn.train {args.dataset} "
                      f"--resume {run.checkpoint_path}", file=sys.stderr, flush=True)
                return EXIT_INTERRUPTED
            _say(run.epoch_line(run.end_epoch()), run.progress)
            if STOP.requested:
                print(f"stopped after epoch {run.epoch}; checkpoint saved to {run.checkpoint_path}. Continue with: "
                      f"python -m minicnn.train {args.dataset} --resume {run.checkpoint_path}",
                      file=sys.stderr, flush=True)
                return EXIT_INTERRUPTED
    _finish(run, args)
    return 0


def _finish(run: Run, args: argparse.Namespace) -> None:
    """Test evaluation, the per-class table, metrics.json, the two plots and the summary line."""
    c = run.config
    test_loss, test_acc, pred = run.evaluate(run.test_loader)
    m = classification_metrics(run.test_loader.labels, pred, run.classes)
    print(f"\ntest: loss {test_loss:.4f}, accuracy {test_acc:.2%} on {len(pred):,} images\n")
    print(format_metrics_table(m))
    images_per_s = run.train_images / max(run.train_seconds, 1e-9)
    metrics = {
        "test_accuracy": test_acc, "test_loss": test_loss, "epochs": len(run.history),
        "train_images_per_s": images_per_s, "per_class": m["per_class"], "confusion_matrix": m["confusion_matrix"],
        "macro_f1": m["macro_f1"], "classes": run.classes, "dataset": c["dataset_name"], "model": c["model"],
        "backend": args.backend, "seed": c["seed"], "train_seconds": run.train_seconds,
        "history": run.history, "config": c, "checkpoint": str(run.checkpoint_path)}
    with atomic_write(run.out / "metrics.json") as fh:
        fh.write(json.dumps(metrics, indent=2).encode())
    plot_curves(run.history, run.out / "curves.png")
    plot_confusion(np.asarray(m["confusion_matrix"]), run.classes, run.out / "confusion.png",
                   f"{c['dataset_name']} {c['model']}: test accuracy {test_acc:.2%}")
    print(f"\n{c['dataset_name']} {c['model']}: test accuracy {test_acc:.2%} (loss {test_loss:.4f}, macro F1 "
          f"{m['macro_f1']:.3f}) after {len(run.history)} epochs, {run.train_seconds:.1f}s of training at "
          f"{images_per_s:.0f} images/s on {args.backend}; metrics, plots and checkpoint in {run.out}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the training CLI; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (DatasetError, UsageError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("aborted by Ctrl-C; checkpoints written so far are kept", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
