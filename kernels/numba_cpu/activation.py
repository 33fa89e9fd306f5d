"""Pointwise activations as Numba loops: each declaration of ``kernels/pointwise.py`` compiled for
scalars and called once per element inside one ``prange`` loop; PReLU by hand.

A declaration is plain Python over the vocabulary of ``pointwise.py``; here that vocabulary is
rebound to scalar functions (exp, expm1, log1p, tanh and, for float32, erfc from :mod:`.elementary`,
which LLVM can vectorise; float64 keeps ``math.erfc``; a ``where`` that selects,
NaN-propagating ``maximum``/``minimum``) and the function is compiled with Numba once per dtype, with every
float literal and module constant turned into that dtype, as NumPy and CUDA treat them (a
float64 literal would make each float32 element take a round trip through float64, at twice
the cost). The loop around it is one of three templates (one, two or three input arrays),
given the compiled function under the global name ``kernel`` and compiled as a :class:`Twin`.
Parameters arrive as a tuple of the array's dtype. Each loop's name carries a digest of
``pointwise.py`` and ``elementary.py``, so that Numba's on-disk cache (which knows nothing of the functions a
kernel calls) never serves a kernel compiled from an older declaration.
"""
from __future__ import annotations

import ast
import hashlib
import inspect
import math
import textwrap
import types
from functools import cache
from typing import Any, Callable

import numpy as np
from numba import njit, prange

from .. import pointwise
from ..pointwise import HELPERS, POINTWISE
from . import _OPTIONS, Twin, _contiguous, _split_plane, elementary

__all__ = [name for op in POINTWISE for name in (op, op + "_backward")] + ["prelu", "prelu_backward"]


@njit(inline="always", **_OPTIONS)
def _where(condition, a, b):
    return a if condition else b


@njit(inline="always", **_OPTIONS)
def _maximum(a, b):
    return a if (a > b or a != a) else b


@njit(inline="always", **_OPTIONS)
def _minimum(a, b):
    return a if (a < b or a != a) else b


_VOCABULARY = dict(where=_where, maximum=_maximum, minimum=_minimum, abs=abs, exp=elementary.exp,
                   expm1=elementary.expm1, log1p=elementary.log1p, tanh=elementary.tanh, erfc=math.erfc)
_FLOAT32_VOCABULARY = dict(erfc=elementary.erfc32)
_CONSTANTS = {k: v for k, v in vars(pointwise).items() if isinstance(v, float)}


