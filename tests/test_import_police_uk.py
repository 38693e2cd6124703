"""`qingzhi import incidents --format police-uk PATH…`: files, folders and zip archives in one run, set-based."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import asyncpg
import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from analysis_recount import assert_aggregates_equal_recount
from ingest_helpers import query as fetch

from bench.police_uk_files import FORCES, HEADER, csv_text, month_rows, write_folders, zip_folders
from qingzhi.config import Settings
from qingzhi.core.stations import StationLocator
from qingzhi.errors import QingzhiError
from qingzhi.importer import import_incidents

ROOT = Path(__file__).parent.parent


def recounted(settings: Settings) -> int:
    """assert_aggregates_equal_recount on the test's database; the incidents counted."""
    async def go() -> int:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return await assert_aggregates_equal_recount(conn, settings.timezone)
        finally:
            await conn.close()
    return asyncio.run(go())


@pytest.fixture
def london(settings: Settings) -> Settings:
    """police.uk months are local to the UK."""
    return settings.model_copy(update={"timezone": "Europe/London"})


def test_folders_zip_and_file_in_one_run(london: Settings, tmp_path: Path) -> None:
    folders = write_folders(tmp_path / "a", ["2019-01", "2019-02"], FORCES[:2], 220, seed=3)
    zipped = write_folders(tmp_path / "b", ["2019-03"], FORCES[:3], 220, seed=4)
    archive = zip_folders(tmp_path / "b", tmp_path / "march.zip")
    single = write_folders(tmp_path / "c", ["2019-04"], FORCES[:1], 220, seed=5)
    runs = (folders, zipped, single)
    s = import_incidents(london, [tmp_path / "a", archive, single.files[0]], fmt="police-uk",
                         report=tmp_path / "bad.csv")
    # every file counted, and the counts equal what the files hold
    assert s.files == 4 + 3 + 1
    assert s.rows == sum(w.rows for w in runs)
    assert s.bad == sum(w.no_location for w in runs) > 0
    assert s.repeated == sum(w.repeated for w in runs) > 0
    assert s.inserted == sum(w.incidents for w in runs)
    assert fetch(london.database_url, "SELECT count(*) FROM incidents")[0][0] == s.inserted
    # one report: each bad row with its file and line, the line holding exactly that row
    report = list(csv.DictReader((tmp_path / "bad.csv").open(encoding="utf-8")))
    assert len(report) == s.bad and {r["reason"] for r in report} == {"no location: No Location"}
    some = next(r for r in report if r["file"] == str(folders.files[1]))
    lines = folders.files[1].read_text(encoding="utf-8").splitlines()
    assert lines[int(some["line"]) - 1].split(",")[9] == some["Crime type"]
    assert ",No Location," in lines[int(some["line"]) - 1]
    # month windows in London time (April starts in summer time), and the aggregates refreshed with every incident
    months = {r[0].isoformat() for r in fetch(london.database_url, "SELECT DISTINCT occurred_from FROM incidents")}
    assert months == {"2019-01-01T00:00:00+00:00", "2019-02-01T00:00:00+00:00", "2019-03-01T00:00:00+00:00",
                      "2019-03-31T23:00:00+00:00"}
    assert fetch(london.database_url, "SELECT sum(n) FROM an_type_day")[0][0] == s.inserted
    assert recounted(london) == s.inserted  # every pre-aggregate equals a direct recount after the import
    # again, the same data from a zip of the folders: nothing new, the same ids (ASB rows included)
    ids = fetch(london.database_url, "SELECT array_agg(id ORDER BY id) FROM incidents")[0][0]
    versions = fetch(london.database_url, "SELECT array_agg(xmin::text ORDER BY id) FROM incidents")[0][0]
    again = import_incidents(london, [zip_folders(tmp_path / "a", tmp_path / "a.zip")], fmt="police-uk",
                             report=tmp_path / "bad2.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, folders.incidents)
    assert fetch(london.database_url, "SELECT array_agg(id ORDER BY id) FROM incidents")[0][0] == ids
    # rows already present unchanged are not rewritten (no new row version, nothing queued for the aggregates)
    assert fetch(london.database_url, "SELECT array_agg(xmin::text ORDER BY id) FROM incidents")[0][0] == versions
    # a later import moves some crimes (police.uk re-snaps points) and a deletion: still equal to a recount
    rows = list(csv.reader(folders.files[0].open(encoding="utf-8")))[1:]
    moved = [[*r[:4], f"{float(r[4]) + 0.01:.6f}" if r[4] else "", *r[5:]] for r in rows]
    fetch(london.database_url, "DELETE FROM incidents WHERE id IN (SELECT id FROM incidents ORDER BY id LIMIT 25)")
    (tmp_path / "moved.csv").write_text(csv_text(moved), encoding="utf-8")
    third = import_incidents(london, tmp_path / "moved.csv", fmt="police-uk", report=tmp_path / "bad3.csv")
    # every row moved: updated, or inserted (some of the deleted; crimes without an id get one from their content)
    assert third.updated > 100 and third.inserted > 0 and third.unchanged == 0
    assert third.inserted + third.updated + third.unchanged == third.rows - third.bad - third.repeated
    assert recounted(london) == fetch(london.database_url, "SELECT count(*) FROM incidents")[0][0]


def test_a_bulk_import_leaves_its_tables_analysed_and_a_small_one_does_not(london: Settings, tmp_path: Path) -> None:
    """The planner learns a bulk import's sizes at once, not at autovacuum's next look (this server has it off)."""
    counted = ("SELECT relname, reltuples::int AS n FROM pg_class "
               "WHERE relname IN ('incidents', 'an_incident', 'an_cell_day') ORDER BY relname")
    assert all(r["n"] <= 0 for r in fetch(london.database_url, counted))  # never analysed: the planner guesses
    bulk = write_folders(tmp_path / "a", ["2019-01"], FORCES[:2], 700, seed=6)
    import_incidents(london, tmp_path / "a", fmt="police-uk", report=tmp_path / "bad.csv")
    cell_days = fetch(london.database_url, "SELECT count(*) FROM an_cell_day")[0][0]
    # a table smaller than ANALYZE's sample is counted exactly
    assert {r["relname"]: r["n"] for r in fetch(london.database_url, counted)} == {
        "incidents": bulk.incidents, "an_incident": bulk.incidents, "an_cell_day": cell_days}
    small = write_folders(tmp_path / "b", ["2019-02"], FORCES[:1], 60, seed=7)
    import_incidents(london, tmp_path / "b", fmt="police-uk", report=tmp_path / "bad2.csv")
    assert fetch(london.database_url, "SELECT count(*) FROM incidents")[0][0] == bulk.incidents + small.incidents
    # 60 rows are not a tenth of 1,400 plus a thousand: no ANALYZE for them
    assert {r["relname"]: r["n"] for r in fetch(london.database_url, counted)} == {
        "incidents": bulk.incidents, "an_incident": bulk.incidents, "an_cell_day": cell_days}


def test_the_later_of_a_repeated_crime_wins_and_identical_rows_all_stay(london: Settings, tmp_path: Path) -> None:
    base = ["", "2019-01", "Met", "Met", "-0.1", "51.5", "On or near Mill Lane", "E01", "Camden 001A",
            "Anti-social behaviour", "", ""]
    crime = ["c1", *base[1:9], "Burglary", "Under investigation", ""]
    later = [*crime[:10], "Awaiting court outcome", ""]
    bad_later = [*crime[:4], "", "", "No Location", "", "", "Burglary", "Local resolution", ""]
    path = tmp_path / "f.csv"
    path.write_text(csv_text([base, crime, base, later, base, bad_later]), encoding="utf-8")
    s = import_incidents(london, path, fmt="police-uk", report=tmp_path / "bad.csv")
    assert (s.rows, s.inserted, s.bad, s.repeated) == (6, 4, 1, 1)
    rows = fetch(london.database_url, "SELECT id, extra FROM incidents ORDER BY id")
    assert json.loads(next(r for r in rows if r["id"] == "c1")["extra"])["outcome"] == "Awaiting court outcome"
    assert len({r["id"] for r in rows if r["id"].startswith("pu-")}) == 3  # three identical ASB rows, three ids


def test_odd_files_read_row_by_row_with_their_bad_rows(london: Settings, tmp_path: Path) -> None:
    rows, _, _ = month_rows("2019-05", "kent", 40, np.random.default_rng(7))
    ragged = tmp_path / "ragged.csv"
    text = csv_text(rows).splitlines()
    text[3] += ",surplus"  # a row with one cell too many: COPY refuses the file, Python reads it
    ragged.write_text("\n".join(text) + "\n", encoding="utf-8")
    reordered = tmp_path / "reordered.csv"  # columns in another order, and one police.uk does not write
    with reordered.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["Note", *reversed(HEADER)])
        w.writerow(["x", *reversed(rows[0])])
    s = import_incidents(london, [ragged, reordered], fmt="police-uk", report=tmp_path / "bad.csv")
    report = list(csv.DictReader((tmp_path / "bad.csv").open(encoding="utf-8")))
    extra = [r for r in report if r["reason"].startswith("extra cells")]
    assert [(r["file"], r["line"]) for r in extra] == [(str(ragged), "4")]
    assert s.rows == len(rows) + 1 and s.bad == len(report)
    assert s.inserted + s.repeated + s.bad == s.rows
    got = fetch(london.database_url, "SELECT lat, lon, type FROM incidents WHERE id = $1", rows[0][0])
    if rows[0][0]:  # the first row has a Crime ID: both files hold it, the later one wins
        assert got[0]["type"] == rows[0][9].lower().replace(" ", "-") and got[0]["lat"] == float(rows[0][5])


