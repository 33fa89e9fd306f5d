"""Produce the worked examples printed at the end of each derivation page.

    python docs/derivations/worked_examples.py          # print every example
    python docs/derivations/worked_examples.py --write  # refresh the blocks inside the pages

Each page holds its example between ``<!-- worked-example: NAME -->`` and
``<!-- /worked-example -->``; tests/test_docs.py regenerates every block and
fails if a page no longer matches the code.
"""
from __future__ import annotations

import contextlib
import io
import pathlib
import re
import sys
from fractions import Fraction
from typing import Callable

import numpy as np

import minicnn
from minicnn.kernels.numpy_ref.pool import avg_divisor
from minicnn.kernels.pointwise import POINTWISE
from minicnn import functional as F
from minicnn import nn, summary
from minicnn.functional.winograd import (POINTS, winograd_conv2d_backward, winograd_conv2d_forward,
                                         winograd_matrices)
from minicnn.optim import updates as O

HERE = pathlib.Path(__file__).parent
EXAMPLES: dict[str, Callable[[], str]] = {}


def example(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    def register(fn: Callable[[], str]) -> Callable[[], str]:
        EXAMPLES[name] = fn
        return fn
    return register


def fmt(a: np.ndarray) -> str:
    """An array printed compactly, the same way on every machine."""
    return np.array2string(np.asarray(a), precision=4, suppress_small=True, floatmode="maxprec",
                           separator=" ", max_line_width=100)


@example("conv")
def conv_example() -> str:
    x = np.arange(1, 17, dtype=np.float64).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
    b = np.array([0.5])
    y, cache = F.conv2d_forward(x, w, b, stride=1, padding=0)
    dy = np.array([[[[1.0, 0.0, -1.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]])
    dx, dw, db = F.conv2d_backward(dy, cache)
    return "\n".join([
        "x (1x1x4x4) =", fmt(x[0, 0]),
        "w (1x1x2x2) =", fmt(w[0, 0]), f"b = {fmt(b)}",
        "im2col(x, 2) (rows: kernel offsets (0,0) (0,1) (1,0) (1,1); columns: the 9 output positions) =",
        fmt(F.im2col(x, 2)[0]),
        "y = w.reshape(1, 4) @ cols + b, reshaped to 3x3 =", fmt(y[0, 0]),
        "upstream gradient dy =", fmt(dy[0, 0]),
        "db = sum(dy) =", fmt(db),
        "dw = dy.reshape(1, 9) @ cols.T, reshaped to 2x2 =", fmt(dw[0, 0]),
        "dcols = w.reshape(4, 1) @ dy.reshape(1, 9) =", fmt((w.reshape(4, 1) @ dy.reshape(1, 9))),
        "dx = col2im(dcols) =", fmt(dx[0, 0]),
    ])


def _sci(a: np.ndarray) -> str:
    """An array with 6 significant digits and no rounding of tiny values to zero."""
    return np.array2string(np.asarray(a), separator=" ", formatter={"float_kind": lambda v: f"{v:.6g}"})


def _clean(a: np.ndarray) -> np.ndarray:
    """``a`` rounded to 12 decimals with -0 turned into 0, for quantities that are zero in exact arithmetic."""
    return np.round(np.asarray(a, dtype=np.float64), 12) + 0.0


@example("max_pool")
def max_pool_example() -> str:
    x = np.array([[3.0, 1.0, 0.0, 2.0], [3.0, 2.0, 5.0, 5.0], [-1.0, 0.0, 4.0, 1.0],
                  [2.0, 7.0, 1.0, 0.0]]).reshape(1, 1, 4, 4)
    y, cache = F.max_pool2d_forward(x, 2)
    dy = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    dx = F.max_pool2d_backward(dy, cache)
    y1, cache1 = F.max_pool2d_forward(x, 2, stride=1)
    dx1 = F.max_pool2d_backward(np.ones_like(y1), cache1)
    return "\n".join([
        "x (1x1x4x4) =", fmt(x[0, 0]),
        "max_pool2d(x, 2) (stride defaults to the kernel) =", fmt(y[0, 0]),
        "argmax (flat index h*4 + w of each window's first maximum) =", fmt(cache.argmax[0, 0]),
        "upstream gradient dy =", fmt(dy[0, 0]),
        "dx (each dy lands on its window's winner; the 3 at (1,0) ties with (0,0) and gets nothing) =",
        fmt(dx[0, 0]),
        "max_pool2d(x, 2, stride=1) (overlapping windows) =", fmt(y1[0, 0]),
        "argmax =", fmt(cache1.argmax[0, 0]),
        "dx for dy = ones (a pixel that wins k windows receives k) =", fmt(dx1[0, 0]),
    ])


@example("avg_pool")
def avg_pool_example() -> str:
    x = np.array([[3.0, 1.0, 0.0, 2.0], [3.0, 2.0, 5.0, 5.0], [-1.0, 0.0, 4.0, 1.0],
                  [2.0, 7.0, 1.0, 0.0]]).reshape(1, 1, 4, 4)
    y, cache = F.avg_pool2d_forward(x, 2, stride=2, padding=1)
    dy = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    dx = F.avg_pool2d_backward(dy, cache)
    xa = np.arange(25.0).reshape(1, 1, 5, 5)
    ya, cache_a = F.adaptive_avg_pool2d_forward(xa, 3)
    dya = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 6.0]]).reshape(1, 1, 3, 3)
    dxa = F.adaptive_avg_pool2d_backward(dya, cache_a)
    return "\n".join([
        "x (1x1x4x4), the same as for max pooling =", fmt(x[0, 0]),
        "avg_pool2d(x, 2, stride=2, padding=1): corner windows hold 1 real pixel and 3 padding zeros,",
        "and still divide by 4 =", fmt(y[0, 0]),
        "upstream gradient dy =", fmt(dy[0, 0]),
        "dx = dy / 4 spread over each window (the padded cells' share is dropped) =", fmt(dx[0, 0]),
        "adaptive_avg_pool2d on a 5x5 input, output 3x3: bins [0,2) [1,4) [3,5) overlap; P (3x5) =",
        fmt(F.pooling._bin_matrix(5, 3, np.float64)),
        "x (1x1x5x5) =", fmt(xa[0, 0]),
        "y = P x P^T =", fmt(ya[0, 0]),
        "upstream gradient dy =", fmt(dya[0, 0]),
        "dx = P^T dy P =", fmt(dxa[0, 0]),
    ])


