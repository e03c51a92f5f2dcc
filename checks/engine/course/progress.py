"""One-line progress on a terminal, redrawn with a carriage return: a bar for class grading
(``ProgressBar``) and the running check for one submission (``CheckProgress``).

It shows done/total, how many submissions could not be graded so far, and an estimate of the
time left (from the submissions graded in this run: skipped ones cost nothing). It draws
nothing unless its stream is a terminal; ``--quiet`` turns it off too.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from checks.registry import Check

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


class CheckProgress:
    """One line on a terminal while one submission is graded: ``[12/28] backward/sequence_backward…``.

    It names the check now running, rewritten in place with a carriage return, and is wiped before
    the report is printed. It draws nothing unless its stream is a terminal.
    """

    def __init__(self, checks: Sequence[Check], stream: TextIO | None = None, enabled: bool = True) -> None:
        self.checks = list(checks)
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.done = 0
        self.drawn = 0  # characters of the line now on the screen
        self.draw()

    def advance(self, result: object = None) -> None:
        """One more check finished (a ``grade_submission`` progress callback: the result is not needed)."""
        self.done += 1
        self.draw()

    def line(self) -> str:
        if self.done >= len(self.checks):
            return ""
        check = self.checks[self.done]
        text = f"[{self.done + 1}/{len(self.checks)}] {check.group}/{check.name}…"
        width = shutil.get_terminal_size((80, 24)).columns - 1  # the last column would wrap on some terminals
        return text if len(text) <= width else text[: width - 1] + "…"

    def draw(self) -> None:
        if self.enabled:
            text = self.line()
            # Spaces over what is left of a longer previous line; back to the start once nothing is left.
            self.stream.write("\r" + text.ljust(self.drawn) + ("" if text else "\r"))
            self.stream.flush()
            self.drawn = len(text)

    def close(self) -> None:
        """Wipe the line, so the report starts at the beginning of a clean one."""
        if self.enabled and self.drawn:
            self.stream.write("\r" + " " * self.drawn + "\r")
            self.stream.flush()
            self.drawn = 0
