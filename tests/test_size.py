"""The engine's size budget: "mini" is a promise, so CI counts the code.

Counted: every ``.py``, ``.cu`` and ``.cuh`` file under ``minicnn/`` and ``kernels/``, by lines that
hold code. Not counted: blank lines, comments, and docstrings (any string that stands alone as a
statement), because the derivations live there and they should never be cut to save lines.

Run ``python tests/test_size.py`` to print the count of every file, largest first.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ("minicnn", "kernels")
BUDGET = 7684
"""Code lines allowed in ``minicnn/`` and ``kernels/`` together. Raise it only with a feature that needs
the lines, and say so in the commit."""
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}


def python_code_lines(source: str) -> int:
    """Lines of ``source`` that hold a token other than a comment, and lie outside every docstring."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            docstrings.update(range(node.lineno, node.end_lineno + 1))
    code: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _SKIPPED:
            code.update(range(token.start[0], token.end[0] + 1))
    return len(code - docstrings)


def cuda_code_lines(source: str) -> int:
    """Lines of CUDA C ``source`` that are neither blank nor comments (``//`` and ``/* */``)."""
    without_blocks = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return sum(1 for line in without_blocks.splitlines() if line.strip() and not line.strip().startswith("//"))


def engine_sizes() -> dict[str, int]:
    """Code lines of every engine file, keyed by its path relative to the repository."""
    sizes = {}
    for top in ENGINE:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in (".py", ".cu", ".cuh") and "__pycache__" not in path.parts:
                text = path.read_text(encoding="utf-8")
                count = python_code_lines(text) if path.suffix == ".py" else cuda_code_lines(text)
                sizes[str(path.relative_to(ROOT))] = count
    return sizes


def test_counts_code_not_docstrings_or_comments():
    source = ('"""Module docs."""\n\n# a comment\ndef f(x):\n    """Maths\n    here."""\n'
              '    y = (x +\n         1)  # why\n    return y\n')
    assert python_code_lines(source) == 4
    assert cuda_code_lines("/* a\n b */\n// c\n\n__global__ void k() {\n  int i = 0;  // d\n}\n") == 3


def test_engine_within_budget():
    sizes = engine_sizes()
    total = sum(sizes.values())
    largest = ", ".join(f"{path} {n}" for path, n in sorted(sizes.items(), key=lambda kv: -kv[1])[:5])
    assert total <= BUDGET, f"engine code is {total} lines, over the budget of {BUDGET} (largest: {largest})"


if __name__ == "__main__":
    table = engine_sizes()
    for name, lines in sorted(table.items(), key=lambda kv: -kv[1]):
        print(f"{lines:6d}  {name}")
    print(f"{sum(table.values()):6d}  total (budget {BUDGET})")
