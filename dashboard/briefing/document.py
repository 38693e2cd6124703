"""The briefing as one self-contained HTML document (styles and chart images inside it): the
HTML export, and the source WeasyPrint sets as the PDF. Every text is escaped: station names,
types and task titles come from outside."""

from __future__ import annotations

import base64
import datetime as dt
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.briefing.names import scope_label
from dashboard.briefing.summary import summary
from dashboard.briefing.tables import Table, all_tables, cell
from dashboard.i18n import t

CSS = """
@page { size: A4; margin: 14mm 12mm; @bottom-right { content: counter(page) " / " counter(pages); font-size: 9pt; } }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; font-size: 10pt; color: #111827; }
h1 { font-size: 17pt; margin: 0 0 4pt; } h2 { font-size: 12.5pt; margin: 14pt 0 4pt; border-bottom: 1px solid #9ca3af; }
p.meta { color: #4b5563; margin: 0 0 2pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; page-break-inside: auto; }
th, td { border: 1px solid #d1d5db; padding: 2pt 4pt; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr { page-break-inside: avoid; } thead { display: table-header-group; }
section.keep { break-inside: avoid-page; } h2 { break-after: avoid-page; }
img { width: 88%; margin: 2pt 0; break-inside: avoid; }
.up { color: #b91c1c; } .down { color: #047857; } .note { color: #6b7280; }
"""
# section id -> the tables it holds
SECTIONS = (
    ("headlines", ("headlines",)), ("rates", ("rates",)),
    ("response", ("response_priority", "response_station", "response_type")), ("overdue", ("overdue",)),
    ("loop", ("satisfaction",)), ("repeats", ("growing",)), ("cameras", ("cameras",)),
    ("ranking", ("ranking",)), ("tasks", ("tasks",)),
)


def table_html(table: Table, lang: str) -> str:
    """One table, numbers right-aligned."""
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{escape(cell(v, lang))}</td>' if isinstance(v, int | float) and not isinstance(v, bool)
            else f"<td>{escape(cell(v, lang))}</td>" for v in row) + "</tr>"
        for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(b: dict[str, Any], lang: str, tz: str, *, images: dict[str, bytes] | None = None,
           image_error: str | None = None) -> str:
    """The whole document; `images` are the chart PNGs (or `image_error` says why there are none)."""
    period, scope = b["period"], scope_label(b, lang)
    title = t("brief.title", lang).format(label=f"{period.label} · {scope}")
    now = dt.datetime.now(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    tables = all_tables(b, lang, tz)
    parts = [f"<h1>{escape(title)}</h1>",
             f'<p class="meta">{escape(t("brief.kind." + period.kind, lang))} · '
             f'{escape(t("brief.compared", lang).format(prev=b["previous"].label, yoy=b["last_year"].label))}</p>',
             f'<p class="meta">{escape(t("brief.generated", lang).format(ts=now))}</p>',
             f'<section id="summary"><h2>{escape(t("brief.sec.summary", lang))}</h2>'
             + "".join(f"<p>{escape(p)}</p>" for p in summary(b, lang)) + "</section>"]
    if images:
        parts.append(f'<section id="charts"><h2>{escape(t("brief.sec.charts", lang))}</h2>' + "".join(
            f'<img alt="{escape(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
            for name, png in images.items()) + "</section>")
    elif image_error:
        parts.append(f'<p class="note">{escape(t("brief.chart.unavailable", lang).format(why=image_error))}</p>')
    for sec, names in SECTIONS:
        keep = ' class="keep"' if sum(len(tables[n].rows) for n in names) <= 25 else ""
        parts.append(f'<section id="{sec}"{keep}><h2>{escape(t("brief.sec." + sec, lang))}</h2>'
                     + "".join(table_html(tables[n], lang) for n in names) + "</section>")
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
