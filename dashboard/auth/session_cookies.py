"""The browser's side of a session: the cookies, and the user of the current request.

`qz_session` carries the random session token (HttpOnly: no script reads it); `_csrf_token`
carries the session's CSRF token, which Dash's renderer sends back as the `X-CSRFToken` header on
every callback (and our scripts on their POSTs). Both are SameSite=Strict, and Secure over HTTPS.
"""

from __future__ import annotations

from flask import Request, Response, request
from flask_login import UserMixin, current_user

from dashboard.context import ctx
from qingzhi.core import sessions
from qingzhi.core.access import Unauthorized, scope
from qingzhi.core.accounts import User
from qingzhi.core.actor import Actor

SESSION_COOKIE, CSRF_COOKIE, LOGIN_CSRF_COOKIE = "qz_session", "_csrf_token", "qz_login_csrf"
CSRF_HEADER = "X-CSRFToken"


def client_address() -> str:
    """Where the request came from (the socket's peer: a proxy in front must be configured, not trusted)."""
    return (request.remote_addr or "unknown")[:64]


def _secure() -> bool:
    return request.is_secure or ctx().settings.secure_cookies


def start_session(resp: Response, user: User) -> None:
    """Open a session for a user who just logged in and set its cookies on the response."""
    settings = ctx().settings
    token, csrf = ctx().db.run(sessions.start, user, client_address(), settings.session_hours * 3600)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", secure=_secure(), path="/")
    resp.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="Strict", secure=_secure(), path="/")


def end_session(resp: Response) -> None:
    """Delete the session (database and cookies)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        ctx().db.run(sessions.end, token, client_address())
    resp.delete_cookie(SESSION_COOKIE, path="/")
    resp.delete_cookie(CSRF_COOKIE, path="/")


class WebUser(UserMixin):
    """flask-login's face of a live session: the account and the session's CSRF token."""

    def __init__(self, live: sessions.Session):
        self.user, self.csrf = live.user, live.csrf

    def get_id(self) -> str:
        """The account name."""
        return self.user.name


def load_request_user(req: Request) -> WebUser | None:
    """flask-login's request loader: the session named by the cookie, if it is alive."""
    token = req.cookies.get(SESSION_COOKIE, "")
    live = ctx().db.run(sessions.resume, token, ctx().settings.session_idle_min * 60) if token else None
    return WebUser(live) if live else None


def current_actor(screen: str) -> Actor:
    """The logged-in person acting from a screen; the guard has made sure there is one."""
    if not current_user.is_authenticated:
        raise PermissionError("no session")     # unreachable behind the guard; never act anonymously
    return current_user.user.actor(screen)


class OutOfScope(Unauthorized):
    """The user asked for a station (or something of a station) outside their scope."""


def visible_stations(requested: str | None = None) -> list[str] | None:
    """The stations this request may read: the one asked for (within the user's scope), or the scope
    (None: every station). Asking for another station is refused, not quietly widened or narrowed."""
    if not current_user.is_authenticated:
        raise OutOfScope("no session")
    stations = scope(current_user.user.actor())
    if requested:
        if stations is not None and requested not in stations:
            raise OutOfScope(f"station {requested[:64]} is outside your scope")
        return [requested]
    return stations


def visible_station_filter(requested: list[str]) -> tuple[str, ...]:
    """A filter of several stations: those asked for (each within the user's scope, else OutOfScope), or when
    none are, the user's scope (empty: every station)."""
    for station in requested:
        visible_stations(station)
    return tuple(requested) or tuple(visible_stations() or ())


def check_visible(station: str | None) -> None:
    """Raise OutOfScope unless the user may see things of this station."""
    stations = scope(current_user.user.actor()) if current_user.is_authenticated else []
    if stations is not None and station not in stations:
        raise OutOfScope("outside your scope")
