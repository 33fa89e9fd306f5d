r"""Every pointwise activation, declared once: its forward, its derivative and its convention at the kinks.

A pointwise op maps each element on its own, y[i] = f(x[i]), so its Jacobian is diagonal and
the chain rule is one product per element:

    dx[i] = dy[i] f'(x[i])

A declaration is two small functions written with the vocabulary below: ``<op>_forward(x, *params)``
and ``<op>_backward(dy, *saved, *params)``, where ``saved`` is what the forward keeps for the
derivative (the input x, the output y, or both: whichever writes f' most cheaply). Parameters
are scalars with PyTorch's names and defaults. From each declaration the three backends make
their kernels, so the maths is written exactly once:

* NumPy (``numpy_ref``) calls the functions as they are, on whole arrays: this file IS the
  reference, and reads as the maths;
* Numba (``numba_cpu``) compiles them, with the vocabulary rebound to scalar functions, inside
  one parallel loop over the elements;
* CUDA (``cupy_cuda``) translates them to C device functions (:func:`to_cuda`) for
  ``cupy.ElementwiseKernel``.

The vocabulary: arithmetic, comparisons, ``&`` and ``|`` of comparisons, ``where(c, a, b)``
(a where c holds, else b), ``maximum``/``minimum`` (NaN-propagating), ``abs``, ``exp``,
``expm1``, ``log1p``, ``tanh``, ``erfc``, the float constants of this module and the
helpers below. Local assignments are allowed; nothing else (no loops, no branches: ``where``
selects). Write every formula so that no intermediate overflows (all backends evaluate both
sides of a ``where``).

At a kink (where f' does not exist) each op takes PyTorch's one-sided value, stated in its
docstring and tested at exactly that point.

Adding an activation: see CONTRIBUTING.md.
"""
from __future__ import annotations

import ast
import inspect
import math
import textwrap
from dataclasses import dataclass
from typing import Callable

from numpy import abs, exp, expm1, log1p, maximum, minimum, tanh  # noqa: A004 (the vocabulary)

from .special import erfc, where

__all__ = ["Pointwise", "POINTWISE", "HELPERS", "VOCABULARY", "to_cuda"]

VOCABULARY = ("where", "maximum", "minimum", "abs", "exp", "expm1", "log1p", "tanh", "erfc")
INV_SQRT_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Pointwise:
    """One declared op. ``params`` maps each parameter to its default; ``nonzero`` names those that
    must not be 0 (they divide)."""

    name: str
    forward: Callable
    backward: Callable
    saves: tuple[str, ...]
    params: dict[str, float]
    nonzero: tuple[str, ...] = ()


POINTWISE: dict[str, Pointwise] = {}
HELPERS: dict[str, Callable] = {}


def helper(fn: Callable) -> Callable:
    """Register a scalar helper that declarations may call (every backend gets its own copy)."""
    HELPERS[fn.__name__] = fn
    return fn


def pointwise(name: str, saves: tuple[str, ...], nonzero: tuple[str, ...] = ()) -> Callable:
    """Decorator for ``<name>_forward``; the function it returns has a ``.derivative`` decorator that
    takes ``<name>_backward`` and registers the pair in :data:`POINTWISE`."""
    def declare(forward: Callable) -> Callable:
        params = {p.name: p.default for p in list(inspect.signature(forward).parameters.values())[1:]}

        def derivative(backward: Callable) -> Callable:
            POINTWISE[name] = Pointwise(name, forward, backward, saves, params, nonzero)
            return backward
        forward.derivative = derivative
        return forward
    return declare


@helper
def logistic(t):
    """sigma(t) = 1 / (1 + e^-t), through z = e^-|t| <= 1 so that nothing overflows:
    1 / (1 + z) for t >= 0 and z / (1 + z) below."""
    z = exp(-abs(t))
    return where(t >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))


@helper
def normal_cdf(t):
    """Phi(t) = (1 + erf(t / sqrt 2)) / 2 = erfc(-t / sqrt 2) / 2, exact in the left tail."""
    return 0.5 * erfc(-t * INV_SQRT_2)


# ---- piecewise linear ----------------------------------------------------------------------------

@pointwise("relu", saves=("y",))
def relu_forward(x):
    """y = max(x, 0). f' = 1 for x > 0, 0 for x < 0; at 0 PyTorch takes 0. y > 0 exactly where
    x > 0, so the output (no copy) is all backward needs: dx = 0 where y <= 0, else dy (so a NaN
    passes its gradient through, as in PyTorch)."""
    return maximum(x, 0.0)


