"""Every page, as every role opens it, holds all or none of each callback's inputs, and the states
of every callback that can run there (no browser).

A page lays out some parts only for some roles (the briefing's task form: `briefing.act`). A
callback with one input in the page and another left out is refused whole by Dash's renderer ("A
nonexistent object was used in an `Input`"): it never runs, and nothing says so but the browser's
console. So an analyst's briefing never showed. This walks the shell and each page the role may
open, as the server sends them to that role's browser, against the app's callback map.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dash
import pytest
from auth_helpers import login_client

from dashboard.app import create_app
from qingzhi.config import Settings
from qingzhi.core.access import ROLES

PAGES = "_pages_content.children"


@pytest.fixture
def app(settings: Settings) -> Iterator[dash.Dash]:
    got = create_app(settings)
    yield got
    got.server.extensions["qingzhi"].db.close()


def ids_in(node: Any) -> set[str]:
    """The string ids of every component in a layout as Dash sends it (JSON)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("props"), dict) and isinstance(node["props"].get("id"), str):
            found.add(node["props"]["id"])
        for value in node.values():
            found |= ids_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= ids_in(value)
    return found


def page_ids(client: Any, app: dash.Dash, path: str) -> set[str] | None:
    """Ids of the page at `path` as this client's role gets it (None: the role may not open it)."""
    key = next(k for k in app.callback_map if PAGES in k)
    body = {"output": key, "outputs": [{"id": "_pages_content", "property": "children"},
                                       {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "changedPropIds": ["_pages_location.pathname"], "state": []}
    got = client.post("/_dash-update-component", json=body)
    if got.status_code == 403 or client.get(path, headers={"Accept": "text/html"}).status_code == 403:
        return None
    assert got.status_code == 200, (path, got.status_code)
    return ids_in(got.get_json())


def test_no_page_holds_part_of_a_callbacks_inputs_for_any_role(app: dash.Dash) -> None:
    broken, opened = [], 0
    for role in ROLES:
        client = login_client(app, role)
        shell = ids_in(client.get("/_dash-layout").get_json())
        for page in dash.page_registry.values():
            content = page_ids(client, app, page["path"])
            if content is None:
                continue
            opened += 1
            present = shell | content
            for key, spec in app.callback_map.items():
                if PAGES in key:
                    continue
                outputs = {o.rpartition(".")[0].partition("@")[0] for o in key.strip(".").split("...")}
                wanted = {i["id"] for i in spec["inputs"] if not i["id"].startswith("{")}  # wildcards may match none
                states = {s["id"] for s in spec["state"] if not s["id"].startswith("{")}
                # the page's callback can run (an input here, or wildcard inputs only): all it reads must be here
                can_run = (outputs | wanted) & content and (wanted & present or not wanted)
                if can_run and (wanted | states) - present:
                    broken.append((role, page["path"], key[:60], sorted((wanted | states) - present)))
    assert opened >= 20           # every role opens several pages: the walk really ran
    assert broken == [], '\n'.join(map(str, broken))
