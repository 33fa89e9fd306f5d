"""minicnn.functional: every op as a pair ``<op>_forward(...) -> (out, cache)`` /
``<op>_backward(dout, cache) -> gradients of every input, in order``.

The ops are written once against the current backend's array module and its
kernel set (``minicnn.backend``); the layers in ``minicnn.nn`` are thin wrappers.
Each module's docstring carries the forward formula and the derivation of the
backward.
"""
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .graph import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .residual import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403

OPS = {name[:-len("_forward")]: (fn, globals()[name[:-len("_forward")] + "_backward"])
       for name, fn in sorted(globals().items()) if name.endswith("_forward")}
"""Every op of minicnn.functional: ``name -> (name_forward, name_backward)``, read off the module's
names, so that nothing keeps a second list (the torch-comparison table tests that it covers them all)."""
