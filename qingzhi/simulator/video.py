"""Real moving video for the simulated body cameras: live HLS made by ffmpeg, served over HTTP.

For a handful of units, ffmpeg draws a test pattern with the unit's call sign and the time burnt in
and writes a live HLS stream (1-second segments, a short sliding playlist) into `<folder>/<unit>/`;
a small file server publishes the folder as `http://<host>:<port>/<unit>/index.m3u8` — the URL
layout of a MediaMTX gateway's HLS port (8888), so the dashboard meets what a real gateway gives it.
The file server allows any origin (CORS), as a gateway does: the dashboard's page fetches from it.

Low resolution, a low frame rate and one encoder thread each, because the demo shares its machine
with the database, the broker and the browser.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

UNIT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")   # PROTOCOL.md identifiers: safe in a path and a drawtext
MISSING = "ffmpeg not found: the demo runs without camera video (install Debian's ffmpeg package to see it)"


def ffmpeg_args(ffmpeg: str, unit: str, out: Path, *, size: str = "320x180", fps: int = 10) -> list[str]:
    """The ffmpeg command line of one unit's live stream (a test pattern, call sign and clock burnt in)."""
    if not UNIT_NAME.fullmatch(unit):
        raise ValueError(f"not a unit id: {unit!r}")
    text = rf"drawtext=text='{unit} %{{localtime\:%H\\\:%M\\\:%S}}':fontcolor=white:fontsize=18" \
           ":box=1:boxcolor=black@0.6:x=6:y=6"
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}", "-vf", text,
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-threads", "1", "-g", str(fps), "-f", "hls", "-hls_time", "1", "-hls_list_size", "6",
        "-hls_flags", "delete_segments+omit_endlist+temp_file", "-hls_start_number_source", "epoch",
        str(out / "index.m3u8"),
    ]


class _Files(SimpleHTTPRequestHandler):
    """Files of the video folder, to any origin; playlists never cached; no directory listings."""

    def end_headers(self) -> None:
        """Add CORS and caching headers to every answer."""
        self.send_header("Access-Control-Allow-Origin", "*")
        if self.path.split("?", 1)[0].endswith(".m3u8"):
            self.send_header("Cache-Control", "no-cache, no-store")
        super().end_headers()

    def list_directory(self, path: Any) -> None:
        """No listings: 404."""
        self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a playing tile asks several times a second."""


class VideoFarm:
    """ffmpeg streams for some units and the file server that publishes them."""

    def __init__(self, folder: Path, units: Iterable[str], *, host: str = "127.0.0.1", port: int = 8888,
                 size: str = "320x180", fps: int = 10, ffmpeg: str | None = None, tz: str | None = None) -> None:
        self.folder = Path(folder)
        self.env = {**os.environ, "TZ": tz} if tz else None    # the burnt-in clock in the centre's time zone
        self.units = [u for u in units if UNIT_NAME.fullmatch(u)]
        self.host, self.size, self.fps = host, size, fps
        self.ffmpeg = ffmpeg or shutil.which("ffmpeg")
        self.procs: dict[str, subprocess.Popen] = {}
        handler = functools.partial(_Files, directory=str(self.folder))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="qz-video-files", daemon=True)

    def url(self, unit: str) -> str:
        """Where a unit's stream is published."""
        return f"http://{self.host}:{self.port}/{unit}/index.m3u8"

    def urls(self) -> dict[str, str]:
        """unit -> stream URL, for every unit of the farm."""
        return {u: self.url(u) for u in self.units}

    def start(self) -> VideoFarm:
        """Serve the folder and start every unit's stream."""
        if self.ffmpeg is None:
            raise FileNotFoundError("ffmpeg")
        self._thread.start()
        for unit in self.units:
            self.start_unit(unit)
        return self

    def start_unit(self, unit: str) -> None:
        """(Re)start one unit's ffmpeg (a camera that streams again)."""
        if unit in self.procs and self.procs[unit].poll() is None:
            return
        out = self.folder / unit
        out.mkdir(parents=True, exist_ok=True)
        args = ffmpeg_args(self.ffmpeg or "ffmpeg", unit, out, size=self.size, fps=self.fps)
        self.procs[unit] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, env=self.env)

    def stop_unit(self, unit: str) -> None:
        """Stop one unit's ffmpeg (its playlist stays as it was, like a gateway whose camera went quiet)."""
        proc = self.procs.pop(unit, None)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        """Stop every stream and the file server."""
        for unit in list(self.procs):
            self.stop_unit(unit)
        if self._thread.is_alive():        # shutdown() waits for a loop that never started otherwise
            self.server.shutdown()
        self.server.server_close()


def start_video(folder: Path, units: Iterable[str], *, port: int = 8888, tz: str | None = None) -> VideoFarm | None:
    """A running farm for these units, or None (said once, on stdout) when ffmpeg is missing."""
    if shutil.which("ffmpeg") is None:
        print(MISSING, flush=True)
        return None
    farm = VideoFarm(folder, units, port=port, tz=tz).start()
    print(f"camera video: {len(farm.units)} live HLS streams on http://127.0.0.1:{farm.port}/", flush=True)
    return farm


def video_units(stations_of: dict[str, str], n: int) -> list[str]:
    """`n` units to give video, spread over the stations (one from each in turn), in a stable order."""
    by_station: dict[str, list[str]] = {}
    for unit, station in sorted(stations_of.items()):
        by_station.setdefault(station, []).append(unit)
    chosen: list[str] = []
    while len(chosen) < n and any(by_station.values()):
        for station in sorted(by_station):
            if by_station[station] and len(chosen) < n:
                chosen.append(by_station[station].pop(0))
    return chosen
