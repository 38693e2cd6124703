"""Interface text in Chinese and English.

Each module in this package defines `STRINGS = {key: (zh, en)}` for one area of the app;
they are merged here so that pages write `t("live.units", lang)` and never a bare string.
"""

from __future__ import annotations

import importlib
import pkgutil

from qingzhi.core.type_names import category_name as category_label
from qingzhi.core.type_names import type_name as type_label

LANGS = ("zh", "en")
__all__ = ["LANGS", "STRINGS", "category_label", "lang_of", "t", "type_label"]


def _load() -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for mod in pkgutil.iter_modules(__path__):
        strings = importlib.import_module(f"{__name__}.{mod.name}").STRINGS
        clash = merged.keys() & strings.keys()
        if clash:
            raise RuntimeError(f"i18n keys defined twice: {sorted(clash)}")
        merged.update(strings)
    return merged


STRINGS = _load()


def t(key: str, lang: str) -> str:
    """The text for `key` in `lang` ('zh' or 'en'); a missing key shows itself, loudly."""
    pair = STRINGS.get(key)
    if pair is None:
        return f"⟦{key}⟧"
    return pair[0] if lang == "zh" else pair[1]


def lang_of(value: str | None, default: str) -> str:
    """A language code from a query parameter or store, falling back to the configured default."""
    return value if value in LANGS else default
