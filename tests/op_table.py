"""The torch-comparison table: one row per op of ``minicnn.functional.OPS`` (Chainer's FunctionTestCase,
as a table).

A row names the op, the torch function that computes the same thing from THE SAME arguments, and a
hypothesis strategy that draws a :class:`Case` (the arguments). ``tests/test_parity.py`` runs every
row on every backend, in float64 (tight) and float32 (loose), and compares the output and every
gradient with torch's under a random upstream gradient; it also fails when an op of OPS has no row.

Arguments of a case are plain values (hyper-parameters, passed as they are to both sides) or
markers around NumPy arrays (drawn in float64; the runner casts floating ones to the tested dtype):

* ``Arr(a)``: an input the backward returns a gradient for, in order (conv's x, w and b, batch
  norm's gamma and beta, attention's q, k, v, each array of cat's list). Floating: compared with
  torch's gradient. Integer (targets) or ``Arr(None)`` (an absent optional input, e.g. no bias):
  the backward must return None in its place.
* ``State(a)``: an array without a gradient that both sides get a copy of and that is compared
  after the call: batch norm's running statistics (updated in place), dropout's mask (unchanged).

Adding an op is one row, e.g. ``Row("relu6", TF.relu6, pointwise(kinks=(0.0, 6.0)))``; options:
``variant`` (several rows of one op), ``dtypes``, ``tol`` (``EXACT`` or any dtype -> Tolerance) and
``context`` (a context manager around our forward and backward, e.g. conv's column chunking).
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ContextManager, Iterator

import numpy as np
import torch
from hypothesis import strategies as st

from minicnn import backend
from minicnn.functional.conv import conv_output_size
from minicnn.testing import strategies as cst

TF = torch.nn.functional
DTYPES = (np.float64, np.float32)


# ---- cases ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Arr:
    """An input with a gradient slot in the op's backward (None: an absent optional input)."""

    value: np.ndarray | None


@dataclass(frozen=True)
class State:
    """An array without a gradient, given to both sides as a copy and compared after the call."""

    value: np.ndarray


@dataclass(frozen=True)
class Case:
    """The arguments of one call: ``forward(*args, **kwargs)`` and ``torch_fn(*args, **kwargs)``.

    ``seed`` seeds torch's CPU generator just before the torch call (dropout draws its mask there).
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)
    seed: int = 0

    def cast(self, dtype: Any) -> Case:
        """This case with every floating array in ``dtype``."""
        def cast(m: Any) -> Any:
            v = m.value
            return m if v is None or v.dtype.kind != "f" else replace(m, value=v.astype(dtype))
        return replace(self, args=map_markers(self.args, cast), kwargs=map_markers(self.kwargs, cast))


def map_markers(obj: Any, fn: Callable[[Any], Any]) -> Any:
    """``obj`` with every Arr/State inside (tuples, lists, dicts) replaced by ``fn(marker)``, in order."""
    if isinstance(obj, (Arr, State)):
        return fn(obj)
    if isinstance(obj, (tuple, list)):
        return type(obj)(map_markers(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: map_markers(v, fn) for k, v in obj.items()}
    return obj


def markers(case: Case) -> list[Any]:
    """Every Arr and State of ``case``, args first, in the order :func:`map_markers` visits them."""
    found: list[Any] = []
    map_markers((case.args, case.kwargs), lambda m: found.append(m) or m)
    return found


# ---- rows -------------------------------------------------------------------------------

def EXACT(dtype: Any) -> cst.Tolerance:
    """Bit-equal results (ops that only move or add values once)."""
    return cst.Tolerance(0.0, 0.0)


def f64_rtol(rtol: float) -> Callable[[Any], cst.Tolerance]:
    """The usual tolerances, but float64 only to ``rtol`` (where torch itself is off by more than 1e-9)."""
    return lambda dtype: cst.Tolerance(rtol, 1e-10) if np.dtype(dtype) == np.float64 else cst.tolerance(dtype)


@dataclass(frozen=True)
class Row:
    """One op against torch: ``torch`` takes the same arguments as ``minicnn.functional.OPS[op]``'s forward."""

    op: str
    torch: Callable[..., torch.Tensor]
    case: st.SearchStrategy
    variant: str = ""
    dtypes: tuple = DTYPES
    tol: Callable[[Any], cst.Tolerance] = cst.tolerance
    context: Callable[[Case], ContextManager] = lambda case: nullcontext()

    @property
    def id(self) -> str:
        return f"{self.op}/{self.variant}" if self.variant else self.op


