"""Module, Parameter and Sequential: the layer API of minicnn.

A Module owns Parameters (trainable arrays with a gradient), buffers (state that
is saved but not trained, like BatchNorm's running statistics) and child
Modules. Registration is by attribute assignment, as in PyTorch, so names,
order and ``state_dict`` keys (``"features.3.weight"``) are PyTorch's.

``forward(x)`` computes the output and keeps what backward needs (the op's
cache); ``backward(dy)`` returns dx and ADDS each parameter's gradient into
``param.grad``. A forward's cache is used by exactly one backward. A layer without
parameters that only calls one functional pair derives from ``_OpLayer``, which names
the op and the attributes it passes.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .. import backend
from .. import functional as F
from ..checks import require_float, require_ndim


class Parameter:
    """A trainable array ``data`` and its accumulated gradient ``grad`` (same shape and dtype)."""

    __slots__ = ("data", "grad")

    def __init__(self, data: Any) -> None:
        self.data = data
        self.grad = backend.xp().zeros_like(data)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of every layer. Subclasses implement ``forward`` and ``backward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_cache", None)
        object.__setattr__(self, "training", True)

    # ---- registration -------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        """Register a Parameter or a Module under ``name``, or set a plain attribute.

        As in PyTorch, assigning an array to a buffer's name replaces the buffer's value
        (it stays in ``state_dict``), and a registered parameter can only be replaced by
        a Parameter or by None (which removes it).
        """
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call Module.__init__() before assigning attributes")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            self._buffers[name] = value
            return
        if name in self._parameters and not isinstance(value, Parameter) and value is not None:
            raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to parameter {name!r} "
                            "(expected a Parameter or None)")
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        if isinstance(value, (Parameter, Module)):
            self.__dict__.pop(name, None)               # a plain attribute would shadow the registered one
            (self._parameters if isinstance(value, Parameter) else self._modules)[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        for store in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(store)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name``; ``None`` records an absent optional parameter."""
        setattr(self, name, param)

    def register_buffer(self, name: str, array: Any) -> None:
        """Register saved, untrained state (it appears in ``state_dict``); assign to the name to replace it."""
        for store in (self._parameters, self._modules, self.__dict__):
            store.pop(name, None)
        self._buffers[name] = array

    # ---- forward / backward ---------------------------------------------------------
    def forward(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, dy: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``forward``; a layer without children puts its own name in front of the TypeError or
        ValueError its functional op raised for bad input (the op checks, the layer names itself)."""
        try:
            return self.forward(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            if self._modules or type(exc) not in (TypeError, ValueError) or str(exc).startswith(self._name()):
                raise
            raise type(exc)(f"{self._name()}: {exc}") from exc

    def _save(self, cache: Any) -> None:
        object.__setattr__(self, "_cache", cache)

    def _take(self) -> Any:
        """The cache of the last forward, consumed: a second backward needs a new forward."""
        cache = self._cache
        if cache is None:
            raise RuntimeError(f"{self._name()}: backward() called before forward() "
                               "(or twice for one forward)")
        object.__setattr__(self, "_cache", None)
        return cache

    @staticmethod
    def _accumulate(param: Parameter | None, grad: Any) -> None:
        if param is not None and grad is not None:
            param.grad += grad

    def input_layer(self) -> Module | None:
        """The layer that receives this module's input and nothing else does, or None.

        A layer without children is its own input layer; a container's is its first step's when it
        runs its children as a chain (Sequential), and None when the input may fan out (the
        default). Training sets ``input_grad = False`` on a network's input layer, whose input is
        data, so that backward skips that gradient as PyTorch does.
        """
        return None if self._modules else self

    # ---- traversal ------------------------------------------------------------------
    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        return (m for _, m in self.named_modules())

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(name, Parameter)`` in PyTorch's order and with PyTorch's names."""
        for mod_name, mod in self.named_modules(prefix):
            for name, p in mod._parameters.items():
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        for mod_name, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                yield (f"{mod_name}.{name}" if mod_name else name), b

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    # ---- state ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Host NumPy copies of every parameter and buffer, under PyTorch's key names."""
        return {key: backend.to_numpy(mod._parameters[name].data if is_param else mod._buffers[name]).copy()
                for key, mod, name, is_param in self._state_entries()}

    def _state_entries(self) -> Iterator[tuple[str, Module, str, bool]]:
        """(key, module, name, is_parameter) of every parameter and buffer, in PyTorch's ``state_dict``
        order: each module's parameters, then its buffers."""
        for mod_name, mod in self.named_modules():
            pre = f"{mod_name}." if mod_name else ""
            yield from ((pre + name, mod, name, True) for name in mod._parameters)
            yield from ((pre + name, mod, name, False) for name in mod._buffers)

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy ``state`` (arrays, or anything ``numpy.asarray`` takes) into this module.

        Values are copied (the module never shares memory with ``state``), keep this
        module's dtypes and move to the current backend. With
        ``strict``, missing or unexpected keys raise one ``KeyError`` listing them all; entries of
        the wrong shape or of a non-numeric dtype raise one ``ValueError`` listing them all. Every
        entry is checked before any is copied, so a failed load leaves the module as it was.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"{self._name()}.load_state_dict: expected a dict of arrays, got {type(state).__name__}")
        targets = {key: (mod, name, is_param) for key, mod, name, is_param in self._state_entries()}
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            raise KeyError(f"{self._name()}.load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        values, bad = {}, []
        for key, value in state.items():
            if key not in targets:
                continue
            mod, name, is_param = targets[key]
            current = mod._parameters[name].data if is_param else mod._buffers[name]
            try:
                array = np.asarray(backend.to_numpy(value))
            except (TypeError, ValueError) as exc:
                bad.append(f"{key}: not an array ({exc})")
                continue
            if array.dtype.kind not in "biuf":
                bad.append(f"{key}: expected numbers, got dtype {array.dtype}")
            elif tuple(array.shape) != tuple(current.shape):
                bad.append(f"{key}: expected shape {tuple(current.shape)}, got {tuple(array.shape)}")
            else:
                values[key] = array.astype(current.dtype, copy=True)
        if bad:
            raise ValueError(f"{self._name()}.load_state_dict: nothing was loaded: " + "; ".join(bad))
        for key, value in values.items():                 # every entry is valid: now copy them all
            mod, name, is_param = targets[key]
            if is_param:
                p = mod._parameters[name]
                p.data = backend.asarray(value)
                p.grad = backend.xp().zeros_like(p.data)
            else:
                mod._buffers[name] = backend.asarray(value)

    def _convert(self, fn: Any) -> Module:
        for mod in self.modules():
            for p in mod._parameters.values():
                p.data = fn(p.data, True)
                p.grad = backend.xp().zeros_like(p.data)
            for name, b in list(mod._buffers.items()):
                mod._buffers[name] = fn(b, False)
            object.__setattr__(mod, "_cache", None)
        return self

    def astype(self, dtype: Any) -> Module:
        """Cast every floating parameter and buffer to ``dtype`` (e.g. ``numpy.float64``); returns self."""
        def cast(a: Any, is_param: bool) -> Any:
            return a.astype(dtype) if (is_param or a.dtype.kind == "f") else a
        return self._convert(cast)

    def to_backend(self, name: str | None = None) -> Module:
        """Move every parameter and buffer to backend ``name`` (default: the current one); returns self.

        Switches the current backend to ``name`` when given.
        """
        if name is not None:
            backend.set_backend(name)
        return self._convert(lambda a, _: backend.asarray(backend.to_numpy(a)))

    # ---- printing and errors --------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _name(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self) -> str:
        if not self._modules:
            return self._name()
        lines = [f"  ({k}): " + repr(m).replace("\n", "\n  ") for k, m in self._modules.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def _check_input(self, x: Any, ndims: tuple[int, ...]) -> None:
        """TypeError/ValueError naming this layer unless ``x`` is a float array with one of ``ndims``
        dimensions (for layers that accept fewer layouts than their functional op)."""
        require_float(x, self._name)
        require_ndim(x, ndims, self._name)


class _OpLayer(Module):
    """A layer without parameters over one functional pair, ``F.OPS[op]``: forward calls
    ``<op>_forward(x, *args)`` with the attributes named in ``_args``, in order (the op checks x), and keeps
    its cache for ``<op>_backward``. The repr lists those attributes as ``name=value``."""

    op: str
    _args: tuple[str, ...] = ()

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)}" for name in self._args)

    def forward(self, x: Any) -> Any:
        y, cache = F.OPS[self.op][0](x, *[getattr(self, name) for name in self._args])
        self._save(cache)
        return y

    def backward(self, dy: Any) -> Any:
        return F.OPS[self.op][1](dy, self._take())


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", ... as in PyTorch."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
            setattr(self, str(i), m)

    def __getitem__(self, index: int | slice) -> Module:
        """The child at ``index``; a slice is a new Sequential whose children keep their names, as in PyTorch."""
        if isinstance(index, slice):
            part = Sequential()
            for name, m in list(self._modules.items())[index]:
                setattr(part, name, m)
            return part
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def input_layer(self) -> Module | None:
        return next(iter(self._modules.values())).input_layer() if self._modules else None

    def append(self, module: Module) -> Sequential:
        setattr(self, str(len(self)), module)
        return self

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def backward(self, dy: Any) -> Any:
        for m in reversed(list(self._modules.values())):
            dy = m.backward(dy)
        return dy
