"""``python -m minicnn.predict CHECKPOINT IMAGE...``: the top classes of each image, with probabilities.

The checkpoint written by ``minicnn.train`` carries everything needed: the model
name, input shape, class names and the normalisation of its training data. Each
image is decoded with Pillow, converted to the model's channel count (grayscale or
RGB), resized to its input size, normalised, and run through the model in eval mode;
probabilities are the softmax of the logits (``minicnn.functional.softmax_forward``, in
float64).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from . import backend
from .checkpoint import CheckpointError
from .data import DatasetError, check_memory, load_image, normalize
from .functional import softmax_forward
from .models import build_model
from .trainer import UsageError, load_run_checkpoint, select_backend

__all__ = ["predict_files", "main"]


def predict_files(checkpoint: str, images: Sequence[str], top: int = 3) -> list[list[tuple[str, float]]]:
    """For every image file, its ``top`` (class name, probability) pairs, most likely first.

    Raises :class:`CheckpointError` for a file that is not a training checkpoint (or whose
    weights do not fit its model), :class:`DatasetError` for an image that cannot be read or
    images that would not fit in memory.
    """
    state = load_run_checkpoint(checkpoint)
    config = state["config"]
    shape = tuple(config["input_shape"])
    check_memory(4 * (len(images) + 1) * int(np.prod(shape)), f"{len(images)} images at {'x'.join(map(str, shape))}",
                 "give fewer images at a time")
    model = build_model(config["model"], shape, len(config["classes"]))
    try:
        model.load_state_dict(state["model"])
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"damaged checkpoint: model: {exc.args[0] if exc.args else exc} ({checkpoint})") from exc
    model.eval()
    batch = np.stack([load_image(path, (shape[1], shape[2]), shape[0]) for path in images])
    x = normalize(batch, config["mean"], config["std"])
    logits = model(backend.asarray(x))
    probs = backend.to_numpy(softmax_forward(logits.astype(np.float64), dim=1)[0])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top]     # all classes when there are fewer than top
    return [[(config["classes"][j], float(p[j])) for j in row] for p, row in zip(probs, order)]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Print the top classes (3 unless ``--top``) of each image; exit status 2 for a bad checkpoint, image or
    backend, or when memory runs out."""
    parser = argparse.ArgumentParser(prog="python -m minicnn.predict",
                                     description="Classify image files with a checkpoint written by minicnn.train.")
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint.npz from a training run")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files (png, jpg, ...)")
    parser.add_argument("--top", type=_positive, default=3, help="how many classes to show (default 3)")
    parser.add_argument("--backend", choices=backend.BACKENDS,
                        help="array backend (default $MINICNN_BACKEND, else numpy)")
    args = parser.parse_args(argv)
    try:
        select_backend(args.backend, "numpy")
        results = predict_files(args.checkpoint, args.images, args.top)
    except (CheckpointError, DatasetError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory; give fewer images at a time", file=sys.stderr)
        return 2
    width = max(len(p) for p in args.images)
    for path, top in zip(args.images, results):
        print(f"{path:<{width}}  " + "  ".join(f"{name} {p:6.2%}" for name, p in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
