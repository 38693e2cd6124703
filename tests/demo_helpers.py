"""Helpers for tests that run `qingzhi demo` as a user does: its output as it comes, its processes, its data."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest


class Running:
    """A subprocess whose output lines (stdout and stderr) are collected as they come."""

    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str], new_session: bool = False) -> None:
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, start_new_session=new_session)
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True).start()

    def _read(self, stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 90) -> str:
        """The first line containing text; fails with all output so far if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.out + self.err)
                continue
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in:\n{''.join(self.out + self.err)}")

    def family(self) -> list[psutil.Process]:
        """The process, its children and grandchildren."""
        me = psutil.Process(self.proc.pid)
        return [me, *me.children(recursive=True)]


def env_without_settings(**extra: str) -> dict[str, str]:
    """This process's environment without any QZ_* setting, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QZ_")}
    env.update(extra)
    return env


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory outside pytest's tmp root: pytest resets that root to mode 0700 (even from other
    sessions running at the same time), which locks out the `pgserver` user PostgreSQL runs as under root."""
    folder = Path(tempfile.mkdtemp(prefix="qz-demo-", dir="/tmp"))
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)
