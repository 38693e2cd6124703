"""Date pickers as every page shows them: ISO dates (2026-11-30, as both languages' reports write
them), weeks from Monday, and a placeholder in the page's language (Dash's own says "Select Date")."""

from __future__ import annotations

from typing import Any

from dash import dcc

from dashboard.i18n import t


def date_picker(id_: str, lang: str, date: str | None = None, **props: Any) -> dcc.DatePickerSingle:
    """A single-date picker with the app's format; `props` pass through to Dash."""
    return dcc.DatePickerSingle(id=id_, date=date, display_format="YYYY-MM-DD", first_day_of_week=1,
                                placeholder=t("date.pick", lang), **props)
