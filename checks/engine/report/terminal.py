"""The summary printed on the terminal: the root cause, a table by group, then each failing check's feedback.

Everything is wrapped to the terminal's width, never cut inside a line: a word longer than the
width is split across lines, and a shell command is continued with `` \\``. A failing check shows
at most a screenful by default (its message is shortened at a line's end, saying how much is left
and that ``-v`` shows it); ``verbose`` shows everything. Failing checks come most basic function
first, so the one to fix first is read first (``checks.engine.run.root_cause``).
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from checks.engine.report.feedback import COMMAND, MESSAGE, PROSE, Block, command_path, feedback_blocks
from checks.engine.report.text import (by_group, files_left_out_lines, group_points, left_out_lines, mark, points_text,
                                       submission_id, visible)
from checks.engine.run.root_cause import most_basic_first
from checks.engine.run.results import CheckResult, Grade

WIDTH = 80  # when the terminal's width is unknown (not a terminal, no $COLUMNS)
HEIGHT = 24
POINTS_WIDTH = 13  # "123.45 / 100" fits
INDENT = "    "
FEWEST_MESSAGE_LINES = 6  # of a long message, shown whatever the screen's height: it says what is wrong

COLOURS = {"PASS": "32", "PART": "33", "FAIL": "31", "ERROR": "35"}  # ANSI: green, yellow, red, magenta
BOLD = "1"
MARK_AT_START = re.compile(r"^( {0,2})(PASS|PART|FAIL|ERROR)\b")


@dataclass(frozen=True)
class Screen:
    """How the summary is laid out: ``width`` and ``height`` in characters, colour or not, everything or a screenful."""

    width: int = WIDTH
    height: int = HEIGHT
    colour: bool = False
    verbose: bool = False


def screen_of(stream: TextIO, environment: Mapping[str, str] | None = None, verbose: bool = False) -> Screen:
    """The terminal ``stream`` prints to (80 × 24 when unknown); colour only on a terminal, and never
    under ``NO_COLOR`` (https://no-color.org: any non-empty value) or ``TERM=dumb``."""
    environment = os.environ if environment is None else environment
    size = shutil.get_terminal_size((WIDTH, HEIGHT))
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    colour = is_terminal and not environment.get("NO_COLOR") and environment.get("TERM") != "dumb"
    return Screen(max(size.columns, 40), max(size.lines, 10), colour, verbose)


def terminal_summary(grade: Grade, screen: Screen = Screen()) -> str:
    """The root cause, a table by group and check (mark, name, points), then each failing check's feedback."""
    width = screen.width
    lines = [f"rnn-grade: {submission_id(grade)}   (profile {grade.profile}, seed {grade.seed})", ""]
    if grade.root_cause is not None:
        lines += [*wrapped(grade.root_cause.line, width), ""]
    if grade.import_error:
        # Wrapped, not cut: the end of this message says what to do (e.g. "pass ... with --path").
        lines += ["The submission could not be imported, so every check scored 0:"]
        lines += wrapped(visible(grade.import_error), width, INDENT)
        lines.append("")
    for line in files_left_out_lines(grade):
        lines += wrapped(visible(line), width, "", INDENT)
    lines += [""] if files_left_out_lines(grade) else []
    for group, results in by_group(grade.results):
        lines += row(group, group_points(results), width)
        for result in results:
            lines += row(f"  {mark(result)}  {result.check.name}", points_text(result.score, result.check.points), width)
        lines.append("")
    lines += row("TOTAL", points_text(grade.score, grade.max_score), width)
    for line in left_out_lines(grade.left_out):
        lines += wrapped(line, width, "", INDENT)
    lines.append(f"profile {grade.profile}, seed {grade.seed}; graded in {grade.seconds:.1f} s")
    failing = [] if grade.import_error else most_basic_first(grade.results)  # each would repeat the import error
    if failing:
        lines += ["", "Failing checks, the most basic function first:"]
        for result in failing:
            lines += ["", *failure(result, command_path(grade), screen, bool(grade.left_out))]
    return "\n".join(coloured(line, grade) for line in lines) if screen.colour else "\n".join(lines)


def total_line(grade: Grade) -> str:
    """One line for --quiet: the total, the submission, the profile and the seed."""
    return (
        f"{points_text(grade.score, grade.max_score)} points: {submission_id(grade)} "
        f"(profile {grade.profile}, seed {grade.seed})"
    )


def failure(result: CheckResult, submission: str, screen: Screen, self_check: bool = False) -> list[str]:
    """One failing check: its heading, then its feedback blocks, at most a screenful unless verbose."""
    check = result.check
    heading = row(f"{mark(result)}  {check.group}/{check.name}", points_text(result.score, check.points), screen.width)
    first, *rest = feedback_blocks(result, submission, self_check)
    others = [line for block in rest for line in ["", *block_lines(block, screen.width)]]
    room = max(FEWEST_MESSAGE_LINES, screen.height - len(heading) - len(others) - 2)
    message = message_lines(first, screen.width, None if screen.verbose else room)
    return [*heading, *message, *others]


def message_lines(block: Block, width: int, room: int | None) -> list[str]:
    """The message block in at most ``room`` terminal lines (all of it when None).

    Cut only between the message's own lines, never inside one: a wrapped line whose end is
    hidden would drop exactly its useful part (the expected value, the tolerance, the hint).
    """
    lines = [message_line(text, width) for text in visible(block.body).splitlines()]
    if room is None or sum(map(len, lines)) <= room:
        return [line for wrapped_line in lines for line in wrapped_line]
    shown, kept = list(lines[0]), 1  # the first line whatever its length: it says what is wrong
    while len(shown) + len(lines[kept]) <= room - 1:
        shown += lines[kept]
        kept += 1
    hidden = len(lines) - kept
    note = f"... {hidden} more line{'s' if hidden != 1 else ''} of this message: run rnn-grade with -v to see them all"
    return [*shown, *wrapped(note, width, INDENT)]


def block_lines(block: Block, width: int) -> list[str]:
    """One block wrapped to ``width``, indented under its check's heading."""
    if block.style == MESSAGE:
        return [line for text in visible(block.body).splitlines() for line in message_line(text, width)]
    if block.style == PROSE:
        text = f"{block.label} {block.body}" if block.label else block.body
        return wrapped(visible(text), width, INDENT)
    if block.style == COMMAND:
        body = [line for command in visible(block.body).splitlines() for line in command_lines(command, width)]
    else:
        body = [line for text in visible(block.body).splitlines() for line in indented_lines(text, width, INDENT * 2)]
    return [*wrapped(block.label, width, INDENT), *body]


def message_line(text: str, width: int) -> list[str]:
    """One line of a message, wrapped with its own indentation kept (and a little more on continuations)."""
    return indented_lines(text, width, INDENT)


def indented_lines(text: str, width: int, indent: str) -> list[str]:
    """``text`` wrapped under ``indent`` plus its own indentation, continuations indented a little more
    (so a wrapped array literal stays visibly inside the line it continues)."""
    if not text.strip():
        return [""]
    own = indent + text[: len(text) - len(text.lstrip())]
    return wrapped(text.strip(), width, own, own + "  ")


def command_lines(command: str, width: int) -> list[str]:
    """A shell command in lines of at most ``width`` that still paste as one command.

    Lines are broken between words with `` \\``. A word too long for any line is broken inside
    with a bare backslash, its rest at the start of the next line: the shell removes
    backslash-newline, so the word is whole again (indentation there would become part of it).
    """
    lines, current = [], INDENT * 2
    for word in command.split(" "):
        if current.strip() and len(current) + 1 + len(word) + 2 <= width:
            current += " " + word
            continue
        if current.strip():
            lines.append(current + " \\")
            current = INDENT * 3
        while len(current) + len(word) > width:
            room = width - len(current) - 1
            lines.append(current + word[:room] + "\\")
            current, word = "", word[room:]
        current += word
    return [*lines, current]


def wrapped(text: str, width: int, indent: str = "", subsequent: str | None = None) -> list[str]:
    """``text`` wrapped to ``width``: words kept whole unless longer than a line, nothing dropped."""
    lines = textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent if subsequent is None else
                          subsequent, break_long_words=True, break_on_hyphens=False, drop_whitespace=True)
    return lines or [""]


def row(label: str, points: str, width: int) -> list[str]:
    """``label`` and ``points`` right-aligned on one line; a label too long to fit wraps above its points."""
    room = width - POINTS_WIDTH - 1
    if len(label) <= room:
        return [f"{label:<{room}} {points:>{POINTS_WIDTH}}"]
    indent = label[: len(label) - len(label.lstrip())]
    lines = wrapped(label.strip(), room, indent, indent + INDENT)
    return [*lines[:-1], f"{lines[-1]:<{room}} {points:>{POINTS_WIDTH}}"]


def coloured(line: str, grade: Grade) -> str:
    """``line`` with its mark in colour, and the root cause in bold (the layout is already done)."""
    if grade.root_cause is not None and line.startswith(("Fix ", "Implement ")):
        return f"\x1b[{BOLD}m{line}\x1b[0m"
    return MARK_AT_START.sub(lambda m: f"{m.group(1)}\x1b[{COLOURS[m.group(2)]}m{m.group(2)}\x1b[0m", line)
