"""The derivation pages can never drift from the code: every worked example is regenerated here."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

import minicnn

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "derivations"


def _generator():
    spec = importlib.util.spec_from_file_location("worked_examples", DOCS / "worked_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PAGES = sorted(DOCS.glob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_worked_examples_match_the_code(page):
    gen = _generator()
    text = page.read_text()
    with minicnn.use_backend("numpy"):
        assert gen.refresh(text) == text, (
            f"{page.name}: a worked example no longer matches the code; run "
            "`python docs/derivations/worked_examples.py --write` and review the diff")


def test_every_example_appears_on_a_page():
    gen = _generator()
    used = {name for page in PAGES for name in gen.names(page.read_text())}
    assert used == set(gen.EXAMPLES), f"examples without a page: {set(gen.EXAMPLES) - used}"


README = DOCS.parents[1] / "README.md"
README_SNIPPETS = README.read_text().split("```python\n")[1:]


@pytest.mark.parametrize("index", range(len(README_SNIPPETS)))
def test_readme_python_snippets_run(index):
    code = README_SNIPPETS[index].split("```", 1)[0]
    namespace: dict = {}
    with minicnn.use_backend("numpy"):
        exec(compile(code, f"README.md python snippet {index}", "exec"), namespace)
        if "test_conv_gradient" in namespace:
            namespace["test_conv_gradient"]()


def test_readme_keeps_the_two_commands_that_ci_runs():
    text = README.read_text()
    ci = (DOCS.parents[1] / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in text
    assert 'pip install -e ".[test]" && MINICNN_DATA=../shared/datasets python -m minicnn.train fashion_mnist' in text
