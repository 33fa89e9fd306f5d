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
