r"""Pointwise activations as functional pairs, made from ``kernels/pointwise.py``; and PReLU.

Notation
--------
x  : any shape, the input (NCHW for images, (N, F) after a Linear layer)
y  : same shape as x, the output, y = f(x) elementwise
dy : same shape, dLoss/dy;  dx : same shape, dLoss/dx
w  : (C,) PReLU's slopes, one per channel on axis 1, or (1,) shared by all

Backward of any pointwise map: y[i] depends on x[i] alone, so the Jacobian is
diagonal and the chain rule is one product per element,

    dx[i] = dy[i] * f'(x[i])                          (same shape as x)

Each op's f and f' are declared once, with their derivation and the one-sided
choice PyTorch makes at every kink, in ``minicnn/kernels/pointwise.py``
(:data:`POINTWISE`); the three backends make their kernels from that declaration.
For each declared op ``name`` this module defines

    name_forward(x, *params) -> (y, PointwiseCache)    params with PyTorch's names and defaults
    name_backward(dout, cache) -> dx

which validate, call the current backend's kernels ``name`` / ``name_backward`` and
keep in the cache what the declaration's derivative reads (x, y or both). float32 in
gives float32 out; parameters are Python floats and never promote the dtype.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple

from .. import backend
from ..checks import check_dout, finite_float, require_float
from ..kernels.pointwise import POINTWISE, Pointwise

__all__ = ([f"{op}_{part}" for op in POINTWISE for part in ("forward", "backward")]
           + ["PointwiseCache", "pointwise_params", "prelu_forward", "prelu_backward", "PReLUCache"])


class PointwiseCache(NamedTuple):
    x: Any                      # the input, when the derivative reads it (else None)
    y: Any                      # the output, when the derivative reads it (else None)
    params: tuple[float, ...]   # the parameters, in the declaration's order


def pointwise_params(name: str, *args: Any, **kwargs: Any) -> tuple[float, ...]:
    """The parameters of pointwise op ``name`` as floats, from positional or keyword arguments with
    the declaration's defaults; TypeError/ValueError naming the op unless each is finite (and
    non-zero where the op divides by it)."""
    op = POINTWISE[name]
    given = inspect.Signature(list(inspect.signature(op.forward).parameters.values())[1:]).bind(*args, **kwargs)
    given.apply_defaults()
    params = {k: finite_float(v, k, name) for k, v in given.arguments.items()}
    for k in op.nonzero:
        if params[k] == 0.0:
            raise ValueError(f"{name}: {k} must be non-zero")
    return tuple(params.values())


def _pair(op: Pointwise) -> tuple[Callable, Callable]:
    """``<op>_forward`` and ``<op>_backward`` of one declaration."""
    def forward(x: Any, *args: Any, **kwargs: Any) -> tuple[Any, PointwiseCache]:
        require_float(x, op.name)
        params = pointwise_params(op.name, *args, **kwargs)
        y = getattr(backend.kernels(), op.name)(x, *params)
        return y, PointwiseCache(x if "x" in op.saves else None, y if "y" in op.saves else None, params)

    def backward(dout: Any, cache: PointwiseCache) -> Any:
        saved = [a for a in cache[:2] if a is not None]
        check_dout(dout, saved[0], op.name)
        return getattr(backend.kernels(), op.name + "_backward")(dout, *saved, *cache.params)

    forward.__signature__ = inspect.signature(op.forward)         # type: ignore[attr-defined]
    forward.__doc__ = op.forward.__doc__
    backward.__doc__ = f"dx of :func:`{op.name}_forward`, from the declaration ``{op.backward.__name__}``."
    for fn, part in ((forward, "forward"), (backward, "backward")):
        fn.__name__ = fn.__qualname__ = f"{op.name}_{part}"
    return forward, backward


for _op in POINTWISE.values():
    globals()[f"{_op.name}_forward"], globals()[f"{_op.name}_backward"] = _pair(_op)


# ---- prelu ----------------------------------------------------------------------------

class PReLUCache(NamedTuple):
    x: Any
    weight: Any     # (C,) or (1,)


def prelu_forward(x: Any, weight: Any) -> tuple[Any, PReLUCache]:
    """y[n,c,...] = x[n,c,...] for x > 0, w[c] x[n,c,...] otherwise (w (1,) is shared by every c).

    Derivatives: dy/dx = 1 for x > 0 and w[c] for x < 0; dy/dw[c] = x on the
    x <= 0 branch and 0 elsewhere. Every element of channel c uses w[c], so its
    gradient sums over all of them:

        dx[n,c,...] = dy           where x > 0,  w[c] dy   elsewhere      (x's shape)
        dw[c]       = sum over n and the spatial axes of x dy [x <= 0]    (C,)

    (all elements for a (1,) weight). Kink: at x = 0 the slope is w[c], and w's
    contribution x dy is 0, as in PyTorch. Cache: x and w.
    """
    require_float(x, "prelu")
    require_float(weight, "prelu weight")
    if weight.ndim != 1 or (weight.shape[0] != 1 and (x.ndim < 2 or weight.shape[0] != x.shape[1])):
        raise ValueError(f"prelu: weight must have shape (1,) or (C,) with C = x.shape[1]; got weight "
                         f"{tuple(weight.shape)} for input {tuple(x.shape)}")
    return backend.kernels().prelu(x, weight), PReLUCache(x, weight)


def prelu_backward(dout: Any, cache: PReLUCache) -> tuple[Any, Any]:
    """(dx, dweight): dx = dout (x > 0) or w[c] dout; dweight[c] = sum of x dout over x <= 0 in channel c."""
    check_dout(dout, cache.x, "prelu")
    return backend.kernels().prelu_backward(dout, cache.x, cache.weight)