class _TypedLiterals(ast.NodeTransformer):
    """Every float literal ``c`` becomes ``T(c)``, T the element type."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.Call(ast.Name("T", ast.Load()), [node], []) if isinstance(node.value, float) else node


def _scalar(fn: Callable, namespace: dict[str, Any], arrays: int | None = None) -> Any:
    """``fn`` compiled for scalars of one dtype: its source with typed literals, run in ``namespace``, and
    inlined where it is called (so that the loops around it can be vectorised). With ``arrays``, the
    arguments after the first ``arrays`` arrive as one tuple ``params`` (the loop templates pass them so)."""
    func = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    func.decorator_list = []
    if arrays is not None:
        names = [a.arg for a in func.args.args[arrays:]]
        func.args = ast.arguments([], func.args.args[:arrays] + [ast.arg("params")], None, [], [], None, [])
        func.body[:0] = [ast.Assign([ast.Name(n, ast.Store())],
                                    ast.Subscript(ast.Name("params", ast.Load()), ast.Constant(i), ast.Load()))
                         for i, n in enumerate(names)]
    module = ast.fix_missing_locations(ast.Module([_TypedLiterals().visit(func)], []))
    local: dict[str, Any] = {}
    exec(compile(module, inspect.getsourcefile(fn), "exec"), namespace, local)
    return njit(fastmath=False, inline="always")(local[fn.__name__])


@cache
def _namespace(dtype: np.dtype) -> dict[str, Any]:
    """The vocabulary, the constants and the helpers for scalars of ``dtype`` (built once per dtype)."""
    ns = {**_VOCABULARY, **(_FLOAT32_VOCABULARY if dtype == np.float32 else {}),
          **{k: dtype.type(v) for k, v in _CONSTANTS.items()}, "T": dtype.type}
    ns.update({name: _scalar(fn, ns) for name, fn in HELPERS.items()})
    return ns


def _map1(a, params, out):
    for i in prange(out.size):
        out[i] = kernel(a[i], params)  # noqa: F821 (each compiled copy has its own kernel)


def _map2(a, b, params, out):
    for i in prange(out.size):
        out[i] = kernel(a[i], b[i], params)  # noqa: F821


def _map3(a, b, c, params, out):
    for i in prange(out.size):
        out[i] = kernel(a[i], b[i], c[i], params)  # noqa: F821


_MAPS = {1: _map1, 2: _map2, 3: _map3}
_DIGEST = hashlib.sha1((inspect.getsource(pointwise) + inspect.getsource(elementary)).encode()).hexdigest()[:10]


def _primitive(fn: Callable, arrays: int) -> Callable:
    """The primitive ``f(*arrays, *params)``: ``fn`` (a declaration) mapped over ``arrays`` same-shape arrays."""
    defaults = [p.default for p in list(inspect.signature(fn).parameters.values())[arrays:]]

    @cache
    def loop(dtype: np.dtype) -> Twin:
        name = f"{fn.__name__}_{dtype.name}_{_DIGEST}"
        template = types.FunctionType(_MAPS[arrays].__code__, {"kernel": _scalar(fn, _namespace(dtype), arrays),
                                                              "prange": prange, "__name__": __name__}, name)
        template.__qualname__ = name
        return Twin(template)

    def call(*args: Any) -> np.ndarray:
        if not arrays <= len(args) <= arrays + len(defaults):
            raise TypeError(f"{fn.__name__} takes {arrays} arrays and at most {len(defaults)} parameters, "
                            f"got {len(args)} arguments")
        first, *rest = _contiguous(*args[:arrays])
        out = np.empty_like(first)
        params = tuple(first.dtype.type(p) for p in (*args[arrays:], *defaults[len(args) - arrays:]))
        loop(first.dtype)(first.size, *(a.reshape(-1) for a in (first, *rest)), params, out.reshape(-1))
        return out
    call.__name__, call.__doc__ = fn.__name__, fn.__doc__
    return call


for _op in POINTWISE.values():
    globals()[_op.name] = _primitive(_op.forward, 1)
    globals()[_op.name + "_backward"] = _primitive(_op.backward, 1 + len(_op.saves))


# ---- prelu ---------------------------------------------------------------------------------------
@Twin
def _prelu(x, weight, y):
    """y[n, c, l] = x if x > 0 else weight[c] x, over (N, C, L) arrays."""
    n, c, length = x.shape
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        a = weight[ch]
        for i in range(length):
            v = x[b, ch, i]
            y[b, ch, i] = v if v > 0 else a * v


@Twin
def _prelu_backward(dy, x, weight, dx, partial):
    """dx = dy if x > 0 else weight[c] dy;  partial[n, c] = sum_l (x dy where x <= 0), in float64."""
    n, c, length = x.shape
    for p in prange(n * c):
        b, ch = _split_plane(p, c)
        a = weight[ch]
        total = 0.0
        for i in range(length):
            v = x[b, ch, i]
            g = dy[b, ch, i]
            if v > 0:
                dx[b, ch, i] = g
            else:
                dx[b, ch, i] = a * g
                total += v * g
        partial[b, ch] = total


def _as_ncl(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """x as (N, C, L) with C = weight.size (channel axis 1), or (N, 1, L) for a shared (1,) weight."""
    if weight.size > 1 and (x.ndim < 2 or x.shape[1] != weight.size):
        raise ValueError(f"prelu: {weight.size} slopes need an input with {weight.size} channels on axis 1, "
                         f"got shape {x.shape}")
    lead = x.shape[0] if x.ndim else 1
    channels = weight.size if weight.size > 1 else 1
    return x.reshape(lead, channels, x.size // max(lead * channels, 1))      # no -1: ambiguous for an empty batch


def prelu(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """y = x if x > 0 else weight[c] * x, c the index along axis 1 (weight (C,) or shared (1,))."""
    x, w = _contiguous(x, weight)
    y = np.empty_like(x)
    _prelu(x.size, _as_ncl(x, w), w, _as_ncl(y, w))
    return y


def prelu_backward(dy: np.ndarray, x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dx = dy if x > 0 else weight[c] dy;  dweight[c] = sum of x dy over x <= 0 in channel c.

    dweight has weight's shape and x's dtype; per-(n, c) partial sums are
    formed in parallel, then added over n.
    """
    x, dy, w = _contiguous(x, dy, weight)
    x3 = _as_ncl(x, w)
    dx = np.empty_like(x)
    partial = np.empty(x3.shape[:2], dtype=np.float64)
    _prelu_backward(x.size, _as_ncl(dy, w), x3, w, _as_ncl(dx, w), partial)
    return dx, partial.sum(axis=0).astype(x.dtype)
