"""Run kernels/cupy_cuda (the Python wrappers and the .cu sources) on the CPU through
tests/cuda_emulator.py and compare every primitive of ``minicnn.kernels.PRIMITIVES`` with numpy_ref.

    python tests/cuda_emulated_run.py        (run by tests/test_cuda_emulated.py)

Each primitive has an argument generator in GENERATORS (the pointwise activations get theirs from
``kernels/pointwise.py``'s POINTWISE registry); a primitive without one, or a generator naming no
primitive, stops the run before anything is compared. Prints ``compared N calls: all match`` and
exits 0, or fails on the first mismatch.
"""
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cuda_emulator  # noqa: E402

cuda_emulator.install()
import numpy as np  # noqa: E402

cu = importlib.import_module("minicnn.kernels.cupy_cuda")
from minicnn import backend  # noqa: E402
from minicnn.kernels import PRIMITIVES, out_size  # noqa: E402
from minicnn.kernels.pointwise import POINTWISE  # noqa: E402
from minicnn.testing import assert_close  # noqa: E402
from minicnn.testing import strategies as cst  # noqa: E402

ref = backend.kernels("numpy")
rng = np.random.default_rng(0)
count = 0


def cmp(name, got, want, exact=False):
    """Compare one call's outputs: shapes, dtypes, then values (bit-equal where ``exact``)."""
    global count
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want), name
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (name, i, g.shape, w.shape)
        assert g.dtype == w.dtype, (name, i, g.dtype, w.dtype)
        if exact or w.dtype.kind != "f":
            assert np.array_equal(g, w, equal_nan=True), (name, i, "not exact")
        else:
            nan = np.isnan(w)
            assert np.array_equal(np.isnan(g), nan), (name, i, "nan places")
            tol = cst.tolerance(w.dtype)
            assert_close(np.where(nan, 0, g), np.where(nan, 0, w), tol.rtol, tol.atol, name)
    count += 1


def both(name, *args, exact=False):
    """Call primitive ``name`` on both kernel sets with the same arguments (copies of the arrays, so that
    an output argument such as winograd_scatter's ``out`` is each call's own) and compare."""
    with np.errstate(all="ignore"):
        w = getattr(ref, name)(*args)
    g = getattr(cu, name)(*(a.copy() if isinstance(a, np.ndarray) else a for a in args))
    cmp(name, g, w, exact)
    return g


def calm(fn, *args):
    """numpy_ref's ``fn(*args)`` without floating-point warnings (inputs for a backward)."""
    with np.errstate(all="ignore"):
        return fn(*args)


# ---- argument generators: name -> (dtype -> iterable of (args, exact)) -----------------------------

GENERATORS = {}


def generates(*names):
    """Register the decorated function as the argument generator of the primitives ``names``."""
    def register(fn):
        for name in names:
            assert name not in GENERATORS, f"two generators for {name}"
            GENERATORS[name] = fn
        return fn
    return register


def conv_geometries(dt, tries=60):
    """Random x (N, C, H, W) and im2col geometry (kh, kw, stride, padding, dilation), valid ones only."""
    for _ in range(tries):
        n, c = rng.integers(1, 4), rng.integers(1, 4)
        kh, kw = rng.integers(1, 5, 2); sh, sw = rng.integers(1, 4, 2); dh, dw = rng.integers(1, 3, 2)
        ph, pw = rng.integers(0, 3, 2)
        h, w = rng.integers(1, 10, 2)
        if (h + 2*ph - dh*(kh-1) - 1) < 0 or (w + 2*pw - dw*(kw-1) - 1) < 0:
            continue
        yield (rng.standard_normal((n, c, h, w)).astype(dt),
               (int(kh), int(kw), (int(sh), int(sw)), (int(ph), int(pw)), (int(dh), int(dw))))
    yield np.zeros((0, 3, 6, 6), dt), (3, 3, (1, 1), (1, 1), (1, 1))                      # empty batch


@generates("im2col")
def im2col_args(dt):
    for x, geom in conv_geometries(dt):
        yield (x, *geom), True


