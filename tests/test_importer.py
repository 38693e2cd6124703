"""`qingzhi import incidents` against the real database: bad rows, idempotent re-import, police.uk."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ingest_helpers import query as fetch

from qingzhi.core.callers import hash_caller
from qingzhi.config import Settings
from qingzhi.errors import QingzhiError
from qingzhi.importer import import_incidents

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def test_generic_file_with_bad_rows(settings: Settings, tmp_path: Path) -> None:
    report = tmp_path / "bad.csv"
    s = import_incidents(settings, DATA / "generic_bad_rows.csv", fmt="generic", report=report)
    assert (s.rows, s.inserted, s.updated, s.unchanged, s.bad) == (13, 4, 0, 0, 9)
    bad = {int(r["line"]): r["reason"] for r in csv.DictReader(report.open(encoding="utf-8"))}
    assert sorted(bad) == [5, 6, 7, 8, 9, 10, 11, 12, 14]
    assert bad[5] == "bad 'time' field: not a time: 'not-a-time'" and bad[6].startswith("coordinates out of range")
    assert bad[9].startswith("bad priority") and bad[10] == "no id" and bad[11].startswith("window ends before")
    assert bad[12].startswith("coordinates 0,0") and bad[14].startswith("extra cells")
    rows = {r["id"]: r for r in fetch(settings.database_url, "SELECT * FROM incidents ORDER BY id")}
    assert sorted(rows) == ["G-1", "G-12", "G-2", "G-3"]
    # naive times are in settings.timezone (Asia/Shanghai, UTC+8); explicit offsets are kept
    assert rows["G-1"]["ts"].isoformat() == "2026-03-02T13:15:00+00:00"
    assert rows["G-2"]["ts"].isoformat() == "2026-03-02T14:40:00+00:00"
    # a window only: ts is when it was found (the window's end), the window is kept for spreading
    assert rows["G-3"]["occurred_from"].isoformat() == "2026-03-02T15:00:00+00:00"
    assert rows["G-3"]["ts"] == rows["G-3"]["occurred_to"]
    # caller numbers only as keyed hashes
    assert rows["G-1"]["caller_hash"] == hash_caller(settings.caller_key, "+8613800000001")
    assert "13800000001" not in json.dumps([dict(r) for r in rows.values()], default=str)
    assert rows["G-12"]["station"] == "FILE-STN" and rows["G-12"]["priority"] == 1
    assert rows["G-1"]["category"] == "dispute" and all(r["source"] == "import" for r in rows.values())

    versions = "SELECT array_agg(id || ' ' || xmin::text || ' ' || updated_at::text ORDER BY id) FROM incidents"
    before = fetch(settings.database_url, versions)[0][0]
    again = import_incidents(settings, DATA / "generic_bad_rows.csv", fmt="generic", report=report)
    assert (again.inserted, again.updated, again.unchanged, again.bad) == (0, 0, 4, 9)
    assert fetch(settings.database_url, versions)[0][0] == before  # left alone: no new row version, no updated_at
    # one row changed at the source: that one is updated, the others left alone
    changed = tmp_path / "changed.csv"
    changed.write_text((DATA / "generic_bad_rows.csv").read_text(encoding="utf-8").replace("文三路口", "文三路与学院路口"),
                       encoding="utf-8")
    third = import_incidents(settings, changed, fmt="generic", report=report)
    assert (third.inserted, third.updated, third.unchanged, third.bad) == (0, 1, 3, 9)
    assert fetch(settings.database_url, "SELECT address FROM incidents WHERE id = 'G-12'")[0][0] == "文三路与学院路口"
    assert fetch(settings.database_url, "SELECT count(*) FROM incidents")[0][0] == 4
    # the analysis aggregates were refreshed by the import
    assert fetch(settings.database_url, "SELECT sum(n) FROM an_type_day")[0][0] == 4


def test_station_from_jurisdiction_or_nearest(settings: Settings, tmp_path: Path) -> None:
    square = {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.2, 30.0], [120.2, 30.2], [120.0, 30.2],
                                                  [120.0, 30.0]]]}
    fetch(settings.database_url,
          "INSERT INTO stations (id, name_zh, name_en, lat, lon, boundary) VALUES "
          "('in', '甲', 'A', 30.1, 120.1, $1::jsonb), ('far', '乙', 'B', 30.5, 120.5, NULL)", json.dumps(square))
    path = tmp_path / "s.csv"
    path.write_text("id,time,lat,lon,type,station\nA,2026-01-01 10:00,30.1,120.1,x,FILE\n"
                    "B,2026-01-01 10:00,30.45,120.45,x,FILE\nC,2026-01-01 10:00,30.21,120.21,x,FILE\n")
    import_incidents(settings, path, fmt="generic", report=tmp_path / "r.csv")
    got = dict((r["id"], r["station"]) for r in fetch(settings.database_url, "SELECT id, station FROM incidents"))
    # inside the polygon; nearest station; just outside the polygon but nearer to 'in' than 'far'
    assert got == {"A": "in", "B": "far", "C": "in"}


def test_mapping_and_whole_file_errors(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("case_no,when,y_coord,x_coord,kind\nM1,2026-01-01 10:00,30.1,120.1,theft.ebike\n")
    cmd = [sys.executable, "-m", "qingzhi", "import", "incidents", str(path), "--database-url", settings.database_url,
           "--report", str(tmp_path / "r.csv")]
    bad = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no column for lat, lon, type, time" in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("qingzhi: error:")
    maps = ["--map", "id=case_no", "--map", "time=when", "--map", "lat=y_coord", "--map", "lon=x_coord",
            "--map", "type=kind"]
    ok = subprocess.run(cmd + maps, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "1 imported" in ok.stdout
    assert fetch(settings.database_url, "SELECT id, type FROM incidents")[0]["type"] == "theft.ebike"


def test_generic_real_911_calls(settings: Settings, tmp_path: Path) -> None:
    """Real Montgomery County (PA) 911 calls: no id column, naive US Eastern times, mapped columns."""
    settings = settings.model_copy(update={"timezone": "America/New_York"})
    path = DATA / "montgomery_pa_911_excerpt.csv"
    mapping = ("type=title", "station=twp", "address=addr")
    s = import_incidents(settings, path, fmt="generic", mapping=mapping, report=tmp_path / "bad.csv")
    assert (s.rows, s.inserted, s.bad) == (30, 30, 0)
    rows = {r["address"]: r for r in fetch(settings.database_url, "SELECT * FROM incidents")}
    first = rows["REINDEER CT & DEAD END"]
    assert first["ts"].isoformat() == "2015-12-10T22:10:52+00:00"  # 17:10:52 EST
    assert (first["type"], first["station"], first["lat"]) == ("EMS: BACK PAINS/INJURY", "NEW HANOVER", 40.2978759)
    assert all(r["id"].startswith("gen-") for r in rows.values())
    again = import_incidents(settings, path, fmt="generic", mapping=mapping, report=tmp_path / "bad.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 30)
    counts = dict((r[0], r[1]) for r in fetch(settings.database_url, "SELECT type, sum(n) FROM an_type_day GROUP BY 1"))
    assert counts["Traffic: VEHICLE ACCIDENT -"] == 10 and sum(counts.values()) == 30


def test_police_uk_real_excerpt(settings: Settings, tmp_path: Path) -> None:
    """Real data.police.uk rows (Metropolitan Police, January 2019; Open Government Licence v3.0)."""
    settings = settings.model_copy(update={"timezone": "Europe/London"})
    report = tmp_path / "bad.csv"
    s = import_incidents(settings, DATA / "police_uk_2019-01_metropolitan_excerpt.csv", fmt="police-uk", report=report)
    # 68 rows: 4 "No Location" rows are bad, 2 rows repeat a Crime ID (the later row wins)
    assert (s.rows, s.bad, s.repeated, s.inserted) == (68, 4, 2, 62)
    assert {r["reason"] for r in csv.DictReader(report.open())} == {"no location: No Location"}
    rows = fetch(settings.database_url, "SELECT * FROM incidents")
    ids = sorted(r["id"] for r in rows)
    one = next(r for r in rows if r["id"] == "934e173f2bc2e1dd3a257b37939d8f97575d3eeb89ff0c3eee2c73f16630edc5")
    assert one["type"] == "burglary" and one["address"] == "On or near Hatch Grove"
    assert (one["lat"], one["lon"]) == (51.582311, 0.140192)
    assert one["occurred_from"].isoformat() == "2019-01-01T00:00:00+00:00"
    assert one["occurred_to"].isoformat() == "2019-02-01T00:00:00+00:00"
    assert json.loads(one["extra"])["lsoa_code"] == "E01000027"
    # the same Crime ID twice: the later row's outcome is kept
    twice = next(r for r in rows if r["id"].startswith("bceee5349fd3"))
    assert json.loads(twice["extra"])["outcome"] == "Status update unavailable"
    # 12 anti-social behaviour rows have no Crime ID, 4 of them identical (Lake Road): all kept, with generated ids
    asb = [r for r in rows if r["type"] == "anti-social-behaviour"]
    assert len(asb) == 12 and all(r["id"].startswith("pu-") for r in asb)

    again = import_incidents(settings, DATA / "police_uk_2019-01_metropolitan_excerpt.csv", fmt="police-uk",
                             report=report)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 62)
    assert sorted(r["id"] for r in fetch(settings.database_url, "SELECT id FROM incidents")) == ids
    # a month-long window is spread over the whole week: every hour of week gets a share, summing to the count
    how = fetch(settings.database_url, "SELECT how, sum(w) AS w FROM an_how_day GROUP BY how")
    assert len(how) == 168 and sum(r["w"] for r in how) == pytest.approx(62, abs=1e-3)


def test_wrong_format_is_one_clear_error(settings: Settings, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "qingzhi", "import", "incidents", str(DATA / "generic_bad_rows.csv"), "--format",
         "police-uk", "--database-url", settings.database_url], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not a police.uk street-level file" in result.stderr
    assert fetch(settings.database_url, "SELECT count(*) FROM incidents")[0][0] == 0


def test_far_times_and_nul_are_bad_rows_not_a_refused_batch(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "far.csv"
    path.write_text("id,time,lat,lon,type,address\nOK,2026-01-01 10:00,30.27,120.15,theft.ebike,\n"
                    "EARLY,0001-01-01T00:00+14:00,30.27,120.15,theft.ebike,\n"
                    "LATE,9999-12-31T23:00-14:00,30.27,120.15,theft.ebike,\n"
                    "NUL,2026-01-01 10:00,30.27,120.15,theft.ebike,a\x00b\n")  # the database refused such a batch
    report = tmp_path / "bad.csv"
    s = import_incidents(settings, path, fmt="generic", report=report)
    assert (s.inserted, s.bad) == (1, 3)
    reasons = [r["reason"] for r in csv.DictReader(report.open(encoding="utf-8"))]
    assert reasons[:2] == ["time is outside the years 1900–9998: 0001-01-01T00:00:00+14:00",
                           "time is outside the years 1900–9998: 9999-12-31T23:00:00-14:00"]
    assert reasons[2] == "a cell holds a NUL character"
    assert [r["id"] for r in fetch(settings.database_url, "SELECT id FROM incidents")] == ["OK"]


def test_police_uk_months_beyond_the_years_are_bad_rows(settings: Settings, tmp_path: Path) -> None:
    head = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
    path = tmp_path / "pu.csv"
    path.write_text(head + "Last outcome category,Context\n" + "".join(
        f"c{m},{m},Met,Met,-0.1,51.5,On or near X,E1,L1,Burglary,,\n" for m in ("2019-01", "0001-01")))
    s = import_incidents(settings, path, fmt="police-uk", report=tmp_path / "bad.csv")
    assert (s.inserted, s.bad, s.reasons) == (1, 1, {"month is outside the years 1900–9998": 1})


@pytest.mark.parametrize("report", ["/proc/qz-report.csv", "/nonexistent-folder/r.csv"])
def test_an_unwritable_report_stops_the_import_before_it_starts(settings: Settings, report: str) -> None:
    with pytest.raises(QingzhiError, match="cannot write the bad-rows report"):
        import_incidents(settings, DATA / "generic_bad_rows.csv", fmt="generic", report=Path(report))
    assert fetch(settings.database_url, "SELECT count(*) FROM incidents")[0][0] == 0