@example("ceil_mode")
def ceil_mode_example() -> str:
    x = (np.arange(36.0) * 7 % 11 - 5).reshape(1, 1, 6, 6)
    y, cache = F.max_pool2d_forward(x, 3, stride=2, padding=1, ceil_mode=True)
    lines = [f"H=6, k=3, s=2, p=1: floor mode {F.pool_output_size(6, 3, 2, 1)} windows, ceil mode "
             f"{F.pool_output_size(6, 3, 2, 1, True)}; the 4th covers x_pad rows 6-8:",
             "  x row 5, a padding row, a row past x_pad",
             "H=5, k=2, s=2, p=1: ceil((5 + 2 - 2) / 2) + 1 = 4, but the 4th window would start at x_pad row 6,",
             f"  H + p, in the bottom padding, and is dropped: {F.pool_output_size(5, 2, 2, 1, True)} windows",
             "x (1x1x6x6) =", fmt(x[0, 0]),
             "max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True) (the corner window's one pixel, -2, wins) =",
             fmt(y[0, 0]), "argmax =", fmt(cache.argmax[0, 0])]
    for count_include_pad in (True, False):
        ya, cache_a = F.avg_pool2d_forward(x, 3, 2, 1, True, count_include_pad)
        divisor = avg_divisor((6, 6), (4, 4), (3, 3), (2, 2), (1, 1), count_include_pad, np.float64)
        lines += [f"count_include_pad={count_include_pad}: divisors D =", fmt(divisor),
                  "avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True) =", fmt(ya[0, 0]),
                  "dx for dy = ones (each pixel: the sum of 1/D over its windows) =",
                  fmt(F.avg_pool2d_backward(np.ones_like(ya), cache_a)[0, 0])]
    return "\n".join(lines)