def test_bad_inputs_are_clear_errors_and_change_nothing(london: Settings, tmp_path: Path) -> None:
    good = write_folders(tmp_path / "ok", ["2019-01"], FORCES[:1], 30)
    not_police = tmp_path / "generic.csv"
    not_police.write_text("id,time,lat,lon,type\nA,2026-01-01 10:00,30,120,x\n", encoding="utf-8")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(csv_text([]).encode() + "x,2019-01,Caf\xe9,,1,51,,,,Drugs,,\n".encode("latin-1"))
    empty = tmp_path / "empty"
    empty.mkdir()
    junk_zip = tmp_path / "notes.zip"
    with zipfile.ZipFile(junk_zip, "w") as z:
        z.writestr("../../etc/readme.txt", "not a csv")
    for paths, message in (([good.files[0], not_police], "not a police.uk street-level file"),
                           ([empty], "no .csv files or .zip archives"), ([junk_zip], "no .csv files in this zip"),
                           ([good.files[0], latin1], "save it as UTF-8")):
        with pytest.raises(QingzhiError, match=message):
            import_incidents(london, paths, fmt="police-uk", report=tmp_path / "bad.csv")
        assert fetch(london.database_url, "SELECT count(*) FROM incidents")[0][0] == 0  # nothing half-imported


