"""`qingzhi briefing` and the exports: the PDF's text (CJK) holds every section and the crafted
figures, its charts are images; the HTML is self-contained and escapes hostile names; the CSV
tables; one-line errors for bad arguments."""

from __future__ import annotations

import io
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from briefing_fixtures import D, TZ, seed_briefing
from dashboard.briefing.export import export_bytes
from dispatch_fixtures import run_db
from qingzhi.core.actor import Actor
from qingzhi.core.briefing.build import build_briefing
from qingzhi.core.briefing.config import load_config
from qingzhi.core.briefing.period import period_of
from qingzhi.cli import cli
from qingzhi.errors import QingzhiError
from test_cli import qingzhi

ADMIN = Actor.person("chief", role="admin")


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "QZ_DATABASE_URL": url}


def _briefing(url: str, station: str | None = None) -> dict:
    async def go(conn):  # noqa: ANN001, ANN202 - a test's local helper
        return await build_briefing(ADMIN, conn, period_of("day", D, TZ), load_config(), station=station)
    return run_db(url, go)


def test_cli_writes_a_pdf_with_chinese_text_sections_and_chart_images(database_url: str, tmp_path: Path) -> None:
    run_db(database_url, seed_briefing)
    out = tmp_path / "daily" / "b.pdf"
    done = qingzhi("briefing", "--day", str(D), "--out", str(out), env=_env(database_url))
    assert done.returncode == 0, done.stderr
    assert "briefing: charts…" in done.stderr and "briefing: pdf…" in done.stderr  # progress
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    for heading in ("综述", "十个下降", "四率", "响应时间", "超时警情", "闭环与满意度", "重复报警", "执法记录仪",
                    "派出所排名", "督办任务"):
        assert heading in text, heading
    assert "共接报警 10 起，环比上升 400.0%，同比上升 150.0%" in text.replace("2026-11-21", "")
    assert "重复报警占比 20.0%，同比下降 60.0%" in text
    assert all(k in text for k in ("勤务落实率", "街面见警率", "分流警情", "重复警情督办"))   # duty and governance figures
    images = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True, text=True, check=True).stdout
    assert [line.split()[2] for line in images.splitlines()[2:]].count("image") == 4  # map and three charts (+ masks)
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts


def test_html_is_self_contained_english_and_escapes_hostile_names(database_url: str) -> None:
    run_db(database_url, seed_briefing)
    run_db(database_url, lambda c: c.execute(
        "UPDATE incidents SET type = '<script>alert(1)</script>' WHERE id = 'S2-NOISE'"))
    html = export_bytes(_briefing(database_url), "html", "en", TZ, with_charts=False).decode()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'src="http' not in html and "<link" not in html
    for sec in ("summary", "headlines", "rates", "response", "overdue", "loop", "repeats", "cameras", "ranking",
                "tasks"):
        assert f'<section id="{sec}"' in html, sec
    assert "Headline figures" in html and "10 calls received, up 400.0% against the previous period" in html



def test_stations_are_named_in_the_readers_language_and_all_of_them_is_all(database_url: str) -> None:
    run_db(database_url, seed_briefing)
    everywhere = export_bytes(_briefing(database_url), "html", "zh", TZ, with_charts=False).decode()
    s1 = export_bytes(_briefing(database_url, "S1"), "html", "en", TZ, with_charts=False).decode()
    assert "<h1>研判简报：2026-11-21 · 全局</h1>" in everywhere and "高发派出所 S1派出所（7 起）" in everywhere
    assert "<h1>Briefing: 2026-11-21 · S1 station</h1>" in s1 and "S1 station (7)" in s1
    assert "<td>待派</td>" in everywhere and "<td>received</td>" not in everywhere   # overdue states in words too
    from dashboard.briefing.components import build_task_form
    form = str(build_task_form(lang="zh", stations=[{"id": "S1", "name_zh": "S1派出所", "name_en": "S1 station"}],
                               day=D))
    assert "'label': 'S1派出所', 'value': 'S1'" in form                    # the new task's station picker too
    for doc in (everywhere, s1):   # tables and sentences: names, never a bare station id
        bare = re.search(r".{0,30}[>\s]S[12](?!派出所| station)[<,;)（\s].{0,30}", doc)
        assert bare is None, bare

def test_csv_tables_in_a_zip(database_url: str) -> None:
    run_db(database_url, seed_briefing)
    data = export_bytes(_briefing(database_url, "S1"), "zip", "zh", TZ)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {"headlines.csv", "rates.csv", "overdue.csv", "cameras.csv", "ranking.csv", "tasks.csv"} <= set(
            zf.namelist())
        head = zf.read("headlines.csv").decode("utf-8-sig").splitlines()
        rates = zf.read("rates.csv").decode("utf-8-sig")
    assert head[0].startswith("项目,本期,上期") and head[1].startswith("接报警,7,2,250.0,4,75.0")
    assert "闭环率（已办结）%,50.0,3/6" in rates and "回访评价率 %,66.66666666666666,4/6" in rates


@pytest.mark.parametrize(("args", "message"), [
    (("--day", "2026-11-21", "--out", "x.docx"), "must end in .html, .pdf or .zip"),
    (("--day", "21.11.2026", "--out", "x.pdf"), "--day: '21.11.2026' is not a date"),
    (("--day", "2026-11-21", "--from", "2026-11-01", "--to", "2026-11-02", "--out", "x.pdf"), "a range is --from"),
    (("--from", "2026-11-21", "--to", "2026-11-01", "--out", "x.pdf"), "ends (2026-11-01) before it starts"),
])
def test_bad_arguments_are_clear_errors(database_url: str, args: tuple[str, ...], message: str) -> None:
    done = CliRunner().invoke(cli, ["briefing", "--database-url", database_url, *args])
    assert isinstance(done.exception, QingzhiError) and message in str(done.exception)


def test_an_error_is_one_line_not_a_traceback(database_url: str) -> None:
    done = qingzhi("briefing", "--day", "2026-11-21", "--station", "S9", "--out", "x.pdf",
                   env={**_env(database_url), "QZ_BRIEFING_CONFIG": "/nonexistent.json"})
    assert done.returncode == 2 and "cannot read briefing config '/nonexistent.json'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_duty_loop_writes_yesterdays_briefing_once_and_prunes_old_ones(database_url: str, tmp_path: Path) -> None:
    import datetime as dt

    from qingzhi.briefing_report import daily
    from qingzhi.config import load_settings

    run_db(database_url, seed_briefing)
    old = tmp_path / "briefing-2026-01-01.pdf"
    old.write_bytes(b"%PDF old")
    (tmp_path / "notes.txt").write_text("not ours")
    settings = load_settings(database_url=database_url, briefing_dir=str(tmp_path), briefing_hour=7)
    morning = dt.datetime(2026, 11, 22, 6, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert run_db(database_url, daily, settings, morning).startswith("0 written (2026-11-21 not due yet; 1 old pruned)")
    later = morning + dt.timedelta(hours=1)
    assert run_db(database_url, daily, settings, later).startswith("2 written (briefing-2026-11-21.pdf")
    text = subprocess.run(["pdftotext", str(tmp_path / "briefing-2026-11-21.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "共接报警 10 起" in text and not old.exists() and (tmp_path / "notes.txt").exists()
    assert "接报警" in (tmp_path / "briefing-2026-11-21.html").read_text(encoding="utf-8")
    assert run_db(database_url, daily, settings, later).startswith("0 written (2026-11-21 already there")
    off = load_settings(database_url=database_url)
    assert run_db(database_url, daily, off, later) == "0 written (no briefing folder: QZ_BRIEFING_DIR)"
