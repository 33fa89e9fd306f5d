"""``python -m minicnn.predict CHECKPOINT IMAGE...``: the top classes of each image, with probabilities.

The checkpoint written by ``minicnn.train`` carries everything needed: the model
name, input shape, class names and the normalisation of its training data. Each
image is decoded with Pillow, converted to the model's channel count (grayscale or
RGB), resized to its input size, normalised, and run through the model in eval mode;
probabilities are the softmax of the logits.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import numpy as np

from . import backend
from .checkpoint import CheckpointError, load_checkpoint
from .data import DatasetError, load_image, normalize
from .models import build_model

__all__ = ["softmax", "predict_files", "main"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise ``exp(z - max z) / sum exp(z - max z)`` (the max shift keeps every exponent <= 0)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def predict_files(checkpoint: str, images: Sequence[str], top: int = 3) -> list[list[tuple[str, float]]]:
    """For every image file, its ``top`` (class name, probability) pairs, most likely first."""
    state = load_checkpoint(checkpoint)
    if state.get("format") != "minicnn-train":
        raise CheckpointError(f"{checkpoint} is not a checkpoint written by minicnn.train")
    config = state["config"]
    shape = tuple(config["input_shape"])
    model = build_model(config["model"], shape, len(config["classes"]))
    model.load_state_dict(state["model"])
    model.eval()
    batch = np.stack([load_image(path, (shape[1], shape[2]), shape[0]) for path in images])
    x = normalize(batch, config["mean"], config["std"])
    probs = softmax(backend.to_numpy(model(backend.asarray(x))).astype(np.float64))
    k = min(top, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [[(config["classes"][j], float(p[j])) for j in row] for p, row in zip(probs, order)]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the top-3 classes of each image; exit status 2 for a bad checkpoint or image."""
    parser = argparse.ArgumentParser(prog="python -m minicnn.predict",
                                     description="Classify image files with a checkpoint written by minicnn.train.")
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint.npz from a training run")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files (png, jpg, ...)")
    parser.add_argument("--top", type=int, default=3, help="how many classes to show (default 3)")
    parser.add_argument("--backend", choices=backend.BACKENDS, default=os.environ.get("MINICNN_BACKEND") or "numpy",
                        help="array backend (default $MINICNN_BACKEND, else numpy)")
    args = parser.parse_args(argv)
    try:
        backend.set_backend(args.backend)
        results = predict_files(args.checkpoint, args.images, args.top)
    except (CheckpointError, DatasetError, backend.BackendUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    width = max(len(p) for p in args.images)
    for path, top in zip(args.images, results):
        print(f"{path:<{width}}  " + "  ".join(f"{name} {p:6.2%}" for name, p in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
