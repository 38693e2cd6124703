"""`qingzhi repeats`, `qingzhi search` and `qingzhi grids load`, run as an operator runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from click.testing import CliRunner

from conftest import fresh_database
from dispatch_fixtures import CENTER, run_db, seed_incident, seed_station
from qingzhi.cli import cli
from qingzhi.core.callers import hash_caller
from qingzhi.errors import QingzhiError
from test_cli import qingzhi

NOW = dt.datetime.now(dt.UTC)
KEY = os.environ["QZ_CALLER_KEY"]
LAT, LON = CENTER


class Result:
    """What an in-process run printed: stdout, and the operator error (exit status 2 in `main`)."""

    def __init__(self, args: tuple[str, ...], env: dict[str, str]) -> None:
        got = CliRunner().invoke(cli, list(args), env=env)
        self.stdout = got.output
        self.error = str(got.exception) if isinstance(got.exception, QingzhiError) else ""
        self.returncode = 2 if self.error else got.exit_code
        if got.exception and not self.error and not isinstance(got.exception, SystemExit):
            raise got.exception


def run(*args: str, env: dict[str, str]) -> Result:
    """`qingzhi ARGS` in this process (a subprocess costs seconds of imports each)."""
    return Result(args, env)


async def _seed(conn: asyncpg.Connection) -> None:
    await seed_station(conn)
    for n in range(40):  # ordinary calls: one each
        await seed_incident(conn, f"O{n}", ts=NOW - dt.timedelta(days=n * 0.7 + 0.1), caller_hash=f"{n:064x}",
                            lat=LAT + n * 0.004, lon=LON + 0.05, type="traffic.accident")
    caller = hash_caller(KEY, "13900001111")
    for n, d in enumerate((1, 2, 5, 8, 13), 1):
        await seed_incident(conn, f"R{n}", ts=NOW - dt.timedelta(days=d), caller_hash=caller, type="noise.complaint",
                            lat=LAT - n * 0.01, lon=LON)


@pytest.fixture(scope="module")
def seeded(template_db: str) -> Iterator[str]:
    """One seeded database for this module's commands."""
    for url in fresh_database(template_db):
        run_db(url, _seed)
        yield url


def test_repeats_and_search_print_flags_and_traces(seeded: str) -> None:
    database_url = seeded
    env = {**os.environ, "QZ_DATABASE_URL": database_url}
    out = run("repeats", "--json", env=env)
    assert out.returncode == 0, out.stderr
    flags = json.loads(out.stdout)
    assert [(f["kind"], sorted(f["incidents"])) for f in flags] == [("caller", ["R1", "R2", "R3", "R4", "R5"])]
    assert flags[0]["reason"]["en"].startswith("5th call from this number in 30 days")
    text = run("repeats", env=env)
    assert "5th call from this number" in text.stdout and "R1" in text.stdout

    out = run("search", "139 0000 1111", "--from", (NOW - dt.timedelta(days=6)).isoformat(), "--json", env=env)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert [r["id"] for r in found] == ["R1", "R2", "R3"] and all(r["matched"] == ["caller"] for r in found)
    assert found[0]["trace"]["events"][0]["what"] == "received"
    assert sorted(x["id"] for x in found[0]["trace"]["linked"]["same_caller"]) == ["R2", "R3", "R4", "R5"]
    text = run("search", "R1", env=env)
    assert text.stdout.startswith("R1 ") and "received" in text.stdout
    assert "no incidents found" in run("search", "nowhere at all", env=env).stdout


def test_bad_input_is_one_clear_line(seeded: str, tmp_path: Path) -> None:
    database_url = seeded
    env = {**os.environ, "QZ_DATABASE_URL": database_url}
    for args, why in ((("search", "R1", "--from", "yesterday"), "not an ISO date or time"),
                      (("search", "x" * 101), "1 to 100 characters"),
                      (("search", "R1", "--from", "2026-02-01", "--to", "2026-01-01"), "ends before it starts")):
        out = run(*args, env=env)
        assert out.returncode == 2 and why in out.error
    bad = tmp_path / "grids.geojson"
    bad.write_text("{not json", encoding="utf-8")
    out = qingzhi("grids", "load", str(bad), "--station", "S1", env=env)  # as the operator sees it: one line
    assert out.returncode == 2 and out.stderr.startswith("qingzhi: error: ") and "is not GeoJSON" in out.stderr
    bad.write_text("[" * 100_000 + "]" * 100_000)  # deeper than json's recursion limit: once a RecursionError
    assert "is not GeoJSON" in run("grids", "load", str(bad), "--station", "S1", env=env).error
    good = tmp_path / "good.geojson"
    ring = [[LON, LAT], [LON + 0.01, LAT], [LON + 0.01, LAT + 0.01], [LON, LAT]]
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [ring]}, "properties": {"id": "G1", "name": "文三", "officer": "王"}}]}),
        encoding="utf-8")
    assert "no station 'S9'" in run("grids", "load", str(good), "--station", "S9", env=env).error
    out = run("grids", "load", str(good), "--station", "S1", env=env)
    assert out.returncode == 0 and "loaded 1 grid(s) for station S1" in out.stdout
