"""Body-camera live views in real headless Chromium, playing real HLS made by ffmpeg
(qingzhi/simulator/video.py: the demo's own streams) through the vendored hls.js.

Short streams at 192x108, 10 fps, one encoder thread each: the machine has two cores. Screenshots
go to tests/artifacts/ (camera_*.png).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from auth_helpers import start_logged_in
from bench.fleet import seed_district
from bench.services import free_port
from dashboard.app import create_app
from db_helpers import with_conn as sql
from qingzhi.config import load_settings
from qingzhi.simulator.video import VideoFarm
from test_live_page import js, wait_js
from tests.conftest import _admin, db_url, pytest_setup_options

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).parent / "artifacts"
TILES = 2


@pytest.fixture(scope="module")
def cam_db(template_db: str) -> Iterator[str]:
    name = f"qz_cam_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f"CREATE DATABASE {name} TEMPLATE {template_db}"))
    url = db_url(name)
    sql(url, lambda c: seed_district(c, units=8, stations=1, incidents=2))
    yield url
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="module")
def units(cam_db: str) -> list[str]:
    return [r["id"] for r in sql(cam_db, lambda c: c.fetch("SELECT id FROM units ORDER BY id"))]


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory, units: list[str]) -> Iterator[VideoFarm]:
    """Video for the first three units (started by each test as it needs), served on a free port."""
    got = VideoFarm(tmp_path_factory.mktemp("video"), units[:3], port=0, size="192x108", fps=10)
    got._thread.start()
    yield got
    got.close()


@pytest.fixture(scope="module")
def cam_app(cam_db: str):
    settings = load_settings(database_url=cam_db, stream_hosts="127.0.0.1", camera_tiles=TILES)
    app = create_app(settings)
    yield app
    app.server.extensions["qingzhi"].db.close()


@pytest.fixture
def clean(cam_db: str, farm: VideoFarm) -> str:
    """No camera streams, no audit entries of views, no assignments; every ffmpeg stopped."""
    for unit in list(farm.procs):
        farm.stop_unit(unit)
    sql(cam_db, lambda c: c.execute("UPDATE units SET cam_state = 'standby', stream_url = NULL, sos = false,"
                                    " status = 'patrolling'; DELETE FROM assignments"))
    return cam_db


def set_stream(url: str, unit: str, link: str | None, state: str = "streaming", age_s: int = 0) -> None:
    sql(url, lambda c: c.execute("UPDATE units SET cam_state = $2, stream_url = $3,"
                                 " cam_ts = now() - make_interval(secs => $4) WHERE id = $1", unit, state, link, age_s))


TILE_STATES = """return Array.from(document.querySelectorAll('.qz-cam-tile')).map(function (t) {
    return [t.dataset.unit, t.dataset.state, t.querySelector('video').currentTime]; });"""


def tile_time(dash_duo: Any, unit: str) -> float:
    return js(dash_duo, f"var t = document.querySelector('.qz-cam-tile[data-unit=\"{unit}\"] video');"
                        " return t ? t.currentTime : -1;")


def wait_playing(dash_duo: Any, unit: str, timeout: float = 40) -> None:
    """The unit's tile shows moving video: its currentTime advances by over a second."""
    start = wait_js(dash_duo, f"var t = document.querySelector('.qz-cam-tile[data-unit=\"{unit}\"]');"
                              " return t && t.dataset.state === 'playing' ? t.querySelector('video').currentTime : null;",
                    lambda v: v is not None and v > 0, timeout)
    wait_js(dash_duo, f"var t = document.querySelector('.qz-cam-tile[data-unit=\"{unit}\"] video');"
                      " return t ? t.currentTime : 0;", lambda v: v > start + 1.0, 15)


def views(url: str) -> list[tuple[str, str]]:
    rows = sql(url, lambda c: c.fetch("SELECT actor, unit FROM audit_log WHERE action = 'stream.view' ORDER BY id"))
    return [(r["actor"], r["unit"]) for r in rows]


def test_wall_strip_plays_follows_new_streams_and_holds_the_tile_limit(dash_duo, cam_app, clean: str, farm: VideoFarm,
                                                                       units: list[str]) -> None:
    a, b, c = units[:3]
    for unit in (a, b, c):
        farm.start_unit(unit)
    set_stream(clean, a, farm.url(a), age_s=120)
    set_stream(clean, b, farm.url(b), age_s=60)
    set_stream(clean, c, farm.url(c), state="recording")      # recording only: not on the strip yet
    audit_before = len(views(clean))
    name = start_logged_in(dash_duo, cam_app, "wall", port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/wall")
    wait_playing(dash_duo, a)
    wait_playing(dash_duo, b)
    assert views(clean)[audit_before:] == [(name, a), (name, b)] or \
        sorted(views(clean)[audit_before:]) == sorted([(name, a), (name, b)])       # who watched which officer
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "camera_wall.png"))
    # a new stream starts: the strip takes it (the newest) and drops the oldest, still at most TILES tiles
    set_stream(clean, c, farm.url(c))
    wait_js(dash_duo, "return document.querySelector('.qz-cams-wall .qz-cams-tiles').dataset.units;",
            lambda v: v is not None and sorted(v.split()) == sorted([c, b]), 15)
    wait_playing(dash_duo, c)
    states = js(dash_duo, TILE_STATES)
    assert sorted(s[0] for s in states) == sorted([b, c]) and len(js(dash_duo, "return document.querySelectorAll('video')")) == TILES
    assert js(dash_duo, "return window.qzCamera.playingCount()") <= TILES
    assert (name, c) in views(clean)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "camera_wall_changed.png"))


