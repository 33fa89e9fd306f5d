"""Every script in examples/ runs with small sizes and prints what its header promises, and every
derivation page cites code and tests that exist: the learning material cannot rot unnoticed."""
from __future__ import annotations

import ast
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DERIVATIONS = ROOT / "docs" / "derivations"


def _data_dir() -> pathlib.Path | None:
    """The shared real data (../shared/datasets next to the repo), else $MINICNN_DATA, if it holds fashion_mnist/."""
    candidates = [ROOT.parent / "shared" / "datasets"]
    if os.environ.get("MINICNN_DATA"):
        candidates.append(pathlib.Path(os.environ["MINICNN_DATA"]))
    return next((d for d in candidates if (d / "fashion_mnist").is_dir()), None)


def _run(script: str, *args: str, env: dict[str, str] | None = None, expect: int = 0) -> str:
    """Run examples/<script> in a fresh interpreter on 1 thread; return stdout + stderr."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", **(env or {})}
    full_env.pop("MINICNN_BACKEND", None)
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == expect, f"{script} {' '.join(args)} exited with {proc.returncode}:\n{out}"
    return out


# Each example with small sizes, and the lines its header promises.
CASES = {
    "01_conv_by_hand.py": [
        (["--batch", "1", "--size", "5", "--stride", "2"], [r"x \(1, 3, 5, 5\), w \(4, 3, 3, 3\) -> y \(1, 4, 3, 3\)",
                                                            r"backward: dw by hand vs library", r"^all equal"]),
        (["--batch", "2", "--in-channels", "2", "--size", "4", "--kernel", "2", "--padding", "0"], [r"^all equal"]),
    ],
    "02_gradcheck_your_layer.py": [
        (["--examples", "2"], [r"test_swish_gradcheck: 2 hypothesis examples passed",
                               r"test_conv_then_swish_gradcheck: 2 hypothesis examples passed",
                               r"BrokenSwish is caught.*\n\s+gradcheck input 0: worst element",
                               r"^Swish is proven"]),
    ],
    "04_from_pytorch.py": [
        (["--batch", "2", "--size", "8"], [r"grad 0\.weight\s+max \|difference\|", r"after one step: 1\.running_var",
                                           r"^PyTorch and minicnn agree \(float64"]),
        (["--batch", "2", "--size", "8", "--dtype", "float32"], [r"^PyTorch and minicnn agree \(float32"]),
    ],
    "06_custom_block.py": [
        ([], [r"state_dict keys: \['norm\.weight', 'norm\.bias', 'norm\.running_mean'",
              r"input gradient\s+max \|difference\| vs torch = \d\.\de-(1[0-9]|[2-9][0-9])",
              r"^gradcheck passed: two-layer stack", r"^the custom block is proven"]),
        (["--channels", "3", "--growth", "2", "--size", "5"], [r"^the custom block is proven"]),
    ],
    "05_backends.py": [
        (["--batch", "2", "--repeats", "1"], [r"^numpy\s+first step .* ms/step .* weights vs numpy: 0\.0e\+00",
                                              r"^numba\s+first step .* ms/step",
                                              r"^cupy\s+(unavailable: \S|first step)",
                                              r"^every available backend took the same step"]),
    ],
}
PARAMS = [pytest.param(script, args, lines, id=f"{script}-{i}")
          for script, runs in CASES.items() for i, (args, lines) in enumerate(runs)]


@pytest.mark.parametrize("script, args, lines", PARAMS)
def test_example_runs_with_small_sizes(script, args, lines):
    out = _run(script, *args)
    for line in lines:
        assert re.search(line, out, re.M), f"{script}: no line matching {line!r} in:\n{out}"


def test_training_example_reaches_a_printed_accuracy():
    data = _data_dir()
    if data is None:
        pytest.skip("no fashion_mnist/ in ../shared/datasets or $MINICNN_DATA: the training example needs the data")
    out = _run("03_train_fashion_mnist.py", "--limit", "512", "--epochs", "1", env={"MINICNN_DATA": str(data)})
    assert re.search(r"^fashion_mnist: 512 training and 512 test images of shape \(1, 28, 28\)", out, re.M), out
    assert re.search(r"^epoch 1/1: train loss \d+\.\d{4}, \d+ images/s", out, re.M), out
    found = re.search(r"^test accuracy: (\d\.\d{4}) on 512 images", out, re.M)
    assert found, out
    assert float(found.group(1)) > 0.3, f"one epoch on 512 images should beat chance (0.1) clearly:\n{out}"


def test_training_example_without_data_says_where_it_looked(tmp_path):
    out = _run("03_train_fashion_mnist.py", "--data-dir", str(tmp_path), expect=2,
               env={"MINICNN_MIRRORS": "http://127.0.0.1:9"})          # a refused address: no network wait
    assert f"not found in {tmp_path / 'fashion_mnist'}" in out and "Traceback" not in out, out


def test_every_example_is_run_here_and_has_a_header():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert set(scripts) == set(CASES) | {"03_train_fashion_mnist.py"}, "an example without a test (or a stale case)"
    for name in scripts:
        doc = ast.get_docstring(ast.parse((EXAMPLES / name).read_text())) or ""
        assert "What it teaches" in doc and "What it prints" in doc, f"{name}: the header must say both"


# ---- the derivation pages cite real functions and real tests --------------------------------

def _citations(text: str) -> list[tuple[str, str | None]]:
    """(path, name) pairs from a page's ``Code:``/``Proof:`` paragraph: every `path` in backquotes,
    and every `identifier` after it, which must be defined in that path."""
    start = text.index("\nCode:")
    para = text[start:text.index("\n\n", start)]
    cited, current = [], None
    for token in re.findall(r"`([^`]+)`", para):
        if "/" in token:
            cited.append((token, None))
            current = token if token.endswith(".py") else None
        elif re.fullmatch(r"[A-Za-z_]\w*", token) and current is not None:
            cited.append((current, token))
    return cited


PAGES = sorted(p for p in DERIVATIONS.glob("*.md") if p.name != "README.md")


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_derivation_page_cites_functions_and_tests_that_exist(page):
    cited = _citations(page.read_text())
    assert any(path.startswith("tests/") and name for path, name in cited), f"{page.name} names no test"
    for path, name in cited:
        target = ROOT / path
        assert target.exists(), f"{page.name} cites {path}, which does not exist"
        if name is not None:
            source = target.read_text()
            defined = (re.search(rf"^\s*(def|class)\s+{name}\b|^{name}\s*[:=]", source, re.M)
                       or path == "tests/op_table.py" and re.search(rf'Row\("{name}"', source))
            assert defined, f"{page.name} cites {name} in {path}, which does not define it"


def test_derivation_index_lists_every_page_and_only_pages_that_exist():
    index = (DERIVATIONS / "README.md").read_text()
    missing = [p.name for p in PAGES if f"]({p.name})" not in index]
    assert not missing, f"docs/derivations/README.md does not link {missing}"
    dangling = [name for name in re.findall(r"\]\(([\w.]+\.md)\)", index) if not (DERIVATIONS / name).exists()]
    assert not dangling, f"docs/derivations/README.md links pages that do not exist: {dangling}"
