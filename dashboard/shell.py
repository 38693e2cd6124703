"""The frame around every page: header with navigation and the language switch.

The navigation is `dash.page_registry`: each page in layouts/ registers its path, its order
and the i18n key of its link (`nav=`), and says whether it is shown without the header
(`headerless=True`, the wall screen). The language travels in the URL (`?lang=en`), so a
wall screen's address fixes its language and a page's layout is built in the right language
on the server.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

import dash
from dash import Input, Output, State, dcc, html

from flask_login import current_user

from dashboard import ids
from dashboard.auth.guard import may_open
from dashboard.callbacks import CallbackSet
from dashboard.context import ctx
from dashboard.i18n import LANGS, lang_of, t
from qingzhi.core.accounts import User

CALLBACKS = CallbackSet("shell", None)  # language, navigation: any logged-in user


def build_shell(default_lang: str) -> html.Div:
    """The app layout: URL and language state, the header, and the page container."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Store(id=ids.LANG, data=default_lang),
            html.Header(id=ids.HEADER, className="qz-header"),
            html.Main(dash.page_container, className="qz-main"),
        ],
        className="qz-app",
    )


def page_title(nav: str) -> str:
    """A browser tab's title: the page's navigation label in both languages (Dash builds a page's
    title without its query string, so the title cannot follow `?lang`)."""
    return " · ".join(t(nav, lang) for lang in LANGS)


def nav_pages() -> list[dict[str, Any]]:
    """The registered pages that have a navigation link, in their `order`."""
    pages = [p for p in dash.page_registry.values() if p.get("nav")]
    return sorted(pages, key=lambda p: p.get("order") or 0)


def query_lang(search: str | None, default: str) -> str:
    """The `lang` query parameter of a URL search string."""
    values = parse_qs((search or "").lstrip("?")).get("lang", [])
    return lang_of(values[0] if values else None, default)


def with_lang(path: str, search: str | None, lang: str) -> str:
    """The same address with `lang` set, keeping the other query parameters."""
    query = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    query["lang"] = lang
    return f"{path}?{urlencode(query)}"


def build_header(path: str, search: str | None, lang: str, user: User | None = None) -> list:
    """Title, the links to the pages this user may open, the language switch, who is logged in and
    the way out. (Hiding a link protects nothing: the server refuses the page itself.)"""
    other = "en" if lang == "zh" else "zh"
    links = [
        dcc.Link(t(page["nav"], lang), href=f"{page['path']}?lang={lang}",
                 className="qz-nav-link" + (" active" if page["path"] == path else ""))
        for page in nav_pages() if user is None or may_open(user, page["path"])
    ]
    who = [] if user is None else [
        html.Span(f"{user.name} · {t('role.' + user.role, lang)}", id=ids.USER_NAME, className="qz-user"),
        html.Button(t("nav.logout", lang), id=ids.LOGOUT, className="qz-logout"),
    ]
    return [
        html.Div(t("app.title", lang), className="qz-title"),
        html.Nav(links, id=ids.NAV_LINKS, className="qz-nav"),
        dcc.Link(t("nav.language", lang), id=ids.LANG_LINK, href=with_lang(path, search, other), className="qz-lang"),
        *who,
    ]


def headerless(path: str) -> bool:
    """Whether the page at `path` is shown without the header (it registered `headerless=True`)."""
    return any(p["path"] == path and p.get("headerless") for p in dash.page_registry.values())


@CALLBACKS.callback(
    Output(ids.HEADER, "children"),
    Output(ids.HEADER, "hidden"),
    Output(ids.LANG, "data"),
    Input(ids.URL, "pathname"),
    Input(ids.URL, "search"),
    State(ids.LANG, "data"),
)
def update_header(path: str | None, search: str | None, current: str | None) -> tuple[list, bool, str]:
    """Rebuild the header for the current page and language."""
    path = path or "/"
    lang = query_lang(search, current or ctx().settings.language)
    user = current_user.user if current_user.is_authenticated else None
    return build_header(path, search, lang, user), headerless(path), lang


CALLBACKS.clientside("logout", Output(ids.LOGOUT, "title"), Input(ids.LOGOUT, "n_clicks"), prevent_initial_call=True)