def test_a_stopped_stream_shows_ended_and_recovers_by_itself(dash_duo, cam_app, clean: str, farm: VideoFarm,
                                                             units: list[str]) -> None:
    a = units[0]
    farm.start_unit(a)
    set_stream(clean, a, farm.url(a))
    start_logged_in(dash_duo, cam_app, "commander", port=free_port())
    # the unit's card (found by its call sign, as a click on its marker shows it) opens its live view
    wait_js(dash_duo, "return !!(window.qzRuntime.live && window.qzRuntime.live.applied)")
    dash_duo.find_element("#live-search").send_keys(a + "\n")
    # shorter waits than a wall's (6 s frozen = ended, a look every 3 s), to keep the suite quick
    js(dash_duo, """var el = document.querySelector('.qz-camera-config'); var c = JSON.parse(el.dataset.config);
        c.stall_s = 3; c.retry_ms = 1000; el.dataset.config = JSON.stringify(c);""")
    dash_duo.wait_for_element(f".qz-cam-open[data-unit='{a}']", timeout=15).click()
    wait_playing(dash_duo, a)
    farm.stop_unit(a)                                          # the camera stops sending
    ended = wait_js(dash_duo, f"var t = document.querySelector('.qz-cam-tile[data-unit=\"{a}\"]');"
                              " return t.dataset.state === 'ended' ? [t.textContent, t.dataset.lastFrame] : null;",
                    timeout=30)
    assert "视频流已中断，最后画面" in ended[0] and int(ended[1]) > 0
    last_frame = time.strftime("%H:%M", time.localtime(int(ended[1]) / 1000))
    assert len(ended[0].split("最后画面 ")[1]) == 8                 # HH:MM:SS of the last frame
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "camera_ended.png"))
    frozen = tile_time(dash_duo, a)
    time.sleep(2)
    assert tile_time(dash_duo, a) <= frozen + 0.05 and last_frame   # nothing moves while it is down
    farm.start_unit(a)                                         # it streams again: the tile reconnects by itself
    wait_playing(dash_duo, a, timeout=45)
    assert js(dash_duo, f"return document.querySelector('.qz-cam-tile[data-unit=\"{a}\"] .qz-cam-state').hidden")