# ---- strategies -------------------------------------------------------------------------

def floats(lo: float, hi: float) -> st.SearchStrategy:
    return st.floats(lo, hi, allow_nan=False, allow_subnormal=False)


def randn(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> np.ndarray:
    """Standard normal float64 values times ``scale`` (the runner casts them to the tested dtype)."""
    return cst.arrays(shape, np.float64, seed, scale)


def at_kinks(x: np.ndarray, seed: int, fraction: float, kinks: tuple[float, ...] = (0.0,)) -> np.ndarray:
    """``x`` with about ``fraction`` of its values set exactly to one of the ``kinks``."""
    rng = np.random.default_rng(seed + 7)
    hit = rng.random(x.shape) < fraction
    x[hit] = np.asarray(kinks)[rng.integers(0, len(kinks), x.shape)][hit]
    return x


@st.composite
def pointwise(draw: Any, kinks: tuple[float, ...] = (0.0,), **hyper: st.SearchStrategy) -> Case:
    """One array of 1-4 dims (sides 1-6), scaled 1, 4 or 12, with 0 or 30% of it exactly at the
    ``kinks``; ``hyper`` draws the keyword arguments (``negative_slope=floats(-1, 1)``)."""
    shape, seed = draw(cst.shapes(1, 4, 1, 6)), draw(cst.seeds())
    scale, fraction = draw(st.sampled_from([1.0, 4.0, 12.0])), draw(st.sampled_from([0.0, 0.3]))
    return Case((Arr(at_kinks(randn(shape, seed, scale), seed, fraction, kinks)),),
                draw(st.fixed_dictionaries(hyper)), seed)


@st.composite
def prelu_case(draw: Any) -> Case:
    """x (1-4 dims, 0 or 30% zeros) and a weight of size 1 (shared) or the channel count on axis 1."""
    shape, seed = draw(cst.shapes(1, 4, 1, 6)), draw(cst.seeds())
    c = 1 if len(shape) < 2 or draw(st.booleans()) else shape[1]
    x = at_kinks(randn(shape, seed), seed, draw(st.sampled_from([0.0, 0.3])))
    return Case((Arr(x), Arr(randn((c,), seed + 1))), seed=seed)


@st.composite
def along_dim(draw: Any) -> Case:
    """x (1-4 dims) scaled 1, 30 or 1e4 (huge logits) and any dim, negative ones too."""
    shape, seed = draw(cst.shapes(1, 4, 1, 6)), draw(cst.seeds())
    x = randn(shape, seed, draw(st.sampled_from([1.0, 30.0, 1e4])))
    return Case((Arr(x), draw(st.integers(-len(shape), len(shape) - 1))), seed=seed)


@st.composite
def classification(draw: Any) -> Case:
    """Logits (N 1-8, K 1-10) scaled 1, 30 or 1e4, targets as int64, int32 or uint8, label smoothing
    0 or in [0, 1)."""
    n, k, seed = draw(st.integers(1, 8)), draw(st.integers(1, 10)), draw(cst.seeds())
    targets = np.random.default_rng(seed + 1).integers(0, k, n).astype(draw(st.sampled_from([np.int64, np.int32,
                                                                                             np.uint8])))
    smoothing = draw(st.one_of(st.just(0.0), st.floats(0.0, 1.0, exclude_max=True, allow_subnormal=False)))
    x = randn((n, k), seed, draw(st.sampled_from([1.0, 30.0, 1e4])))
    return Case((Arr(x), Arr(targets)), {"label_smoothing": smoothing}, seed)


@st.composite
def pool_case(draw: Any, ties: bool = False, avg: bool = False) -> Case:
    """A valid pooling geometry (padding up to half the kernel: padded borders), ceil_mode or not (then
    last windows that run past the padded input, or start in the padding and are dropped, are frequent;
    see ``cst.pool_geometry``). Plain: normal values, stride given or left to default to the kernel.
    ``ties``: values from 1-3 integer levels. ``avg``: count_include_pad drawn too."""
    g, seed = draw(cst.pool_geometry(ceil_mode=None)), draw(cst.seeds())
    if ties:
        levels = draw(st.integers(1, 3))
        x, stride = np.random.default_rng(seed).integers(-levels, 1, g.x_shape).astype(np.float64), g.stride
    else:
        x, stride = randn(g.x_shape, seed), None if draw(st.booleans()) else g.stride
    flags = {"ceil_mode": g.ceil_mode} | ({"count_include_pad": draw(st.booleans())} if avg else {})
    return Case((Arr(x), g.kernel, stride, g.padding), flags, seed=seed)


@st.composite
def adaptive_case(draw: Any) -> Case:
    """Input (1-4, 1-8, 1-16, 1-16) and an output size: an int or a pair, dividing the input or not,
    even larger than it."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 8)), draw(st.integers(1, 16)), draw(st.integers(1, 16)))
    size = draw(st.one_of(st.integers(1, 6), st.tuples(st.integers(1, 9), st.integers(1, 9))))
    seed = draw(cst.seeds())
    return Case((Arr(randn(shape, seed)), size), seed=seed)


@st.composite
def conv_case(draw: Any) -> Case:
    """A valid conv geometry (kernel, stride, padding, dilation, groups), with or without bias."""
    g, seed = draw(cst.conv_geometry()), draw(cst.seeds())
    b = randn((g.c_out,), seed + 2) if draw(st.booleans()) else None
    return Case((Arr(randn(g.x_shape, seed)), Arr(randn(g.w_shape, seed + 1)), Arr(b),
                 g.stride, g.padding, g.dilation, g.groups), seed=seed)


def column_chunks(images: int | None) -> Callable[[Case], ContextManager]:
    """Our conv2d builds columns ``images`` images at a time (None: the backend's own chunk size)."""
    @contextmanager
    def chunked(case: Case) -> Iterator[None]:
        x, w, _, stride, padding, dilation, _ = case.args
        (_, c_in, h, wd), (_, _, kh, kw) = x.value.shape, w.value.shape
        out = (conv_output_size(h, kh, stride[0], padding[0], dilation[0])
               * conv_output_size(wd, kw, stride[1], padding[1], dilation[1]))
        kernels = backend.kernels()
        previous = kernels.COLUMN_CHUNK_BYTES
        if images is not None:
            kernels.COLUMN_CHUNK_BYTES = images * c_in * kh * kw * out * x.value.itemsize
        try:
            yield
        finally:
            kernels.COLUMN_CHUNK_BYTES = previous
    return chunked


@st.composite
def winograd_case(draw: Any) -> Case:
    """A 3x3, stride-1, ungrouped conv with the same padding (0-2) on both axes: the layers conv2d
    computes by Winograd's F(4x4, 3x3) (see :func:`winograd_from`); sizes not divisible by the tile."""
    p, seed = draw(st.integers(0, 2)), draw(cst.seeds())
    h, w = (draw(st.integers(max(1, 3 - 2 * p), 11)) for _ in range(2))
    c_in, c_out = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    b = randn((c_out,), seed + 2) if draw(st.booleans()) else None
    return Case((Arr(randn((draw(st.integers(1, 3)), c_in, h, w), seed)), Arr(randn((c_out, c_in, 3, 3), seed + 1)),
                 Arr(b), 1, p), seed=seed)


def winograd_from(channels: int) -> Callable[[Case], ContextManager]:
    """conv2d takes the Winograd path from ``channels`` input channels on."""
    @contextmanager
    def lowered(case: Case) -> Iterator[None]:
        kernels = backend.kernels()
        previous = kernels.WINOGRAD_MIN_CHANNELS
        kernels.WINOGRAD_MIN_CHANNELS = channels
        try:
            yield
        finally:
            kernels.WINOGRAD_MIN_CHANNELS = previous
    return lowered


@st.composite
def batch_norm_case(draw: Any) -> Case:
    """(N, C), (N, C, L) or (N, C, H, W) with at least 2 values per channel, train or eval, momentum
    in [0, 1], eps 1e-5 or 1e-3; running statistics as State (both sides update them in place)."""
    ndim, c = draw(st.sampled_from([2, 3, 4])), draw(st.integers(1, 8))
    spatial = tuple(draw(st.integers(1, 6)) for _ in range(ndim - 2))
    n = draw(st.integers(1, 6))
    n = 2 if n * int(np.prod(spatial)) < 2 else n
    training, momentum = draw(st.booleans()), draw(st.floats(0.0, 1.0))
    eps, seed = draw(st.sampled_from([1e-5, 1e-3])), draw(cst.seeds())
    return Case((Arr(randn((n, c, *spatial), seed)), Arr(randn((c,), seed + 1)), Arr(randn((c,), seed + 2)),
                 State(randn((c,), seed + 3)), State(np.exp(randn((c,), seed + 4))), training, momentum, eps),
                seed=seed)


@st.composite
def layer_norm_case(draw: Any) -> Case:
    """x of 0-2 leading axes (sides 1-4) and 1-3 normalised ones (sides 1-5), scaled 1, 1e-3 (var below
    eps) or 1e4, every other row constant (var 0) half the time; weight and bias each given or None; eps
    1e-5, 1e-3 or 0.1. Constant rows hold normal values, and rows of one value are not scaled by 1e4:
    on a constant row of large values torch loses digits (its dx = a dy + b x + c in float32, its dweight
    from x s - mu s). Rows of one element take eps 1e-3 or 0.1: their exact dx is 0, which torch's
    float32 formula reaches as a difference of terms of size s |w dy| (s = 1/sqrt(eps) = 316 at eps
    1e-5), a few ulps of which exceed the absolute tolerance. tests/test_normalization.py checks ours
    on both kinds of rows against the exact values."""
    lead = tuple(draw(st.lists(st.integers(1, 4), max_size=2)))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    seed = draw(cst.seeds())
    x = randn(lead + shape, seed, draw(st.sampled_from([1.0, 1e-3] + ([1e4] if np.prod(shape) > 1 else []))))
    if draw(st.booleans()):
        rows = x.reshape(-1, int(np.prod(shape)))
        rows[::2] = randn((len(rows[::2]), 1), seed + 3)
    weight = randn(shape, seed + 1) if draw(st.booleans()) else None
    bias = randn(shape, seed + 2) if draw(st.booleans()) else None
    eps = draw(st.sampled_from(([1e-5] if np.prod(shape) > 1 else []) + [1e-3, 0.1]))
    return Case((Arr(x), shape, Arr(weight), Arr(bias), eps), seed=seed)


@st.composite
def local_response_norm_case(draw: Any) -> Case:
    """x (N 1-3, C 1-8, then 1-3 axes of sides 1-4) scaled 1 or 4; size 1 to C + 2 (odd and even, wider
    than the channels); alpha in [0, 3], beta in [0, 2], k in [0.5, 3] (a positive divisor)."""
    c, seed = draw(st.integers(1, 8)), draw(cst.seeds())
    shape = (draw(st.integers(1, 3)), c, *draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    x = randn(shape, seed, draw(st.sampled_from([1.0, 4.0])))
    return Case((Arr(x), draw(st.integers(1, c + 2)), draw(floats(0.0, 3.0)), draw(floats(0.0, 2.0)),
                 draw(floats(0.5, 3.0))), seed=seed)


@st.composite
def linear_case(draw: Any) -> Case:
    """x (N 1-4, F_in 1-16) or (*, F_in) with 0 to 3 leading axes (sides 1-4), weight (F_out 1-16, F_in),
    with or without bias."""
    lead = draw(st.one_of(st.tuples(st.integers(1, 4)), st.lists(st.integers(1, 4), max_size=3).map(tuple)))
    f_in, f_out, seed = draw(st.integers(1, 16)), draw(st.integers(1, 16)), draw(cst.seeds())
    b = randn((f_out,), seed + 2) if draw(st.booleans()) else None
    return Case((Arr(randn((*lead, f_in), seed)), Arr(randn((f_out, f_in), seed + 1)), Arr(b)), seed=seed)


@st.composite
def flatten_case(draw: Any) -> Case:
    """x of 1-5 dims (sides 1-5), any start_dim and any end_dim from it on, negative ones too."""
    shape, seed = draw(cst.shapes(min_dims=1, max_dims=5, max_side=5)), draw(cst.seeds())
    start = draw(st.integers(0, len(shape) - 1))
    end = draw(st.integers(start, len(shape) - 1))
    start, end = (d - len(shape) if draw(st.booleans()) else d for d in (start, end))
    return Case((Arr(randn(shape, seed)), start, end), seed=seed)


@st.composite
def same_shape(draw: Any, count: int = 2) -> Case:
    """``count`` arrays of one shape (1-4 dims, sides 1-6)."""
    shape, seed = draw(cst.shapes(1, 4)), draw(cst.seeds())
    return Case(tuple(Arr(randn(shape, seed + i)) for i in range(count)), seed=seed)


@st.composite
def dropout_case(draw: Any) -> Case:
    """x (1-4 dims), p in [0.05, 0.95], training, and the mask torch's dropout draws from its CPU
    generator seeded with ``seed`` (the runner seeds it the same way before its call)."""
    shape, p, seed = draw(cst.shapes(1, 4, 1, 6)), draw(st.floats(0.05, 0.95)), draw(cst.seeds())
    torch.default_generator.manual_seed(seed)
    mask = (TF.dropout(torch.ones(shape, dtype=torch.float64), p, True) != 0).numpy()
    return Case((Arr(randn(shape, seed)), p, True), {"mask": State(mask)}, seed)


@st.composite
def cat_case(draw: Any) -> Case:
    """1-4 arrays of one shape (1-4 dims) but for their lengths (1-4) along a drawn dim (negative too)."""
    shape, seed = draw(cst.shapes(1, 4, 1, 5)), draw(cst.seeds())
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    parts = [Arr(randn(tuple(n if i == axis % len(shape) else s for i, s in enumerate(shape)), seed + k))
             for k, n in enumerate(lengths)]
    return Case((parts, axis), seed=seed)


@st.composite
def broadcast_case(draw: Any) -> Case:
    """Two arrays that broadcast: each takes the full shape (1-4 dims) with leading axes dropped and
    other axes set to 1 at random (a gate (N, C, 1, 1) against (N, C, H, W) among them)."""
    shape, seed = draw(cst.shapes(1, 4, 1, 5)), draw(cst.seeds())

    def squeezed() -> tuple[int, ...]:
        drop = draw(st.integers(0, len(shape) - 1))
        return tuple(1 if draw(st.booleans()) else s for s in shape[drop:])
    return Case((Arr(randn(squeezed(), seed)), Arr(randn(squeezed(), seed + 1))), seed=seed)


@st.composite
def unflatten_case(draw: Any) -> Case:
    """x (1-4 dims) whose drawn axis (negative too) has a length of 1-3 factors, split into them,
    one of them sometimes given as -1."""
    factors = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    shape, seed = list(draw(cst.shapes(1, 3, 1, 4))), draw(cst.seeds())
    axis = draw(st.integers(0, len(shape) - 1))
    shape[axis] = int(np.prod(factors))
    sizes = list(factors)
    if draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    return Case((Arr(randn(tuple(shape), seed)), axis - len(shape) if draw(st.booleans()) else axis, tuple(sizes)),
                seed=seed)


@st.composite
def channel_shuffle_case(draw: Any) -> Case:
    """(N 1-3, groups x m, H, W) or (N, groups x m, L), groups and m 1-4."""
    groups, m, seed = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(cst.seeds())
    rest = draw(st.sampled_from([(3,), (2, 3)]))
    return Case((Arr(randn((draw(st.integers(1, 3)), groups * m, *rest), seed)), groups), seed=seed)


@st.composite
def attention_case(draw: Any) -> Case:
    """q, k, v of consistent shapes (``attention_shapes``: 0-2 batch axes; L and S, E and E_v drawn
    apart), q and k scaled 1 or 3 (flat or peaked attention weights)."""
    g, seed, scale = draw(cst.attention_shapes()), draw(cst.seeds()), draw(st.sampled_from([1.0, 3.0]))
    return Case((Arr(randn(g.q_shape, seed, scale)), Arr(randn(g.k_shape, seed + 1, scale)),
                 Arr(randn(g.v_shape, seed + 2))), seed=seed)


# ---- the table --------------------------------------------------------------------------

ROWS = [
    # pointwise activations, 0 or 30% of the values exactly at the kinks
    Row("relu", torch.relu, pointwise()),
    Row("leaky_relu", TF.leaky_relu, pointwise(negative_slope=floats(-1.0, 1.0))),
    Row("elu", TF.elu, pointwise(alpha=floats(0.0, 3.0))),
    Row("sigmoid", torch.sigmoid, pointwise()),
    Row("tanh", torch.tanh, pointwise()),
    Row("softplus", TF.softplus, pointwise(beta=st.one_of(floats(0.25, 4.0), floats(-4.0, -0.25)),
                                           threshold=floats(0.5, 30.0))),
    Row("gelu", TF.gelu, pointwise()),
    Row("relu6", TF.relu6, pointwise(kinks=(0.0, 6.0))),
    # torch's float64 hardsigmoid gradient is dy * float32(1/6), 3e-8 off; ours is dy / 6
    Row("hardsigmoid", TF.hardsigmoid, pointwise(kinks=(-3.0, 3.0)), tol=f64_rtol(1e-7)),
    Row("hardswish", TF.hardswish, pointwise(kinks=(-3.0, 3.0))),
    Row("silu", TF.silu, pointwise()),
    Row("prelu", TF.prelu, prelu_case()),
    # softmax and loss
    Row("softmax", TF.softmax, along_dim()),
    Row("log_softmax", TF.log_softmax, along_dim()),
    Row("cross_entropy", lambda z, t, label_smoothing: TF.cross_entropy(z, t.long(), label_smoothing=label_smoothing),
        classification()),
    # pooling
    Row("max_pool2d", TF.max_pool2d, pool_case()),
    Row("max_pool2d", TF.max_pool2d, pool_case(ties=True), variant="ties", dtypes=(np.float64,)),
    Row("avg_pool2d", TF.avg_pool2d, pool_case(avg=True)),
    Row("adaptive_avg_pool2d", TF.adaptive_avg_pool2d, adaptive_case()),
    # conv, in one chunk of columns and in chunks of 1 and 3 images
    Row("conv2d", TF.conv2d, conv_case()),
    Row("conv2d", TF.conv2d, conv_case(), variant="1-image-chunks", context=column_chunks(1)),
    Row("conv2d", TF.conv2d, conv_case(), variant="3-image-chunks", context=column_chunks(3)),
    Row("conv2d", TF.conv2d, winograd_case(), variant="winograd", context=winograd_from(1)),
    # normalisation, linear, dropout, shapes, graphs
    Row("batch_norm", lambda x, g, b, rm, rv, training, momentum, eps:
        TF.batch_norm(x, rm, rv, g, b, training, momentum, eps), batch_norm_case()),
    Row("layer_norm", TF.layer_norm, layer_norm_case()),
    Row("local_response_norm", TF.local_response_norm, local_response_norm_case()),
    Row("linear", TF.linear, linear_case()),
    Row("scaled_dot_product_attention", TF.scaled_dot_product_attention, attention_case()),
    Row("dropout", lambda x, p, training, mask: TF.dropout(x, p, training), dropout_case()),
    Row("flatten", torch.flatten, flatten_case(), tol=EXACT),
    Row("add", torch.add, same_shape(2), tol=EXACT),
    Row("cat", torch.cat, cat_case(), tol=EXACT),
    Row("mul", torch.mul, broadcast_case()),
    Row("unflatten", torch.unflatten, unflatten_case(), tol=EXACT),
    Row("channel_shuffle", TF.channel_shuffle, channel_shuffle_case(), tol=EXACT),
]
