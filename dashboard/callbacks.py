"""The one way Python wires itself to the browser: callback sets, clientside functions, JS references.

Each feature declares its callbacks in its own `callbacks.py` on a `CallbackSet`, and
`create_app()` registers every set on the app it builds (`app.callback`). Not `dash.callback`:
Dash hands its global callback list to whichever app serves first and then empties it, so a
second app in the same process (tests, benchmarks) would silently lack them.

Every server callback's arguments are checked against its own type hints before it runs
(`checked`): the browser is not trusted, and a forged request with a list where a date was
expected is refused with a 400 naming the argument (`BadInput`), not a traceback and a 500.

Hand-written JS (assets/js/*.js) merges its functions into `window.dash_clientside.qz`; Python
names them through `CallbackSet.clientside` (Dash clientside callbacks) or `js_ref`
(dash-leaflet function props such as `style` and `pointToLayer`).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import dash
from dash import ClientsideFunction
from pydantic import TypeAdapter, ValidationError

JS_NAMESPACE = "qz"  # window.dash_clientside.qz, filled by assets/js/*.js
F = TypeVar("F", bound=Callable[..., Any])


def js_ref(name: str) -> dict[str, str]:
    """A reference dash-leaflet resolves to the function `window.dash_clientside.qz[name]`."""
    return {"variable": f"dash_clientside.{JS_NAMESPACE}.{name}"}


class BadInput(ValueError):
    """A callback argument of the wrong type or shape: the request is refused (400), nothing runs."""


def argument_hints(fn: Callable[..., Any], count: int) -> list[tuple[str, Any]]:
    """(name, type hint) of each of `count` positional arguments of `fn`, *args included (Any: no hint)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    params = inspect.signature(fn).parameters.values()
    named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    rest = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
    names = named[:count] + ([rest] * (count - len(named)) if rest else [])
    return [(name, hints.get(name, Any)) for name in names]


def checked(fn: F) -> F:
    """`fn`, checking each argument against its type hint first (strictly: JSON as the browser sends it,
    no "3" for 3); an argument hinted Any, or not hinted, is the callback's own business. The rules are
    built here, at declaration: a hint pydantic cannot check fails at start-up, not on a click."""
    declared = typing.get_type_hints(fn, include_extras=True).items()
    rules = {name: TypeAdapter(hint) for name, hint in declared if hint is not Any and name != "return"}
    names = functools.cache(lambda count: [name for name, _ in argument_hints(fn, count)])

    @functools.wraps(fn)
    def run(*args: Any) -> Any:
        for name, value in zip(names(len(args)), args, strict=True):
            if name not in rules:
                continue
            try:
                rules[name].validate_python(value, strict=True)
            except ValidationError as exc:
                error = exc.errors()[0]
                where = "".join(f"[{k!r}]" for k in error["loc"])
                raise BadInput(f"bad input: {name}{where}: {error['msg']}") from None
        return fn(*args)

    return typing.cast(F, run)


class CallbackSet:
    """The callbacks of one part of the app, declared at import and registered on each app built.

    `permission` (qingzhi.core.access) is what the server requires of the logged-in user before
    any of these callbacks runs (None: a login is enough); the actions they call check again."""

    def __init__(self, name: str, permission: str | None) -> None:
        self.name = name
        self.permission = permission
        self._server: list[tuple[tuple[Any, ...], dict[str, Any], Callable[..., Any]]] = []
        self._client: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Decorator with `dash.callback`'s arguments; the function itself is returned unchanged."""

        def keep(fn: F) -> F:
            self._server.append((args, kwargs, checked(fn)))
            return fn

        return keep

    def clientside(self, function: str, *args: Any, **kwargs: Any) -> None:
        """A clientside callback running `window.dash_clientside.qz[function]` (outputs, inputs as usual)."""
        self._client.append((function, args, kwargs))

    def register(self, app: dash.Dash) -> dict[str, str | None]:
        """Attach every callback of this set to `app`; {callback key: permission} of the server ones."""
        before = set(app.callback_map)
        for args, kwargs, fn in self._server:
            app.callback(*args, **kwargs)(fn)
        added = {key: self.permission for key in set(app.callback_map) - before}
        for function, args, kwargs in self._client:
            app.clientside_callback(ClientsideFunction(JS_NAMESPACE, function), *args, **kwargs)
        return added


def clicked() -> dict[str, Any] | None:
    """The pattern id of the button that fired this callback if it was really clicked, else None.

    Newly drawn buttons fire callbacks too (n_clicks None); and ctx.triggered's value is
    unreliable for ids with non-ASCII text, so the clicks are read from inputs_list."""
    tid = dash.ctx.triggered_id
    if not isinstance(tid, dict):
        return None
    for group in dash.ctx.inputs_list:
        for item in group if isinstance(group, list) else [group]:
            if item["id"] == tid and item.get("value"):
                return tid
    return None