def test_incident_tiles_and_urls_outside_the_allow_list(dash_duo, cam_app, clean: str, farm: VideoFarm,
                                                        units: list[str]) -> None:
    a, d, e = units[0], units[3], units[4]
    farm.start_unit(a)
    incident = sql(clean, lambda c: c.fetchval("SELECT id FROM incidents ORDER BY id LIMIT 1"))
    set_stream(clean, a, farm.url(a))
    set_stream(clean, d, "http://evil.example:8888/x/index.m3u8")       # host not allowed
    set_stream(clean, e, "rtsp://127.0.0.1:8554/x")                     # scheme not allowed
    for unit in (a, d, e):
        sql(clean, lambda c: c.execute("INSERT INTO assignments (incident, unit, assigned_by) VALUES ($1, $2, 't')",
                                       incident, unit))
    start_logged_in(dash_duo, cam_app, "commander", port=free_port())
    dash_duo.driver.get(f"{dash_duo.server_url}/dispatch?incident={incident}")
    wait_playing(dash_duo, a)
    assert [s[0] for s in js(dash_duo, TILE_STATES)] == [a]             # the server never lists d or e
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "camera_dispatch.png"))
    # and the player refuses such a URL itself, without loading anything from it
    got = js(dash_duo, """var box = document.createElement('div'); document.body.appendChild(box);
        var t = new window.qzCamera.Tile(box, 'X1', 'X1');
        var played = t.play('http://evil.example:8888/x/index.m3u8') || t.play('rtsp://127.0.0.1:8554/x')
                     || t.play('javascript:alert(1)');
        var r = [played, t.el.dataset.state, t.el.textContent, t.video.currentSrc, window.qzCamera.playingCount()];
        t.close(); return r;""")
    assert got[0] is False and got[1] == "refused" and "不予播放" in got[2] and got[3] == "" and got[4] == 1
    time.sleep(1)
    fetched = js(dash_duo, "return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
    assert not [f for f in fetched if "evil.example" in f or f.startswith("rtsp")]


GATEWAY_ANSWER = """
const offer = arguments[0], done = arguments[arguments.length - 1];
const canvas = document.createElement('canvas');
canvas.width = 160; canvas.height = 90;
const g = canvas.getContext('2d');
let n = 0;
setInterval(function () { g.fillStyle = 'hsl(' + (n++ * 15 % 360) + ',80%,50%)'; g.fillRect(0, 0, 160, 90); }, 100);
const track = canvas.captureStream(10).getVideoTracks()[0];
const pc = new RTCPeerConnection();
window.gatewayPc = pc;
pc.setRemoteDescription({type: 'offer', sdp: offer}).then(function () {
  const video = pc.getTransceivers().find(function (t) { return t.receiver.track.kind === 'video'; });
  video.direction = 'sendonly';
  return video.sender.replaceTrack(track);
}).then(function () { return pc.createAnswer(); }).then(function (a) { return pc.setLocalDescription(a); })
  .then(function () {
    if (pc.iceGatheringState === 'complete') { done(pc.localDescription.sdp); return; }
    pc.onicegatheringstatechange = function () {
      if (pc.iceGatheringState === 'complete') { done(pc.localDescription.sdp); }
    };
  }).catch(function (err) { done('ERROR ' + err); });
"""


class _WhepRelay(BaseHTTPRequestHandler):
    """A WHEP endpoint whose answers come from a second Chromium sending a canvas over WebRTC."""

    seen: list[tuple[str, str, str]] = []
    offers: queue.Queue = queue.Queue()
    answers: queue.Queue = queue.Queue()
    deleted: list[str] = []

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Expose-Headers", "Location")

    def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
        """The browser's preflight."""
        self.send_response(204)
        self._cors()
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        """The first offer finds no stream yet (404, as MediaMTX answers then); later ones are handed to the
        sending browser and answered with its SDP."""
        offer = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.seen.append((self.path, self.headers.get("Content-Type", ""), offer))
        if len(self.seen) == 1:
            self.send_response(404)
            self._cors()
            self.end_headers()
            return
        self.offers.put(offer)
        answer = self.answers.get(timeout=30).encode()
        self.send_response(201)
        self._cors()
        self.send_header("Content-Type", "application/sdp")
        self.send_header("Location", "/session/1")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_DELETE(self) -> None:  # noqa: N802
        """The player ends its session."""
        self.deleted.append(self.path)
        self.send_response(200)
        self._cors()
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_a_whep_stream_is_retried_until_it_plays_over_webrtc_from_a_real_sender(dash_duo, cam_app, clean: str,
                                                                                units: list[str]) -> None:
    """The gateway's part is played by a second Chromium that sends a canvas: real WebRTC media."""
    from selenium import webdriver

    unit = units[6]
    options = pytest_setup_options()
    options.add_argument("--disable-features=WebRtcHideLocalIpsWithMdns")   # its host candidates as addresses
    sender = webdriver.Chrome(options=options)
    relay = ThreadingHTTPServer(("127.0.0.1", 0), _WhepRelay)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    stop = threading.Event()

    def answer_offers() -> None:     # every offer (a retry too) gets a new connection from the sender
        sender.set_script_timeout(20)
        while not stop.is_set():
            try:
                offer = _WhepRelay.offers.get(timeout=0.5)
            except queue.Empty:
                continue
            _WhepRelay.answers.put(sender.execute_async_script(GATEWAY_ANSWER, offer))

    answering = threading.Thread(target=answer_offers, daemon=True)
    answering.start()
    try:
        set_stream(clean, unit, f"http://127.0.0.1:{relay.server_address[1]}/ST01/{unit}/whep")
        start_logged_in(dash_duo, cam_app, "commander", port=free_port())
        wait_js(dash_duo, "return !!document.querySelector('.qz-camera-config')")
        js(dash_duo, f"window.qzCamera.openOverlay('{unit}');")
        wait_playing(dash_duo, unit, timeout=30)
        path, ctype, sdp = _WhepRelay.seen[0]                              # refused, then offered again
        assert len(_WhepRelay.seen) >= 2 and path == f"/ST01/{unit}/whep" and ctype == "application/sdp"
        assert sdp.startswith("v=0") and "m=video" in sdp and "a=recvonly" in sdp
        [entry] = sql(clean, lambda c: c.fetch("SELECT details FROM audit_log WHERE action = 'stream.view' AND unit = $1",
                                               unit))
        assert '"kind": "whep"' in entry["details"]                        # one viewing, however many offers
        assert js(dash_duo, f"return !!document.querySelector('.qz-cam-tile[data-unit=\"{unit}\"] video').srcObject")
        dash_duo.driver.save_screenshot(str(ARTIFACTS / "camera_whep.png"))
        js(dash_duo, "window.qzCamera.closeOverlay();")
        end = time.monotonic() + 5
        while not _WhepRelay.deleted and time.monotonic() < end:
            time.sleep(0.1)
        assert _WhepRelay.deleted == ["/session/1"]                        # the session is ended at the gateway
    finally:
        stop.set()
        answering.join(25)
        sender.quit()
        relay.shutdown()
        relay.server_close()
