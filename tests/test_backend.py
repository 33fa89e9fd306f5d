"""The backend switch: naming, restoring, refusing; lazy imports; moving models; Numba's compile cache."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import minicnn
from minicnn import backend, nn
from minicnn.testing import assert_close
from minicnn.testing import strategies as cst

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (MINICNN_BACKEND unset unless given) and return the result."""
    environ = {k: v for k, v in os.environ.items() if k != "MINICNN_BACKEND"}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environ, cwd=REPO, timeout=600)


# ---- set / get / use -----------------------------------------------------------------------------
def test_set_and_get_backend():
    minicnn.set_backend("numba")
    assert minicnn.get_backend() == "numba"
    minicnn.set_backend("numpy")
    assert minicnn.get_backend() == "numpy"


def test_use_backend_restores_the_previous_backend_even_on_exception():
    minicnn.set_backend("numpy")
    with pytest.raises(KeyError):
        with minicnn.use_backend("numba") as name:
            assert name == "numba" and minicnn.get_backend() == "numba"
            raise KeyError("boom")
    assert minicnn.get_backend() == "numpy"
    with minicnn.use_backend("numba"):
        with minicnn.use_backend("numpy"):
            assert minicnn.get_backend() == "numpy"
        assert minicnn.get_backend() == "numba"
    assert minicnn.get_backend() == "numpy"


@pytest.mark.parametrize("name", ["torch", "NUMPY", "", "cuda"])
def test_unknown_backend_is_a_value_error_naming_the_choices(name):
    with pytest.raises(ValueError, match="numpy, numba, cupy"):
        minicnn.set_backend(name)
    with pytest.raises(ValueError):
        with minicnn.use_backend(name):
            pass
    assert minicnn.get_backend() == "numpy"


def test_cupy_without_cupy_is_unavailable_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)          # makes `import cupy` raise ImportError
    with pytest.raises(minicnn.BackendUnavailable, match=r"pip install -e '\.\[gpu\]'") as info:
        minicnn.set_backend("cupy")
    assert isinstance(info.value, RuntimeError) and "CuPy" in str(info.value)
    assert minicnn.get_backend() == "numpy" and not backend.is_available("cupy")


def _fake_cupy(get_device_count) -> types.ModuleType:
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_device_count))
    return fake


def _no_driver() -> int:
    raise RuntimeError("cudaErrorInsufficientDriver")


@pytest.mark.parametrize("count, match", [(_no_driver, "no CUDA device is usable.*InsufficientDriver"),
                                          (lambda: 0, "no CUDA device was found")])
def test_cupy_without_a_gpu_is_unavailable_and_says_why(monkeypatch, count, match):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(count))
    with pytest.raises(minicnn.BackendUnavailable, match=match):
        minicnn.set_backend("cupy")
    assert minicnn.get_backend() == "numpy"


def test_numba_without_numba_is_unavailable_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    with pytest.raises(minicnn.BackendUnavailable, match="pip install numba"):
        minicnn.set_backend("numba")