@example("linear")
def linear_example() -> str:
    x = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    b = np.array([0.1, -0.2])
    y, cache = F.linear_forward(x, w, b)
    dy = np.array([[1.0, -1.0], [2.0, 0.5]])
    dx, dw, db = F.linear_backward(dy, cache)
    img = np.arange(12.0).reshape(1, 3, 2, 2)
    flat, fcache = F.flatten_forward(img)
    return "\n".join([
        "x (N=2, F_in=3) =", fmt(x),
        "w (F_out=2, F_in=3) =", fmt(w), f"b = {fmt(b)}",
        "y = x w^T + b =", fmt(y),
        "upstream gradient dy (2x2) =", fmt(dy),
        "dx = dy w (2x3) =", fmt(dx),
        "dw = dy^T x (2x3) =", fmt(dw),
        "db = dy.sum(0) =", fmt(db),
        "flatten of a (1, 3, 2, 2) input, entry c*4 + h*2 + w holds x[0, c, h, w] =", fmt(flat),
        f"flatten_backward of that row has shape {F.flatten_backward(flat, fcache).shape}",
    ])


@example("residual")
def residual_example() -> str:
    body = nn.Linear(2, 2)
    body.weight.data[...] = np.array([[1.0, 2.0], [0.0, -1.0]], dtype=np.float32)
    body.bias.data[...] = 0.0
    block = nn.Residual(body)
    x = np.array([[1.0, 1.0]], dtype=np.float32)
    y = block(x)
    dy = np.array([[1.0, -2.0]], dtype=np.float32)
    dx = block.backward(dy)
    return "\n".join([
        "Residual(body=Linear(2, 2)) with the identity shortcut: y = x W^T + b + x",
        "W =", fmt(body.weight.data), "b = [0. 0.]",
        "x =", fmt(x), "y =", fmt(y),
        "upstream gradient dy =", fmt(dy),
        "through the body: dy W =", fmt(dy @ body.weight.data),
        "through the shortcut: dy =", fmt(dy),
        "dx = dy W + dy =", fmt(dx),
        "dW (accumulated into body.weight.grad) = dy^T x =", fmt(body.weight.grad),
    ])


@example("graphs")
def graphs_example() -> str:
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0, 5.0]])
    y, cache = F.cat_forward([a, b], dim=1)
    dy = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    da, db = F.cat_backward(dy, cache)
    x = np.array([[[1.0, 2.0], [3.0, 4.0]], [[-1.0, 0.5], [2.0, -2.0]]])           # (C=2, H=2, W=2)
    s = np.array([[[0.5]], [[2.0]]])                                                 # (2, 1, 1): a gate
    g, mcache = F.mul_forward(x, s)
    dg = np.ones_like(g)
    dx, ds = F.mul_backward(dg, mcache)
    shuffled, _ = F.channel_shuffle_forward(np.arange(6.0).reshape(1, 6, 1), 2)
    return "\n".join([
        "cat along dim 1: a = " + fmt(a) + ", b = " + fmt(b) + " -> y = " + fmt(y),
        "dy = " + fmt(dy) + " splits into da = " + fmt(da) + " and db = " + fmt(db),
        "mul with broadcasting: x (2, 2, 2) * s (2, 1, 1), s = " + fmt(s.reshape(-1)),
        "y = x * s =", fmt(g),
        "with dy = 1: dx = dy * s =", fmt(dx),
        "ds = sum over the broadcast axes of dy * x = " + fmt(ds.reshape(-1)) + " (each channel's sum of x)",
        "channel_shuffle, 6 channels in 2 groups: [0 1 2 3 4 5] -> " + fmt(shuffled.reshape(-1)),
    ])


def _fractions(a: np.ndarray) -> str:
    """A matrix of fractions, one row a line."""
    rows = [[str(Fraction(v).limit_denominator(1000)) for v in row] for row in np.atleast_2d(a)]
    width = max(len(s) for row in rows for s in row)
    return "\n".join("[" + " ".join(s.rjust(width) for s in row) + "]" for row in rows)


def _fmt4(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a) + 0.0, precision=4, suppress_small=True, floatmode="maxprec",
                           separator=" ", max_line_width=100)


