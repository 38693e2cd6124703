"""What an import did: its counts, and the one report of bad rows (file, line, reason, the row's cells)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from qingzhi.errors import QingzhiError

SHOW_ERRORS = 20  # bad rows printed on the terminal; all of them go to the report


def files(n: int) -> str:
    """'1 file', '3 files'."""
    return f"{n} file{'' if n == 1 else 's'}"


@dataclass
class Summary:
    """What an import did."""

    files: int = 0
    rows: int = 0
    inserted: int = 0
    updated: int = 0  # already present with other values
    unchanged: int = 0  # already present with the same values: left alone
    bad: int = 0
    repeated: int = 0  # rows whose id appeared earlier in the same run (the later row wins)
    report: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    def print(self) -> None:
        """The summary on the terminal."""
        click.echo(f"{self.rows} rows read from {files(self.files)}: "
                   f"{self.inserted} imported, {self.updated} updated, {self.unchanged} already present unchanged, "
                   f"{self.bad} bad")
        if self.repeated:
            click.echo(f"{self.repeated} rows repeated an id seen earlier in the run; the later row was kept")
        if self.bad:
            reasons = ", ".join(f"{k} ×{n}" for k, n in sorted(self.reasons.items(), key=lambda kv: -kv[1]))
            click.echo(f"bad rows skipped ({reasons}); each with its file, line and reason in {self.report}")


def check_writable(report: Path) -> None:
    """Fail before anything is imported when the bad-rows report cannot be written: it is opened at the
    first bad row, which may come after batches are committed. An existing report is left as it is."""
    existed = report.exists()
    try:
        report.open("a").close()
    except OSError as exc:
        raise QingzhiError(f"cannot write the bad-rows report {report}: {exc.strerror or exc}") from None
    if not existed:
        report.unlink()


class BadRows:
    """Writes bad rows to the report (opened at the first one) and counts them in the summary."""

    def __init__(self, summary: Summary, header: Sequence[str]) -> None:
        self.summary, self.header = summary, list(header)
        self._handle: Any = None
        self._out: Any = None

    def add(self, name: str, line: int, reason: str, cells: Sequence[Any]) -> None:
        """One bad row: `cells` in the order of the report's header."""
        s = self.summary
        if self._out is None:
            self._handle = s.report.open("w", newline="", encoding="utf-8")
            self._out = csv.writer(self._handle)
            self._out.writerow(["file", "line", "reason", *self.header])
        s.bad += 1
        key = reason.split(":")[0]
        s.reasons[key] = s.reasons.get(key, 0) + 1
        self._out.writerow([name, line, reason, *("" if c is None else c for c in cells)])
        if s.bad <= SHOW_ERRORS:
            click.echo(f"\n{name} line {line}: {reason}", err=True)

    def close(self) -> None:
        """Close the report; without bad rows there is none."""
        if self._handle:
            self._handle.close()
        else:
            self.summary.report = None
