"""Guideline 15: every public function and class in the product code has type hints and a docstring."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("qingzhi", "ingest", "dashboard", "layouts")


def public_defs() -> list[tuple[str, ast.AST]]:
    """(where, node) for each public module-level function/class and public method."""
    found = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            nodes = list(tree.body)
            for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")):
                nodes += [m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
            for node in nodes:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node))
    return found


DEFS = public_defs()


@pytest.mark.parametrize(("where", "node"), DEFS, ids=[w for w, _ in DEFS])
def test_public_definitions_are_documented_and_typed(where: str, node: ast.AST) -> None:
    assert ast.get_docstring(node), f"{where}: no docstring"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = [a for a in node.args.args + node.args.kwonlyargs if a.arg not in ("self", "cls")]
        untyped = [a.arg for a in args if a.annotation is None]
        assert not untyped, f"{where}: parameters without type hints: {untyped}"
        assert node.returns is not None, f"{where}: no return type"