@example("winograd")
def winograd_example() -> str:
    """The matrices, then one F(2x2, 3x3) tile forward and backward, every intermediate printed."""
    lines = []
    for m in sorted(POINTS):
        at, g, bt = winograd_matrices(m)
        pts = ", ".join(str(p) for p in POINTS[m])
        lines += [f"F({m}x{m}, 3x3), points {pts}, infinity:", "A^T =", _fractions(at), "G =", _fractions(g),
                  "B^T =", _fractions(bt)]
    at, g, bt = (mat.astype(np.float64) for mat in winograd_matrices(2))
    a, b = at.T, bt.T
    x = np.array([[1, 2, 0, -1], [3, 1, 2, 0], [0, -2, 1, 1], [2, 0, 1, 3]], dtype=np.float64)
    w = np.array([[1, 0, -1], [2, 1, 0], [0, 1, 1]], dtype=np.float64)
    dy = np.array([[1, -1], [2, 0]], dtype=np.float64)
    u, v = g @ w @ g.T, bt @ x @ bt.T
    y, cache = winograd_conv2d_forward(x.reshape(1, 1, 4, 4), w.reshape(1, 1, 3, 3), None, 0, 2)
    dx, dw, _ = winograd_conv2d_backward(dy.reshape(1, 1, 2, 2), cache)
    dm = a @ dy @ a.T
    lines += ["One F(2x2, 3x3) tile, padding 0: d (4x4) =", _fmt4(x), "g (3x3) =", _fmt4(w),
              "U = G g G^T =", _fmt4(u), "V = B^T d B =", _fmt4(v), "M = U * V =", _fmt4(u * v),
              "y = A^T M A =", _fmt4(at @ (u * v) @ a), "winograd_conv2d_forward(d, g, padding=0, m=2) =", _fmt4(y[0, 0]),
              "upstream gradient dy =", _fmt4(dy), "dM = A dy A^T =", _fmt4(dm), "dU = dM * V =", _fmt4(dm * v),
              "dw = G^T dU G =", _fmt4(g.T @ (dm * v) @ g), "dV = U * dM =", _fmt4(u * dm),
              "dx = B dV B^T =", _fmt4(b @ (u * dm) @ b.T), "winograd_conv2d_backward: dx =", _fmt4(dx[0, 0]),
              "dw =", _fmt4(dw[0, 0])]
    return "\n".join(lines)


@example("dropout")
def dropout_example() -> str:
    x = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    y, cache = F.dropout_forward(x, p=0.5, rng=np.random.default_rng(2))
    dy = np.arange(1.0, 9.0).reshape(2, 4) / 10
    dx = F.dropout_backward(dy, cache)
    y_eval, _ = F.dropout_forward(x, p=0.5, training=False)
    return "\n".join([
        "x =", fmt(x),
        "p = 0.5, mask from numpy.random.default_rng(2): m / (1 - p) =", fmt(cache.scaled_mask),
        "y = x * m / (1 - p) (survivors doubled, so E[y] = x) =", fmt(y),
        "upstream gradient dy =", fmt(dy), "dx = dy * m / (1 - p) (the same mask) =", fmt(dx),
        "eval mode: y = x, unchanged =", fmt(y_eval),
    ])


@example("batch_norm")
def batch_norm_example() -> str:
    x = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 30.0], [5.0, 60.0]])
    gamma, beta = np.array([1.0, 0.5]), np.array([0.0, 1.0])
    running_mean, running_var = np.zeros(2), np.ones(2)
    y, cache = F.batch_norm_forward(x, gamma, beta, running_mean, running_var, training=True)
    dy = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 2.0], [0.5, 0.0]])
    dx, dgamma, dbeta = F.batch_norm_backward(dy, cache)
    xhat = (x - cache.mean) * cache.inv_std
    return "\n".join([
        "x (N=4, C=2), eps=1e-5, momentum=0.1 =", fmt(x),
        f"gamma = {fmt(gamma)}, beta = {fmt(beta)}",
        f"mu = {fmt(cache.mean)}, var (biased) = {fmt(x.var(axis=0))}, s = 1/sqrt(var + eps) = {fmt(cache.inv_std)}",
        "xhat = (x - mu) s =", fmt(xhat),
        "y = gamma xhat + beta =", fmt(y),
        f"running_mean 0 -> 0.9*0 + 0.1*mu = {fmt(running_mean)}",
        f"running_var  1 -> 0.9*1 + 0.1*var*4/3 (unbiased) = {fmt(running_var)}",
        "upstream gradient dy =", fmt(dy),
        f"dbeta = sum dy = {fmt(dbeta)}, dgamma = sum dy xhat = {fmt(dgamma)}",
        "dx = gamma s/M (M dy - dbeta - xhat dgamma) =", fmt(dx),
        f"each column of dx sums to zero (shifting a channel's input does not change y): {fmt(_clean(dx.sum(axis=0)))}",
    ])


