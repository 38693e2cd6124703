"""The app's wiring: navigation from the page registry, one way to register callbacks (no browser)."""

from __future__ import annotations

import ast
from pathlib import Path

import dash
import pytest
from dash import dcc

from dashboard import app as app_module
from dashboard.app import create_app
from dashboard.i18n import t
from dashboard.shell import build_header, headerless
from qingzhi.config import Settings
from qingzhi.core.accounts import User

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_apps(settings: Settings):
    """Two apps in one process, as tests and benchmarks build them."""
    apps = [create_app(settings), create_app(settings)]
    yield apps
    for app in apps:
        app.server.extensions["qingzhi"].db.close()


def test_nav_is_the_page_registry(two_apps) -> None:
    pages = sorted(dash.page_registry.values(), key=lambda p: p["order"])
    assert [p["path"] for p in pages] == ["/", "/dispatch", "/analysis", "/wall", "/audit", "/briefing", "/playback",
                                          "/search", "/duty"]
    header = build_header("/dispatch", "?incident=110-1", "en")
    links = [c for c in header[1].children if isinstance(c, dcc.Link)]
    assert [link.href for link in links] == [f"{p['path']}?lang=en" for p in pages]
    assert [link.children for link in links] == ["Live map", "Dispatch", "Three highs", "Wall", "Audit log", "Briefing",
                                                 "Playback", "Search", "Graded duty"]
    assert [link.className for link in links].count("qz-nav-link active") == 1 and "active" in links[1].className
    assert header[2].href == "/dispatch?incident=110-1&lang=zh"  # the language switch keeps the query
    # a browser tab's title names the page in both languages (Dash gives a title no query, so no ?lang)
    assert [p["title"] for p in pages] == [f"{t(p['nav'], 'zh')} · {t(p['nav'], 'en')}" for p in pages]
    assert headerless("/wall") and not headerless("/") and not headerless("/analysis")


def test_nav_offers_only_the_pages_the_role_opens(two_apps) -> None:
    """A wall account sees the map and the wall; an analyst also the analysis and search; only an admin the audit log."""
    def shown(role: str) -> list[str]:
        header = build_header("/", None, "en", User("x", role, None))
        return [link.href.split("?")[0] for link in header[1].children]
    assert shown("wall") == ["/", "/wall"]
    assert shown("analyst") == ["/", "/analysis", "/wall", "/briefing", "/playback", "/search", "/duty"]
    assert shown("commander") == ["/", "/dispatch", "/analysis", "/wall", "/briefing", "/playback", "/search", "/duty"]
    assert shown("admin") == ["/", "/dispatch", "/analysis", "/wall", "/audit", "/briefing", "/playback", "/search",
                              "/duty"]
    header = build_header("/", None, "zh", User("li.wei", "commander", frozenset({"ST01"})))
    assert header[3].children == "li.wei · 指挥" and header[4].children == "退出"


def test_every_callback_is_registered_on_every_app(two_apps) -> None:
    first, second = two_apps
    expected = sum(len(f.CALLBACKS._server) + len(f.CALLBACKS._client) for f in app_module.FEATURES)
    assert len(first.callback_map) == len(second.callback_map) == expected > 25
    assert first.callback_map.keys() == second.callback_map.keys()
    assert {b.name for b in second.server.blueprints.values()} >= {"live_api", "dispatch_api"}


def feature_modules() -> set[str]:
    """Modules of dashboard/ that declare their callbacks."""
    return {".".join(path.relative_to(ROOT).with_suffix("").parts) for path in (ROOT / "dashboard").rglob("*.py")
            if "CALLBACKS = CallbackSet(" in path.read_text(encoding="utf-8")}


def test_callbacks_are_declared_one_way_and_all_registered() -> None:
    registered = {f.__name__ for f in app_module.FEATURES}
    assert feature_modules() == registered
    for pkg in ("dashboard", "layouts"):
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
                if path.name == "callbacks.py" and path.parent.name == "dashboard":
                    continue  # the one place that calls app.callback
                assert name not in ("callback", "clientside_callback") or isinstance(node, ast.Attribute) and (
                    isinstance(node.value, ast.Name) and node.value.id == "CALLBACKS"), \
                    f"{path.relative_to(ROOT)}:{node.lineno}: register callbacks with a CallbackSet"
            imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "dash"
                        for a in n.names}
            assert not imported & {"callback", "clientside_callback"}, f"{path.relative_to(ROOT)} imports dash.callback"


def test_every_date_picker_is_the_apps_own_in_the_pages_language() -> None:
    """Dash's picker says "Select Date" on a Chinese page and writes American dates: pages take
    dashboard.pickers.date_picker, which speaks the page's language and writes ISO dates."""
    from dashboard.pickers import date_picker
    for lang, word in (("zh", "选择日期"), ("en", "Pick a date")):
        picker = date_picker("x", lang, "2026-11-30")
        assert (picker.placeholder, picker.display_format, picker.date) == (word, "YYYY-MM-DD", "2026-11-30")
    own = ROOT / "dashboard" / "pickers.py"
    raw = [str(p.relative_to(ROOT)) for folder in ("dashboard", "layouts") for p in (ROOT / folder).rglob("*.py")
           if p != own and "DatePickerSingle(" in p.read_text(encoding="utf-8")]
    assert raw == []
