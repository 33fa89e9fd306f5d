"""``python -m minicnn.train DATASET``: train a zoo model, evaluate it, write metrics, plots and checkpoints.

DATASET is ``fashion_mnist``, ``mnist``, ``cifar10`` or the path of an image folder
(``root/train/<class>/<image>``, ``root/test/...`` or ``root/val/...``). Every option
has a per-dataset default chosen for accuracy per second on a 2-core CPU
(:data:`RECIPES`), so ``python -m minicnn.train fashion_mnist`` is a complete run.

This module is the command line: recipes, options, their checks, the epoch loop's messages
and exit statuses, and the final report. The run itself (data, model, optimiser, one batch,
one epoch, checkpoints) is ``minicnn.trainer``; the learning rate ``minicnn.schedules``; the
test metrics ``minicnn.metrics``; the pictures ``minicnn.plots``; ``--init-from``
``minicnn.transfer``.

Output folder ``--out`` (default ``runs/<dataset>-<date>-<time>``; a folder holding another
run's checkpoint is refused rather than overwritten):

* ``config.json``: every setting of the run.
* ``checkpoint.npz``: written atomically after every epoch and on Ctrl-C: model and
  optimiser state, position (epoch, batch, step), the RNG state, config and history.
  ``--resume`` continues from it and ends with exactly the weights an uninterrupted
  run with the same seed would have.
* ``metrics.json`` (test accuracy and loss, per-class precision/recall/F1, macro F1,
  confusion matrix, history), ``curves.png`` and ``confusion.png``.

Exit status: 0 done; 1 the loss became non-finite (the last good checkpoint is kept);
2 a problem with an option, the environment, the data, a checkpoint, memory or the output
folder (one message, no traceback; when a checkpoint cannot be written or memory runs out
during training, the last good checkpoint is kept); 130 interrupted with Ctrl-C after
saving a checkpoint.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from . import backend
from .checkpoint import CheckpointError
from .data import DatasetError
from .data.download import atomic_write
from .metrics import classification_metrics, format_metrics_table
from .models import MODELS, count_parameters
from .plots import plot_confusion, plot_curves
from .schedules import SCHEDULES
from .trainer import (CHECKPOINT_NAME, NUMBERS, NonFiniteLoss, NonFiniteWeights, Resume, Run, StopFlag, UsageError,
                      select_backend, setting_error)
from .transfer import TransferError

__all__ = ["Recipe", "RECIPES", "main"]

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
SETTINGS = tuple(f.name for f in fields(Recipe))
#: minicnn's own files in ``--out``; partial files a killed write left of them are removed on the next run.
OUTPUTS = (CHECKPOINT_NAME, "config.json", "metrics.json")


def _number(name: str) -> Callable[[str], int | float]:
    """The argparse type of the option for setting ``name``: parsed, then checked against :data:`NUMBERS`,
    so a bad value exits with status 2 naming the option before anything runs."""
    kind = NUMBERS[name][0]

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        problem = setting_error(name, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


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
    g.add_argument("--epochs", type=_number("epochs"),
                   help="epochs to train (default 5; 2 for mnist, 10 for cifar10 and folders)")
    g.add_argument("--batch-size", type=_number("batch_size"), help="training batch size (default 64)")
    g.add_argument("--lr", type=_number("lr"), help="peak learning rate (default 3e-3)")
    g.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), help="default adam (adamw for cifar10)")
    g.add_argument("--momentum", type=_number("momentum"), help="SGD momentum (default 0.9)")
    g.add_argument("--weight-decay", type=_number("weight_decay"),
                   help="weight decay (default: the optimiser's, 0 for sgd and adam, "
                        "1e-2 for adamw; 5e-4 for cifar10)")
    g.add_argument("--schedule", choices=SCHEDULES, help="lr schedule (default onecycle)")
    g.add_argument("--warmup-epochs", type=_number("warmup_epochs"),
                   help="linear warm-up length in epochs (default 0; onecycle: "
                        "its rising phase, 30%% of training when 0)")
    g.add_argument("--step-size", type=_number("step_size"), help="step schedule: epochs between decays (default 2)")
    g.add_argument("--gamma", type=_number("gamma"), help="step schedule: decay factor (default 0.1)")
    g.add_argument("--label-smoothing", type=_number("label_smoothing"),
                   help="cross-entropy label smoothing (default 0)")
    g.add_argument("--freeze-features", action="store_true", default=None,
                   help="train only the last Linear layer (the rest stays fixed, in eval mode)")
    g.add_argument("--init-from", metavar="FILE.pt",
                   help="initial weights from a PyTorch state_dict saved with torch.save(model.state_dict(), FILE) "
                        "(read as tensors only: a file holding code is refused)")
    d = p.add_argument_group("data")
    d.add_argument("--data-dir", help="folder holding <dataset>/ (default $MINICNN_DATA, else ~/.cache/minicnn)")
    d.add_argument("--no-download", action="store_true", help="never download missing files")
    d.add_argument("--val-split", type=_number("val_split"), help="fraction of the training set held out (default 0.1)")
    d.add_argument("--limit-train", type=_number("limit_train"), help="use only the first N training examples")
    d.add_argument("--limit-test", type=_number("limit_test"), help="use only the first N test examples")
    d.add_argument("--crop-padding", type=_number("crop_padding"),
                   help="augmentation: random crop after zero padding by N pixels "
                        "(default 0; 4 for cifar10 and folders)")
    d.add_argument("--hflip", action=argparse.BooleanOptionalAction, default=None,
                   help="augmentation: random horizontal flips (default on for cifar10 and folders)")
    d.add_argument("--image-size", type=_number("image_size"), help="image folders: resize to N x N (default 32)")
    d.add_argument("--channels", type=int, choices=(1, 3), help="image folders: 1 grayscale, 3 RGB (default 3)")
    r = p.add_argument_group("run")
    r.add_argument("--backend", choices=backend.BACKENDS, help="array backend (default $MINICNN_BACKEND, else numba)")
    r.add_argument("--seed", type=_number("seed"),
                   help="seed for weights, data order, augmentation, dropout (default 0)")
    r.add_argument("--out", help="output folder (default runs/<dataset>-<date>-<time>)")
    r.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT")
    r.add_argument("--no-progress", action="store_true",
                   help="no progress bar (also off when stderr, where it is drawn, is not a terminal)")
    return p


def _resolve_config(args: argparse.Namespace, resume: Resume | None) -> dict[str, Any]:
    """Every setting: given on the command line, else from the resumed checkpoint, else the recipe;
    plus ``dataset`` and ``data_dir`` (absolute, or None for the default data folder)."""
    given = {k: getattr(args, k) for k in SETTINGS if getattr(args, k) is not None}
    if resume is None:
        config = {**asdict(RECIPES.get(args.dataset, RECIPES["folder"])), **given}
        data_dir = args.data_dir
    else:
        saved = resume.state["config"]
        conflicts = [f"--{k.replace('_', '-')} {v} (the checkpoint has {saved[k]})" for k, v in given.items()
                     if k != "epochs" and v != saved[k]]
        if conflicts:
            raise UsageError("--resume continues a run with its own settings; these options differ: "
                             + ", ".join(conflicts) + ". Leave them out (only --epochs may change).")
        config = {**{k: saved[k] for k in SETTINGS}, **given}
        done = resume.state["position"]["epoch"]
        if config["epochs"] < done:
            raise UsageError(f"--epochs {config['epochs']} is fewer than the {done} epochs {resume.path} has "
                             "already trained")
        data_dir = args.data_dir or saved["data_dir"]
    if config["warmup_epochs"] > config["epochs"]:
        raise UsageError(f"--warmup-epochs {config['warmup_epochs']} is longer than the run "
                         f"(--epochs {config['epochs']})")
    config.update(dataset=args.dataset, data_dir=str(Path(data_dir).expanduser().resolve()) if data_dir else None)
    return config


def _output_folder(args: argparse.Namespace, resume: Resume | None) -> Path | None:
    """``--out``, else the resumed checkpoint's folder, else None (a new folder under runs/).

    Refuses a folder holding another run's checkpoint, which the first epoch would overwrite.
    """
    out = Path(args.out) if args.out else (resume.path.parent if resume else None)
    if out is not None and (out / CHECKPOINT_NAME).exists():
        existing = (out / CHECKPOINT_NAME).resolve()
        if resume is None or existing != resume.path.resolve():
            raise UsageError(f"{out} already holds {CHECKPOINT_NAME} from another run; continue that run with "
                             f"--resume {out / CHECKPOINT_NAME}, or choose another --out (nothing was overwritten)")
    return out


def _describe(run: Run, resumed: bool) -> str:
    """The opening line: data, model, optimiser, length, backend, output folder."""
    c = run.config
    val_n = len(run.val_loader.labels) if run.val_loader else 0
    return (f"minicnn: {c['dataset_name']} ({len(run.train_loader.labels):,} train / {val_n:,} val / "
            f"{len(run.test_loader.labels):,} test images, {len(run.classes)} classes, "
            f"{'x'.join(map(str, run.input_shape))}) | {c['model']} ({count_parameters(run.model):,} parameters"
            f"{', features frozen' if c['freeze_features'] else ''}) | "
            f"{c['optimizer']} lr {c['lr']:g} {c['schedule']} | "
            f"{c['epochs']} epochs x {len(run.train_loader)} batches of {c['batch_size']} | "
            f"backend {backend.get_backend()} | out {run.out}"
            + (f" | resumed at epoch {run.epoch + 1}, batch {run.batch}" if resumed else ""))


def _kept(run: Run) -> str:
    """Which checkpoint holds the last good state of a run that has to stop."""
    if run.last_checkpoint is None:
        return "no checkpoint was written (no epoch had finished)"
    path, epoch, batch = run.last_checkpoint
    where = f"after epoch {epoch}" if batch == 0 else f"at epoch {epoch + 1}, batch {batch}"
    return f"the last good checkpoint, {path} ({where}), is kept"


def _stop_message(run: Run, exc: Exception) -> str:
    """What went wrong where, what to try, and which checkpoint holds the last good state."""
    if isinstance(exc, NonFiniteWeights):
        what = (f"the loss stayed finite but parameter {exc.args[0]} became NaN or infinite by step {run.step} "
                f"(lr {run.optimizer.lr:.3g}), so no checkpoint was written for it; stopping. Try a smaller --lr")
    elif isinstance(exc, NonFiniteLoss):
        what = (f"the training loss became {exc.args[0]} at step {run.step + 1} (epoch {run.epoch + 1}, "
                f"batch {run.batch + 1}, lr {run.optimizer.lr:.3g}); stopping. Try a smaller --lr")
    elif isinstance(exc, MemoryError):
        what = (f"out of memory at epoch {run.epoch + 1}, batch {run.batch + 1}; try a smaller --batch-size "
                "(or --image-size)")
    else:
        what = f"cannot write the checkpoint {run.checkpoint_path} ({getattr(exc, 'strerror', None) or exc})"
    return f"error: {what}; {_kept(run)}."


def _train_epochs(run: Run, dataset: str, progress: bool) -> int:
    """Train the remaining epochs: 0 when all are done, else the exit status of the stop."""
    from tqdm import tqdm

    c = run.config
    stop = StopFlag()
    with stop.installed():
        while run.epoch < c["epochs"]:
            try:
                with tqdm(total=len(run.train_loader), initial=run.batch, desc=f"epoch {run.epoch + 1}/{c['epochs']}",
                          unit="batch", leave=False, disable=not progress, dynamic_ncols=True) as bar:
                    finished = run.train_epoch(bar, stop)
                if finished:
                    print(run.epoch_line(run.end_epoch()), flush=True)   # the bar is closed by now
                else:
                    run.save()
            except (NonFiniteLoss, OSError, MemoryError) as exc:
                print(_stop_message(run, exc), file=sys.stderr)
                return EXIT_NONFINITE if isinstance(exc, NonFiniteLoss) else EXIT_USAGE
            if stop.requested:
                where = f"after epoch {run.epoch}" if finished else f"at epoch {run.epoch + 1}, batch {run.batch}"
                print(f"stopped {where}; checkpoint saved to {run.checkpoint_path}. Continue with: "
                      f"python -m minicnn.train {dataset} --resume {run.checkpoint_path}", file=sys.stderr, flush=True)
                return EXIT_INTERRUPTED
    return 0


@contextmanager
def _writing(out: Path) -> Iterator[None]:
    """An OSError in the block (a read-only or full disk, a file in the way) as one UsageError naming ``out``."""
    try:
        yield
    except OSError as exc:
        raise UsageError(f"cannot write to the output folder {out} ({exc.strerror or exc}"
                         f"{f': {exc.filename}' if exc.filename else ''})") from exc


def _prepare_out(run: Run) -> None:
    """Create the output folder, remove partial files that a killed write left there, write config.json."""
    with _writing(run.out):
        run.out.mkdir(parents=True, exist_ok=True)
        for part in (p for name in OUTPUTS for p in run.out.glob(f".{name}.*.part")):
            part.unlink()
        with atomic_write(run.out / "config.json") as fh:
            fh.write(json.dumps(run.config, indent=2).encode())


def _finish(run: Run) -> None:
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
        "backend": backend.get_backend(), "seed": c["seed"], "train_seconds": run.train_seconds,
        "history": run.history, "config": c, "checkpoint": str(run.checkpoint_path)}
    with _writing(run.out):
        with atomic_write(run.out / "metrics.json") as fh:
            fh.write(json.dumps(metrics, indent=2).encode())
        plot_curves(run.history, run.out / "curves.png")
        plot_confusion(np.asarray(m["confusion_matrix"]), run.classes, run.out / "confusion.png",
                       f"{c['dataset_name']} {c['model']}: test accuracy {test_acc:.2%}")
    print(f"\n{c['dataset_name']} {c['model']}: test accuracy {test_acc:.2%} (loss {test_loss:.4f}, macro F1 "
          f"{m['macro_f1']:.3f}) after {len(run.history)} epochs, {run.train_seconds:.1f}s of training at "
          f"{images_per_s:.0f} images/s on {backend.get_backend()}; metrics, plots and checkpoint in {run.out}")


def _run(args: argparse.Namespace) -> int:
    select_backend(args.backend, "numba")
    resume = Resume.load(args.resume, args.dataset) if args.resume else None
    config = _resolve_config(args, resume)
    run = Run(config, resume, out=_output_folder(args, resume), download=not args.no_download)
    _prepare_out(run)
    progress = not args.no_progress and sys.stderr.isatty()
    print(_describe(run, resume is not None), flush=True)
    for note in run.notes:
        print(note, flush=True)
    status = _train_epochs(run, args.dataset, progress)
    if status == 0:
        _finish(run)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the training CLI; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (DatasetError, UsageError, CheckpointError, TransferError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("error: out of memory; try a smaller --batch-size or --image-size", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("aborted by Ctrl-C; checkpoints written so far are kept", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
