"""Every server callback, driven as a forged request would: each argument in turn replaced by a value of the
wrong type or shape, beside arguments of the right type (from the callback's own hints) or all None. The answer
is a refusal (4xx), an update, or nothing to do, never a 500 (dashboard.callbacks.checked, BadInput)."""

from __future__ import annotations

import inspect
import json
import types
import typing
from typing import Any

import dash
import pytest
from auth_helpers import login_client
from dash._utils import split_callback_id

from dashboard.callbacks import BadInput, argument_hints, checked
from dashboard.inputs import Day
from test_access import app  # noqa: F401  (app: the seeded two-station dashboard)

WRONG = [{"x": 1}, [1, [2]], "zz", "", 10**30, -1, True, 1.5, [], {}, [None], [{"id": 1}]]
WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")


def sample(hint: Any) -> Any:
    """A value of the hinted type, as the browser would send it (None where anything goes)."""
    if hint == Day:
        return "2026-11-30"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return args[0]
    if origin is typing.Annotated:
        return sample(args[0])
    if origin in (typing.Union, types.UnionType):
        return sample(next(a for a in args if a is not type(None)))
    if typing.is_typeddict(hint):
        return {k: sample(v) for k, v in typing.get_type_hints(hint, include_extras=True).items()}
    if origin is list or hint is list:
        return [sample(args[0])] * 2 if args else []   # two: a map's corners
    return {str: "x", int: 1, float: 1.0, bool: True}.get(hint, {} if (hint is dict or origin is dict) else None)


def concrete(spec_id: str) -> tuple[Any, str | None]:
    """A pattern id with its wildcards filled in (and which wildcard), or a plain id as it is."""
    try:
        pattern = json.loads(spec_id)
    except ValueError:
        return spec_id, None
    wildcard = next((v[0] for v in pattern.values() if isinstance(v, list) and v and v[0] in WILDCARDS), None)
    return {k: 1 if isinstance(v, list) and v and v[0] in WILDCARDS else v for k, v in pattern.items()}, wildcard


def one(spec: dict, value: Any) -> Any:
    cid, wildcard = concrete(spec["id"])
    item = {"id": cid, "property": spec["property"].split("@")[0]}
    if value is not ...:
        item["value"] = value
    return [item] if wildcard in ("ALL", "ALLSMALLER") else item


def body(key: str, cb: dict, values: list) -> dict:
    """What dash-renderer would post for callback `key` with these input and state values."""
    outputs = split_callback_id(key)
    n = len(cb["inputs"])
    items = [one(s, v) for s, v in zip(cb["inputs"] + cb["state"], values, strict=True)]
    changed = []
    if cb["inputs"]:
        cid, _ = concrete(cb["inputs"][0]["id"])
        name = json.dumps(cid, separators=(",", ":"), sort_keys=True) if isinstance(cid, dict) else cid
        changed = [f"{name}.{cb['inputs'][0]['property']}"]
    outputs = [one(o, ...) for o in outputs] if isinstance(outputs, list) else one(outputs, ...)
    return {"output": key, "outputs": outputs, "inputs": items[:n], "state": items[n:], "changedPropIds": changed}


def hints_of(cb: dict, count: int) -> list[Any]:
    """The type hint of each of the callback's `count` arguments (Any where there is none)."""
    return [hint for _, hint in argument_hints(inspect.unwrap(cb["callback"]), count)]


def test_every_callback_refuses_wrong_input_and_never_fails(app: dash.Dash) -> None:  # noqa: F811
    client = login_client(app, "admin")
    failures: dict[str, set[str]] = {}
    refused = 0
    for key, cb in app.callback_map.items():
        if "callback" not in cb:    # clientside: it runs in the browser
            continue
        specs = cb["inputs"] + cb["state"]
        typed = [sample(h) for h in hints_of(cb, len(specs))]
        for baseline in (typed, [None] * len(specs)):
            for i in range(len(specs)):
                for value in WRONG:
                    values = list(baseline)
                    values[i] = value
                    got = client.post("/_dash-update-component", json=body(key, cb, values))
                    refused += got.status_code == 400
                    if got.status_code >= 500:
                        failures.setdefault(key[:80], set()).add(f"{specs[i]['id'][:40]}.{specs[i]['property']}"
                                                                 f"={value!r:.20}")
    assert not failures, failures
    assert refused > 100    # the wrong values were looked at, not ignored


def test_arguments_are_checked_against_the_hints_before_the_callback_runs() -> None:
    ran = []

    def callback(n: int | None, day: Day, anything: Any, *rest: list[str] | None) -> str:
        ran.append(n)
        return "ok"

    run = checked(callback)
    assert run(1, "2026-11-30", object(), ["a"], None) == "ok" and run(None, "2026-11-30T08:00:00", 3) == "ok"
    for args, refused in (((True, "2026-11-30", 0), r"n: Input should be a valid integer"),
                          (("1", "2026-11-30", 0), r"n: Input should be a valid integer"),
                          ((1, "30/11/2026", 0), r"day: Value error"),
                          ((1, "0001-01-01", 0), r"day: Value error, date is outside the years"),
                          ((1, "2026-11-30", 0, ["a"], [3]), r"rest\[0\]: Input should be a valid string")):
        with pytest.raises(BadInput, match=f"^bad input: {refused}"):
            run(*args)
    assert ran == [1, None]     # a refused call never reached the callback
