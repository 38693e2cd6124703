"""What every `qingzhi` sub-command shares: settings as `--name` flags and `QZ_NAME` variables."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from qingzhi.config import Settings, load_settings
from qingzhi.errors import QingzhiError

MQTT_TLS = ("mqtt_ca", "mqtt_cert", "mqtt_key")
CONNECTION = ("database_url", "mqtt_url", "topic_root", "mqtt_protocol", *MQTT_TLS)


def settings_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add `--name` options for these Settings fields; the command receives `settings`."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            flags = {n: kwargs.pop(n) for n in names}
            return fn(settings=load_settings(**flags), **kwargs)

        for name in reversed(names):
            field = Settings.model_fields[name]
            wrapper = click.option(
                f"--{name.replace('_', '-')}",
                name,
                default=None,
                help=f"{field.description} [env QZ_{name.upper()}]",
            )(wrapper)
        return wrapper

    return decorate


def need(settings: Settings, *names: str) -> None:
    """Fail with one line when a command needs a setting that is not given."""
    for name in names:
        if getattr(settings, name) is None:
            raise QingzhiError(f"no {name}: set QZ_{name.upper()} or pass --{name.replace('_', '-')}")