@example("layer_norm")
def layer_norm_example() -> str:
    x = np.array([[1.0, 2.0, 4.0, 5.0], [3.0, 3.0, 3.0, 3.0]])
    gamma, beta = np.array([1.0, 0.5, 2.0, 1.0]), np.array([0.0, 1.0, 0.0, -1.0])
    y, cache = F.layer_norm_forward(x, 4, gamma, beta)
    dy = np.array([[1.0, 0.0, -1.0, 2.0], [0.5, 1.0, 0.0, -1.0]])
    dx, dgamma, dbeta = F.layer_norm_backward(dy, cache)
    xhat = (x - cache.mean[:, None]) * cache.inv_std[:, None]
    g = gamma * dy
    return "\n".join([
        "x (2 rows, D=4; the second row constant), eps=1e-5 =", fmt(x),
        f"gamma = {fmt(gamma)}, beta = {fmt(beta)}",
        f"mu = {fmt(cache.mean)}, var (biased) = {fmt(x.var(axis=1))}, s = 1/sqrt(var + eps) = {fmt(cache.inv_std)}",
        "xhat = (x - mu) s (the constant row: exactly 0) =", fmt(xhat),
        "y = gamma xhat + beta =", fmt(y),
        "upstream gradient dy =", fmt(dy),
        "dxhat = gamma dy =", fmt(g),
        f"row sums: sum dxhat = {fmt(g.sum(axis=1))}, sum dxhat xhat = {fmt(_clean((g * xhat).sum(axis=1)))}",
        "dx = s/D (D dxhat - sum dxhat - xhat sum(dxhat xhat)) =", fmt(dx),
        f"dgamma = sum over rows of dy xhat = {fmt(dgamma)}, dbeta = sum over rows of dy = {fmt(dbeta)}",
        f"each row of dx sums to zero (shifting a row does not change y): {fmt(_clean(dx.sum(axis=1)))}",
    ])


@example("local_response_norm")
def local_response_norm_example() -> str:
    x = np.array([1.0, 2.0, 3.0, -1.0]).reshape(1, 4, 1)
    y, cache = F.local_response_norm_forward(x, size=2, alpha=1.0, beta=0.5, k=1.0)
    dy = np.array([1.0, 0.0, -1.0, 2.0]).reshape(1, 4, 1)
    dx = F.local_response_norm_backward(dy, cache)
    xs, div, g = x.ravel(), cache.div.ravel(), dy.ravel()
    t = g * xs / (div ** 0.5 * div)
    return "\n".join([
        "x (N=1, C=4, L=1) over the channels =", fmt(xs),
        "size n=2, alpha=1, beta=0.5, k=1: W(c) = {c-1, c} (n//2 = 1 before, (n-1)//2 = 0 after)",
        f"window sums of x^2 = {fmt(xs ** 2 + np.append(0.0, xs[:-1] ** 2))}",
        f"div = k + alpha/n * sum = {fmt(div)}",
        f"y = x / div^beta = {fmt(y.ravel())}",
        f"upstream gradient dy = {fmt(g)}",
        f"t = dy x / (div^beta div) = {fmt(t)}",
        "channel j sits in the windows of c in M(j) = {j, j+1} (the window mirrored):",
        f"mirrored window sums of t = {fmt(t + np.append(t[1:], 0.0))}",
        f"dx = dy / div^beta - (2 alpha beta / n) x (mirrored sum) = {fmt(dx.ravel())}",
    ])


