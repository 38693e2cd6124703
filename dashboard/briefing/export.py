"""Writing a briefing to a file: `.html` (self-contained), `.pdf` (WeasyPrint, CJK font) or `.zip`
(one CSV per table). Shared by the page's export buttons, `qingzhi briefing` and the duty loop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboard.briefing import charts
from dashboard.briefing.basemap import Basemap
from dashboard.briefing.document import render
from dashboard.briefing.tables import all_tables, csv_zip
from qingzhi.errors import QingzhiError
from qingzhi.files import replacing

FORMATS = ("html", "pdf", "zip")


def format_of(path: str | Path) -> str:
    """The export format a file name asks for, or a clear error."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise QingzhiError(f"cannot write {str(path)!r}: the name must end in .html, .pdf or .zip (tables as CSV)")
    return suffix


def document(b: dict[str, Any], lang: str, tz: str, *, progress: Callable[[str], None] = lambda _: None,
             with_charts: bool = True, basemap: Basemap | None = None) -> str:
    """The HTML document with its chart images (or a note saying why they could not be made); the map of
    calls on the basemap's streets when there is one."""
    images, why = None, None
    if with_charts:
        progress("charts")
        try:
            images = charts.images(charts.figures(b, lang, basemap))
        except RuntimeError as exc:
            why = str(exc)[:300]
    progress("document")
    return render(b, lang, tz, images=images, image_error=why)


def pdf_of(html: str) -> bytes:
    """The document set as an A4 PDF by WeasyPrint (CJK text in the document's CJK font)."""
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()


def export_bytes(b: dict[str, Any], fmt: str, lang: str, tz: str, *,
                 progress: Callable[[str], None] = lambda _: None, with_charts: bool = True,
                 basemap: Basemap | None = None) -> bytes:
    """The briefing as the file's bytes; `progress` hears each step (the charts take seconds)."""
    if fmt == "zip":
        return csv_zip(all_tables(b, lang, tz))
    html = document(b, lang, tz, progress=progress, with_charts=with_charts, basemap=basemap)
    if fmt == "html":
        return html.encode("utf-8")
    progress("pdf")
    return pdf_of(html)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write whole or not at all (a reader never sees half a file); a QingzhiError if it cannot be."""
    with replacing(path, binary=True) as fh:
        fh.write(data)
    return path


def write_export(b: dict[str, Any], path: str | Path, lang: str, tz: str, *,
                 progress: Callable[[str], None] = lambda _: None, basemap: Basemap | None = None) -> Path:
    """Write the file the path names (format from its ending); returns the path."""
    out = Path(path)
    return write_bytes(out, export_bytes(b, format_of(out), lang, tz, progress=progress, basemap=basemap))
