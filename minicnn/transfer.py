"""Starting a model from PyTorch weights (``python -m minicnn.train --init-from FILE.pt``).

minicnn modules use PyTorch's ``state_dict`` key names and layouts, so a file saved with
``torch.save`` from the same stack written with ``torch.nn`` loads without any renaming or
reshaping. Reading the file needs PyTorch; nothing else in minicnn does. Only tensors are read
(``torch.load(weights_only=True)``), so a crafted file cannot run code.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from . import nn
from .models import classifier_head

__all__ = ["TransferError", "load_torch_state", "apply_init"]


class TransferError(Exception):
    """A PyTorch weights file cannot be read, or does not fit the model."""


def load_torch_state(path: str | Path) -> dict[str, np.ndarray]:
    """A PyTorch ``state_dict`` (or a dict holding one under ``state_dict``, ``model_state_dict`` or
    ``model``) saved with ``torch.save``, as NumPy arrays.

    The file is read with ``torch.load(weights_only=True)`` and nothing else: an unrestricted unpickle
    runs any code the file names, so a whole pickled module is refused with the way to save its weights.
    """
    try:
        import torch
    except ImportError as exc:
        raise TransferError(f"--init-from {path} needs PyTorch to read the file: pip install torch") from exc
    path = Path(path)
    if not path.is_file():
        raise TransferError(f"--init-from: {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise TransferError(f"--init-from: {path} holds Python objects other than tensors (a whole module?), and "
                            "minicnn never runs code from a file; save the weights instead with "
                            "torch.save(model.state_dict(), PATH)") from exc
    except Exception as exc:  # torch.load raises many kinds on a damaged or foreign file
        raise TransferError(f"--init-from: cannot read {path} with torch.load ({type(exc).__name__}: {exc})") from exc
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise TransferError(f"--init-from: {path} holds a {type(obj).__name__}, not a state_dict of tensors")
    return {k: v.detach().cpu().numpy() for k, v in obj.items()}


def apply_init(model: nn.Module, state: dict[str, np.ndarray], source: str, keep_head: bool) -> None:
    """Load ``state`` into ``model``, or raise :class:`TransferError` listing every missing,
    unexpected and mis-shaped key at once.

    With ``keep_head`` (``--freeze-features``) the classifier head (``minicnn.models.classifier_head``)
    may be missing from ``state`` or have another shape (another number of classes): it then keeps
    its fresh initialisation.
    """
    own = model.state_dict()
    head = classifier_head(model) if keep_head else None
    head_keys = {f"{head[0]}.weight", f"{head[0]}.bias"} if head else set()
    missing = [k for k in own if k not in state and k not in head_keys]
    unexpected = [k for k in state if k not in own]
    misfit = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    shapes = [f"{k}: model {tuple(own[k].shape)}, file {tuple(state[k].shape)}" for k in misfit if k not in head_keys]
    if missing or unexpected or shapes:
        parts = [f"missing keys {missing}"] if missing else []
        parts += [f"unexpected keys {unexpected}"] if unexpected else []
        parts += ["shape mismatches: " + "; ".join(shapes)] if shapes else []
        raise TransferError(f"--init-from {source} does not match the model: " + ", ".join(parts))
    model.load_state_dict({**own, **{k: v for k, v in state.items() if k not in misfit}})
