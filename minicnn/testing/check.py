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
    a, e = np.asarray(backend.to_numpy(actual)), np.asarray(backend.to_numpy(expected))
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape {a.shape} != expected {e.shape}")
    if a.size == 0:
        return
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    finite = np.isfinite(e64)
    if not np.array_equal(np.isfinite(a64), finite) or not np.array_equal(a64[~finite], e64[~finite], equal_nan=True):
        raise AssertionError(f"{name}: non-finite values differ (inf, -inf and nan must sit at the same places)")
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
    ``gradcheck((lambda a, b: cat_forward([a, b]), cat_backward), a, b)``. The scalar differentiated
    is ``sum(out * g)`` with a fixed random ``g`` (a random upstream gradient, so transposed gradients cannot
    hide); ``out`` may be an array or a Python float (a loss). Floating inputs and
    parameters must be float64. A Module's parameters and buffers are restored
    afterwards (the many forwards would otherwise move, e.g., batch norm's running
    statistics), and its gradients are left at zero. Returns True, or raises
    AssertionError naming the input or parameter and its worst element.
    """
    from ..nn.module import Module

    host_inputs = [np.array(backend.to_numpy(x), copy=True) if hasattr(x, "dtype") else x for x in inputs]
    for i, x in enumerate(host_inputs):
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {x.dtype}; finite differences need float64")
    if isinstance(module_or_fn, Module):
        module = module_or_fn
        for name, p in module.named_parameters():
            if p.data.dtype != np.float64:
                raise TypeError(f"gradcheck: parameter {name} is {p.data.dtype}; call module.astype(numpy.float64)")

        def backward(dy: Any, cache: None) -> tuple[Any, ...]:
            """The Module's input gradients, None for the inputs after those its backward returns."""
            module.zero_grad()
            grads = module.backward(dy)
            grads = grads if isinstance(grads, tuple) else (grads,)
            return grads + (None,) * (len(host_inputs) - len(grads))
        saved = module.state_dict()
        try:
            analytic, numeric = _gradients(lambda *args: (module.forward(*args), None), backward, host_inputs, eps,
                                           seed, list(module.named_parameters()))
        finally:
            module.load_state_dict(saved)
    else:
        forward, backward = module_or_fn
        analytic, numeric = _gradients(forward, backward, host_inputs, eps, seed)
    for key, num in numeric.items():
        assert_close(analytic[key], num, rtol=rtol, atol=atol, name=f"gradcheck {key}")
    return True


def _device(args: Sequence[Any]) -> list[Any]:
    """The host arrays among ``args`` moved to the current backend."""
    return [backend.asarray(a) if isinstance(a, np.ndarray) else a for a in args]


def _gradients(forward: Callable[..., tuple[Any, Any]], backward: Callable[[Any, Any], Any], host_inputs: list[Any],
               eps: float, seed: int, params: Sequence[tuple[str, Any]] = ()
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(analytic, numeric) gradients of ``sum(out * g)``, ``g`` drawn from ``seed``, for every floating input
    the backward returns a gradient for, and every ``(name, Parameter)`` of ``params`` (a Module's).

    ``forward(*inputs)`` returns ``(out, cache)`` and ``backward(dout, cache)`` one gradient per input, in
    order (``None`` for an input that has none).
    """
    def scalar() -> float:
        return float(np.sum(backend.to_numpy(forward(*_device(host_inputs))[0]) * g))

    out, cache = forward(*_device(host_inputs))
    g = np.random.default_rng(seed).standard_normal(np.shape(backend.to_numpy(out)))
    grads = backward(backend.asarray(g), cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    inputs = [i for i, x in enumerate(host_inputs) if isinstance(x, np.ndarray) and x.dtype.kind == "f"]
    missing = [i for i in inputs if i >= len(grads)]
    if missing:
        raise ValueError(f"gradcheck: the backward returned {len(grads)} gradient(s), none for floating "
                         f"input {missing[0]}; return None for an input that has no gradient")
    analytic = {f"input {i}": grads[i] for i in inputs if grads[i] is not None}
    analytic.update({f"parameter {n}": backend.to_numpy(p.grad).copy() for n, p in params})
    numeric = {f"input {i}": _numeric_grad(scalar, host_inputs[i], eps) for i in inputs if grads[i] is not None}
    for n, p in params:
        host = np.array(backend.to_numpy(p.data), copy=True)

        def scalar_p(p: Any = p, host: np.ndarray = host) -> float:
            p.data = backend.asarray(host)
            return scalar()
        numeric[f"parameter {n}"] = _numeric_grad(scalar_p, host, eps)
        p.data = backend.asarray(host)
    return analytic, numeric
