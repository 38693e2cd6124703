"""Imports point one way: programs → ingest and dashboard → the domain core (qingzhi/core), never back.

The imports are read from the source with ast (not by importing), so a lazy import inside a
function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the core must never import: the programs and the UI built on it.
CORE_FORBIDDEN = ("dashboard", "ingest", "layouts", "bench", "qingzhi.simulator", "qingzhi.cli", "qingzhi.demo",
                  "qingzhi.worker", "qingzhi.duties", "qingzhi.status", "qingzhi.importer")


def imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports, absolute names (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def offenders(folder: str, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """`file: module` for each import under `folder` of a module in (or under) `forbidden`."""
    bad = []
    for path in sorted((root / folder).rglob("*.py")):
        for name in sorted(imports(path, root)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(root)}: {name}")
    return bad


def test_the_core_imports_nothing_built_on_it() -> None:
    assert list((ROOT / "qingzhi" / "core").glob("*.py")), "no core modules found"
    assert offenders("qingzhi/core", CORE_FORBIDDEN) == []


def test_the_dashboard_and_the_ingest_never_import_the_simulator() -> None:
    for folder in ("dashboard", "layouts", "ingest"):
        assert offenders(folder, ("qingzhi.simulator",)) == [], folder


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    (tmp_path / "qingzhi" / "core").mkdir(parents=True)
    probe = tmp_path / "qingzhi" / "core" / "_probe_architecture.py"
    probe.write_text("import json\nfrom . import vocab\ndef f():\n    from dashboard.data import live\n"
                     "    from ..simulator import fleet\n")
    assert offenders("qingzhi/core", CORE_FORBIDDEN, tmp_path) == ["qingzhi/core/_probe_architecture.py: dashboard.data",
                     "qingzhi/core/_probe_architecture.py: dashboard.data.live",
                     "qingzhi/core/_probe_architecture.py: qingzhi.simulator",
                     "qingzhi/core/_probe_architecture.py: qingzhi.simulator.fleet"]
