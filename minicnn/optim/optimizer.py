"""The Optimizer base class: parameter bookkeeping, per-parameter state, zero_grad, checkpoints.

``params`` is a list (or any iterable) of ``Parameter`` objects, keyed 0, 1, 2, ... in
that order, or of ``(name, Parameter)`` pairs such as ``model.named_parameters()``,
keyed by name. ``state[key]`` is that parameter's state dict (momentum buffer, Adam
moments and step count), filled by the update functions in
``minicnn.optim.updates`` on the first ``step()``.

Every parameter is stepped on every ``step()``, whatever its gradient (a parameter
whose ``grad`` is all zeros still decays and follows its momentum), as PyTorch does for
parameters whose ``.grad`` is a tensor.
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any, Union

import numpy as np

from .. import backend
from ..checks import finite_float
from ..nn.module import Parameter

ParamsArg = Iterable[Union[Parameter, tuple[str, Parameter]]]

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of SGD, Adam and AdamW; subclasses set ``_hyper`` and implement ``_update``."""

    _hyper: tuple[str, ...] = ("lr",)

    def __init__(self, params: ParamsArg, lr: float) -> None:
        items = list(params)
        name = type(self).__name__
        if not items:
            raise ValueError(f"{name}: got an empty parameter list")
        if all(isinstance(p, Parameter) for p in items):
            self._keys: list[Any] = list(range(len(items)))
            self._params: list[Parameter] = items
        elif all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], Parameter)
                 for p in items):
            self._keys = [k for k, _ in items]
            self._params = [p for _, p in items]
            if len(set(self._keys)) != len(self._keys):
                raise ValueError(f"{name}: parameter names are not unique")
        else:
            raise TypeError(f"{name}: params must be Parameters or (name, Parameter) pairs "
                            f"(e.g. model.parameters() or model.named_parameters())")
        if len({id(p) for p in self._params}) != len(self._params):
            raise ValueError(f"{name}: some parameters appear more than once")
        self.lr = lr
        self.state: dict[Any, dict[str, Any]] = {k: {} for k in self._keys}

    @property
    def lr(self) -> float:
        """The learning rate; assign to it to follow a schedule."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {value!r} (must be a number >= 0)")
        self._lr = float(value)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (in place)."""
        for p in self._params:
            p.grad[...] = 0

    def step(self) -> None:
        """Update every parameter in place from its current ``grad``."""
        for key, p in zip(self._keys, self._params):
            self._update(p.data, p.grad, self.state[key])

    def _update(self, param: Any, grad: Any, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _non_negative(self, **hyper: Any) -> list[float]:
        """The values of ``hyper`` as floats; TypeError for a non-number, ValueError unless finite and >= 0."""
        name = type(self).__name__
        values = [finite_float(value, key, name) for key, value in hyper.items()]
        for key, value in zip(hyper, values):
            if not value >= 0:
                raise ValueError(f"{name}: invalid {key} {value!r} (must be >= 0)")
        return values

    def hyperparams(self) -> dict[str, Any]:
        """The hyper-parameters, by constructor argument name."""
        return {h: getattr(self, h) for h in self._hyper}

    def state_dict(self) -> dict[str, Any]:
        """A checkpoint of this optimiser: plain Python values and host NumPy arrays (picklable).

        ``{"type": "Adam", "keys": [...], "hyperparams": {"lr": ..., ...},
        "state": {key: {"step": int, "exp_avg": ndarray, ...}}}``, keys being parameter
        indices or names as given to the constructor.
        """
        state = {k: {n: (backend.to_numpy(v).copy() if hasattr(v, "shape") else v) for n, v in s.items()}
                 for k, s in self.state.items()}
        return {"type": type(self).__name__, "keys": list(self._keys), "hyperparams": self.hyperparams(),
                "state": state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (hyper-parameters and state), so training continues exactly.

        The optimiser must be of the same type over parameters with the same keys and
        shapes; arrays move to the current backend in each parameter's dtype.
        """
        name = type(self).__name__
        if state_dict.get("type") != name:
            raise ValueError(f"{name}.load_state_dict: the state is from a {state_dict.get('type')!r} optimiser")
        if list(state_dict["keys"]) != self._keys:
            raise ValueError(f"{name}.load_state_dict: parameter keys {list(state_dict['keys'])} "
                             f"do not match {self._keys}")
        by_key = dict(zip(self._keys, self._params))
        bad = [f"{k}.{n}: expected {by_key[k].shape}, got {tuple(np.shape(v))}"
               for k, s in state_dict["state"].items() for n, v in s.items()
               if hasattr(v, "shape") and tuple(np.shape(v)) != by_key[k].shape]
        if bad:
            raise ValueError(f"{name}.load_state_dict: shape mismatch: " + "; ".join(bad))
        unknown = [h for h in state_dict["hyperparams"] if h not in self._hyper]
        if unknown:
            raise ValueError(f"{name}.load_state_dict: unknown hyper-parameters {unknown}; {name} has {list(self._hyper)}")
        for h, v in state_dict["hyperparams"].items():
            setattr(self, h, v)
        self.state = {k: {n: (backend.asarray(np.array(v, copy=True), dtype=by_key[k].dtype)
                              if hasattr(v, "shape") else v) for n, v in state_dict["state"].get(k, {}).items()}
                      for k in self._keys}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.hyperparams().items())
        return f"{type(self).__name__}({len(self._params)} parameters, {args})"
