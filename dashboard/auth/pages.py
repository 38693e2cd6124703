"""`/login` and `/logout`: a plain HTML form (username, password, a hidden CSRF token), so that
password managers and scripts work, and nothing of the Dash app loads before a login."""

from __future__ import annotations

import hmac
import html
import secrets
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, make_response, redirect, request

from dashboard.auth.session_cookies import LOGIN_CSRF_COOKIE, client_address, end_session, start_session
from dashboard.context import ctx
from qingzhi.core import accounts

blueprint = Blueprint("qz_auth", __name__)
HOME = {"wall": "/wall", "analyst": "/analysis", "commander": "/dispatch", "admin": "/"}
TEXT = {
    "zh": {"title": "情指中心 登录", "user": "用户名", "password": "密码", "submit": "登录", "csrf": "表单已过期，请重试",
           "refused": "用户名或密码错误，或账号已停用", "locked": "登录失败次数过多，请 {s} 秒后再试"},
    "en": {"title": "qingzhi sign in", "user": "User name", "password": "Password", "submit": "Sign in",
           "csrf": "The form expired: please try again",
           "refused": "Wrong user name or password, or the account is disabled",
           "locked": "Too many failed logins: try again in {s} s"},
}
FORM = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/assets/00_base.css"><link rel="stylesheet" href="/assets/login.css"></head>
<body class="qz-login"><form method="post" action="/login" class="qz-login-form">
<h1>{title}</h1>{error}
<label>{user} <input name="username" autocomplete="username" required maxlength="64" value="{name}"></label>
<label>{password} <input name="password" type="password" autocomplete="current-password" required></label>
<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{next}">
<input type="hidden" name="lang" value="{lang}">
<button type="submit">{submit}</button></form></body></html>"""


def safe_next(target: str | None) -> str | None:
    """A local path to go back to after login; anything else (another site, //host) is dropped. So is a path
    with whitespace or control characters: browsers drop tabs and newlines from a URL, so "/<TAB>/host" is "//host"."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 500:
        return None
    if any(c.isspace() or not c.isprintable() for c in target):
        return None
    return target


def _lang() -> str:
    """The form's language: asked for, else that of the page the user was going to, else the setting."""
    back = parse_qs(urlsplit(request.values.get("next") or "").query).get("lang", [None])[0]
    lang = request.args.get("lang") or request.form.get("lang") or back or ctx().settings.language
    return lang if lang in TEXT else "zh"


def _form(status: int = 200, error: str = "", name: str = "") -> Response:
    lang = _lang()
    text = TEXT[lang]
    token = secrets.token_urlsafe(32)
    body = FORM.format(lang=lang, title=text["title"], user=text["user"], password=text["password"],
                       submit=text["submit"], csrf=token, name=html.escape(name, quote=True),
                       next=html.escape(safe_next(request.values.get("next")) or "", quote=True),
                       error=f'<p class="qz-login-error" role="alert">{html.escape(error)}</p>' if error else "")
    resp = make_response(body, status)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure,
                    path="/login")
    return resp


@blueprint.get("/login")
def login_form() -> Response:
    """The form."""
    return _form()


@blueprint.post("/login")
def login() -> Response:
    """Check the CSRF token and the password; start a session and go on, or show the form again."""
    name = request.form.get("username", "")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, request.form.get("csrf", "")):
        return _form(400, TEXT[_lang()]["csrf"], name)
    try:
        user = ctx().db.run(accounts.authenticate, name, request.form.get("password", ""), client_address())
    except accounts.LoginRefused as refused:   # the same words for every wrong case, in the form's language
        text = TEXT[_lang()]
        why = text["locked"].format(s=refused.retry_after) if refused.retry_after else text["refused"]
        resp = _form(429 if refused.retry_after else 401, why, name)
        if refused.retry_after:
            resp.headers["Retry-After"] = str(refused.retry_after)
        return resp
    resp = redirect(safe_next(request.form.get("next")) or HOME[user.role], 303)
    start_session(resp, user)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@blueprint.post("/logout")
def logout() -> Response:
    """End the session in the database and in the browser (the guard has checked the CSRF token)."""
    resp = redirect("/login", 303)
    end_session(resp)
    return resp
