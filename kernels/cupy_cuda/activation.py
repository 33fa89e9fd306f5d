"""Pointwise activations on the GPU: every declaration of ``kernels/pointwise.py`` translated to a C
device function (``pointwise.to_cuda``) and run by a ``cupy.ElementwiseKernel``; PReLU as array expressions.

One thread per element; ``T`` is the array's dtype (float32 or float64), for which CuPy compiles
each kernel once. Parameters are converted to that dtype, as NumPy converts a Python float.
PReLU is the NumPy reference's own code: its NumPy calls dispatch to CuPy on CuPy arrays
(NEP 18), and a select and a per-channel sum need no kernel of their own.
"""
from __future__ import annotations

from typing import Any, Callable

import cupy

from ..numpy_ref.activation import prelu, prelu_backward  # noqa: F401
from ..pointwise import POINTWISE, to_cuda

__all__ = [name for op in POINTWISE for name in (op, op + "_backward")] + ["prelu", "prelu_backward"]

_PREAMBLE = to_cuda()


def _primitive(fn: Callable, arrays: tuple[str, ...], params: tuple[str, ...]) -> Callable:
    """The primitive ``f(*arrays, *params)``: device function ``mc_<fn>`` over same-shape arrays."""
    names = ", ".join(arrays + params)
    kernel = cupy.ElementwiseKernel(", ".join(f"T {n}" for n in arrays + params), "T out",
                                    f"out = mc_{fn.__name__}({names})", f"minicnn_{fn.__name__}",
                                    preamble=_PREAMBLE)

    def call(*args: Any) -> Any:
        dtype = args[0].dtype
        return kernel(*args[:len(arrays)], *(dtype.type(p) for p in args[len(arrays):]))
    call.__name__, call.__doc__ = fn.__name__, fn.__doc__
    return call


for _op in POINTWISE.values():
    _params = tuple(_op.params)
    globals()[_op.name] = _primitive(_op.forward, ("x",), _params)
    globals()[_op.name + "_backward"] = _primitive(_op.backward, ("dy",) + _op.saves, _params)
