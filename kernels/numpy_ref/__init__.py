"""The NumPy reference kernels: readable, vectorised, no Python loops over pixels.

This is the ground truth the Numba and CUDA kernels are tested against.
"""
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403
from .winograd import *  # noqa: F401,F403
