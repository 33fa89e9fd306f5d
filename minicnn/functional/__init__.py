"""minicnn.functional: every op as a pair ``<op>_forward(...) -> (out, cache)`` /
``<op>_backward(dout, cache) -> gradients of every input, in order``.

The ops are written once against the current backend's array module and its
kernel set (``minicnn.backend``); the layers in ``minicnn.nn`` are thin wrappers.
Each module's docstring carries the forward formula and the derivation of the
backward.
"""
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .residual import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403
