"""Every component id lives in dashboard/ids.py: no Python module, stylesheet or script spells one out."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dashboard import ids

ROOT = Path(__file__).resolve().parent.parent
IDS = {v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)}
# what the id builders put in front of (or after) their argument
AFFIXES = {ids.live_layer(""), ids.dispatch_panel(""), ids.layers_control("")}


def python_files() -> list[Path]:
    """The app's modules other than ids.py."""
    return [p for pkg in ("dashboard", "layouts") for p in sorted((ROOT / pkg).rglob("*.py")) if p != ROOT / "dashboard/ids.py"]


def spelled_ids(path: Path) -> list[str]:
    """`file:line value` of string literals in a module that are (or build) a component id, and of
    `id=` arguments given as literals. Class names may equal an id (the analysis page's do)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    classes = {id(k.value) for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg in ("className", "css")}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in classes:
            if node.value in IDS or any(node.value.startswith(a) or node.value.endswith(a) for a in AFFIXES if a):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
        elif isinstance(node, ast.keyword) and node.arg == "id" and isinstance(node.value, (ast.Constant, ast.JoinedStr, ast.Dict)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} id=<literal>")
    return found


def test_ids_are_unique() -> None:
    names = [k for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)]
    assert len(names) == len(IDS) > 80


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_spells_out_an_id(path: Path) -> None:
    assert spelled_ids(path) == []


def test_the_check_finds_spelled_ids(tmp_path: Path) -> None:
    bad = ROOT / "layouts" / f"_probe_{tmp_path.name}.py"
    bad.write_text('from dash import html\nA = html.Div(id="whatever", className="an-map")\nB = "dispatch-queue"\n'
                   'C = "live-layer-x"\n')
    try:
        assert sorted(f.split(" ", 1)[1] for f in spelled_ids(bad)) == ["'dispatch-queue'", "'live-layer-x'", "id=<literal>"]
    finally:
        bad.unlink()


def test_no_stylesheet_or_script_spells_out_an_id() -> None:
    """Styles go by class; scripts get ids from their page's config (dashboard/*/api.py client_config)."""
    for path in sorted((ROOT / "assets").rglob("*.css")):
        selectors = set(re.findall(r"#([a-z][a-z0-9-]*)", re.sub(r"#[0-9a-fA-F]{3,8}\b", "", path.read_text())))
        assert not selectors & IDS, f"{path.name}: {sorted(selectors & IDS)}"
    for path in sorted((ROOT / "assets").rglob("*.js")):
        literals = set(re.findall(r"""['"]([a-z][a-z0-9-]*)['"]""", path.read_text()))
        assert not literals & IDS, f"{path.name}: {sorted(literals & IDS)}"
