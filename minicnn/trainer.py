"""One training run of ``python -m minicnn.train``: data, model, optimiser, position and history,
with the steps of the training loop, evaluation and checkpoints.

A run's position is ``(epoch, batch, step)``: ``batch`` batches of epoch ``epoch`` (0-based)
are done, and ``step`` optimiser steps in all. Everything that varies from step to step is a
function of saved state: the data order and augmentation of ``(seed, epoch, batch)``
(``minicnn.data.loader``), the learning rate of ``step`` (``minicnn.schedules``), and the
dropout masks of the generator of ``minicnn.random``, whose state the checkpoint carries. So
a run restored from a checkpoint makes exactly the updates the uninterrupted run would have made.
"""
from __future__ import annotations

import math
import os
import reprlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import backend, nn, optim
from . import random as mrandom
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import DATASETS, Augment, DataLoader, channel_stats, load_dataset, stratified_split
from .models import MODELS, build_model, classifier_head, head_is_last
from .schedules import SCHEDULES, learning_rate
from .transfer import apply_init, load_torch_state

__all__ = ["CHECKPOINT_NAME", "CHECKPOINT_FORMAT", "NUMBERS", "UsageError", "NonFiniteLoss", "NonFiniteWeights",
           "StopFlag", "EpochTally", "setting_error", "select_backend", "load_run_checkpoint", "Resume", "default_out",
           "Run"]

CHECKPOINT_NAME = "checkpoint.npz"
CHECKPOINT_FORMAT = "minicnn-train"
#: Settings derived from the data; a resumed run must find the same values again.
DATA_KEYS = ("classes", "input_shape", "mean", "std")
#: Every numeric setting: (type, test, rule). The command line checks each option against it as it is
#: parsed, and a checkpoint's config is checked against it when loaded. Integers must also lie below 2**63
#: and floats be finite: ``--lr inf`` would only surface as a NaN loss, ``--seed -1`` as NumPy's traceback.
NUMBERS: dict[str, tuple[type, Callable[[Any], bool], str]] = {
    "epochs": (int, lambda v: v >= 1, ">= 1"), "batch_size": (int, lambda v: v >= 1, ">= 1"),
    "lr": (float, lambda v: v > 0, "> 0"), "momentum": (float, lambda v: 0 <= v < 1, "in [0, 1)"),
    "weight_decay": (float, lambda v: v >= 0, ">= 0"), "warmup_epochs": (float, lambda v: v >= 0, ">= 0"),
    "step_size": (int, lambda v: v >= 1, ">= 1"), "gamma": (float, lambda v: 0 < v <= 1, "in (0, 1]"),
    "label_smoothing": (float, lambda v: 0 <= v <= 1, "in [0, 1]"),
    "val_split": (float, lambda v: 0 <= v < 1, "in [0, 1)"), "seed": (int, lambda v: v >= 0, ">= 0"),
    "limit_train": (int, lambda v: v >= 1, ">= 1"), "limit_test": (int, lambda v: v >= 1, ">= 1"),
    "crop_padding": (int, lambda v: v >= 0, ">= 0"), "image_size": (int, lambda v: v >= 4, ">= 4"),
}
#: Settings whose value may be None: the optimiser's own default, or no limit.
OPTIONAL = ("weight_decay", "limit_train", "limit_test")
#: The fields of an epoch's record in the history (``val_*`` are None without a validation split).
RECORD_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds", "images_per_s", "elapsed")


class UsageError(Exception):
    """A problem with the command line, a checkpoint or the data of a run: one message, exit status 2."""


class _Damaged(Exception):
    """One violation of the training checkpoint's schema (the message says where and what)."""


class NonFiniteLoss(Exception):
    """The training loss became NaN or infinite (``args[0]`` is the loss)."""


class NonFiniteWeights(NonFiniteLoss):
    """A finite loss, but the step left a parameter NaN or infinite (``args[0]`` is its name).

    Found when a checkpoint is about to be written, which is then not written, so the
    last good checkpoint stays.
    """


class StopFlag:
    """Set by the first Ctrl-C; the training loop checks it after every batch. A second Ctrl-C aborts."""

    def __init__(self) -> None:
        self.requested = False

    def handler(self, signum: int, frame: Any) -> None:
        """The SIGINT handler: ask for a stop, or raise KeyboardInterrupt when one was already asked for."""
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


