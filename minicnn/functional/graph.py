r"""Where paths meet: concatenation and the (broadcasting) product, and their backward.

A network that is not a chain has places where one tensor feeds several ops (fan-out) and
places where several tensors become one (fan-in). The chain rule handles both:

* **fan-out** (Inception's branches, a residual's skip, a gate's input): x reaches the loss
  along every path, so dLoss/dx is the SUM of the gradients coming back along each path;
* **fan-in**: the op that joins the paths gives each input its own gradient, below.
  (The residual add, y = a + b, is in ``residual.py``: da = db = dy.)

cat: concatenation along ``dim``
--------------------------------
xs = (x_1, ..., x_k), all of one shape except along ``dim``, where x_i has length d_i;
y has length d_1 + ... + d_k there, and with offsets o_i = d_1 + ... + d_{i-1}::

    y[..., o_i + j, ...] = x_i[..., j, ...]

Each output entry is one input entry, so the gradient of x_i is its own slice of dy::

    dx_i = dy[..., o_i : o_i + d_i, ...]               (views of dy, no copy)

This is how DenseNet and Inception join their branches: the gradient is split, not summed.

mul: elementwise product with broadcasting (a gate)
---------------------------------------------------
y = a * b, where a and b broadcast to y's shape (NumPy's rules: shapes aligned on the right,
a size-1 axis repeats). Before broadcasting, entry a[i] is used by every y[idx] it was
repeated into, so its gradient SUMS over those::

    da = sum over the broadcast axes of (dy * b)       reduced to a's shape
    db = sum over the broadcast axes of (dy * a)       reduced to b's shape

Squeeze-and-excitation is y = x * s with s (N, C, 1, 1): dx = dy * s, and ds[n, c] is the sum
over h, w of dy x, the gradient that then flows back through the gate into the same x (fan-out).

Caches: cat keeps the lengths d_i and the axis; mul keeps a and b.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from .. import backend
from ..checks import check_dout, normalize_dim, require_float

__all__ = ["cat_forward", "cat_backward", "CatCache", "mul_forward", "mul_backward", "MulCache"]


class CatCache(NamedTuple):
    sizes: tuple[int, ...]               # d_i: each input's length along the axis
    axis: int
    out: tuple[tuple[int, ...], Any]     # the output's shape and dtype


def cat_forward(xs: Sequence[Any], dim: int = 1) -> tuple[Any, CatCache]:
    """y = the inputs ``xs`` joined along ``dim``, as ``torch.cat(xs, dim)``."""
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence) or not xs:
        raise TypeError(f"cat: expected a non-empty list of arrays, got {type(xs).__name__}")
    for x in xs:
        require_float(x, "cat")
    first = xs[0]
    axis = normalize_dim(dim, first.ndim, "cat")
    for i, x in enumerate(xs):
        if x.dtype != first.dtype:
            raise TypeError(f"cat: input {i} has dtype {x.dtype}, input 0 has {first.dtype}")
        if x.ndim != first.ndim or any(a != b for k, (a, b) in enumerate(zip(x.shape, first.shape)) if k != axis):
            raise ValueError(f"cat: input {i} has shape {tuple(x.shape)}, which differs from input 0's "
                             f"{tuple(first.shape)} outside axis {axis}")
    y = backend.xp().concatenate(list(xs), axis=axis)
    return y, CatCache(tuple(int(x.shape[axis]) for x in xs), axis, (tuple(y.shape), y.dtype))


def cat_backward(dout: Any, cache: CatCache) -> tuple[Any, ...]:
    """(dx_1, ..., dx_k): dout split along the axis into the inputs' lengths."""
    check_dout(dout, cache.out, "cat")
    index = [slice(None)] * dout.ndim
    grads, start = [], 0
    for size in cache.sizes:
        index[cache.axis] = slice(start, start + size)
        grads.append(dout[tuple(index)])
        start += size
    return tuple(grads)


class MulCache(NamedTuple):
    a: Any
    b: Any
    out: tuple[tuple[int, ...], Any]     # the output's shape and dtype


def mul_forward(a: Any, b: Any) -> tuple[Any, MulCache]:
    """y = a * b with NumPy/PyTorch broadcasting, as ``torch.mul``."""
    require_float(a, "mul")
    require_float(b, "mul")
    if a.dtype != b.dtype:
        raise TypeError(f"mul: the two inputs must have one dtype, got {a.dtype} and {b.dtype}")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"mul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast") from None
    return a * b, MulCache(a, b, (tuple(shape), a.dtype))


def mul_backward(dout: Any, cache: MulCache) -> tuple[Any, Any]:
    """(da, db): dout * b and dout * a, each summed over the axes it was broadcast along."""
    check_dout(dout, cache.out, "mul")
    return _unbroadcast(dout * cache.b, cache.a.shape), _unbroadcast(dout * cache.a, cache.b.shape)


def _unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """``g`` summed over the axes that broadcasting added or stretched to reach its shape from ``shape``."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes).reshape(shape) if axes else g
