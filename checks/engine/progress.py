"""A one-line progress bar for class grading, redrawn with a carriage return on a terminal.

It shows done/total, how many submissions could not be graded so far, and an estimate of the
time left (from the submissions graded in this run: skipped ones cost nothing). It draws
nothing unless its stream is a terminal; ``--quiet`` turns it off too.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24


class ProgressBar:
    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.done = self.failed = self.graded = 0
        self.started = time.monotonic()

    def advance(self, failed: bool, skipped: bool = False) -> None:
        """One more submission finished (``skipped``: its report was already up to date)."""
        self.done += 1
        self.failed += failed
        self.graded += not skipped
        self.draw()

    def draw(self) -> None:
        if self.enabled:
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def line(self) -> str:
        filled = BAR_WIDTH * self.done // self.total if self.total else BAR_WIDTH
        return (f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total}  "
                f"{self.failed} not graded  ETA {self.eta()}   ")

    def eta(self) -> str:
        remaining = self.total - self.done
        if not remaining:
            return "0:00"
        if not self.graded:
            return "?"
        seconds = int((time.monotonic() - self.started) / self.graded * remaining)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
