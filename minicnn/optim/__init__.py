"""minicnn.optim: SGD, Adam and AdamW with PyTorch's exact update rules.

The rules themselves are stateless functions in :mod:`minicnn.optim.updates`;
the classes hold the hyper-parameters and each parameter's state, and offer
``step()``, ``zero_grad()``, a settable ``lr`` and ``state_dict()``/``load_state_dict()``
for checkpoints.
"""
from . import updates  # noqa: F401
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "updates"]
