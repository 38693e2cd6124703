"""`qingzhi analysis hotspots` against the real database: the figures, the study area, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import h3.api.basic_int as h3
import numpy as np

from db_helpers import with_conn as run

ROOT = Path(__file__).parent.parent
SH = ZoneInfo("Asia/Shanghai")
INSERT = """INSERT INTO incidents (id, ts, lat, lon, type, category, priority)
            VALUES ($1, $2, $3, $4, $5, split_part($5, '.', 1), 3)"""
SQUARE = {"type": "Polygon", "coordinates": [[[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.3], [120.1, 30.2]]]}


def qingzhi(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qingzhi", "analysis", "hotspots", "--database-url", url, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_hotspots_command(database_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    start = datetime(2026, 1, 5, tzinfo=SH)
    spot = [(30.2500 + float(a), 120.1500 + float(b)) for a, b in zip(rng.normal(0, 3e-4, 200), rng.normal(0, 3e-4, 200),
                                                                       strict=True)]
    rest = [(30.25 + float(a), 120.15 + float(b)) for a, b in zip(rng.normal(0, 0.01, 400), rng.normal(0, 0.01, 400),
                                                                   strict=True)]
    mixed = spot + rest
    points = [mixed[k] for k in rng.permutation(len(mixed))] + [(30.9, 120.15)]  # the last far outside the square
    rows = [(f"A{i}", start + timedelta(hours=3 * i), la, lo, "theft.ebike" if i % 2 else "fight.street")
            for i, (la, lo) in enumerate(points)]

    async def load(conn: asyncpg.Connection) -> None:
        await conn.executemany(INSERT, rows)
        await conn.execute("INSERT INTO stations (id, name_zh, name_en, lat, lon, boundary) "
                           "VALUES ('s', '甲', 'S', 30.25, 120.15, $1::jsonb)", json.dumps(SQUARE))

    run(database_url, load)
    got = qingzhi(database_url, "--json", "--top", "5")
    assert got.returncode == 0, got.stderr
    out = json.loads(got.stdout)
    inside = [r for r in rows if 30.2 <= r[2] <= 30.3 and 120.1 <= r[3] <= 120.2]
    assert out["study_area"]["source"] == "jurisdictions" and out["study_area"]["km2"] > 100
    assert out["incidents"] == len(inside) and out["outside"]["count"] == len(rows) - len(inside) >= 1
    assert "A600" in {p["id"] for p in out["outside"]["listed"]}
    expected = Counter(h3.latlng_to_cell(r[2], r[3], 9) for r in inside).most_common(1)[0]
    assert (out["cells"][0]["h3"], out["cells"][0]["count"]) == (h3.int_to_str(expected[0]), expected[1])
    assert out["cells"][0]["gi_z"] > 2.58 and len(out["cells"]) == 5
    methods = {m["method"]: m["rows"] for m in out["quality"]["methods"]}
    assert set(methods) == {"counts", "gi", "kde"} and all(len(r) == 3 for r in methods.values())
    assert methods["counts"][0]["pai"] > 10  # the spot persists into the test half
    first, last = rows[0][1].date().isoformat(), rows[-1][1].date().isoformat()
    assert out["period"] == {"from": first, "to": last}

    # one type, another resolution, a period; and the same in words
    theft = json.loads(qingzhi(database_url, "--json", "--type", "theft.ebike", "--resolution", "10",
                               "--from", "2026-01-05", "--to", "2026-02-28").stdout)
    assert theft["resolution"] == 10 and theft["types"] == ["theft.ebike"]
    assert theft["incidents"] == sum(1 for r in inside if r[4] == "theft.ebike" and r[1].date().isoformat() <= "2026-02-28")
    text = qingzhi(database_url, "--top", "3")
    assert text.returncode == 0 and "Study area: jurisdictions (1 station jurisdictions)" in text.stdout
    assert "Hotspot quality" in text.stdout and "kernel density" in text.stdout and "A600" in text.stdout

    # bad input: one line, exit status 2
    for args, words in ((["--from", "yesterday"], "not an ISO date"), (["--from", "2026-03-01", "--to", "2026-01-01"],
                                                                       "is before --from"),
                        (["--type", "theft.ebkie"], "--type theft.ebkie: no incident has that type (types: ")):
        bad = qingzhi(database_url, *args)
        assert bad.returncode == 2 and words in bad.stderr and bad.stderr.startswith("qingzhi: error:")
    (tmp_path / "area.geojson").write_text("{not json")
    run(database_url, lambda conn: conn.execute("UPDATE stations SET boundary = NULL"))
    bad = qingzhi(database_url, "--study-area", str(tmp_path / "area.geojson"))
    assert bad.returncode == 2 and "not GeoJSON" in bad.stderr
    (tmp_path / "area.geojson").write_text(json.dumps(SQUARE))
    good = json.loads(qingzhi(database_url, "--json", "--study-area", str(tmp_path / "area.geojson")).stdout)
    assert good["study_area"]["source"] == "boundary_file" and good["incidents"] == len(inside)
