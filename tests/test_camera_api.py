"""Camera live views on the server: the allow-list and URL template (qingzhi/core/streams.py), the
audited opening of a view and the strip's list (dashboard/cameras/api.py), as an outsider, another
station's commander and a clumsy device would meet them; the CSP that lets the player fetch."""

from __future__ import annotations

import json
from collections.abc import Iterator

import dash
import pytest
from auth_helpers import login_client

from bench.fleet import seed_district
from dashboard.app import create_app
from db_helpers import with_conn as sql
from qingzhi.config import Settings, load_settings
from qingzhi.core.streams import StreamPolicy, check_template, kind_of
from qingzhi.errors import QingzhiError

GOOD = "http://127.0.0.1:8888/{unit}/index.m3u8"


@pytest.fixture
def settings_cam(settings: Settings) -> Settings:
    """Streams only over http(s) from 127.0.0.1 and media.example; a template for units that send none."""
    return settings.model_copy(update={"stream_hosts": "127.0.0.1,media.example", "stream_url_template": "",
                                       "camera_tiles": 3})


@pytest.fixture
def app(settings_cam: Settings) -> Iterator[dash.Dash]:
    """The dashboard on a two-station district (ST01, ST02)."""
    sql(settings_cam.database_url, lambda c: seed_district(c, units=12, stations=2, incidents=2))
    got = create_app(settings_cam)
    yield got
    got.server.extensions["qingzhi"].db.close()


def units_of(url: str, station: str) -> list[str]:
    return [r["id"] for r in sql(url, lambda c: c.fetch("SELECT id FROM units WHERE station = $1 ORDER BY id", station))]


def stream(url: str, unit: str, link: str | None, state: str = "streaming", **cols: object) -> None:
    """Set a unit's camera as the ingest would (plus any other live column)."""
    extra = "".join(f", {k} = ${i + 4}" for i, k in enumerate(cols))
    sql(url, lambda c: c.execute(f"UPDATE units SET cam_state = $2, stream_url = $3, cam_ts = now(){extra} WHERE id = $1",
                                 unit, state, link, *cols.values()))


def test_policy_schemes_hosts_template_and_kind() -> None:
    rules = StreamPolicy.parse("https", "media.example", "https://media.example/{station}/{unit}/index.m3u8")
    assert rules.allowed("https://MEDIA.example/a/index.m3u8") == "https://MEDIA.example/a/index.m3u8"
    for bad in ("http://media.example/a.m3u8", "https://evil.example/a.m3u8", "rtsp://media.example/a",
                "javascript:alert(1)", "https://media.example.evil.example/a", "", None, "https://" + "a" * 2001,
                "https://user@/a", "data:video/mp4;base64,AAAA"):
        assert rules.allowed(bad) is None, bad
    assert rules.url_for("C 01", "S/1", None) == "https://media.example/S%2F1/C%2001/index.m3u8"
    assert rules.url_for("C01", "S1", "https://evil.example/x.m3u8") is None    # a device's own URL is checked too
    assert StreamPolicy.parse("", "").url_for("C01", "S1", None) is None        # no template: no stream
    assert StreamPolicy.parse("", "").schemes == ("http", "https")
    assert kind_of("https://gw:8889/S1/C01/whep") == "whep" and kind_of("https://gw:8889/S1/C01/WHEP/") == "whep"
    assert kind_of("https://gw:8888/S1/C01/index.m3u8") == "hls" and kind_of("https://gw/whep/index.m3u8") == "hls"