@example("optimisers")
def optimisers_example() -> str:
    grads = [np.array([1.0, -2.0]), np.array([0.5, -2.0]), np.array([-1.0, -2.0])]
    rules = [
        ("SGD(lr=0.1, momentum=0.9)", O.sgd_update_, dict(lr=0.1, momentum=0.9)),
        ("SGD(lr=0.1, momentum=0.9, nesterov=True)", O.sgd_update_, dict(lr=0.1, momentum=0.9, nesterov=True)),
        ("SGD(lr=0.1, weight_decay=0.1)", O.sgd_update_, dict(lr=0.1, weight_decay=0.1)),
        ("Adam(lr=0.1)", O.adam_update_, dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)),
        ("Adam(lr=0.1, weight_decay=0.1)", O.adam_update_,
         dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)),
        ("AdamW(lr=0.1, weight_decay=0.1)", O.adam_update_,
         dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled_weight_decay=True)),
    ]
    lines = [f"one parameter, starting at [1. 1.]; gradients {', '.join(fmt(g) for g in grads)} at steps 1, 2, 3"]
    for label, update, kwargs in rules:
        param, state = np.array([1.0, 1.0]), {}
        lines.append(label)
        for t, g in enumerate(grads, start=1):
            update(param, g, state, **kwargs)
            kept = ", ".join(f"{k} {fmt(v)}" for k, v in state.items() if k != "step")
            lines.append(f"  step {t}: param {fmt(param)}" + (f"   ({kept})" if kept else ""))
    return "\n".join(lines)


@example("activations")
def activations_example() -> str:
    x = np.array([-4.0, -3.0, -1.0, 0.0, 0.5, 3.0, 6.0])
    ones = np.ones_like(x)
    lines = [f"x = {fmt(x)}", "each declared op, with its default parameters: y = f(x), then dx for dy = 1 "
             "(which is f'(x), with the kink conventions at -3, 0, 3 and 6)"]
    for name, op in POINTWISE.items():
        label = f"{name}({', '.join(f'{v:g}' for v in op.params.values())})" if op.params else name
        forward, backward = F.OPS[name]
        y, cache = forward(x)
        lines += [f"{label:16s} y = {fmt(y + 0.0)}", f"{'':16s} f'(x) = {fmt(backward(ones, cache) + 0.0)}"]
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    w = np.array([0.25])
    y, cache = F.prelu_forward(x, w)
    dy = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    dx, dw = F.prelu_backward(dy, cache)
    lines += [f"prelu(w=[0.25])  y = {fmt(y)}",
              f"with dy = {fmt(dy)}: dx = {fmt(dx)}, dw = sum of x dy over x <= 0 = {fmt(dw)}"]
    tiny, big = np.array([-1e-17]), np.array([-40.0, 1000.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive_sigmoid = np.exp(big) / (1 + np.exp(big))
        naive_softplus = np.log(1 + np.exp(big))
    lines += [
        "stability, float64:",
        f"  elu at x = -1e-17: exp(x) - 1 = {_sci(np.exp(tiny) - 1)}, expm1(x) = {_sci(F.elu_forward(tiny)[0])}",
        f"  sigmoid at x = [-40 1000]: exp(x) / (1 + exp(x)) = {_sci(naive_sigmoid)}, "
        f"stable = {_sci(F.sigmoid_forward(big)[0])}",
        f"  softplus at x = [-40 1000]: log(1 + exp(x)) = {_sci(naive_softplus)}, "
        f"stable = {_sci(F.softplus_forward(big)[0])}",
    ]
    return "\n".join(lines)


@example("softmax_cross_entropy")
def softmax_cross_entropy_example() -> str:
    z = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, -1.0]])
    t = np.array([0, 2])
    p, _ = F.softmax_forward(z, dim=1)
    logp, _ = F.log_softmax_forward(z, dim=1)
    loss, cache = F.cross_entropy_forward(z, t)
    dz, _ = F.cross_entropy_backward(1.0, cache)
    loss_s, cache_s = F.cross_entropy_forward(z, t, label_smoothing=0.3)
    dz_s, _ = F.cross_entropy_backward(1.0, cache_s)
    dy = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]])
    dsm = F.softmax_backward(dy, F.softmax_forward(z, dim=1)[1])
    big = np.array([[1000.0, 0.0, -1000.0]])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = np.exp(big) / np.exp(big).sum(axis=1, keepdims=True)
        naive_log = np.log(np.exp(big - big.max()) / np.exp(big - big.max()).sum())
    return "\n".join([
        "logits z (N=2, K=3) =", fmt(z), f"targets t = {fmt(t)}",
        "p = softmax(z) =", fmt(p),
        "log p = log_softmax(z) = (z - m) - log sum exp(z - m) =", fmt(logp),
        f"loss = mean_n -log p[n, t_n] = ({-logp[0, 0]:.4f} + {-logp[1, 2]:.4f}) / 2 = {float(loss):.4f}",
        "dz = (p - onehot(t)) / N =", fmt(dz),
        f"with label_smoothing = 0.3: q = 0.7 onehot(t) + 0.1, loss = {float(loss_s):.4f}",
        "dz = (p - q) / N =", fmt(dz_s),
        f"each row of dz sums to zero: {fmt(_clean(dz_s.sum(axis=1)))}",
        "softmax backward for dy =", fmt(dy),
        "dx = p * (dy - sum(dy * p)) =", fmt(dsm),
        "stability, logits [1000 0 -1000]:",
        f"  exp(z) / sum exp(z) = {_sci(naive)}",
        f"  log(softmax(z)) even with the max subtracted = {_sci(naive_log)}",
        f"  softmax(z) = {_sci(F.softmax_forward(big)[0])}",
        f"  log_softmax(z) = {_sci(F.log_softmax_forward(big)[0])}",
    ])


