"""dash[testing]'s browser fixtures, each test still with a Chromium of its own, but started one test ahead.

Starting Chromium and its driver takes 1–1.5 s; made on a thread while the test before runs, it is ready
when the test asks. Nothing is shared between tests: a new browser (and download folder) every time,
quit when its test ends, as dash's own `dash_br` and `dash_duo` do.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from dash.testing.composite import DashComposite


class SpareChromium:
    """One browser ready ahead (a DashComposite without its server yet); `take` hands it over and starts the next."""

    def __init__(self, make: Callable[[], DashComposite]) -> None:
        self.make = make
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="qz-spare-chromium")
        self.next: Future[DashComposite] = self.thread.submit(make)

    def take(self, server: Any = None) -> DashComposite:
        browser = self.next.result()
        self.next = self.thread.submit(self.make)
        browser.server = server
        return browser

    def close(self) -> None:
        """Quit the browser nobody took."""
        try:
            self.next.result().driver.quit()
        except Exception:  # noqa: BLE001 - a spare that never started has nothing to quit
            pass
        self.thread.shutdown()
