"""assert_close and gradcheck."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import backend


def assert_close(actual: Any, expected: Any, rtol: float = 1e-7, atol: float = 0.0, name: str = "array") -> None:
    """Raise ``AssertionError`` unless ``|actual - expected| <= atol + rtol |expected|`` everywhere.

    Shapes are compared first, then values; non-finite values must match exactly
    (nan equals nan, inf equals inf of the same sign). The message names the
    worst element, its two values and the error.
    """
    a = np.asarray(backend.to_numpy(actual))
    e = np.asarray(backend.to_numpy(expected))
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape {a.shape} != expected {e.shape}")
    if a.size == 0:
        return
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    if not np.array_equal(np.isfinite(a64), np.isfinite(e64)) or not np.array_equal(
            a64[~np.isfinite(a64)], e64[~np.isfinite(e64)], equal_nan=True):
        raise AssertionError(f"{name}: non-finite values differ (inf, -inf and nan must sit at the same places)")
    finite = np.isfinite(e64)
    a64, e64 = np.where(finite, a64, 0.0), np.where(finite, e64, 0.0)
    err = np.abs(a64 - e64)
    excess = err - (atol + rtol * np.abs(e64))
    worst = np.unravel_index(int(np.argmax(excess)), a.shape)
    if excess[worst] > 0:
        raise AssertionError(
            f"{name}: worst element at index {tuple(int(i) for i in worst)}: got {float(a64[worst])!r}, "
            f"expected {float(e64[worst])!r} (abs err {err[worst]:.3g}, allowed {atol + rtol * abs(e64[worst]):.3g}); "
            f"{int((excess > 0).sum())} of {a.size} elements out of tolerance")


def _numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float) -> np.ndarray:
    """Central differences of scalar f with respect to every element of x (modified in place, restored)."""
    g = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return g


def gradcheck(module_or_fn: Any, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4,
              seed: int = 0) -> bool:
    """Check a hand-written backward against central differences, in float64.

    ``module_or_fn`` is either a ``minicnn.nn.Module`` (its ``forward(*inputs)``
    and ``backward(dy)``, which returns the gradient of the input, or a tuple with one
    per input for a module of several inputs, and ADDS the gradient of every
    parameter) or a functional pair given as a tuple
    ``(op_forward, op_backward)`` where ``op_forward(*inputs) -> (out, cache)``
    and ``op_backward(dout, cache)`` returns one gradient per input, in order
    (``None`` for non-differentiable ones, such as integer targets).

    Checked: every floating input (of a Module, those its backward returns a gradient
    for) and every parameter. An op over a list of arrays, such as ``cat_forward(xs)``,
    is checked through a wrapper that takes them one by one:
    ``gradcheck((lambda a, b: cat_forward([a, b]), cat_backward), a, b)``. The scalar differentiated is ``sum(out * g)`` with a fixed
    random ``g`` (a random upstream gradient, so transposed gradients cannot
    hide); ``out`` may be an array or a Python float (a loss). Floating inputs and
    parameters must be float64. A Module's parameters and buffers are restored
    afterwards (the many forwards would otherwise move, e.g., batch norm's running
    statistics), and its gradients are left at zero. Returns True, or raises
    AssertionError naming the input or parameter and its worst element.
    """
    from ..nn.module import Module

    rng = np.random.default_rng(seed)
    host_inputs = [np.array(backend.to_numpy(x), copy=True) if hasattr(x, "dtype") else x for x in inputs]
    for i, x in enumerate(host_inputs):
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {x.dtype}; finite differences need float64")

    def device(args: Sequence[Any]) -> list[Any]:
        return [backend.asarray(a) if isinstance(a, np.ndarray) else a for a in args]

    def upstream(out: Any) -> np.ndarray:
        return rng.standard_normal(np.shape(backend.to_numpy(out)))

    if isinstance(module_or_fn, Module):
        module = module_or_fn
        for name, p in module.named_parameters():
            if p.data.dtype != np.float64:
                raise TypeError(f"gradcheck: parameter {name} is {p.data.dtype}; call module.astype(numpy.float64)")
        saved = module.state_dict()
        try:
            analytic, numeric = _module_gradients(module, host_inputs, device, upstream, eps)
        finally:
            module.load_state_dict(saved)
    else:
        forward, backward = module_or_fn
        out, cache = forward(*device(host_inputs))
        g = upstream(out)
        grads = backward(backend.asarray(g), cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        analytic, numeric = {}, {}

        def scalar() -> float:
            return float(np.sum(backend.to_numpy(forward(*device(host_inputs))[0]) * g))
        for i, x in enumerate(host_inputs):
            if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
                continue
            if i >= len(grads):
                raise ValueError(f"gradcheck: the backward returned {len(grads)} gradient(s), none for floating "
                                 f"input {i}; return None for an input that has no gradient")
            if grads[i] is not None:
                analytic[f"input {i}"] = grads[i]
                numeric[f"input {i}"] = _numeric_grad(scalar, x, eps)
    for key, num in numeric.items():
        assert_close(analytic[key], num, rtol=rtol, atol=atol, name=f"gradcheck {key}")
    return True


def _module_gradients(module: Any, host_inputs: list[Any], device: Callable[[Sequence[Any]], list[Any]],
                      upstream: Callable[[Any], np.ndarray], eps: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """(analytic, numeric) gradients of ``sum(module(*inputs) * g)`` for every input the backward
    returns a gradient for, and every parameter."""
    def run_forward() -> Any:
        return module.forward(*device(host_inputs))

    out = run_forward()
    g = upstream(out)
    module.zero_grad()
    grads = module.backward(backend.asarray(g))
    grads = grads if isinstance(grads, tuple) else (grads,)
    inputs = [i for i, x in enumerate(host_inputs) if isinstance(x, np.ndarray) and x.dtype.kind == "f"][:len(grads)]
    analytic = {f"input {i}": grads[i] for i in inputs if grads[i] is not None}
    analytic.update({f"parameter {n}": backend.to_numpy(p.grad).copy() for n, p in module.named_parameters()})

    def scalar() -> float:
        return float(np.sum(backend.to_numpy(run_forward()) * g))
    numeric = {f"input {i}": _numeric_grad(scalar, host_inputs[i], eps) for i in inputs if grads[i] is not None}
    for n, p in module.named_parameters():
        host = np.array(backend.to_numpy(p.data), copy=True)

        def scalar_p(p: Any = p, host: np.ndarray = host) -> float:
            p.data = backend.asarray(host)
            return scalar()
        numeric[f"parameter {n}"] = _numeric_grad(scalar_p, host, eps)
        p.data = backend.asarray(host)
    return analytic, numeric