@example("attention")
def attention_example() -> str:
    q = np.array([[1.0, 0.0], [0.0, 2.0]])                      # L = 2 queries, E = 2
    k = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, -1.0]])         # S = 3 keys
    v = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])          # E_v = 2
    y, cache = F.scaled_dot_product_attention_forward(q, k, v)
    dy = np.array([[1.0, -1.0], [0.5, 2.0]])
    dq, dk, dv = F.scaled_dot_product_attention_backward(dy, cache)
    p, dp = cache.p, dy @ v.T
    minicnn.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, bias=False).astype(np.float64)
    x = np.array([[[1.0, 0.0, -1.0, 2.0], [0.5, 1.0, 0.0, -1.0]]])         # (N=1, L=2, E=4)
    dx = mha.backward(np.ones_like(mha(x)) - x)
    w = mha.in_proj_weight.data
    heads = mha._heads(x @ w.T)                                            # (3, N, H, L, d)
    _, att = F.scaled_dot_product_attention_forward(*heads)
    do = (np.ones_like(x) - x) @ mha.out_proj.weight.data
    grads = F.scaled_dot_product_attention_backward(do.reshape(1, 2, 2, 2).swapaxes(1, 2), att)
    paths = [g.swapaxes(1, 2).reshape(1, 2, 4) @ w[i * 4:(i + 1) * 4] for i, g in enumerate(grads)]
    return "\n".join([
        "q (L=2, E=2) =", fmt(q), "k (S=3, E=2) =", fmt(k), "v (S=3, E_v=2) =", fmt(v),
        "Z = q k^T / sqrt(2) =", fmt(q @ k.T / np.sqrt(2)),
        "P = softmax(Z) row by row (each row sums to 1) =", fmt(p),
        "y = P v =", fmt(y),
        "upstream gradient dy =", fmt(dy),
        "dv = P^T dy =", fmt(dv),
        "dP = dy v^T =", fmt(dp),
        "rowsum(dP * P) =", fmt((dp * p).sum(axis=1)),
        "dZ = P * (dP - rowsum(dP * P)) (each row sums to 0) =", fmt(p * (dp - (dp * p).sum(axis=1, keepdims=True))),
        "dq = dZ k / sqrt(2) =", fmt(dq),
        "dk = dZ^T q / sqrt(2) =", fmt(dk),
        "MultiheadAttention(4, 2, bias=False), x (1, 2, 4), dy = 1 - x; x reaches y through q, k and v:",
        "  through q: dq W_q =", fmt(paths[0][0]),
        "  through k: dk W_k =", fmt(paths[1][0]),
        "  through v: dv W_v =", fmt(paths[2][0]),
        "  the sum =", fmt(sum(paths)[0]),
        "  the layer's dx = [dq | dk | dv] W_in =", fmt(dx[0]),
    ])


