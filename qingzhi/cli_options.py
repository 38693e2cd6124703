"""What every `qingzhi` sub-command shares: settings as `--name` flags and `QZ_NAME` variables."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import click

from qingzhi.config import Settings, load_settings
from qingzhi.errors import QingzhiError

MQTT_TLS = ("mqtt_ca", "mqtt_cert", "mqtt_key")
CONNECTION = ("database_url", "mqtt_url", "topic_root", "mqtt_protocol", *MQTT_TLS)


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange, which lets nan through (every comparison with it is false); inf is caught
    by the bounds."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The number within the range, or click's usage error."""
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


# Ranges that more than one command takes (one home for each number).
UNITS = click.IntRange(1, 20_000)          # simulated patrol units
HISTORY_DAYS = click.IntRange(0, 3650)     # days of simulated history to back-fill
PORT = click.IntRange(1, 65_535)           # a TCP port to listen on (printed in the URL, so never 0)
SEED = click.IntRange(0, 2**32 - 1)        # numpy's seeds are non-negative


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
