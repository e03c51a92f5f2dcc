"""One-line progress on a terminal, redrawn with a carriage return: a bar for class grading
(``ProgressBar``) and the running check for one submission (``CheckProgress``).

The bar shows done/total, how many submissions could not be graded so far, and an estimate of the
time left, from the start: before anything is graded, from what one submission is expected to
take (the seconds recorded in the up-to-date reports a re-run skips, else ``SECONDS_PER_CHECK``
per check, as measured) over the submissions graded at once; then from the pace of this run's
gradings (skipped ones cost nothing), with that expectation counted as one more. The estimate is
made at each completion and counts down in between: the class loop redraws the bar about once a
second (``tick``), so it never freezes; a submission that runs past the estimate re-estimates from
the time spent so far. It draws nothing unless its stream is a terminal, so a piped stderr holds
no carriage return or escape code; ``--quiet`` turns it off too.

Hand-written rather than rich.progress (the terminal report does use rich): rich's time-remaining
column is computed from completions only, so it too stands still between them; its live display
redraws from a thread, and the class loop forks a grading process per submission, which a running
thread makes unsafe; and this one line is all the bar is.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable, TextIO

if TYPE_CHECKING:
    from checks.registry import Check

BAR_WIDTH = 24
# Seconds of one submission's grade per check, on one grading slot, with the built-in 28 checks: a
# class of 12 correct and 28 buggy submissions took 95.4 s with --jobs 1 (2.4 s each) and 70.8 s with
# --jobs 2 (3.5 s a slot) in docs/benchmarks.md's class throughput run; 0.1 s a check, 2.8 s each, between.
SECONDS_PER_CHECK = 0.1
LEAST_ESTIMATE = 1.0  # seconds: an estimate run down below this is made again from the time spent


class ProgressBar:
    """``[####....] 12/40  1 not graded  ETA 0:42``; ``expected_seconds`` is one submission's grade
    on one core, ``parallel`` how many are graded at once."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True,
                 expected_seconds: float = 0.0, parallel: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.done = self.failed = self.graded = 0
        self.clock = clock
        self.started = clock()
        self.per_slot = expected_seconds
        self.parallel = max(1, parallel)
        self.recorded: list[float] = []  # seconds of the skipped, up-to-date reports
        self.end = self.started + self.remaining * self.per_slot / self.parallel

    @property
    def remaining(self) -> int:
        return self.total - self.done

    def advance(self, failed: bool, skipped: bool = False, seconds: float = 0.0) -> None:
        """One more submission finished (``skipped``: its report, which took ``seconds``, was up to date)."""
        self.done += 1
        self.failed += failed
        self.graded += not skipped
        if skipped and seconds > 0:
            self.recorded.append(seconds)
            self.per_slot = sum(self.recorded) / len(self.recorded)
        now = self.clock()
        self.end = now + self.remaining * self.seconds_per_submission(now)
        self.draw()

    def seconds_per_submission(self, now: float) -> float:
        """Wall-clock seconds per submission: the expectation alone, then blended with this run's pace."""
        expected = self.per_slot / self.parallel
        if not self.graded:
            return expected
        return (now - self.started + expected) / (self.graded + 1)

    def overdue_seconds_per_submission(self, now: float) -> float:
        """As ``seconds_per_submission``, counting the time spent: nothing graded yet means each takes longer."""
        if not self.graded:  # each of the submissions being graded at once has taken this long, at least
            return (now - self.started + self.per_slot) / self.parallel
        return self.seconds_per_submission(now)

    def tick(self) -> None:
        """Redraw (the class loop calls this about once a second, so the estimate counts down)."""
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
        if not self.remaining:
            return "0:00"
        if not self.per_slot and not self.graded:
            return "?"  # nothing expected and nothing measured yet
        now = self.clock()
        if self.end - now < LEAST_ESTIMATE:  # overdue: the estimate was short; make it again from the time spent
            self.end = now + self.remaining * self.overdue_seconds_per_submission(now)
        seconds = max(0, math.ceil(self.end - now))  # whole seconds left, counting down one a second
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
