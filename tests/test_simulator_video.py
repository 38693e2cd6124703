"""The demo's camera video (qingzhi/simulator/video.py): real live HLS from ffmpeg, the file server
that publishes it like a gateway, the units that stream it, and the demo without ffmpeg.

One short stream at 160x90: the machine has two cores."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest

from qingzhi.config import load_settings
from qingzhi.simulator.fleet import Fleet
from qingzhi.simulator.run import camera_video, prepare
from qingzhi.simulator.video import MISSING, VideoFarm, ffmpeg_args, video_units


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), b""


def wait_segments(playlist: Path, n: int, timeout: float = 20) -> list[str]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if playlist.exists():
            names = [line for line in playlist.read_text().splitlines() if line.endswith(".ts")]
            if len(names) >= n:
                return names
        time.sleep(0.2)
    raise AssertionError(f"no {n} segments in {playlist}")


def test_ffmpeg_makes_live_hls_that_the_file_server_publishes_like_a_gateway(tmp_path: Path) -> None:
    farm = VideoFarm(tmp_path, ["S1-C01", "bad/../unit"], port=0, size="160x90", fps=5).start()
    try:
        assert farm.units == ["S1-C01"]                       # an id that is not one is never a path
        url = farm.url("S1-C01")
        assert url == f"http://127.0.0.1:{farm.port}/S1-C01/index.m3u8"
        first = wait_segments(tmp_path / "S1-C01" / "index.m3u8", 2)
        status, headers, body = get(url)
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "*" and "no-store" in headers["Cache-Control"]
        assert body.startswith(b"#EXTM3U") and b"#EXT-X-ENDLIST" not in body          # live: no end
        status, headers, seg = get(url.rsplit("/", 1)[0] + "/" + first[-1])
        assert status == 200 and seg[:1] == b"\x47" and headers["Access-Control-Allow-Origin"] == "*"  # MPEG-TS
        time.sleep(2.5)
        assert wait_segments(tmp_path / "S1-C01" / "index.m3u8", 2) != first           # it moves
        assert get(f"http://127.0.0.1:{farm.port}/")[0] == 404                         # no listings
        assert get(f"http://127.0.0.1:{farm.port}/S1-C01/")[0] == 404
        assert get(f"http://127.0.0.1:{farm.port}/../../etc/passwd")[0] == 404
        farm.stop_unit("S1-C01")
        stopped = (tmp_path / "S1-C01" / "index.m3u8").read_text()
        time.sleep(1.5)
        assert (tmp_path / "S1-C01" / "index.m3u8").read_text() == stopped              # a camera gone quiet
    finally:
        farm.close()
    assert not farm.procs


@pytest.mark.parametrize("unit", ["C01'; rm -rf /", "a:b", "", "x" * 65, "C01\n", "../C01"])
def test_hostile_unit_ids_never_reach_the_ffmpeg_command(unit: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a unit id"):
        ffmpeg_args("ffmpeg", unit, tmp_path)


def test_without_ffmpeg_the_demo_says_so_once_and_runs_without_video(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))                 # nothing called ffmpeg on it
    settings = load_settings()
    district, specs = prepare(settings, units=12, stations=2, seed=3, roads=None)
    with ExitStack() as stack:
        assert camera_video(stack, specs, 4, port=0, folder=tmp_path / "video") is None
        assert camera_video(stack, specs, 0, port=0, folder=None) is None
    assert capsys.readouterr().out.count(MISSING) == 1


def test_units_with_video_stream_it_and_no_unit_sends_an_unplayable_link() -> None:
    settings = load_settings()
    district, specs = prepare(settings, units=40, stations=2, seed=5, roads=None)
    chosen = video_units({s.id: s.station for s in specs}, 3)
    assert len(chosen) == 3 and len({s.station for s in specs if s.id in chosen}) == 2       # spread over stations
    fleet = Fleet(district, specs, np.random.default_rng(5), 1.0)
    urls = {u: f"http://127.0.0.1:8888/{u}/index.m3u8" for u in chosen}
    fleet.give_video(urls)
    sent: list[tuple[str, dict]] = []
    wall, sim = time.time(), 0.0
    for _ in range(600):                                       # 10 simulated minutes per unit, 1 s steps at 1x
        sim += 1.0
        wall += 1.0
        for u in fleet.units.values():
            sent += [(u.spec.id, p) for k, p in fleet.step(u, sim, 1.0) + fleet.devices(u, wall) if k == "cam"]
    links = {(unit, p.get("stream_url")) for unit, p in sent if "stream_url" in p}
    assert links == {(u, urls[u]) for u in chosen}            # only real video, each its own
    assert all(p["state"] == "streaming" for unit, p in sent if unit in chosen and p["state"] not in ("fault", "off"))
    assert any(p["state"] == "streaming" for unit, p in sent if unit in chosen)
    assert not any("rtsp" in str(p) for _, p in sent)