def _label(layer: nn.Module) -> str:
    """A short name for a layer, with only its non-default window settings."""
    name = type(layer).__name__
    if isinstance(layer, nn.Conv2d):
        extra = "".join(f", {n}={v[0]}" for n, v, default in
                        (("stride", layer.stride, 1), ("padding", layer.padding, 0), ("dilation", layer.dilation, 1))
                        if v[0] != default)
        return f"{name}({layer.in_channels}, {layer.out_channels}, {layer.kernel_size[0]}{extra})"
    if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
        extra = "".join(f", {n}={v[0]}" for n, v, default in
                        (("stride", layer.stride, layer.kernel_size), ("padding", layer.padding, (0, 0)))
                        if v != default)
        return f"{name}({layer.kernel_size[0]}{extra})"
    return f"{name}()"


def _size_formula(layer: nn.Module, h: int) -> str:
    """The output-height formula of a window layer, with the numbers filled in."""
    if isinstance(layer, nn.Conv2d):
        (k, _), (s, _), (p, _), (d, _) = layer.kernel_size, layer.stride, layer.padding, layer.dilation
        return f"({h} + 2*{p} - {d}*({k} - 1) - 1) // {s} + 1"
    (k, _), (s, _), (p, _) = layer.kernel_size, layer.stride, layer.padding
    return f"({h} + 2*{p} - {k}) // {s} + 1"


def _trace(layers: list[nn.Module], input_shape: tuple[int, int, int]) -> list[str]:
    """One line per layer: its output shape (from a real forward pass) and how that size follows."""
    x = np.zeros((1, *input_shape), dtype=np.float32)
    lines = [f"  {'input':36s} {input_shape}"]
    for layer in layers:
        before = x.shape[1:]
        x = layer(x)
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            why = f"H = W = {_size_formula(layer, before[1])} = {x.shape[2]}"
        elif isinstance(layer, nn.Flatten):
            why = "C*H*W = " + "*".join(str(v) for v in before) + f" = {x.shape[1]}"
        else:
            why = "same shape"
        lines.append(f"  {_label(layer):36s} {str(tuple(x.shape[1:])):13s} {why}")
    return lines


@example("shapes")
def shapes_example() -> str:
    minicnn.manual_seed(0)

    def features() -> list[nn.Module]:
        return [nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten()]
    lines = ["LeNet-5 features on a 1x32x32 input (shape per example, batch axis omitted):"]
    lines += _trace(features(), (1, 32, 32))
    lines += ["the same layers on a 1x28x28 input (Fashion-MNIST):"]
    lines += _trace(features(), (1, 28, 28))
    model = nn.Sequential(*features(), nn.Linear(16 * 5 * 5, 120))
    try:
        model(np.zeros((1, 1, 28, 28), dtype=np.float32))
    except ValueError as exc:
        lines += ["Linear(400, 120), right for 32x32, on the 28x28 input:", f"  ValueError: {exc}"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        summary.main(["lenet5", "--input-shape", "1,28,28"])
    lines += ["the zoo's lenet5 pads the first convolution by 2, so 28x28 ends at 5x5 again;",
              "python -m minicnn.summary lenet5 --input-shape 1,28,28 prints:"]
    lines += ["  " + line for line in printed.getvalue().splitlines()]
    lines += ["stride, dilation, padded pooling, and sizes that do not divide (the // floors):"]
    lines += _trace([nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, dilation=2),
                     nn.AvgPool2d(3, stride=2, padding=1), nn.Flatten()], (3, 30, 30))
    return "\n".join(lines)


BLOCK = re.compile(r"<!-- worked-example: (\w+) -->\n```text\n.*?```\n<!-- /worked-example -->", re.S)


def names(text: str) -> list[str]:
    """The names of the worked-example blocks in a page."""
    return [m.group(1) for m in BLOCK.finditer(text)]


def refresh(text: str) -> str:
    """``text`` with every worked-example block regenerated from the code."""
    def sub(m: re.Match) -> str:
        return (f"<!-- worked-example: {m.group(1)} -->\n```text\n{EXAMPLES[m.group(1)]()}\n```\n"
                "<!-- /worked-example -->")
    return BLOCK.sub(sub, text)


def main(argv: list[str]) -> int:
    minicnn.set_backend("numpy")
    if "--write" in argv:
        for page in sorted(HERE.glob("*.md")):
            text = page.read_text()
            new = refresh(text)
            if new != text:
                page.write_text(new)
                print(f"updated {page.name}")
        return 0
    for name, fn in EXAMPLES.items():
        print(f"== {name}\n{fn()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
