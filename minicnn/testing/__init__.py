"""minicnn.testing: tools to prove a layer's gradients, for minicnn's own tests and yours.

* :func:`gradcheck`: central finite differences in float64 on every input and parameter.
* :func:`assert_close`: compare two arrays; the message names the worst element.
* ``strategies``: hypothesis strategies that draw valid CNN geometry and arrays.
"""
from . import strategies  # noqa: F401
from .check import assert_close, gradcheck  # noqa: F401

__all__ = ["gradcheck", "assert_close", "strategies"]
