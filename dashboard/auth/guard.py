"""The gate every request passes, on the server: host, session, role, CSRF; and the answer's headers.

Only the login form, /health and static files are public. Pages, JSON endpoints and Dash
callbacks need a live session and the permission their area needs (a callback's permission is
that of the feature that registered it); the domain actions check role and station scope once
more with the acting user, who comes from the session, never from the browser. A state-changing
request must echo the session's CSRF token. Answers carry a Content-Security-Policy and
frame/sniffing/referrer headers; bodies over MAX_BODY are refused before anyone reads them.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from urllib.parse import quote

from dash import Dash
from flask import Response, jsonify, make_response, redirect, request
from flask_login import LoginManager, current_user

from dashboard.auth import pages
from dashboard.auth.session_cookies import CSRF_HEADER, load_request_user
from dashboard.callbacks import BadInput
from dashboard.endpoints import BAD_VALUES, bad_input, bad_value
from qingzhi.core.access import Unauthorized, allowed
from qingzhi.config import Settings
from qingzhi.core.accounts import User
from qingzhi.core.streams import StreamPolicy

MAX_BODY = 1024 * 1024
PUBLIC = ("/login", "/health", "/assets/", "/_dash-component-suites/", "/_favicon.ico", "/favicon.ico")
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
MACHINE_PATHS = ("/api/", "/_dash-", "/_reload-hash", "/tiles/")  # answered with an error, never redirected
FORBIDDEN_PAGE = """<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>403</title>
<link rel="stylesheet" href="/assets/00_base.css"><link rel="stylesheet" href="/assets/login.css"></head>
<body class="qz-login"><div class="qz-login-form"><h1>无权访问 · Not allowed</h1>
<p>您的账号无权打开此页面。Your account may not open this page.</p>
<a href="/">返回实时警力 · Back to the live map</a></div></body></html>"""
DASH_CALLBACK = "/_dash-update-component"
PAGE_CONTENT = "_pages_content.children"     # Dash's page-routing callback
# the permission of each page and endpoint, by path prefix (longest first); others need only a login
PATHS: tuple[tuple[str, str], ...] = (
    ("/api/dispatch", "dispatch.view"), ("/dispatch", "dispatch.view"),
    ("/analysis", "analysis.view"), ("/api/live/stream", "camera.view"), ("/api/live/cameras", "camera.view"),
    ("/api/live", "live.view"), ("/wall", "live.view"), ("/audit", "audit.view"),
    ("/briefing", "briefing.view"), ("/playback", "briefing.view"), ("/search", "search.view"),
    ("/duty", "duty.view"),
)


def content_security_policy(app: Dash, settings: Settings) -> str:
    """Scripts only from here (and Dash's own inline bootstrap, by hash); tiles from the configured host, or from
    'self' alone when the tile URL is ours (MBTiles). data: and blob: are in-page images, no host: the analysis
    map's density overlay is a data: PNG. Camera streams from the allowed stream hosts (media-src blob: is
    hls.js's MediaSource).
    Call it once the app has served a request: Dash adds inline clientside scripts at its first one."""
    hashes = " ".join(app.csp_hashes())
    tiles = settings.tile_url.split("/{", 1)[0].split("/", 3)[:3]
    tile_origin = "/".join(tiles) if settings.tile_url.startswith(("http://", "https://")) else ""
    media = stream_sources(settings)
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob: {tile_origin}; connect-src 'self' {media}; font-src 'self' data:; "
            f"media-src 'self' blob: {media}; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def stream_sources(settings: Settings) -> str:
    """Where the camera player may fetch from (HLS playlists and segments, WHEP offers) and play:
    the allowed schemes on the allowed stream hosts, any port; with no hosts configured, any host."""
    rules = StreamPolicy.parse(settings.stream_schemes, settings.stream_hosts)
    if not rules.hosts:
        return " ".join(f"{s}:" for s in rules.schemes)
    return " ".join(f"{s}://{h}:* {s}://{h}" for s in rules.schemes for h in rules.hosts if ":" not in h)


def permission_for(path: str, callback_permissions: Mapping[str, str | None]) -> str | None:
    """What a request needs beyond a login: by path, or for a Dash callback by its outputs
    (Dash's own page-routing callback: by the page it is asked for)."""
    if path == DASH_CALLBACK:
        try:
            body = json.loads(request.get_data(cache=True) or b"{}")
            output = body.get("output", "")
            if not isinstance(output, str):     # a key of the callback map is text; anything else is no callback
                return "unknown"
            if PAGE_CONTENT in output:
                sent = {i.get("property"): i.get("value") for i in body.get("inputs", [])}
                page, search = sent.get("pathname"), sent.get("search")
                # Dash's router fails on anything but an absolute path and a text query (or none)
                if not isinstance(page, str) or not page.startswith("/") or not isinstance(search, str | None):
                    return "unknown"
                return permission_for(page, {}) or "live.view"
        except (ValueError, AttributeError, TypeError):
            return "unknown"
        return callback_permissions.get(output, "unknown")
    for prefix, permission in PATHS:
        if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "?"):
            return permission
    return None


def may_open(user: User, path: str) -> bool:
    """Whether the user's role opens the page at `path` (for the navigation; the gate decides)."""
    needed = permission_for(path, {})
    return needed is None or allowed(user.actor(), needed)


def _refuse(status: int, message: str) -> Response:
    """401/403 as JSON; a page asked for without a session goes to the login form instead."""
    if request.method == "GET" and not request.path.startswith(MACHINE_PATHS):
        if status == 401:
            return redirect(f"/login?next={quote(request.full_path.rstrip('?'), safe='/')}", 302)
        if status == 403:
            return make_response(FORBIDDEN_PAGE, 403)
    resp = jsonify(error=message)
    resp.status_code = status
    return resp


def install(app: Dash, settings: Settings, callback_permissions: Mapping[str, str | None]) -> None:
    """Put the gate and the headers on the app's Flask server."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    server.register_blueprint(pages.blueprint)
    manager = LoginManager()
    manager.init_app(server)
    manager.request_loader(load_request_user)
    hosts = {h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip()}
    csp: list[str] = []

    @server.errorhandler(Unauthorized)       # OutOfScope too
    def refused(exc: Exception) -> Response:
        return _refuse(403, str(exc))

    for exc in BAD_VALUES:                   # a callback's value the database refused: the client's fault
        server.register_error_handler(exc, bad_value)
    server.register_error_handler(BadInput, bad_input)

    @server.before_request
    def gate() -> Response | None:
        host = (request.host or "").lower().rsplit(":", 1)[0] if not (request.host or "").startswith("[") \
            else (request.host or "").lower().split("]")[0].lstrip("[")
        if host not in hosts:
            return _refuse(400, "unknown host")
        if request.path.startswith(PUBLIC):
            return None
        if not current_user.is_authenticated:
            return _refuse(401, "login required")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf", "")
            if not sent or not hmac.compare_digest(sent, current_user.csrf):
                return _refuse(403, "missing or wrong CSRF token")
        needed = permission_for(request.path, callback_permissions)
        if needed == "unknown" or (needed and not allowed(current_user.user.actor(), needed)):
            return _refuse(403, "not allowed")
        return None

    @server.after_request
    def headers(resp: Response) -> Response:
        if not csp:
            csp.append(content_security_policy(app, settings))
        resp.headers.setdefault("Content-Security-Policy", csp[0])
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if resp.mimetype == "application/json" or request.path.startswith(("/login", "/api/")):
            resp.headers["Cache-Control"] = "no-store"
        return resp
