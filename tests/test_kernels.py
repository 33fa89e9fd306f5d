"""Every kernel set against the NumPy reference, primitive by primitive.

* every backend module defines every name in ``minicnn.kernels.PRIMITIVES``, with
  the reference's argument names (the CUDA module is read as source when CuPy
  is absent);
* the Numba kernels (and the CUDA kernels, on a GPU) give the reference's
  results on hypothesis-drawn shapes and geometries, in float32 and float64,
  keeping the dtype; the Numba kernels run twice, serial and parallel twins,
  which must agree bit for bit;
* every CUDA source compiles with ``nvcc --ptx`` for float and double, and every
  kernel launch in kernels/cupy_cuda/*.py names a kernel of its source with the
  right number, order and C types of arguments (read statically, as no test here
  runs the CuPy wrappers without a GPU).
"""
from __future__ import annotations

import ast
import inspect
import os
import re
import shutil
import subprocess
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn import backend
from minicnn.kernels import CONSTANTS, PRIMITIVES
from minicnn.kernels.pointwise import POINTWISE
from minicnn.testing import assert_close
from minicnn.testing import strategies as cst

DTYPES = [pytest.param(np.float64, id="f64"), pytest.param(np.float32, id="f32")]
KERNELS_DIR = os.path.dirname(os.path.dirname(inspect.getfile(backend.kernels("numpy"))))
CUDA_DIR = os.path.join(KERNELS_DIR, "cupy_cuda")
CUDA_SOURCES = sorted(f for f in os.listdir(CUDA_DIR) if f.endswith(".cu"))
ref = backend.kernels("numpy")
nb = backend.kernels("numba")


def _cupy_unavailable() -> str | None:
    try:
        backend._check_available("cupy")
    except backend.BackendUnavailable as exc:
        return str(exc)
    return None


CUPY_REASON = _cupy_unavailable()
NEEDS_GPU = [pytest.mark.gpu, pytest.mark.skipif(CUPY_REASON is not None, reason=f"cupy kernels: {CUPY_REASON}")]