# ---- start-up and lazy imports -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_minicnn_backend_environment_variable_picks_the_start_up_backend(name):
    result = run_python("import minicnn; print(minicnn.get_backend())", MINICNN_BACKEND=name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == name


def test_minicnn_backend_environment_variable_with_an_unknown_name_fails_loudly_on_first_use():
    result = run_python("""
        import minicnn
        print(minicnn.get_backend(), flush=True)
        minicnn.nn.Linear(2, 2)
    """, MINICNN_BACKEND="tensorflow")
    assert result.stdout.strip() == "tensorflow"
    assert result.returncode != 0
    assert "MINICNN_BACKEND=tensorflow: unknown backend 'tensorflow'" in result.stderr


@pytest.mark.skipif(minicnn.backend.is_available("cupy"), reason="needs a machine where the cupy backend is missing")
def test_an_unavailable_start_up_backend_never_falls_back_and_set_backend_recovers():
    result = run_python("""
        import minicnn
        try:
            minicnn.backend.asarray([1.0])
        except minicnn.BackendUnavailable as exc:
            print("refused:", exc)
        minicnn.set_backend("numpy")
        print(minicnn.nn.Linear(2, 3).weight.data.shape)
    """, MINICNN_BACKEND="cupy")
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert first.startswith("refused: MINICNN_BACKEND=cupy: backend 'cupy'")
    assert second == "(3, 2)"


@pytest.mark.skipif(minicnn.backend.is_available("cupy"), reason="needs a machine where the cupy backend is missing")
def test_the_training_cli_reports_an_unavailable_start_up_backend_in_one_line(tmp_path):
    environ = {**os.environ, "MINICNN_BACKEND": "cupy"}
    result = subprocess.run([sys.executable, "-m", "minicnn.train", "fashion_mnist", "--data-dir", str(tmp_path),
                             "--no-download", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, env=environ, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "backend 'cupy'" in result.stderr


def test_import_minicnn_imports_neither_numba_nor_cupy():
    result = run_python("""
        import sys
        import numpy as np
        import minicnn
        from minicnn import nn
        layer = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        layer.backward(layer(np.ones((1, 1, 5, 5), np.float32)))
        print(sorted(m for m in ("numba", "cupy", "minicnn.kernels.numba_cpu", "minicnn.kernels.cupy_cuda")
                     if m in sys.modules))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ---- arrays --------------------------------------------------------------------------------------
def test_to_numpy_returns_host_arrays():
    a = np.arange(6.0).reshape(2, 3)
    assert backend.to_numpy(a) is a
    assert np.array_equal(backend.to_numpy([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4]]))
    assert backend.to_numpy(np.float32(2.5)).dtype == np.float32


def test_to_numpy_copies_a_device_array_to_the_host():
    class DeviceArray:                                      # quacks like cupy.ndarray
        def __init__(self, host: np.ndarray) -> None:
            self.host = host

        def get(self) -> np.ndarray:
            return self.host.copy()

    DeviceArray.__module__ = "cupy._core.core"
    host = np.arange(4, dtype=np.float32)
    out = backend.to_numpy(DeviceArray(host))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and np.array_equal(out, host)


def test_asarray_follows_the_current_backend():
    for name in ("numpy", "numba"):
        with minicnn.use_backend(name):
            a = backend.asarray([1.0, 2.0], np.float32)
            assert type(a) is np.ndarray and a.dtype == np.float32
            assert backend.xp() is np


# ---- moving models -------------------------------------------------------------------------------
def _model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 3, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(27, 5))


def _step(model: nn.Module, x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Forward, cross-entropy, backward; host copies of the logits, dx and every parameter gradient."""
    loss_fn = nn.CrossEntropyLoss()
    model.zero_grad()
    logits = model(backend.asarray(x))
    loss_fn(logits, backend.asarray(targets))
    dx = model.backward(loss_fn.backward())
    grads = {name: backend.to_numpy(p.grad).copy() for name, p in model.named_parameters()}
    return backend.to_numpy(logits).copy(), backend.to_numpy(dx).copy(), grads


def test_model_moved_between_numpy_and_numba_gives_the_same_results():
    minicnn.manual_seed(3)
    x = cst.arrays((4, 2, 6, 6), np.float32, 11)
    targets = np.array([0, 4, 2, 1])
    tol = cst.tolerance(np.float32)
    source = _model()
    state = source.state_dict()
    expected = _step(source, x, targets)

    with minicnn.use_backend("numba"):                      # state_dict round trip into a new model
        copy = _model()
        copy.load_state_dict(state)
        got = _step(copy, x, targets)
        back = copy.state_dict()
    moved = _model()
    moved.load_state_dict(state)
    moved.to_backend("numba")                               # Module.to_backend switches the backend too
    assert minicnn.get_backend() == "numba"
    got_moved = _step(moved, x, targets)
    minicnn.set_backend("numpy")

    after = source.state_dict()                             # running statistics moved by one step
    assert list(back) == list(after)
    for key in after:
        assert back[key].dtype == after[key].dtype
        assert_close(back[key], after[key], tol.rtol, tol.atol, key)
    for result in (got, got_moved):
        assert_close(result[0], expected[0], tol.rtol, tol.atol, "logits")
        assert_close(result[1], expected[1], tol.rtol, tol.atol, "dx")
        for name, g in expected[2].items():
            assert_close(result[2][name], g, tol.rtol, tol.atol, f"grad {name}")


# ---- numba's on-disk compile cache ---------------------------------------------------------------
_CACHE_PROBE = """
    import importlib
    import json
    import numpy as np
    from numba.core.dispatcher import Dispatcher
    from minicnn import backend

    nb = backend.kernels("numba")
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    for work in (0, 2**62):                                 # the parallel twins, then the serial ones
        with nb.min_parallel_work(work):
            nb.im2col(x, 3, 3, (1, 1), (1, 1), (1, 1))
            nb.relu(x)
    dispatchers = [d for twin in nb.Twin.instances for d in twin.dispatchers()]
    for name in ("conv", "activation", "pool", "softmax", "norm", "winograd"):   # the modules: nb.softmax is the op
        module = importlib.import_module(f"minicnn.kernels.numba_cpu.{name}")
        dispatchers += [obj for obj in vars(module).values() if isinstance(obj, Dispatcher)]
    print(json.dumps({"hits": sum(sum(d.stats.cache_hits.values()) for d in dispatchers),
                      "misses": sum(sum(d.stats.cache_misses.values()) for d in dispatchers)}))
"""


@pytest.mark.slow
def test_numba_kernels_compile_once_and_load_from_the_cache_in_a_new_process(tmp_path):
    """Two fresh processes share a NUMBA_CACHE_DIR: the first compiles, the second compiles nothing."""
    runs = []
    for _ in range(2):
        result = run_python(_CACHE_PROBE, NUMBA_CACHE_DIR=str(tmp_path))
        assert result.returncode == 0, result.stderr
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first["misses"] >= 4 and first["hits"] == 0, first
    assert second["misses"] == 0 and second["hits"] >= 4, second
    assert any(f.endswith(".nbi") for _, _, files in os.walk(tmp_path) for f in files)


# ---- packaging -----------------------------------------------------------------------------------
def test_every_package_directory_installs_under_minicnn_and_kernels_never_as_a_top_level_module():
    """setup.cfg lists packages by name: a new sub-package left out would be missing from ``pip install .``."""
    setupcfg = pytest.importorskip("setuptools.config.setupcfg", reason="reads setup.cfg with setuptools")
    root = pathlib.Path(__file__).resolve().parents[1]
    options = setupcfg.read_configuration(str(root / "setup.cfg"))["options"]
    assert options["package_dir"] == {"minicnn": "minicnn", "minicnn.kernels": "kernels"}
    on_disk = {"minicnn." + ".".join(p.parent.relative_to(root / "minicnn").parts) if p.parent != root / "minicnn"
               else "minicnn" for p in (root / "minicnn").rglob("__init__.py")}
    on_disk |= {".".join(("minicnn", "kernels") + p.parent.relative_to(root / "kernels").parts)
                for p in (root / "kernels").rglob("__init__.py")}
    assert set(options["packages"]) == on_disk
    assert "kernels" not in options["packages"]
    assert options["package_data"] == {"minicnn.kernels.cupy_cuda": ["*.cu", "*.cuh"]}
    sources = sorted(p.name for p in (root / "kernels" / "cupy_cuda").glob("*.cu*"))
    assert "common.cuh" in sources and {"conv.cu", "norm.cu", "pool.cu", "softmax.cu"} <= set(sources)