@relu_forward.derivative
def relu_backward(dy, y):
    return where(y <= 0.0, 0.0, dy)


@pointwise("leaky_relu", saves=("x",))
def leaky_relu_forward(x, negative_slope=0.01):
    """y = x for x > 0, negative_slope x otherwise; f' = 1 or negative_slope, and negative_slope at
    0 (the x <= 0 branch, as PyTorch). Keeps x: y cannot tell the branch when the slope is <= 0."""
    return where(x > 0.0, x, x * negative_slope)


@leaky_relu_forward.derivative
def leaky_relu_backward(dy, x, negative_slope=0.01):
    return where(x > 0.0, dy, dy * negative_slope)


@pointwise("relu6", saves=("x",))
def relu6_forward(x):
    """y = min(max(x, 0), 6). f' = 1 on (0, 6) and 0 outside; at both kinks, 0 and 6, PyTorch
    takes 0 (the gradient passes strictly inside only; a NaN passes it, as in PyTorch)."""
    return minimum(maximum(x, 0.0), 6.0)


@relu6_forward.derivative
def relu6_backward(dy, x):
    return where((x <= 0.0) | (x >= 6.0), 0.0, dy)


@pointwise("hardsigmoid", saves=("x",))
def hardsigmoid_forward(x):
    """y = relu6(x + 3) / 6, a piecewise-linear sigmoid: 0 below -3, 1 above 3, (x + 3) / 6 between.
    f' = 1/6 on (-3, 3), 0 outside; at the kinks -3 and 3 PyTorch takes 0."""
    return minimum(maximum(x + 3.0, 0.0), 6.0) / 6.0


@hardsigmoid_forward.derivative
def hardsigmoid_backward(dy, x):
    return where((x > -3.0) & (x < 3.0), dy / 6.0, 0.0)


@pointwise("hardswish", saves=("x",))
def hardswish_forward(x):
    """y = x relu6(x + 3) / 6: 0 below -3, x above 3, x (x + 3) / 6 between. By the product rule
    f' = (2x + 3) / 6 = x / 3 + 1/2 on (-3, 3), 0 below, 1 above. At the kinks PyTorch takes the
    outer pieces: f'(-3) = 0 and f'(3) = 1."""
    return x * minimum(maximum(x + 3.0, 0.0), 6.0) / 6.0


@hardswish_forward.derivative
def hardswish_backward(dy, x):
    return where(x <= -3.0, 0.0, where(x < 3.0, dy * (x / 3.0 + 0.5), dy))


# ---- smooth ----------------------------------------------------------------------------------------

@pointwise("elu", saves=("x", "y"))
def elu_forward(x, alpha=1.0):
    """y = x for x > 0, alpha (e^x - 1) otherwise (as alpha expm1(min(x, 0)): exact near 0, never
    overflows). For x < 0, f' = alpha e^x = y + alpha, which reuses y instead of a second exp;
    f'(0) = alpha (the x <= 0 branch, as PyTorch; continuous only for alpha = 1)."""
    return where(x > 0.0, x, alpha * expm1(minimum(x, 0.0)))


@elu_forward.derivative
def elu_backward(dy, x, y, alpha=1.0):
    return where(x > 0.0, dy, dy * (y + alpha))


@pointwise("sigmoid", saves=("y",))
def sigmoid_forward(x):
    """y = sigma(x) = 1 / (1 + e^-x). sigma' = e^-x / (1 + e^-x)^2 = sigma (1 - sigma), so
    dx = dy y (1 - y). Smooth everywhere."""
    return logistic(x)


@sigmoid_forward.derivative
def sigmoid_backward(dy, y):
    return dy * y * (1.0 - y)


@pointwise("tanh", saves=("y",))
def tanh_forward(x):
    """y = tanh(x). tanh' = 1 / cosh^2 = 1 - tanh^2, so dx = dy (1 - y^2). Smooth everywhere."""
    return tanh(x)


@tanh_forward.derivative
def tanh_backward(dy, y):
    return dy * (1.0 - y * y)


@pointwise("silu", saves=("x",))
def silu_forward(x):
    """y = x sigma(x) (SiLU, also called swish). Product rule with sigma' = sigma (1 - sigma):
    f' = sigma + x sigma (1 - sigma) = sigma (1 + x (1 - sigma)). Smooth everywhere."""
    return x * logistic(x)