def test_cli_several_paths_one_progress_bar(london: Settings, tmp_path: Path) -> None:
    w = write_folders(tmp_path / "d", ["2019-01", "2019-02"], FORCES[:2], 25)
    result = subprocess.run(
        [sys.executable, "-m", "qingzhi", "import", "incidents", "--format", "police-uk", str(tmp_path / "d" / "2019-01"),
         str(zip_folders(tmp_path / "d", tmp_path / "d.zip")), "--database-url", london.database_url,
         "--timezone", "Europe/London", "--caller-key", "k" * 32],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("importing 6 files") >= 1 and "importing 1 files" not in result.stderr
    # January is read twice (its folder, and in the zip): its rows are repeats, with the same ids
    january = sum(1 for f in w.files if "2019-01" in f.name for _ in f.open()) - 2
    assert f"{w.rows + january} rows read from 6 files: {w.incidents} imported" in result.stdout


def test_locate_many_inside_else_nearest() -> None:
    square = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]],
                                                 [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1], [0.5, 0.5]]]}
    loc = StationLocator.from_rows([{"id": "sq", "lat": 3.0, "lon": 3.0, "boundary": json.dumps(square)},
                                    {"id": "far", "lat": 0.7, "lon": 0.8, "boundary": None}])
    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(-1, 6, 3000), rng.uniform(-1, 6, 3000)
    inside = shapely.contains_xy(shape(square), lon, lat)
    near_sq = ((lon - 3) * np.cos(np.radians(lat))) ** 2 + (lat - 3) ** 2 < (
        ((lon - 0.8) * np.cos(np.radians(lat))) ** 2 + (lat - 0.7) ** 2)
    want = np.where(inside | near_sq, "sq", "far").tolist()
    assert loc.locate_many(lat, lon) == want and 0 < inside.sum() < len(lat)
    assert loc.locate(0.75, 0.75) == "far" and loc.locate(1.5, 1.5) == "sq"  # the hole; the polygon
    assert StationLocator.from_rows([]).locate_many(lat[:3], lon[:3]) == [None, None, None]
