"""Run kernels/cupy_cuda (the Python wrappers and the .cu sources) on the CPU through
tests/cuda_emulator.py and compare every primitive with numpy_ref.

    python tests/cuda_emulated_run.py        (run by tests/test_cuda_emulated.py)

Prints ``compared N calls: all match`` and exits 0, or fails on the first mismatch.
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
    """Call primitive ``name`` on both kernel sets with the same arguments and compare."""
    with np.errstate(all="ignore"):
        w = getattr(ref, name)(*args)
    g = getattr(cu, name)(*args)
    cmp(name, g, w, exact)
    return g

for dt in (np.float64, np.float32):
    # conv
    for _ in range(60):
        n, c = rng.integers(1, 4), rng.integers(1, 4)
        kh, kw = rng.integers(1, 5, 2); sh, sw = rng.integers(1, 4, 2); dh, dw = rng.integers(1, 3, 2)
        ph, pw = rng.integers(0, 3, 2)
        h, w = rng.integers(1, 10, 2)
        if (h + 2*ph - dh*(kh-1) - 1) < 0 or (w + 2*pw - dw*(kw-1) - 1) < 0:
            continue
        x = rng.standard_normal((n, c, h, w)).astype(dt)
        geom = (int(kh), int(kw), (int(sh), int(sw)), (int(ph), int(pw)), (int(dh), int(dw)))
        cols = both("im2col", x, *geom, exact=True)
        y = rng.standard_normal(cols.shape).astype(dt)
        both("col2im", y, x.shape, *geom, exact=True)
        # channel-major strided columns, as conv2d_backward passes them
        yt = np.ascontiguousarray(y.transpose(1, 0, 2)).transpose(1, 0, 2)
        both("col2im", yt, x.shape, *geom, exact=True)
    # pooling
    for _ in range(60):
        n, c = rng.integers(1, 4), rng.integers(1, 4)
        kh, kw = (int(v) for v in rng.integers(1, 5, 2)); sh, sw = (int(v) for v in rng.integers(1, 4, 2))
        ph, pw = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
        h, w = (int(v) for v in rng.integers(1, 10, 2))
        if h + 2*ph < kh or w + 2*pw < kw:
            continue
        x = rng.standard_normal((n, c, h, w)).astype(dt)
        if rng.random() < 0.5:
            x = np.round(x).astype(dt)
        if rng.random() < 0.2:
            x.reshape(-1)[::7] = np.nan
        out, am = both("max_pool2d", x, (kh, kw), (sh, sw), (ph, pw), exact=True)
        d = rng.standard_normal(out.shape).astype(dt)
        both("max_pool2d_backward", d, am, x.shape)
        both("avg_pool2d", x, (kh, kw), (sh, sw), (ph, pw))
        both("avg_pool2d_backward", d, x.shape, (kh, kw), (sh, sw), (ph, pw))
    # activations
    for shape in [(2, 3, 4, 5), (3, 7), (1, 1, 2), (4, 2, 9)]:
        x = (rng.standard_normal(shape) * 4).astype(dt)
        x.reshape(-1)[::5] = 0
        x.reshape(-1)[1] = np.nan
        dy = rng.standard_normal(shape).astype(dt)
        for shared in (True, False):
            wgt = np.linspace(-0.5, 0.75, 1 if shared else shape[1]).astype(dt)
            both("prelu", x, wgt); both("prelu_backward", dy, x, wgt)
        both("relu", x); both("relu_backward", dy, ref.relu(x))
        both("leaky_relu", x, 0.03); both("leaky_relu_backward", dy, x, 0.03)
        both("elu", x, 0.7); both("elu_backward", dy, x, ref.elu(x, 0.7), 0.7)
        both("sigmoid", x); both("sigmoid_backward", dy, ref.sigmoid(x))
        both("tanh", x); both("tanh_backward", dy, ref.tanh(x))
        both("softplus", x, 1.5, 4.0); both("softplus_backward", dy, x, 1.5, 4.0)
        both("gelu", x); both("gelu_backward", dy, x)
        dyi = np.where(np.arange(x.size).reshape(shape) % 3 == 0, np.inf, np.nan).astype(dt)
        both("relu_backward", dyi, ref.relu(x))
    # softmax
    for shape in [(3, 5), (2, 3, 4), (1,), (4, 1, 3, 2)]:
        x = (rng.standard_normal(shape) * 3).astype(dt)
        dy = rng.standard_normal(shape).astype(dt)
        for axis in range(-len(shape), len(shape)):
            y = both("softmax", x, axis); both("softmax_backward", dy, y, axis)
            ly = both("log_softmax", x, axis); both("log_softmax_backward", dy, ly, axis)
    for n, k in [(5, 4), (1, 1), (9, 10)]:
        for sm in (0.0, 0.1, 1.0):
            logits = (rng.standard_normal((n, k)) * 30).astype(dt)
            t = rng.integers(0, k, n)
            loss, lp = both("softmax_cross_entropy", logits, t, sm)
            both("softmax_cross_entropy_backward", lp, t, sm)
    # batch norm
    for n, c, l in [(2, 3, 5), (1, 1, 2), (7, 2, 300), (40, 3, 1), (3, 4, 257), (300, 2, 3)]:
        x = (rng.standard_normal((n, c, l)) + 20).astype(dt)
        g = rng.standard_normal(c).astype(dt)
        b = rng.standard_normal(c).astype(dt)
        y, mean, var, inv = both("batch_norm_train", x, g, b, 1e-5)
        both("batch_norm_backward", rng.standard_normal(x.shape).astype(dt), x, mean, inv, g)
    # empty batch
    x = np.zeros((0, 3, 6, 6), dt)
    cols = both("im2col", x, 3, 3, (1, 1), (1, 1), (1, 1), exact=True)
    both("col2im", cols, x.shape, 3, 3, (1, 1), (1, 1), (1, 1), exact=True)
    out, am = both("max_pool2d", x, (2, 2), (2, 2), (0, 0), exact=True)
    both("max_pool2d_backward", out, am, x.shape)
    both("prelu_backward", x, x, np.ones(3, dt))
print("compared", count, "calls: all match")
