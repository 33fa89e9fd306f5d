"""Argument, shape and dtype checks shared by nn, functional and optim; every error names ``where``.

``where`` is the op or layer to name: a string, or a function returning one (a layer passes
its bound ``_name``), which is only called to build an error message, never on the hot path.
"""
from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Callable, Union

Pair = tuple[int, int]
Where = Union[str, Callable[[], str]]


def label(where: Where) -> str:
    """The name ``where`` stands for."""
    return where if isinstance(where, str) else where()


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def pair(value: int | tuple[int, int], name: str) -> Pair:
    """``3 -> (3, 3)``; ``(2, 3)`` stays (NumPy integers become ints); anything else is a ``ValueError``
    naming ``name``."""
    if _is_int(value):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        return (int(value[0]), int(value[1]))
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


def is_positive_int(value: Any) -> bool:
    """True for an integer >= 1 (NumPy integers too), False for bools, floats and everything else."""
    return _is_int(value) and value >= 1


def positive_int(value: Any, name: str, where: str) -> int:
    """``value`` as a Python int; ValueError naming ``where`` unless it is an integer >= 1
    (see :func:`is_positive_int`)."""
    if not is_positive_int(value):
        raise ValueError(f"{where}: {name} must be an int >= 1, got {value!r}")
    return int(value)


def finite_float(value: Any, name: str, where: str) -> float:
    """``value`` as a Python float; TypeError when it is not a real number (a string is not), ValueError
    when it is not finite."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    return v


def unit_interval(value: Any, name: str, where: str, include_one: bool = False) -> float:
    """``value`` as a float in [0, 1] (or [0, 1) unless ``include_one``); TypeError for a non-number
    (a bool too), ValueError outside the interval. For probabilities: dropout's p, label smoothing."""
    if isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be a number, got {value!r}")
    v = finite_float(value, name, where)
    if not (0.0 <= v <= 1.0 if include_one else 0.0 <= v < 1.0):
        raise ValueError(f"{where}: {name} must be in [0, {'1]' if include_one else '1)'}, got {value!r}")
    return v


FLOAT_DTYPES = ("float32", "float64")
"""The dtypes every op takes, on every backend (the CPU kernels are compiled for these two)."""


def require_float(x: Any, where: Where) -> None:
    """TypeError unless ``x`` is an array of dtype float32 or float64."""
    dtype = getattr(x, "dtype", None)
    if dtype is None or getattr(x, "ndim", None) is None:
        raise TypeError(f"{label(where)}: expected an array, got {type(x).__name__}")
    if dtype.name not in FLOAT_DTYPES:
        raise TypeError(f"{label(where)}: expected a floating-point input (supported dtypes: float32 and float64), "
                        f"got dtype {dtype}")


def check_dout(dout: Any, out: Any, where: Where) -> None:
    """Check the upstream gradient of op ``where`` against its forward output ``out`` (an array, or a
    ``(shape, dtype)`` pair): TypeError unless dout is an array of the same dtype, ValueError naming both
    shapes unless it has the same shape. Every backward calls this before any kernel sees dout."""
    shape, dtype = (tuple(out.shape), out.dtype) if hasattr(out, "shape") else (tuple(out[0]), out[1])
    got = getattr(dout, "dtype", None)
    if got is None or getattr(dout, "shape", None) is None:
        raise TypeError(f"{label(where)} backward: dout must be an array, got {type(dout).__name__}")
    if got != dtype:
        raise TypeError(f"{label(where)} backward: dout has dtype {got}, the forward output has dtype {dtype}")
    if tuple(dout.shape) != shape:
        raise ValueError(f"{label(where)} backward: dout has shape {tuple(dout.shape)}, the forward output has "
                         f"shape {shape}")


def require_ndim(x: Any, ndims: tuple[int, ...], where: Where, layout: str = "") -> None:
    """ValueError unless ``x`` has one of ``ndims`` dimensions; ``layout`` (e.g. "(N, C, H, W)") is quoted."""
    if x.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{label(where)}: expected a {want}{' ' + layout if layout else ''} input, "
                         f"got shape {tuple(x.shape)}")


def int_dim(dim: Any, where: Where, name: str = "dim") -> int:
    """``dim`` as a Python int; TypeError naming ``where`` for a bool or anything that is not an integer."""
    if not isinstance(dim, bool):
        try:
            return operator.index(dim)
        except TypeError:
            pass
    raise TypeError(f"{label(where)}: {name} must be an int, got {dim!r}")


def normalize_dim(dim: Any, ndim: int, where: Where, name: str = "dim") -> int:
    """``dim`` as an axis in [0, ndim), accepting negative values like PyTorch; errors name ``where``."""
    d = int_dim(dim, where, name)
    if ndim < 1:
        raise ValueError(f"{label(where)}: expected an input with at least 1 dimension, got a 0-D array")
    if not -ndim <= d < ndim:
        raise ValueError(f"{label(where)}: {name} {d} is out of range for a {ndim}-D input "
                         f"(expected -{ndim} <= {name} < {ndim})")
    return d % ndim