@silu_forward.derivative
def silu_backward(dy, x):
    s = logistic(x)
    return dy * s * (1.0 + x * (1.0 - s))


@pointwise("softplus", saves=("x",), nonzero=("beta",))
def softplus_forward(x, beta=1.0, threshold=20.0):
    """y = log(1 + e^(beta x)) / beta, and y = x where beta x > threshold (PyTorch's switch, strict:
    at beta x == threshold the smooth branch holds). With t = beta x, log(1 + e^t) =
    max(t, 0) + log1p(e^-|t|) never overflows. f' = e^t / (1 + e^t) = sigma(t) on the smooth
    branch, 1 on the identity branch."""
    t = x * beta
    return where(t > threshold, x, (maximum(t, 0.0) + log1p(exp(-abs(t)))) / beta)


@softplus_forward.derivative
def softplus_backward(dy, x, beta=1.0, threshold=20.0):
    t = x * beta
    return where(t > threshold, dy, dy * logistic(t))


@pointwise("gelu", saves=("x",))
def gelu_forward(x):
    """y = x Phi(x), the exact (erf) GELU, Phi the standard normal CDF. Product rule with
    Phi' = phi = e^(-x^2/2) / sqrt(2 pi): f' = Phi(x) + x phi(x). Smooth everywhere; x is
    clipped to +-40 inside x phi(x), where that term is 0 anyway, so that x^2 never overflows."""
    return x * normal_cdf(x)


@gelu_forward.derivative
def gelu_backward(dy, x):
    c = minimum(maximum(x, -40.0), 40.0)
    return dy * (normal_cdf(x) + c * INV_SQRT_2PI * exp(-0.5 * c * c))


# ---- the CUDA translation ----------------------------------------------------------------------------

_C_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.BitAnd: "&&", ast.BitOr: "||"}
_C_COMPARE = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}
_C_NAMES = {"abs": "fabs"}


def _c_expr(node: ast.expr, constants: dict[str, float]) -> str:
    """One Python expression of the vocabulary as C, every literal cast to the element type T."""
    if isinstance(node, ast.Constant):
        return f"((T){float(node.value)!r})"
    if isinstance(node, ast.Name):
        return f"((T){constants[node.id]!r})" if node.id in constants else node.id
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"(-{_c_expr(node.operand, constants)})"
    if isinstance(node, ast.BinOp):
        return f"({_c_expr(node.left, constants)} {_C_BINARY[type(node.op)]} {_c_expr(node.right, constants)})"
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _c_expr(node.left, constants), _c_expr(node.comparators[0], constants)
        return f"({left} {_C_COMPARE[type(node.ops[0])]} {right})"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_c_expr(a, constants) for a in node.args]
        if node.func.id == "where":
            return f"({args[0]} ? {args[1]} : {args[2]})"
        name = node.func.id
        return f"{_C_NAMES.get(name, 'mc_' + name if name in HELPERS else name)}({', '.join(args)})"
    raise ValueError(f"pointwise: {ast.unparse(node)!r} is outside the vocabulary")


def _c_function(fn: Callable, constants: dict[str, float]) -> str:
    """``fn`` as a C++ template device function ``mc_<name>``: each assignment a ``T`` local."""
    func = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    assert isinstance(func, ast.FunctionDef)
    lines = []
    for stmt in func.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue                                      # the docstring
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            lines.append(f"T {stmt.targets[0].id} = {_c_expr(stmt.value, constants)};")
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            lines.append(f"return {_c_expr(stmt.value, constants)};")
        else:
            raise ValueError(f"pointwise {fn.__name__}: only assignments and one return are allowed")
    args = ", ".join(f"T {a.arg}" for a in func.args.args)
    return f"template <typename T> __device__ T mc_{fn.__name__}({args}) {{ {' '.join(lines)} }}"


def to_cuda() -> str:
    """C++ source of every helper and declaration as device functions ``mc_<function name>``
    (the preamble of the CUDA elementwise kernels)."""
    constants = {k: v for k, v in globals().items() if isinstance(v, float)}
    functions = list(HELPERS.values()) + [f for op in POINTWISE.values() for f in (op.forward, op.backward)]
    body = "\n".join(_c_function(f, constants) for f in functions)
    return ("template <typename T> __device__ T maximum(T a, T b) { return (a > b || a != a) ? a : b; }\n"
            "template <typename T> __device__ T minimum(T a, T b) { return (a < b || a != a) ? a : b; }\n" + body)