class KernelSet:
    """Calls a backend's primitive on host arrays and returns host arrays.

    For numba every call runs the serial twins and then the parallel ones and
    asserts that the two agree bit for bit.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.module = backend.kernels(name)

    def __call__(self, primitive: str, *args: Any) -> Any:
        fn = getattr(self.module, primitive)
        if self.name == "numba":
            with nb.min_parallel_work(2**62):
                serial = fn(*args)
            with nb.min_parallel_work(0):
                parallel = fn(*args)
            for s, p in zip(_as_tuple(serial), _as_tuple(parallel)):
                assert np.array_equal(s, p, equal_nan=True), f"{primitive}: parallel and serial twins differ"
            return serial
        with backend.use_backend(self.name):
            out = fn(*[backend.asarray(a) if isinstance(a, np.ndarray) else a for a in args])
        return tuple(backend.to_numpy(o) for o in out) if isinstance(out, tuple) else backend.to_numpy(out)


def _as_tuple(out: Any) -> tuple:
    return out if isinstance(out, tuple) else (out,)


@pytest.fixture(params=["numba", pytest.param("cupy", marks=NEEDS_GPU)])
def kernels(request: pytest.FixtureRequest) -> KernelSet:
    """The numba kernel set, and the cupy one where CuPy and a GPU are present."""
    return KernelSet(request.param)


def check(kernels: KernelSet, primitive: str, *args: Any, exact: bool = False) -> Any:
    """Run ``primitive`` on the kernel set and on numpy_ref; compare shape, dtype and values of every output."""
    got, want = _as_tuple(kernels(primitive, *args)), _as_tuple(getattr(ref, primitive)(*args))
    assert len(got) == len(want), f"{primitive}: {len(got)} outputs, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        name = f"{kernels.name}.{primitive} output {i}"
        assert g.shape == w.shape, f"{name}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"{name}: dtype {g.dtype} != {w.dtype}"
        if exact:
            assert np.array_equal(g, w, equal_nan=True), f"{name}: not bit-equal to the reference"
        elif w.dtype.kind != "f":
            assert_close(g, w, 0, 0, name)
        else:
            nan = np.isnan(w)
            assert np.array_equal(np.isnan(g), nan), f"{name}: NaN at different places"
            tol = cst.tolerance(w.dtype)
            assert_close(np.where(nan, 0, g), np.where(nan, 0, w), tol.rtol, tol.atol, name)
    return got


# ---- the primitive set ---------------------------------------------------------------------------
GENERATED = {name for op in POINTWISE for name in (op, op + "_backward")}
"""The pointwise primitives each backend builds from the registry (kernels/pointwise.py) as
``f(*args)`` wrappers: no parameter names to compare; the activation tests call them."""


def _parameters(fn: Callable) -> list[str]:
    return list(inspect.signature(fn).parameters)


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_module_defines_every_primitive_with_the_reference_signature(name):
    module = backend.kernels(name)
    missing = [p for p in PRIMITIVES if not callable(getattr(module, p, None))]
    assert not missing, f"{module.__name__} lacks {missing}"
    for p in PRIMITIVES:
        if p not in GENERATED:
            assert _parameters(getattr(module, p)) == _parameters(getattr(ref, p)), p
    for constant in CONSTANTS:
        assert isinstance(getattr(module, constant, None), int) and getattr(module, constant) > 0, constant


def test_cuda_module_source_defines_every_primitive_with_the_reference_signature():
    """Read kernels/cupy_cuda/*.py without importing cupy: each primitive is a top-level function
    of a family file (or the reference's own function, imported), exported in its ``__all__`` and
    star-imported by the package. The activations built in a loop from the pointwise registry
    (``__all__`` computed from ``POINTWISE``) have no signature to read: for them only the name
    is checked here, their arguments by the emulated run (tests/test_cuda_emulated.py)."""
    found: dict[str, list[str] | int | None] = {}
    for file in sorted(os.listdir(CUDA_DIR)):
        if not file.endswith(".py") or file == "__init__.py":
            continue
        with open(os.path.join(CUDA_DIR, file), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        exported: list[str] = []
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
                exported = list(eval(compile(ast.Expression(node.value), file, "eval"), {"POINTWISE": POINTWISE}))
        found.update(dict.fromkeys(exported))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in exported:
                found[node.name] = [a.arg for a in node.args.args]
            elif isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in exported:
                found[node.targets[0].id] = eval(compile(ast.Expression(node.value), file, "eval"), {})  # e.g. 1 << 30
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("numpy_ref"):
                found.update((a.name, _parameters(getattr(ref, a.name))) for a in node.names if a.name in exported)
    with open(os.path.join(CUDA_DIR, "__init__.py"), encoding="utf-8") as f:
        init = ast.parse(f.read())
    star = {n.module for n in init.body if isinstance(n, ast.ImportFrom) and n.names[0].name == "*"}
    assert star >= {"activation", "conv", "norm", "pool", "softmax"}
    assert [p for p in PRIMITIVES + CONSTANTS if p not in found] == []
    for p in PRIMITIVES:
        assert found[p] == _parameters(getattr(ref, p)) or (found[p] is None and p in GENERATED), p
    for constant in CONSTANTS:
        assert isinstance(found[constant], int) and found[constant] > 0, constant


@pytest.mark.gpu
@pytest.mark.skipif(CUPY_REASON is not None, reason=f"cupy kernels: {CUPY_REASON}")
def test_cuda_module_imports_and_defines_every_primitive():
    module = backend.kernels("cupy")
    assert [p for p in PRIMITIVES if not callable(getattr(module, p, None))] == []


def _cuda_wrappers() -> dict[str, ast.Module]:
    """The parsed CuPy wrapper modules kernels/cupy_cuda/*.py (but __init__.py), by file name."""
    trees = {}
    for module in sorted(f for f in os.listdir(CUDA_DIR) if f.endswith(".py") and f != "__init__.py"):
        with open(os.path.join(CUDA_DIR, module), encoding="utf-8") as f:
            trees[module] = ast.parse(f.read())
    return trees


def _cuda_defines() -> dict[str, dict[str, int]]:
    """source -> the macros (besides scalar_t) its wrappers compile it with: the keywords of their
    ``raw_kernel(source, name, dtype, NAME=value)`` calls, a value being a literal or a module constant.
    Every call on one source must pass the same ones (they build one module)."""
    found: dict[str, dict[str, int]] = {}
    for module, tree in _cuda_wrappers().items():
        constants = {n.targets[0].id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                     and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Constant)}
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "raw_kernel":
                source = ast.literal_eval(call.args[0])
                defines = {k.arg: constants[k.value.id] if isinstance(k.value, ast.Name) else ast.literal_eval(k.value)
                           for k in call.keywords}
                assert found.setdefault(source, defines) == defines, f"{module}: {source} compiled with {defines}"
    return found


def _required_macros(source: str) -> set[str]:
    """The macros a CUDA source (with the header it includes) refuses to compile without (``#ifndef X`` + ``#error``)."""
    text = ""
    for name in (source, "common.cuh"):
        with open(os.path.join(CUDA_DIR, name), encoding="utf-8") as f:
            text += f.read()
    return set(re.findall(r"#ifndef (\w+)\s*\n\s*#error", text))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (the CUDA toolkit) is not installed")
@pytest.mark.parametrize("ctype", ["float", "double"])
@pytest.mark.parametrize("source", CUDA_SOURCES)
def test_cuda_source_compiles_with_nvcc(source, ctype, tmp_path):
    """Each source, with the header it includes and the macros its wrappers define."""
    defines = [f"-D{k}={v}" for k, v in _cuda_defines().get(source, {}).items()]
    result = subprocess.run(["nvcc", "--ptx", f"-Dscalar_t={ctype}", *defines, os.path.join(CUDA_DIR, source),
                             "-o", str(tmp_path / "out.ptx")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    ptx = (tmp_path / "out.ptx").read_text()
    assert ".entry" in ptx and (".f64" in ptx if ctype == "double" else ".f32" in ptx)


def test_cuda_sources_share_one_header():
    """Every source includes common.cuh and keeps none of its definitions; every macro a source
    requires but scalar_t is defined by its wrappers, and nothing else is."""
    defines = _cuda_defines()
    for source in CUDA_SOURCES:
        with open(os.path.join(CUDA_DIR, source), encoding="utf-8") as f:
            text = f.read()
        assert re.search(r'^#include "common.cuh"$', text, re.MULTILINE), source
        for shared in ("typedef long long idx_t", "#define GRID_STRIDE_LOOP", "idx_t imin(", "#error \"compile with -Dscalar_t"):
            assert shared not in text, f"{source} repeats {shared!r} of common.cuh"
        assert set(defines.get(source, {})) == _required_macros(source) - {"scalar_t"}, source


_CUDA_KERNEL = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')


def _cuda_kernel_parameters() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(source, kernel) -> [(kind, name)] of its parameters, kind "pointer", "double" or "idx_t"."""
    kernels: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for source in CUDA_SOURCES:
        with open(os.path.join(CUDA_DIR, source), encoding="utf-8") as f:
            for name, params in _CUDA_KERNEL.findall(f.read()):
                parsed = []
                for param in params.split(","):
                    words = param.replace("*", " * ").split()
                    kind = "pointer" if "*" in words else words[0]
                    assert kind in ("pointer", "double", "idx_t"), f"{source}:{name}: parameter {param!r}"
                    parsed.append((kind, words[-1]))
                kernels[(source, name)] = parsed
    return kernels


def _kernel_calls(tree: ast.Module) -> list[tuple[str, ast.expr, list[ast.expr], str]]:
    """(source, name expression, argument expressions, enclosing function) of every kernel call:
    ``launch(raw_kernel(source, name, dtype), total, *args)`` and
    ``launch_blocks(raw_kernel(source, name, dtype), blocks, threads, *args)``; a kernel run any
    other way fails."""
    calls = []
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        launched = []
        for node in ast.walk(function):
            first = {"launch": 2, "launch_blocks": 3}.get(getattr(node.func, "id", None)) \
                if isinstance(node, ast.Call) else None
            if first is not None:
                kernel = node.args[0]
                assert getattr(kernel.func, "id", None) == "raw_kernel", ast.unparse(node)
                launched.append(kernel)
                calls.append((ast.literal_eval(kernel.args[0]), kernel.args[1], node.args[first:], function.name))
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "raw_kernel":
                assert any(node is k for k in launched), f"{function.name}: {ast.unparse(node)} is not launched"
    return calls


def _kernel_names(tree: ast.Module, name: ast.expr, function: str) -> list[str]:
    """The kernel names a call's name expression takes: a string, or a parameter of ``function``
    resolved to the strings its callers in the same module pass there."""
    if isinstance(name, ast.Constant):
        return [name.value]
    definition = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    position = [a.arg for a in definition.args.args].index(name.id)
    return [ast.literal_eval(call.args[position]) for call in ast.walk(tree)
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == function]


def _argument_kind(arg: ast.expr) -> str | None:
    """"double" / "idx_t" for ``np.float64(...)`` / ``np.int64(...)``; None when only the run time knows."""
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute):
        return {"float64": "double", "int64": "idx_t"}.get(arg.func.attr)
    return None


@pytest.mark.parametrize("module", sorted(f for f in os.listdir(CUDA_DIR) if f.endswith(".py") and f != "__init__.py"))
def test_cuda_launches_match_the_kernel_signatures(module):
    """Every kernel a CuPy wrapper runs exists in its .cu source and gets as many arguments as it
    has parameters; a ``double`` parameter gets ``np.float64(...)``; and an argument named like a
    parameter of the kernel sits at that parameter's position (catches swapped arguments).
    A starred argument (``*rest``) is matched from both ends."""
    kernels = _cuda_kernel_parameters()
    with open(os.path.join(CUDA_DIR, module), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    calls = _kernel_calls(tree)
    assert calls or "raw_kernel" not in ast.unparse(tree), f"{module} imports raw_kernel but launches no kernel"
    for source, name_expr, args, function in calls:
        for name in _kernel_names(tree, name_expr, function):
            where = f"{module}:{function} -> {source}:{name}"
            assert (source, name) in kernels, f"{where}: no such kernel"
            params = kernels[(source, name)]
            star = next((i for i, a in enumerate(args) if isinstance(a, ast.Starred)), None)
            if star is None:
                assert len(args) == len(params), f"{where}: {len(args)} arguments for {len(params)} parameters"
                pairs = list(zip(args, params))
            else:
                after = len(args) - star - 1
                assert star + after <= len(params), f"{where}: too many arguments"
                pairs = list(zip(args[:star], params)) + list(zip(args[star + 1:], params[len(params) - after:]))
            names = [p for _, p in params]
            for arg, (kind, param) in pairs:
                got = _argument_kind(arg)
                assert got in (None, kind) and (kind != "double" or got == "double"), \
                    f"{where}: {ast.unparse(arg)} passed for the {kind} parameter {param}"
                if isinstance(arg, ast.Name) and arg.id in names:
                    assert arg.id == param, f"{where}: {arg.id} passed where the kernel expects {param}"


def test_cuda_block_size_macros_match_the_launch():
    """A kernel compiled with -DX_THREADS=v is launched with v threads per block (norm.cu's block
    reductions assume NORM_THREADS of them): the define and the launch name the same constant."""
    checked = 0
    for module, tree in _cuda_wrappers().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "launch_blocks":
                threads = [k.value for k in node.args[0].keywords if k.arg.endswith("_THREADS")]
                assert [ast.unparse(t) for t in threads] == [ast.unparse(node.args[2])], f"{module}: {ast.unparse(node)}"
                checked += 1
    assert checked


# ---- conv ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@given(g=cst.conv_geometry(max_batch=3, max_channels=4, max_size=10), seed=cst.seeds())
def test_im2col_and_col2im_match_reference(kernels, dtype, g, seed):
    """Same entries, same order of additions: bit-equal to the reference."""
    geom = (*g.kernel, g.stride, g.padding, g.dilation)
    x = cst.arrays(g.x_shape, dtype, seed)
    cols = check(kernels, "im2col", x, *geom, exact=True)[0]
    check(kernels, "col2im", cst.arrays(cols.shape, dtype, seed + 1), g.x_shape, *geom, exact=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, padding, dilation", [
    ((3, 2, 7, 7), (3, 3), (1, 1), (1, 1)),      # the "same" 3x3 of fashion-ref
    ((2, 3, 5, 9), (5, 5), (2, 2), (1, 1)),
    ((2, 2, 6, 8), (3, 3), (2, 2), (2, 2)),      # dilated
    ((2, 3, 4, 4), (1, 1), (0, 0), (1, 1)),
    ((1, 2, 6, 5), (3, 3), (0, 1), (1, 1)),      # same width, shrinking height
    ((1, 1, 2, 3), (5, 3), (2, 1), (1, 1)),      # kernel taller than the image
])
def test_im2col_and_col2im_same_padding_path_match_reference(kernels, dtype, x_shape, kernel, padding, dilation):
    """Stride 1 with W_out == W takes the shifted-plane loops: bit-equal to the reference too."""
    geom = (*kernel, (1, 1), padding, dilation)
    cols = check(kernels, "im2col", cst.arrays(x_shape, dtype, 1), *geom, exact=True)[0]
    check(kernels, "col2im", cst.arrays(cols.shape, dtype, 2), x_shape, *geom, exact=True)


# ---- pooling -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@given(g=cst.pool_geometry(max_batch=3, max_channels=4, max_size=10, ceil_mode=None), ties=st.booleans(),
       count_include_pad=st.booleans(), seed=cst.seeds())
def test_pooling_matches_reference(kernels, dtype, g, ties, count_include_pad, seed):
    """Max pooling (values and the first argmax, also among ties) is exact; its backward within tolerance.
    Average pooling is bit-equal on numba (same order of additions, where NumPy's is row-major), within
    tolerance on cupy; its backward, col2im's gather on dout / divisor in every backend, is bit-equal
    everywhere. ceil_mode's last windows included."""
    x = cst.arrays(g.x_shape, dtype, seed)
    if ties:
        x = np.round(x).astype(dtype)
    out, argmax = check(kernels, "max_pool2d", x, g.kernel, g.stride, g.padding, g.ceil_mode, exact=True)
    dout = cst.arrays(out.shape, dtype, seed + 1)
    check(kernels, "max_pool2d_backward", dout, argmax, g.x_shape)
    # NumPy's sum over the window axis adds in row-major order, except where that axis is the innermost
    # (a 1 x 1 output) and holds 8 or more cells: there it sums pairwise, through 8 partial sums
    avg_exact = kernels.name == "numba" and (out.shape[2:] != (1, 1) or g.kernel[0] * g.kernel[1] < 8)
    geom = (g.kernel, g.stride, g.padding)
    check(kernels, "avg_pool2d", x, *geom, g.ceil_mode, count_include_pad, exact=avg_exact)
    check(kernels, "avg_pool2d_backward", dout, g.x_shape, *geom, count_include_pad, exact=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("x_shape", [(3, 2, 7, 6), (2, 3, 8, 8), (1, 1, 2, 3)])
def test_max_pool_2x2_stride_2_path_matches_reference(kernels, dtype, x_shape, ceil_mode):
    """The unrolled 2x2 / stride 2 kernel, on odd sizes (a row or column left over, or with ceil_mode a
    last window of one row or column) and with ties."""
    x = np.round(cst.arrays(x_shape, dtype, 4)).astype(dtype)
    out, argmax = check(kernels, "max_pool2d", x, (2, 2), (2, 2), (0, 0), ceil_mode, exact=True)
    check(kernels, "max_pool2d_backward", cst.arrays(out.shape, dtype, 5), argmax, x_shape)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_propagates_nan_and_keeps_the_first_of_ties(kernels, dtype):
    x = np.array([[[[1, 3, 3, 0], [3, 2, np.nan, 5], [0, 0, 0, 0], [-1, -2, -3, -4]]]], dtype)
    out, argmax = check(kernels, "max_pool2d", x, (2, 2), (2, 2), (0, 0), False, exact=True)
    assert np.isnan(out[0, 0, 0, 1]) and argmax[0, 0, 0, 1] == 6
    assert out[0, 0, 0, 0] == 3 and argmax[0, 0, 0, 0] == 1
    assert out[0, 0, 1, 0] == 0 and argmax[0, 0, 1, 0] == 8
    check(kernels, "max_pool2d", x, (3, 3), (1, 1), (1, 1), False, exact=True)


# ---- activations ---------------------------------------------------------------------------------
def _prelu_weight(x: np.ndarray, shared: bool) -> np.ndarray:
    c = 1 if shared or x.ndim < 2 else x.shape[1]
    return np.linspace(-0.5, 0.75, c).astype(x.dtype)


PARAMS = {"negative_slope": 0.03, "alpha": 0.7, "beta": 1.5, "threshold": 4.0}
"""Parameter values for the tests, not the defaults, so that passing them on is tested too."""


def activation_args(primitive: str, x: np.ndarray, dy: np.ndarray, shared: bool) -> tuple:
    """The arguments of an activation primitive: ``op(x, *params)`` and
    ``op_backward(dy, *saved, *params)`` for the ops of the pointwise registry (saved: x and/or
    y = ref.op(x), as the op declares), a per-channel (or shared) weight for PReLU."""
    if primitive.startswith("prelu"):
        return (x, _prelu_weight(x, shared)) if primitive == "prelu" else (dy, x, _prelu_weight(x, shared))
    op = POINTWISE[primitive.removesuffix("_backward")]
    params = tuple(PARAMS.get(p, default) for p, default in op.params.items())
    if primitive == op.name:
        return (x, *params)
    saved = {"x": x, "y": getattr(ref, op.name)(x, *params)}
    return (dy, *(saved[k] for k in op.saves), *params)


ACTIVATIONS = sorted(GENERATED | {"prelu", "prelu_backward"})


def test_activation_table_covers_every_activation_primitive():
    assert set(ACTIVATIONS) == set(ref.activation.__all__) & set(PRIMITIVES)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("primitive", ACTIVATIONS)
@given(shape=cst.shapes(min_dims=2, max_dims=4, max_side=7), shared=st.booleans(), seed=cst.seeds())
def test_activations_match_reference(kernels, primitive, dtype, shape, shared, seed):
    """x spans both sides of every switch (|x| up to ~15) and holds exact zeros, the kinks."""
    x = cst.arrays(shape, dtype, seed, scale=4.0)
    x.reshape(-1)[::5] = 0
    dy = cst.arrays(shape, dtype, seed + 1)
    check(kernels, primitive, *activation_args(primitive, x, dy, shared))


@pytest.mark.parametrize("name", sorted(op.name for op in POINTWISE.values() if op.params))
def test_numba_activation_parameters_left_out_take_the_declared_defaults(name):
    op = getattr(backend.kernels("numba"), name)
    x = np.linspace(-30.0, 30.0, 61)
    defaults = tuple(POINTWISE[name].params.values())
    assert np.array_equal(op(x), op(x, *defaults)) and np.array_equal(op(x, *defaults[:1]), op(x, *defaults))
    assert not np.array_equal(op(x, *defaults), op(x, *(2 * d + 1 for d in defaults)))      # the parameters count
    with pytest.raises(TypeError, match=f"{name}_forward takes 1 arrays and at most {len(defaults)} parameters"):
        op(x, *defaults, 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("primitive", [p for p in ACTIVATIONS if not p.endswith("_backward")])
def test_activations_propagate_nan_and_handle_extremes(kernels, primitive, dtype):
    x = np.array([[np.nan, 0.0, -0.0, 1e-30, -1e-30, 80.0, -80.0, 1e4, -1e4]], dtype)
    check(kernels, primitive, *activation_args(primitive, x, np.ones_like(x), True))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("primitive", [p for p in ACTIVATIONS if p.endswith("_backward")])
def test_activation_backward_with_non_finite_upstream_gradients(kernels, primitive, dtype):
    """dy = +inf, -inf, NaN on both sides of every kink: NaN exactly where the reference has it
    (where the reference makes one, e.g. inf * 0, NumPy's warning is expected)."""
    x = np.tile(np.array([-1e4, -2.0, -0.0, 0.0, 0.5, 3.0, 1e4], dtype), (3, 1))
    dy = np.array([[np.inf], [-np.inf], [np.nan]], dtype) * np.ones_like(x)
    with np.errstate(invalid="ignore"):
        check(kernels, primitive, *activation_args(primitive, x, dy, True))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_backward_drops_even_a_non_finite_gradient_where_the_unit_is_off(dtype):
    """As PyTorch: dx = 0 where y <= 0 whatever dy is (0 * inf would be NaN)."""
    y = np.array([0.0, 0.0, 0.0, 2.0, 2.0], dtype)
    dy = np.array([np.inf, -np.inf, np.nan, np.inf, np.nan], dtype)
    for module in (ref, nb):
        dx = module.relu_backward(dy, y)
        assert dx.dtype == dtype and np.array_equal(dx, np.array([0, 0, 0, np.inf, np.nan], dtype), equal_nan=True)


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_prelu_rejects_a_weight_that_does_not_match_the_channels(name):
    with pytest.raises(ValueError):
        backend.kernels(name).prelu(np.ones((2, 6, 4)), np.ones(3))


# ---- softmax -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=cst.shapes(min_dims=1, max_dims=4, max_side=6), data=st.data(), seed=cst.seeds())
def test_softmax_family_matches_reference(kernels, dtype, shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    x = cst.arrays(shape, dtype, seed, scale=3.0)
    dy = cst.arrays(shape, dtype, seed + 1)
    y = check(kernels, "softmax", x, axis)[0]
    check(kernels, "softmax_backward", dy, y, axis)
    ly = check(kernels, "log_softmax", x, axis)[0]
    check(kernels, "log_softmax_backward", dy, ly, axis)


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.integers(1, 9), k=st.integers(1, 8), smoothing=st.sampled_from([0.0, 0.1, 1.0]),
       scale=st.sampled_from([1.0, 30.0]), seed=cst.seeds())
def test_softmax_cross_entropy_matches_reference(kernels, dtype, n, k, smoothing, scale, seed):
    logits = cst.arrays((n, k), dtype, seed, scale=scale)
    targets = np.random.default_rng(seed).integers(0, k, n)
    loss, log_probs = check(kernels, "softmax_cross_entropy", logits, targets, smoothing)
    assert loss.shape == ()
    check(kernels, "softmax_cross_entropy_backward", log_probs, targets, smoothing)


# ---- batch norm ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.integers(1, 6), c=st.integers(1, 5), length=st.integers(1, 12), offset=st.sampled_from([0.0, 20.0]),
       seed=cst.seeds())
def test_batch_norm_matches_reference(kernels, dtype, n, c, length, offset, seed):
    """Per-channel statistics over N and L; an offset mean checks the two-pass variance."""
    x = (cst.arrays((n, c, length), np.float64, seed) + offset).astype(dtype)
    gamma = cst.arrays((c,), dtype, seed + 1)
    beta = cst.arrays((c,), dtype, seed + 2)
    _, mean, _, inv_std = check(kernels, "batch_norm_train", x, gamma, beta, 1e-5)
    check(kernels, "batch_norm_backward", cst.arrays(x.shape, dtype, seed + 3), x, mean, inv_std, gamma)


# ---- layer norm and local response norm ----------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@given(rows=st.sampled_from([0, 1, 3, 70, 130]), d=st.integers(1, 12), offset=st.sampled_from([0.0, 20.0]),
       seed=cst.seeds())
def test_layer_norm_matches_reference(kernels, dtype, rows, d, offset, seed):
    """Statistics of each row (an offset mean and a constant row check the corrected two-pass); the
    backward's dgamma and dbeta over one or several chunks of rows, or none."""
    x = (cst.arrays((rows, d), np.float64, seed) + offset).astype(dtype)
    x[:1] = offset + 0.5
    gamma, beta = cst.arrays((d,), dtype, seed + 1), cst.arrays((d,), dtype, seed + 2)
    _, mean, inv_std = check(kernels, "layer_norm", x, gamma, beta, 1e-5)
    check(kernels, "layer_norm_backward", cst.arrays(x.shape, dtype, seed + 3), x, mean, inv_std, gamma)


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.integers(0, 3), c=st.integers(1, 7), length=st.integers(1, 9), data=st.data(), seed=cst.seeds())
def test_local_response_norm_matches_reference(kernels, dtype, n, c, length, data, seed):
    size = data.draw(st.integers(1, c + 2), label="size")
    x = cst.arrays((n, c, length), dtype, seed)
    _, div = check(kernels, "local_response_norm", x, size, 0.5, 0.75, 1.5)
    check(kernels, "local_response_norm_backward", cst.arrays(x.shape, dtype, seed + 1), x, div, size, 0.5, 0.75)


# ---- an empty batch ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_primitives_accept_an_empty_batch(kernels, dtype):
    """N = 0 gives empty results of the right shapes (a per-channel dweight of zeros), as the reference."""
    x = np.zeros((0, 3, 6, 6), dtype)
    geom = (3, 3, (1, 1), (1, 1), (1, 1))
    cols = check(kernels, "im2col", x, *geom, exact=True)[0]
    check(kernels, "col2im", cols, x.shape, *geom, exact=True)
    out, argmax = check(kernels, "max_pool2d", x, (2, 2), (2, 2), (0, 0), False, exact=True)
    check(kernels, "max_pool2d_backward", out, argmax, x.shape, exact=True)
    out = check(kernels, "avg_pool2d", x, (3, 3), (1, 1), (1, 1), False, True, exact=True)[0]
    check(kernels, "avg_pool2d_backward", out, x.shape, (3, 3), (1, 1), (1, 1), True, exact=True)
    weight = np.linspace(-0.5, 0.5, 3).astype(dtype)
    check(kernels, "prelu", x, weight, exact=True)
    check(kernels, "prelu_backward", x, x, weight, exact=True)
    check(kernels, "relu", x, exact=True)
    check(kernels, "softmax", x, 1, exact=True)