@pytest.mark.parametrize("template,error", [
    ("ftp://gw/{unit}", "http(s)"), ("http://gw/{unit}/{secret}", "only {unit}"), ("http://gw/live", "{unit}"),
    ("http://gw/{unit}/{0}", "only {unit}"), ("http:///{unit}", "http(s)"), ("http://gw/{unit", "only {unit}"),
])
def test_bad_templates_and_schemes_are_refused_with_a_reason(template: str, error: str) -> None:
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{")):
        check_template(template)
    with pytest.raises(QingzhiError, match="QZ_STREAM_URL_TEMPLATE"):
        load_settings(stream_url_template=template)
    for schemes in ("rtsp", "http,javascript", "ftp", "https;http"):
        with pytest.raises(QingzhiError, match="QZ_STREAM_SCHEMES"):
            load_settings(stream_schemes=schemes)
    for tiles in (0, 17, -1):
        with pytest.raises(QingzhiError, match="QZ_CAMERA_TILES"):
            load_settings(camera_tiles=tiles)
    assert load_settings(stream_url_template=f" {GOOD} ").stream_url_template == GOOD


def test_opening_a_view_is_scoped_audited_and_only_for_playable_streams(app: dash.Dash, settings_cam: Settings) -> None:
    url = settings_cam.database_url
    west, east = units_of(url, "ST01")[:2], units_of(url, "ST02")[:1]
    stream(url, west[0], "http://127.0.0.1:8888/a/index.m3u8")
    stream(url, west[1], "http://evil.example:8888/a/index.m3u8")     # a host not on the list
    stream(url, east[0], "https://media.example/b/whep")
    commander = login_client(app, "commander", ["ST01"])
    got = commander.post(f"/api/live/stream/{west[0]}")
    assert got.status_code == 200
    assert got.get_json() == {"unit": west[0], "station": "ST01", "url": "http://127.0.0.1:8888/a/index.m3u8",
                              "kind": "hls"}
    [entry] = sql(url, lambda c: c.fetch("SELECT actor, unit, screen, details FROM audit_log WHERE action = 'stream.view'"))
    assert entry["actor"].startswith("commander-") and entry["unit"] == west[0] and entry["screen"] == "camera"
    assert json.loads(entry["details"]) == {"url": "http://127.0.0.1:8888/a/index.m3u8", "kind": "hls",
                                            "station": "ST01", "camera": "streaming"}
    assert commander.post(f"/api/live/stream/{west[1]}").status_code == 404      # never handed out
    assert commander.post(f"/api/live/stream/{east[0]}").status_code == 403      # another station's officer
    assert commander.post("/api/live/stream/NOBODY").status_code == 404
    assert commander.post("/api/live/stream/" + "x" * 5000).status_code == 404
    assert commander.post("/api/live/stream/%27%3B%20DROP%20TABLE%20units%3B--").status_code == 404
    assert app.server.test_client().post(f"/api/live/stream/{west[0]}").status_code == 401    # no session
    no_csrf = login_client(app, "admin")
    no_csrf.environ_base.pop("HTTP_X_CSRFTOKEN")
    assert no_csrf.post(f"/api/live/stream/{west[0]}").status_code == 403                  # a forged request
    wall = login_client(app, "wall")
    assert wall.post(f"/api/live/stream/{east[0]}").get_json()["kind"] == "whep"            # a wall screen may watch
    views = sql(url, lambda c: c.fetch("SELECT unit FROM audit_log WHERE action = 'stream.view' ORDER BY id"))
    assert [v["unit"] for v in views] == [west[0], east[0]]                                 # refusals leave no entry


def test_the_url_template_names_streams_of_units_that_send_none(settings_cam: Settings) -> None:
    settings = settings_cam.model_copy(update={"stream_url_template": "http://127.0.0.1:8888/{station}/{unit}/index.m3u8"})
    sql(settings.database_url, lambda c: seed_district(c, units=4, stations=1, incidents=0))
    app = create_app(settings)
    try:
        unit = units_of(settings.database_url, "ST01")[0]
        stream(settings.database_url, unit, None)
        got = login_client(app, "commander").post(f"/api/live/stream/{unit}").get_json()
        assert got["url"] == f"http://127.0.0.1:8888/ST01/{unit}/index.m3u8"
        listed = login_client(app, "wall").get("/api/live/cameras").get_json()["units"]
        assert [u["unit"] for u in listed] == [unit]
    finally:
        app.server.extensions["qingzhi"].db.close()


def test_the_strip_list_is_scoped_ordered_and_carries_no_urls(app: dash.Dash, settings_cam: Settings) -> None:
    url = settings_cam.database_url
    west, east = units_of(url, "ST01"), units_of(url, "ST02")
    link = "http://127.0.0.1:8888/x/index.m3u8"
    stream(url, west[0], link)                                    # oldest stream
    sql(url, lambda c: c.execute("UPDATE units SET cam_ts = now() - interval '1 hour' WHERE id = $1", west[0]))
    stream(url, west[1], link, status="on_scene")
    stream(url, west[2], link, sos=True)
    stream(url, west[3], link)                                    # newest plain stream
    stream(url, west[4], "rtsp://127.0.0.1/x")                    # never listed: cannot be played
    stream(url, west[5], link, state="recording")                 # not streaming
    stream(url, east[0], link)
    commander = login_client(app, "commander", ["ST01"])
    got = commander.get("/api/live/cameras").get_json()["units"]
    assert [u["unit"] for u in got] == [west[2], west[1], west[3], west[0]]   # SOS, on scene, then newest first
    assert "url" not in json.dumps(got) and link not in json.dumps(got)       # a URL only through the audited hop
    assert got[0]["sos"] is True and got[1]["status"] == "on_scene" and all(u["live"] for u in got)
    assert commander.get("/api/live/cameras?station=ST02").status_code == 403
    assert [u["unit"] for u in login_client(app, "admin").get("/api/live/cameras?station=ST02").get_json()["units"]] \
        == [east[0]]
    assert app.server.test_client().get("/api/live/cameras").status_code == 401
    # an incident's strip: its active units, streaming or not
    incident = sql(url, lambda c: c.fetchval("SELECT id FROM incidents ORDER BY id LIMIT 1"))
    for unit in (west[5], west[1], east[0]):
        sql(url, lambda c: c.execute("INSERT INTO assignments (incident, unit, assigned_by) VALUES ($1, $2, 'test')",
                                     incident, unit))
    on_it = commander.get(f"/api/live/cameras?incident={incident}").get_json()["units"]
    assert [(u["unit"], u["live"]) for u in on_it] == [(west[1], True), (west[5], False)]   # east[0]: not in scope
    assert commander.get("/api/live/cameras?incident=" + "x" * 100).status_code == 400
    assert commander.get("/api/live/cameras?incident=%00%27--").status_code == 400


def test_the_csp_lets_the_player_fetch_only_from_stream_hosts(app: dash.Dash, settings_cam: Settings) -> None:
    client = login_client(app, "wall")
    csp = client.get("/wall").headers["Content-Security-Policy"]
    media = next(p for p in csp.split("; ") if p.startswith("media-src"))
    connect = next(p for p in csp.split("; ") if p.startswith("connect-src"))
    for part in (media, connect):
        assert "http://127.0.0.1:*" in part and "https://media.example:*" in part and "evil" not in part
    assert "blob:" in media and "script-src 'self'" in csp
    page = client.get("/wall").get_data(as_text=True)
    assert "hls.light.min.js" not in page            # hls.js is loaded by the player only when it plays
    assert client.get("/assets/vendor/hls/hls.light.min.js").status_code == 200