@dataclass
class EpochTally:
    """Running sums of one epoch's training batches."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0


def setting_error(name: str, value: Any) -> str | None:
    """Why ``value`` is not a valid setting ``name`` (a key of :data:`NUMBERS`), or None when it is."""
    kind, test, rule = NUMBERS[name]
    if type(value) not in ((int,) if kind is int else (int, float)):
        return f"must be {'an integer' if kind is int else 'a number'} {rule}, got {value!r}"
    if not (abs(value) < 2 ** 63 if kind is int else math.isfinite(value)) or not test(value):
        return f"must be {rule}{'' if kind is int else ' and finite'}, got {value!r}"
    return None


def select_backend(option: str | None, default: str) -> None:
    """Switch to ``--backend``, else ``$MINICNN_BACKEND``, else ``default``; :class:`UsageError` naming
    where an unknown or unusable name came from."""
    env = os.environ.get("MINICNN_BACKEND")
    name = option or env or default
    try:
        backend.set_backend(name)
    except (ValueError, backend.BackendUnavailable) as exc:
        raise UsageError(f"MINICNN_BACKEND={env}: {exc}" if name == env and not option else str(exc)) from exc


Rule = tuple[Callable[[Any], bool], str]
_FLOAT_MAX = sys.float_info.max
_COUNT: Rule = (lambda v: type(v) is int and 0 <= v < 2 ** 63, "an integer >= 0")
_AMOUNT: Rule = (lambda v: type(v) in (int, float) and 0 <= v <= _FLOAT_MAX, "a finite number >= 0")
_REAL: Rule = (lambda v: type(v) in (int, float) and abs(v) <= _FLOAT_MAX, "a finite number")
_REAL_OR_NONE: Rule = (lambda v: v is None or _REAL[0](v), "a finite number or null")
_RECORD: Rule = (lambda v: isinstance(v, dict) and all(k in v for k in RECORD_KEYS),
                 f"a dict of {', '.join(RECORD_KEYS)}")
_POSITIVE: Rule = (lambda v: type(v) in (int, float) and 0 < v <= _FLOAT_MAX, "a finite number > 0")
_TEXT: Rule = (lambda v: isinstance(v, str), "a string")
_TEXT_OR_NONE: Rule = (lambda v: v is None or isinstance(v, str), "a string or null")
_FLAG: Rule = (lambda v: isinstance(v, bool), "true or false")
_DICT: Rule = (lambda v: isinstance(v, dict), "a dict")
_LIST: Rule = (lambda v: isinstance(v, list), "a list")
_ARRAY: Rule = (lambda v: isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and bool(np.isfinite(v).all()),
                "a numeric array with finite values")


def _one_of(options: Any) -> Rule:
    return (lambda v: isinstance(v, str) and v in options, f"one of {', '.join(options)}")


#: The training checkpoint's fields beyond the numeric settings (``config.<NUMBERS key>``).
SCHEMA: tuple[tuple[str, Rule], ...] = (
    ("version", (lambda v: v == 1 and type(v) is int, "1")), ("config.dataset", _TEXT),
    ("config.data_dir", _TEXT_OR_NONE), ("config.dataset_name", _TEXT), ("config.model", _one_of(MODELS)),
    ("config.optimizer", _one_of(("sgd", "adam", "adamw"))), ("config.schedule", _one_of(SCHEDULES)),
    ("config.hflip", _FLAG), ("config.freeze_features", _FLAG), ("config.init_from", _TEXT_OR_NONE),
    ("config.channels", (lambda v: type(v) is int and v in (1, 3), "1 or 3")),
    ("config.classes", (lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v) and len(set(v)) == len(v)
                        >= 2, "a list of at least 2 distinct strings")),
    ("config.input_shape", (lambda v: isinstance(v, list) and len(v) == 3 and all(_COUNT[0](s) and s > 0 for s in v),
                            "a list of 3 positive integers")),
    ("config.mean", _LIST), ("config.std", _LIST), ("model", _DICT), ("optimizer", _DICT),
    ("optimizer.state", _DICT), ("rng.minicnn", _DICT), ("position.epoch", _COUNT), ("position.batch", _COUNT),
    ("position.step", _COUNT), ("tally.loss_sum", _AMOUNT), ("tally.correct", _COUNT), ("tally.seen", _COUNT),
    ("tally.seconds", _AMOUNT), ("history", _LIST), ("train_seconds", _AMOUNT), ("train_images", _COUNT),
)


def _field(tree: Any, dotted: str) -> Any:
    """The value at ``dotted`` (such as ``"config.lr"``) of a tree of dicts."""
    parts = dotted.split(".")
    for depth, key in enumerate(parts):
        if not isinstance(tree, dict):
            raise _Damaged(f"{'.'.join(parts[:depth])} must be a dict, got {reprlib.repr(tree)}")
        if key not in tree:
            raise _Damaged(f"{'.'.join(parts[:depth + 1])} is missing")
        tree = tree[key]
    return tree


def _check(where: str, value: Any, rule: Rule) -> None:
    if not rule[0](value):
        raise _Damaged(f"{where} must be {rule[1]}, got {reprlib.repr(value)}")


def _check_schema(state: dict[str, Any]) -> None:
    """:class:`_Damaged` for the first field of a training checkpoint that is missing, of the wrong
    type or out of range, so that nothing later meets a KeyError, a NaN weight or an impossible position."""
    for dotted, rule in SCHEMA:
        _check(dotted, _field(state, dotted), rule)
    for name in NUMBERS:
        value = _field(state, f"config.{name}")
        problem = None if value is None and name in OPTIONAL else setting_error(name, value)
        if problem:
            raise _Damaged(f"config.{name} {problem}")
    c, pos = state["config"], state["position"]
    spec = DATASETS.get(c["dataset"])
    shape = list(spec.image_shape) if spec else [c["channels"], c["image_size"], c["image_size"]]
    if c["input_shape"] != shape:
        raise _Damaged(f"config.input_shape {c['input_shape']} is not the shape of the data's images, {shape}")
    for key, rule in (("mean", _REAL), ("std", _POSITIVE)):
        if len(c[key]) != shape[0]:
            raise _Damaged(f"config.{key} must hold {shape[0]} values, one per channel, got {reprlib.repr(c[key])}")
        for i, v in enumerate(c[key]):
            _check(f"config.{key}[{i}]", v, rule)
    for key, array in state["model"].items():
        _check(f"model.{key}", array, _ARRAY)
    if pos["epoch"] > c["epochs"] or len(state["history"]) != pos["epoch"]:
        raise _Damaged(f"position.epoch {pos['epoch']} must be at most config.epochs ({c['epochs']}) and the "
                       f"number of epochs in the history ({len(state['history'])})")
    if state["tally"]["correct"] > state["tally"]["seen"]:
        raise _Damaged("tally.correct is larger than tally.seen")
    for i, record in enumerate(state["history"]):
        _check(f"history[{i}]", record, _RECORD)
        for key in RECORD_KEYS:
            _check(f"history[{i}].{key}", record[key], _REAL_OR_NONE if key.startswith("val_") else _REAL)


def load_run_checkpoint(path: str | Path) -> dict[str, Any]:
    """The state in a checkpoint written by a training run, its schema checked (types, ranges, and that
    its parts agree); :class:`CheckpointError` for any other file, and "damaged checkpoint: <what>" for
    a file that breaks the schema."""
    state = load_checkpoint(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a checkpoint written by minicnn.train")
    try:
        _check_schema(state)
    except _Damaged as exc:
        raise CheckpointError(f"damaged checkpoint: {exc} ({path})") from None
    return state


@dataclass(frozen=True)
class Resume:
    """A checkpoint to continue from: its path and its state."""

    path: Path
    state: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path, dataset: str) -> Resume:
        """Read ``path``; :class:`UsageError` when it was trained on another dataset than ``dataset``."""
        state = load_run_checkpoint(path)
        if state["config"]["dataset"] != dataset:
            raise UsageError(f"{path} was trained on {state['config']['dataset']!r}, not {dataset!r}")
        return cls(Path(path), state)


def default_out(name: str) -> Path:
    """``runs/<name>-<date>-<time>``, with ``-2``, ``-3``, ... appended when that folder exists."""
    base = Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    out, n = base, 2
    while out.exists():
        out, n = base.with_name(f"{base.name}-{n}"), n + 1
    return out


class Run:
    """One training run: data, model, optimiser, position and history, and the steps of the loop.

    ``config`` holds every setting (the fields of ``minicnn.train.Recipe`` plus ``dataset`` and
    ``data_dir``); the run adds what it reads from the data (``dataset_name``, ``classes``,
    ``input_shape`` and the training images' per-channel ``mean`` and ``std``). With ``resume``
    the model, optimiser, random state, position and history come from its checkpoint.
    Output goes to ``out`` (default :func:`default_out` of the dataset's name).
    """

    def __init__(self, config: dict[str, Any], resume: Resume | None = None, *, out: Path | None = None,
                 download: bool = True) -> None:
        self.config = config
        self._load_data(download)
        if resume is not None:
            self._check_same_data(resume)
        self._build_model(init=resume is None)
        #: Lines for the log about choices the run made for the user (said once, at the start).
        self.notes: list[str] = []
        self._fit_batch_norm()
        trained = {id(p) for p in (self.head if config["freeze_features"] else self.model).parameters()}
        self.optimizer = self._optimizer([(n, p) for n, p in self.model.named_parameters() if id(p) in trained])
        self.criterion = nn.CrossEntropyLoss(label_smoothing=config["label_smoothing"])
        self.epoch, self.batch, self.step = 0, 0, 0
        self.tally = EpochTally()
        self.history: list[dict[str, Any]] = []
        self.train_seconds, self.train_images = 0.0, 0
        #: ``(path, epoch, batch)`` of the latest checkpoint written or resumed from; None before the first.
        self.last_checkpoint: tuple[Path, int, int] | None = None
        if resume is not None:
            self._restore(resume)
        self.out = out if out is not None else default_out(config["dataset_name"])
        self.checkpoint_path = self.out / CHECKPOINT_NAME

    # ---- set-up ----
    def _load_data(self, download: bool) -> None:
        """The train/validation/test loaders, and the data's settings in the config."""
        c = self.config
        ds = load_dataset(c["dataset"], c["data_dir"], download=download, image_size=c["image_size"],
                          channels=c["channels"])
        train_x, train_y = ds.train_x[:c["limit_train"]], ds.train_y[:c["limit_train"]]
        test_x, test_y = ds.test_x[:c["limit_test"]], ds.test_y[:c["limit_test"]]
        train_idx, val_idx = stratified_split(train_y, c["val_split"], c["seed"])
        if len(train_idx) == 0:
            raise UsageError(f"no training examples left (--limit-train {c['limit_train']}, "
                             f"--val-split {c['val_split']})")
        if len(test_y) == 0:
            raise UsageError(f"the test split of {ds.name} holds no examples")
        h, w = ds.input_shape[1:]
        if c["crop_padding"] >= min(h, w):
            raise UsageError(f"--crop-padding {c['crop_padding']} must be smaller than the {h}x{w} images")
        mean, std = channel_stats(train_x[train_idx])
        self.classes, self.input_shape = list(ds.classes), ds.input_shape
        c.update(dataset_name=ds.name, classes=self.classes, input_shape=list(ds.input_shape), mean=list(mean),
                 std=list(std))
        self.train_loader = DataLoader(train_x[train_idx], train_y[train_idx], c["batch_size"], shuffle=True,
                                       seed=c["seed"], mean=mean, std=std,
                                       augment=Augment(c["crop_padding"], bool(c["hflip"])))
        eval_batch = max(256, c["batch_size"])
        self.val_loader = (DataLoader(train_x[val_idx], train_y[val_idx], eval_batch, mean=mean, std=std)
                           if len(val_idx) else None)
        self.test_loader = DataLoader(test_x, test_y, eval_batch, mean=mean, std=std)

    def _build_model(self, init: bool) -> None:
        """The model from ``--seed`` (and ``--init-from`` when ``init``), and its head, the last Linear."""
        c = self.config
        mrandom.manual_seed(c["seed"])
        try:
            self.model = build_model(c["model"], self.input_shape, len(self.classes))
        except ValueError as exc:                       # e.g. images too small for the model
            raise UsageError(f"--model {c['model']}: {exc}") from exc
        found = classifier_head(self.model)
        self.head = found[1] if found else None
        if c["freeze_features"] and self.head is None:
            raise UsageError(f"--freeze-features trains a Linear classifier head, and --model {c['model']} has none "
                             "(its classifier is a convolution); train it whole instead")
        first = self.model.input_layer()
        if hasattr(first, "input_grad"):
            first.input_grad = False                    # its input is data: no gradient to compute
        if init and c["init_from"]:
            apply_init(self.model, load_torch_state(c["init_from"]), c["init_from"], bool(c["freeze_features"]))

    def _fit_batch_norm(self) -> None:
        """Batch norm cannot normalise a single training image: refuse batches of one, and let a last
        batch of one image join the batch before it (said once in :attr:`notes`)."""
        if not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in self.model.modules()):
            return
        n, size = len(self.train_loader.labels), self.config["batch_size"]
        if min(n, size) < 2:
            raise UsageError(f"--model {self.config['model']} has batch norm, which needs at least 2 images per "
                             f"batch; got --batch-size {size} and {n} training image(s)")
        self.train_loader.merge_single = True
        if n % size == 1:
            self.notes.append(f"note: the last batch of every epoch would hold a single image, which batch norm "
                              f"cannot normalise; it joins the batch before it ({size + 1} images)")

    def _check_same_data(self, resume: Resume) -> None:
        """:class:`UsageError` unless the data gives the classes, shape and statistics the checkpoint has."""
        saved = resume.state["config"]
        changed = [key for key in DATA_KEYS if saved.get(key) != self.config[key]]
        if changed:
            raise UsageError(f"the {self.config['dataset_name']} data found now is not the data {resume.path} was "
                             f"trained on (its {', '.join(changed)} differ), so the run cannot continue exactly; "
                             "point --data-dir at the original files")

    def _optimizer(self, params: list[tuple[str, nn.Parameter]]) -> optim.Optimizer:
        """The configured optimiser; weight decay None keeps the optimiser's own default."""
        c = self.config
        decay = {} if c["weight_decay"] is None else {"weight_decay": c["weight_decay"]}
        if c["optimizer"] == "sgd":
            return optim.SGD(params, lr=c["lr"], momentum=c["momentum"], **decay)
        if c["optimizer"] == "adam":
            return optim.Adam(params, lr=c["lr"], **decay)
        return optim.AdamW(params, lr=c["lr"], **decay)

    def _check_optimizer_state(self, saved: dict[str, Any], step: int) -> None:
        """ValueError unless ``saved`` has this run's hyper-parameters (the lr aside: the schedule sets it
        before every step) and, after the first step, every parameter's state holds exactly the fields a
        step of this optimiser makes (counts as ints, moments as finite arrays)."""
        probe = self._optimizer([("p", nn.Parameter(backend.xp().zeros(1, np.float32)))])
        probe.step()
        want = {k: v for k, v in probe.hyperparams().items() if k != "lr"}
        hyper = saved.get("hyperparams")
        if not isinstance(hyper, dict) or {k: v for k, v in hyper.items() if k != "lr"} != want \
                or not _AMOUNT[0](hyper.get("lr")):
            raise ValueError(f"hyperparams {reprlib.repr(hyper)} are not the run's {want}")
        arrays = {name: hasattr(v, "shape") for name, v in probe.state["p"].items()} if step else {}
        for key, fields in saved["state"].items():
            if not isinstance(fields, dict) or set(fields) != set(arrays) or not all(
                    (_ARRAY if arrays[n] else _COUNT)[0](v) for n, v in fields.items()):
                raise ValueError(f"state.{key} must hold {sorted(arrays) or 'nothing'} "
                                 f"after {step} steps, got {reprlib.repr(fields)}")

    def _restore(self, resume: Resume) -> None:
        """Model, optimiser, random state, position and history from ``resume``; a checkpoint whose parts
        do not fit this run (shapes, optimiser fields, a position past the epoch's end) is damaged."""
        saved, pos, steps = resume.state, resume.state["position"], len(self.train_loader)
        part = "position"
        try:
            if pos["batch"] > steps or pos["step"] != pos["epoch"] * steps + pos["batch"]:
                raise ValueError(f"{pos} is not a position of a run of {steps} batches per epoch")
            part = "model"
            self.model.load_state_dict(saved["model"])
            part = "optimizer"
            self._check_optimizer_state(saved["optimizer"], pos["step"])
            self.optimizer.load_state_dict(saved["optimizer"])
            part = "rng.minicnn"
            mrandom.set_state(saved["rng"]["minicnn"])
        except (KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(f"damaged checkpoint: {part}: {exc.args[0] if exc.args else exc} "
                                  f"({resume.path})") from exc
        self.epoch, self.batch, self.step = pos["epoch"], pos["batch"], pos["step"]
        self.last_checkpoint = (resume.path, self.epoch, self.batch)
        self.tally = EpochTally(**saved["tally"])
        self.history = list(saved["history"])
        self.train_seconds, self.train_images = saved["train_seconds"], saved["train_images"]

    # ---- checkpoints ----
    def save(self) -> Path:
        """Write the whole state to ``checkpoint.npz`` atomically; returns its path.

        Raises :class:`NonFiniteWeights`, writing nothing, when a parameter is not finite.
        """
        xp = backend.xp()
        bad = next((name for name, p in self.model.named_parameters() if not bool(xp.isfinite(p.data).all())), None)
        if bad is not None:
            raise NonFiniteWeights(bad)
        save_checkpoint(self.checkpoint_path, {
            "format": CHECKPOINT_FORMAT, "version": 1, "config": self.config,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "rng": {"minicnn": mrandom.get_state()},
            "position": {"epoch": self.epoch, "batch": self.batch, "step": self.step},
            "tally": asdict(self.tally), "history": self.history,
            "train_seconds": self.train_seconds, "train_images": self.train_images})
        self.last_checkpoint = (self.checkpoint_path, self.epoch, self.batch)
        return self.checkpoint_path

    # ---- evaluation ----
    def evaluate(self, loader: DataLoader) -> tuple[float, float, np.ndarray]:
        """(mean loss, accuracy, predictions) of the model in eval mode over ``loader``.

        The loss is plain cross-entropy (no label smoothing); the model is left in train mode.
        """
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
        """Train mode; with frozen features every leaf but the head stays in eval mode (batch norm
        keeps its running statistics, dropout is off)."""
        self.model.train()
        if self.config["freeze_features"]:
            for m in self.model.modules():
                if m is not self.head and not any(True for _ in m.children()):
                    m.eval()

    def _backward(self, dlogits: Any) -> None:
        """Backward through the model; with frozen features only through the head when it is the last layer."""
        if self.config["freeze_features"] and head_is_last(self.model, self.head):
            self.head.backward(dlogits)
        else:
            self.model.backward(dlogits)

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> float:
        """One optimiser step on a batch; returns the batch's mean loss.

        Raises :class:`NonFiniteLoss` before the step (the weights stay as they were) when the
        loss is NaN or infinite.
        """
        c = self.config
        steps_per_epoch = len(self.train_loader)
        self.optimizer.lr = learning_rate(self.step, c["lr"], c["schedule"], c["epochs"] * steps_per_epoch,
                                          steps_per_epoch, c["warmup_epochs"], c["step_size"], c["gamma"])
        logits = self.model(backend.asarray(x))
        loss = self.criterion.forward(logits, backend.asarray(y))
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

    def train_epoch(self, bar: Any, stop: StopFlag) -> bool:
        """Train the rest of the current epoch, updating the tqdm ``bar`` after every batch;
        False when ``stop`` was requested before the epoch ended."""
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
            if stop.requested:
                return False
        return True

    def end_epoch(self) -> dict[str, Any]:
        """Validate, record the epoch in the history, advance the position and save a checkpoint;
        returns the epoch's record."""
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
        """The one-line summary of the epoch record ``r``."""
        val = (f"val loss {r['val_loss']:.4f} acc {r['val_acc']:6.2%}" if r["val_loss"] is not None
               else "val -")
        return (f"epoch {r['epoch']:>{len(str(self.config['epochs']))}}/{self.config['epochs']}  "
                f"train loss {r['train_loss']:.4f} acc {r['train_acc']:6.2%}  {val}  lr {r['lr']:.2e}  "
                f"{r['images_per_s']:6.0f} img/s  elapsed {r['elapsed']:.1f}s")