@generates("col2im")
def col2im_args(dt):
    for x, geom in conv_geometries(dt):
        y = rng.standard_normal(ref.im2col(x, *geom).shape).astype(dt)
        yield (y, x.shape, *geom), True
        # channel-major strided columns, as conv2d_backward passes them
        yield (np.ascontiguousarray(y.transpose(1, 0, 2)).transpose(1, 0, 2), x.shape, *geom), True


def winograd_tilings(dt):
    """(x, t, step, offset, tiles): random transforms (a, k) over tilings with overlap and padding."""
    for n, c, h, w, k, a, step, offset in [(2, 3, 7, 6, 3, 4, 2, -1), (1, 2, 9, 9, 6, 6, 4, -1), (3, 1, 5, 8, 4, 6, 2, 0),
                                           (1, 1, 1, 1, 3, 4, 2, -2), (2, 2, 6, 6, 6, 6, 4, 0)]:
        tiles = (max(1, -(-(h - offset) // step)), max(1, -(-(w - offset) // step)))
        yield rng.standard_normal((n, c, h, w)).astype(dt), rng.standard_normal((a, k)).astype(dt), step, offset, tiles


@generates("winograd_gather")
def winograd_gather_args(dt):
    for args in winograd_tilings(dt):
        yield args, False


@generates("winograd_scatter")
def winograd_scatter_args(dt):
    for x, t, step, offset, tiles in winograd_tilings(dt):
        v = ref.winograd_gather(x, t, step, offset, tiles)
        yield (rng.standard_normal(v.shape).astype(dt), np.ascontiguousarray(t.T), step, offset, tiles,
               np.full(x.shape, np.nan, dt)), False


def pool_geometries(dt, tries=60):
    """Random x (with integer ties half the time, NaNs now and then) and a valid kernel, stride, padding and
    ceil_mode (half the time; then strides up to 4, so that last windows run past the padding or are dropped)."""
    for _ in range(tries):
        n, c = rng.integers(1, 4), rng.integers(1, 4)
        ceil_mode = bool(rng.random() < 0.5)
        kh, kw = (int(v) for v in rng.integers(1, 5, 2)); sh, sw = (int(v) for v in rng.integers(1, 4 + ceil_mode, 2))
        ph, pw = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
        h, w = (int(v) for v in rng.integers(1, 10, 2))
        if min(out_size(h, kh, sh, ph, 1, ceil_mode), out_size(w, kw, sw, pw, 1, ceil_mode)) < 1:
            continue
        x = rng.standard_normal((n, c, h, w)).astype(dt)
        if rng.random() < 0.5:
            x = np.round(x).astype(dt)
        if rng.random() < 0.2:
            x.reshape(-1)[::7] = np.nan
        yield x, (kh, kw), (sh, sw), (ph, pw), ceil_mode


@generates("max_pool2d")
def max_pool2d_args(dt):
    for x, kernel, stride, padding, ceil_mode in pool_geometries(dt):
        yield (x, kernel, stride, padding, ceil_mode), True
    yield (np.zeros((0, 3, 6, 6), dt), (2, 2), (2, 2), (0, 0), False), True


@generates("max_pool2d_backward")
def max_pool2d_backward_args(dt):
    for x, kernel, stride, padding, ceil_mode in pool_geometries(dt):
        out, argmax = calm(ref.max_pool2d, x, kernel, stride, padding, ceil_mode)
        yield (rng.standard_normal(out.shape).astype(dt), argmax, x.shape), False
    out, argmax = ref.max_pool2d(np.zeros((0, 3, 6, 6), dt), (2, 2), (2, 2), (0, 0), False)
    yield (out, argmax, (0, 3, 6, 6)), False


@generates("avg_pool2d")
def avg_pool2d_args(dt):
    for x, kernel, stride, padding, ceil_mode in pool_geometries(dt):
        yield (x, kernel, stride, padding, ceil_mode, bool(rng.random() < 0.5)), False


@generates("avg_pool2d_backward")
def avg_pool2d_backward_args(dt):
    for x, kernel, stride, padding, ceil_mode in pool_geometries(dt):
        count_include_pad = bool(rng.random() < 0.5)
        out = calm(ref.avg_pool2d, x, kernel, stride, padding, ceil_mode, count_include_pad)
        yield (rng.standard_normal(out.shape).astype(dt), x.shape, kernel, stride, padding, count_include_pad), False


ACTIVATION_SHAPES = [(2, 3, 4, 5), (3, 7), (1, 1, 2), (4, 2, 9)]
SPECIAL_VALUES = [0.0, -0.0, 3.0, -3.0, 6.0, -6.0, 40.0, -40.0, 800.0, -800.0, np.inf, -np.inf]
"""Put into every activation input: the kinks (0, +-3, 6), values where exp over- or underflows, infinities."""
PARAMETERS = {"negative_slope": [0.03, -0.2], "alpha": [0.7], "beta": [1.5, -0.5], "threshold": [4.0]}
"""Test values of the pointwise parameters, by name, besides their defaults (unnamed ones: the default only)."""


def activation_inputs(dt):
    """(x, dy) per shape: x scaled by 4 with every 5th value 0, one NaN and the special values; dy normal."""
    for shape in ACTIVATION_SHAPES:
        x = (rng.standard_normal(shape) * 4).astype(dt)
        x.reshape(-1)[::5] = 0
        x.reshape(-1)[1] = np.nan
        flat = x.reshape(-1)
        spots = rng.choice(np.arange(2, flat.size), size=min(len(SPECIAL_VALUES), flat.size - 2), replace=False)
        flat[spots] = np.array(SPECIAL_VALUES[:len(spots)], dt)
        yield x, rng.standard_normal(shape).astype(dt)


def parameter_sets(op):
    """The defaults, then each parameter at each of its test values (the others at their defaults)."""
    defaults = dict(op.params)
    yield tuple(defaults.values())
    for name, values in PARAMETERS.items():
        if name in defaults:
            for v in values:
                yield tuple({**defaults, name: v}.values())


def pointwise_forward_args(op):
    def args(dt):
        for x, _ in activation_inputs(dt):
            for params in parameter_sets(op):
                yield (x, *params), False
    return args


def pointwise_backward_args(op):
    def args(dt):
        for x, dy in activation_inputs(dt):
            for params in parameter_sets(op):
                saved = {"x": x, "y": calm(op.forward, x, *params)}
                yield (dy, *(saved[s] for s in op.saves), *params), False
                # non-finite upstream gradients: inf and nan
                dyi = np.where(np.arange(x.size).reshape(x.shape) % 3 == 0, np.inf, np.nan).astype(dt)
                yield (dyi, *(saved[s] for s in op.saves), *params), False
    return args


for _op in POINTWISE.values():
    generates(_op.name)(pointwise_forward_args(_op))
    generates(_op.name + "_backward")(pointwise_backward_args(_op))


def prelu_inputs(dt):
    for x, dy in activation_inputs(dt):
        for shared in (True, False):
            yield x, dy, np.linspace(-0.5, 0.75, 1 if shared else x.shape[1]).astype(dt)


@generates("prelu")
def prelu_args(dt):
    for x, _, weight in prelu_inputs(dt):
        yield (x, weight), False


@generates("prelu_backward")
def prelu_backward_args(dt):
    for x, dy, weight in prelu_inputs(dt):
        yield (dy, x, weight), False
    x = np.zeros((0, 3, 6, 6), dt)
    yield (x, x, np.ones(3, dt)), False


def softmax_inputs(dt):
    """(x, dy, axis) for every axis of a few shapes."""
    for shape in [(3, 5), (2, 3, 4), (1,), (4, 1, 3, 2)]:
        x = (rng.standard_normal(shape) * 3).astype(dt)
        dy = rng.standard_normal(shape).astype(dt)
        for axis in range(-len(shape), len(shape)):
            yield x, dy, axis


@generates("softmax", "log_softmax")
def softmax_args(dt):
    for x, _, axis in softmax_inputs(dt):
        yield (x, axis), False


@generates("softmax_backward")
def softmax_backward_args(dt):
    for x, dy, axis in softmax_inputs(dt):
        yield (dy, ref.softmax(x, axis), axis), False


@generates("log_softmax_backward")
def log_softmax_backward_args(dt):
    for x, dy, axis in softmax_inputs(dt):
        yield (dy, ref.log_softmax(x, axis), axis), False


def classification_inputs(dt):
    """(logits scaled by 30, int64 targets, label smoothing)."""
    for n, k in [(5, 4), (1, 1), (9, 10)]:
        for smoothing in (0.0, 0.1, 1.0):
            yield (rng.standard_normal((n, k)) * 30).astype(dt), rng.integers(0, k, n), smoothing


@generates("softmax_cross_entropy")
def softmax_cross_entropy_args(dt):
    for logits, targets, smoothing in classification_inputs(dt):
        yield (logits, targets, smoothing), False


@generates("softmax_cross_entropy_backward")
def softmax_cross_entropy_backward_args(dt):
    for logits, targets, smoothing in classification_inputs(dt):
        _, log_probs = ref.softmax_cross_entropy(logits, targets, smoothing)
        yield (log_probs, targets, smoothing), False


def batch_norm_inputs(dt):
    """(x (N, C, L) centred at 20, gamma, beta): long and short channels, one block per channel."""
    for n, c, length in [(2, 3, 5), (1, 1, 2), (7, 2, 300), (40, 3, 1), (3, 4, 257), (300, 2, 3)]:
        yield ((rng.standard_normal((n, c, length)) + 20).astype(dt), rng.standard_normal(c).astype(dt),
               rng.standard_normal(c).astype(dt))


@generates("batch_norm_train")
def batch_norm_train_args(dt):
    for x, gamma, beta in batch_norm_inputs(dt):
        yield (x, gamma, beta, 1e-5), False


@generates("batch_norm_backward")
def batch_norm_backward_args(dt):
    for x, gamma, beta in batch_norm_inputs(dt):
        _, mean, _, inv_std = ref.batch_norm_train(x, gamma, beta, 1e-5)
        yield (rng.standard_normal(x.shape).astype(dt), x, mean, inv_std, gamma), False


def layer_norm_inputs(dt):
    """(x (R, D) centred at 20 with one constant row, gamma, beta): rows shorter and longer than a block
    (256 threads), several chunks of 64 rows, an empty batch."""
    for rows, d in [(3, 5), (1, 1), (130, 7), (4, 300), (2, 513), (0, 4)]:
        x = (rng.standard_normal((rows, d)) + 20).astype(dt)
        x[:1] = dt(20.5)
        yield x, rng.standard_normal(d).astype(dt), rng.standard_normal(d).astype(dt)


@generates("layer_norm")
def layer_norm_args(dt):
    for x, gamma, beta in layer_norm_inputs(dt):
        yield (x, gamma, beta, 1e-5), False


@generates("layer_norm_backward")
def layer_norm_backward_args(dt):
    for x, gamma, beta in layer_norm_inputs(dt):
        _, mean, inv_std = ref.layer_norm(x, gamma, beta, 1e-5)
        yield (rng.standard_normal(x.shape).astype(dt), x, mean, inv_std, gamma), False


def local_response_norm_inputs(dt):
    """(x (N, C, L), size, alpha, beta, k): odd and even windows, wider than the channels, one channel."""
    for shape, size in [((2, 5, 3), 3), ((1, 6, 4), 4), ((2, 3, 5), 6), ((3, 1, 2), 2), ((2, 7, 1), 1)]:
        yield rng.standard_normal(shape).astype(dt), size, 0.7, 0.75, 1.5


@generates("local_response_norm")
def local_response_norm_args(dt):
    for x, size, alpha, beta, k in local_response_norm_inputs(dt):
        yield (x, size, alpha, beta, k), False


@generates("local_response_norm_backward")
def local_response_norm_backward_args(dt):
    for x, size, alpha, beta, k in local_response_norm_inputs(dt):
        _, div = ref.local_response_norm(x, size, alpha, beta, k)
        yield (rng.standard_normal(x.shape).astype(dt), x, div, size, alpha, beta), False


missing, unknown = sorted(set(PRIMITIVES) - set(GENERATORS)), sorted(set(GENERATORS) - set(PRIMITIVES))
if missing or unknown:
    sys.exit(f"tests/cuda_emulated_run.py: primitives without an argument generator: {missing}; "
             f"generators for no primitive: {unknown}")
for name in PRIMITIVES:
    for dt in (np.float64, np.float32):
        for args, exact in GENERATORS[name](dt):
            both(name, *args, exact=exact)
print("compared", count, "calls: all match")
