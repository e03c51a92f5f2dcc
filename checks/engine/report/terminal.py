"""The summary printed on the terminal: a table by group, then check, with the first lines of each failure."""

from __future__ import annotations

import textwrap

from checks.engine.report.text import by_group, group_points, left_out_lines, mark, points_text, submission_id
from checks.engine.runner import CheckResult, Grade

WIDTH = 100
POINTS_WIDTH = 13  # "123.45 / 100" fits
MESSAGE_LINES = 2  # of each failing check
HYPOTHESIS_NOTES = ("Falsifying", "Failing ", "Trying example")


def terminal_summary(grade: Grade, width: int = WIDTH) -> str:
    """A table by group, then check: mark, check name, points; failing checks' first message lines."""
    lines = [f"rnn-grade: {submission_id(grade)}   (profile {grade.profile}, seed {grade.seed})", ""]
    if grade.import_error:
        # Wrapped, not cut: the end of this message says what to do (e.g. "pass ... with --path").
        lines += ["The submission could not be imported, so every check scored 0:"]
        for line in grade.import_error.splitlines():
            lines += textwrap.wrap(line, width, initial_indent="    ", subsequent_indent="      ") or [""]
        lines.append("")
    for group, results in by_group(grade.results):
        lines.append(_row(group, group_points(results), width))
        for result in results:
            lines += _check_rows(result, width, show_message=not grade.import_error)
        lines.append("")
    lines.append(_row("TOTAL", points_text(grade.score, grade.max_score), width))
    for line in left_out_lines(grade.left_out):
        lines += textwrap.wrap(line, width, subsequent_indent="    ")
    lines.append(f"profile {grade.profile}, seed {grade.seed}; graded in {grade.seconds:.1f} s")
    return "\n".join(lines)


def total_line(grade: Grade) -> str:
    """One line for --quiet: the total, the submission, the profile and the seed."""
    return (
        f"{points_text(grade.score, grade.max_score)} points: {submission_id(grade)} "
        f"(profile {grade.profile}, seed {grade.seed})"
    )


def headline(message: str) -> list[str]:
    """The first lines of a failure message, before Hypothesis's example (too long for a table)."""
    lines = []
    for line in message.splitlines():
        if line.startswith(HYPOTHESIS_NOTES) or len(lines) == MESSAGE_LINES:
            break
        if line.strip():
            lines.append(line.strip())
    return lines


def _check_rows(result: CheckResult, width: int, show_message: bool) -> list[str]:
    rows = [_row(f"  {mark(result)}  {result.check.name}", points_text(result.score, result.check.points), width)]
    if show_message and not result.passed:
        rows += [_fit(f"          {line}", width) for line in headline(result.message)]
    return rows


def _row(label: str, points: str, width: int) -> str:
    room = width - POINTS_WIDTH - 1
    return f"{_fit(label, room):<{room}} {points:>{POINTS_WIDTH}}"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
