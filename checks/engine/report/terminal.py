"""The report printed on the terminal, from the report model, wrapped and coloured with rich.

By default it fits on a screen or two: the root cause, one line a group, then each failing check
in a few lines (``model.Brief``: its verdict, the example in one sentence, the likely mistake, what
it probably follows from, the command that reproduces it), and at the very end the total and the
root cause again, where the eye is when the command returns. ``verbose`` (``-v``) shows every check
in the table and every failing check's feedback whole.

Wrapping is rich's (``Text.wrap``): it measures characters in terminal cells, so a name in CJK or
with combining accents does not overflow the line. Nothing is ever cut inside a line: a word longer
than the width is folded, and a shell command is continued with `` \\`` between its words (a quoted
word too long for a line is closed, continued with a backslash-newline and reopened), so it still
pastes as one command. Text from a submission is only ever a ``Text``'s plain content, never rich
markup (``[bold]`` in a message is printed as written), and its control characters are written out
(``text.visible``). Colour only where ``screen_of`` allows it (a terminal, no ``NO_COLOR``).

rich is imported with this module, which the command line imports only to print this report
(about 0.07-0.17 s; class grading and the other formats never import it).
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.text import Text

from checks.engine.report.feedback import COMMAND, MESSAGE, PROSE, Block
from checks.engine.report.model import CheckView, ReportModel, as_model
from checks.engine.report.text import visible
from checks.engine.run.results import Grade

WIDTH = 80  # when the terminal's width is unknown (not a terminal, no $COLUMNS)
NARROWEST = 40
POINTS_WIDTH = 13  # "123.45 / 100" fits
INDENT = "    "
MARK_STYLES = {"PASS": "green", "PART": "yellow", "FAIL": "red", "ERROR": "magenta"}
ROOT_STYLE = "bold"


@dataclass(frozen=True)
class Screen:
    """How the report is laid out: ``width`` in terminal cells, colour or not, brief or everything."""

    width: int = WIDTH
    colour: bool = False
    verbose: bool = False


def screen_of(stream: TextIO, environment: Mapping[str, str] | None = None, verbose: bool = False) -> Screen:
    """The terminal ``stream`` prints to (80 columns when unknown); colour only on a terminal, and never
    under ``NO_COLOR`` (https://no-color.org: any non-empty value) or ``TERM=dumb``."""
    environment = os.environ if environment is None else environment
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    colour = is_terminal and not environment.get("NO_COLOR") and environment.get("TERM") != "dumb"
    return Screen(max(shutil.get_terminal_size((WIDTH, 24)).columns, NARROWEST), colour, verbose)


def terminal_summary(report: Grade | ReportModel, screen: Screen = Screen()) -> str:
    """The report as text to print: plain, or with ANSI colours when ``screen.colour``."""
    model = as_model(report)
    lines = [*top(model, screen), *table(model, screen), *failures(model, screen), *ending(model, screen)]
    return rendered(lines, screen)


# -- the parts of the report, top to bottom ---------------------------------------------------------


def top(model: ReportModel, screen: Screen) -> list[Text]:
    """Who and how, the root cause, and what kept checks from grading the code (the import, left-out files)."""
    grade, width = model.grade, screen.width
    lines = [*wrapped(f"rnn-grade: {model.id}   (profile {grade.profile}, seed {grade.seed})", width), Text()]
    if model.root_cause:
        lines += [*wrapped(model.root_cause, width, style=ROOT_STYLE), Text()]
    if model.cut_short:  # why some checks failed at once
        lines += [*(line for cut in model.cut_short for line in wrapped(cut, width)), Text()]
    if grade.import_error:
        # Wrapped, not cut: the end of this message says what to do (e.g. "pass ... with --path").
        lines.append(Text("The submission could not be imported, so every check scored 0:"))
        lines += [*wrapped(visible(grade.import_error), width, INDENT), Text()]
    if model.files_left_out:
        lines += [line for note in model.files_left_out for line in wrapped(visible(note), width, "", INDENT)]
        lines.append(Text())
    return lines


def table(model: ReportModel, screen: Screen) -> list[Text]:
    """The points by group: every check under its group with -v; else one line a group that lost points,
    and the groups at full marks together (the whole assignment has 13 groups: a line each would push
    the failing checks off the first screen)."""
    lines: list[Text] = []
    if not screen.verbose:
        for group in (group for group in model.groups if group.losing):
            losing = f" ({group.losing} of {len(group.checks)} checks lost points)"
            lines += row(Text(group.name + losing), group.points, screen.width)
        full = [f"{group.name} {group.points.split(' / ')[-1]}" for group in model.groups if not group.losing]
        if full:
            lines += wrapped("full marks: " + ", ".join(full), screen.width, "", INDENT)
    for group in model.groups if screen.verbose else ():
        lines += row(Text(group.name), group.points, screen.width)
        for view in group.checks:
            lines += row(Text.assemble("  ", marked(view.mark), f"  {view.name}"), view.points, screen.width)
        lines.append(Text())
    lines += row(Text("TOTAL"), model.total, screen.width)
    lines += [line for note in model.left_out for line in wrapped(note, screen.width, "", INDENT)]
    if screen.verbose:  # the profile and seed are in the first line already
        grade = model.grade
        lines.append(Text(f"profile {grade.profile}, seed {grade.seed}; graded in {grade.seconds:.1f} s"))
    return lines


def failures(model: ReportModel, screen: Screen) -> list[Text]:
    """Each failing check, the most basic function first: in brief, or whole with -v."""
    if not model.failing:
        return []
    more = "" if screen.verbose else " (run with -v to see each in full)"
    lines = [Text(), *wrapped(f"Failing checks, the most basic function first{more}:", screen.width)]
    for view in model.failing:
        lines += [Text(), *row(Text.assemble(marked(view.mark), f"  {view.qualified_name}"), view.points, screen.width)]
        lines += whole(view, screen.width) if screen.verbose else in_brief(view, screen.width)
    if model.write_scripts and not screen.verbose:
        lines += [Text(), *wrapped("First write the scripts these commands run:", screen.width),
                  *command_lines(visible(model.write_scripts), screen.width)]
    return lines


def ending(model: ReportModel, screen: Screen) -> list[Text]:
    """The total and the root cause again: the last lines on screen when the command returns (not when
    no failing check is listed, for the table's own total is then still on screen)."""
    if not model.failing:
        return []
    lines = [Text(), *row(Text("TOTAL"), model.total, screen.width)]
    return lines + (wrapped(model.root_cause, screen.width, style=ROOT_STYLE) if model.root_cause else [])


def in_brief(view: CheckView, width: int) -> list[Text]:
    """A failing check in a few lines: verdict, example, likely mistake, what it follows from, its command."""
    brief = view.brief
    lines = wrapped(visible(brief.verdict), width, INDENT, INDENT)
    # A consequence whose likely mistake was told already for the function it follows from says both at once.
    same = " (same likely mistake)" if brief.follows_from and brief.mistake_told_for else ""
    for sentence in (brief.example, "" if same else brief.mistake):
        lines += wrapped(visible(sentence), width, INDENT, INDENT * 2) if sentence else []
    if brief.follows_from:
        lines += wrapped(f"Probably follows from {brief.follows_from}{same}: fix it first.", width, INDENT, INDENT * 2)
    return lines + (command_lines(visible(brief.command), width, "Reproduce:") if brief.command else [])


def whole(view: CheckView, width: int) -> list[Text]:
    """A failing check's every feedback block, each wrapped to ``width``."""
    lines: list[Text] = []
    for index, block in enumerate(view.blocks):
        lines += ([Text()] if index else []) + block_lines(block, width)
    return lines


def block_lines(block: Block, width: int) -> list[Text]:
    """One block wrapped to ``width``, indented under its check's heading."""
    if block.style == MESSAGE:
        return [line for text in visible(block.body).splitlines() for line in indented_lines(text, width, INDENT)]
    if block.style == PROSE:
        return wrapped(visible(f"{block.label} {block.body}" if block.label else block.body), width, INDENT)
    if block.style == COMMAND:
        body = [line for command in visible(block.body).splitlines()
                for line in command_lines(command, width, indent=INDENT * 2)]
    else:
        body = [line for text in visible(block.body).splitlines() for line in indented_lines(text, width, INDENT * 2)]
    return [*wrapped(block.label, width, INDENT), *body]


# -- wrapping ----------------------------------------------------------------------------------------

CONSOLE_OPTIONS = {"highlight": False, "markup": False, "emoji": False, "legacy_windows": False}
MEASURING = Console(width=WIDTH, **CONSOLE_OPTIONS)  # Text.wrap takes its width apart: one console measures all


def wrapped(text: str, width: int, indent: str = "", subsequent: str | None = None, style: str = "") -> list[Text]:
    """``text`` wrapped to ``width`` cells under ``indent`` (continuations under ``subsequent``): words
    whole unless longer than a line, nothing dropped. ``text`` is content, never markup."""
    subsequent = indent if subsequent is None else subsequent
    rest = Text(" ".join(text.strip().splitlines()), style=style)
    lines, prefix = [], indent
    while rest:
        room = max(width - len(prefix), 1)
        first = rest.wrap(MEASURING, room, overflow="fold")[0]
        rest = rest[len(first.plain):]  # the lines rich wraps keep their spaces: together they are the text
        rest = rest[len(rest.plain) - len(rest.plain.lstrip()):]
        first.rstrip()
        lines.append(Text.assemble(prefix, first))
        prefix = subsequent
    return lines or [Text()]


def indented_lines(text: str, width: int, indent: str) -> list[Text]:
    """``text`` wrapped under ``indent`` plus its own indentation, continuations indented a little more
    (so a wrapped array literal stays visibly inside the line it continues)."""
    if not text.strip():
        return [Text()]
    own = indent + text[: len(text) - len(text.lstrip())]
    return wrapped(text.strip(), width, own, own + "  ")


def command_lines(command: str, width: int, label: str = "", indent: str = INDENT) -> list[Text]:
    """A shell command in lines of at most ``width`` that still paste as one command.

    Lines break between shell words with `` \\``. A word too long for any line is cut into pieces,
    each quoted on its own and ended with a bare backslash: the shell removes backslash-newline
    outside quotes and joins adjacent quoted pieces, so the word is whole again.
    """
    lines, current = [], indent + label
    for word in shlex.split(command):
        quoted = shlex.quote(word)
        if current.strip() and len(current) + 1 + len(quoted) + 2 <= width:
            current += " " + quoted
            continue
        if current.strip():
            lines.append(current + " \\")
            current = indent + INDENT
        if len(current) + len(quoted) + 2 > width:  # room kept for " \" after it
            *whole_lines, current = folded_word(word, current, width - 2)
            lines += whole_lines
        else:
            current += quoted
    return [Text(line) for line in [*lines, current]]


def folded_word(word: str, start: str, width: int) -> list[str]:
    """``word`` quoted in pieces from ``start`` on: every line but the last ends with a backslash."""
    lines, current, rest = [], start, word
    while rest:
        room = width - len(current) - 3  # its quotes and the backslash
        cut = max(room, 1)
        while cut > 1 and len(current) + len(shlex.quote(rest[:cut])) + 1 > width:
            cut -= 1
        piece, rest = rest[:cut], rest[cut:]
        current += shlex.quote(piece)
        if rest:
            lines.append(current + "\\")
            current = ""
    return [*lines, current]


def row(label: Text, points: str, width: int) -> list[Text]:
    """``label`` and ``points`` right-aligned on one line; a label too long to fit wraps above its points.

    A label is a mark and a check's or group's name, one long identifier: textwrap's fill-then-break
    keeps the mark beside the name (rich would move the whole name to a line of its own first).
    """
    room = width - POINTS_WIDTH - 1
    if label.cell_len > room:
        indent = label.plain[: len(label.plain) - len(label.plain.lstrip())]
        pieces = textwrap.wrap(label.plain.strip(), room, initial_indent=indent, subsequent_indent=indent + INDENT,
                               break_long_words=True, break_on_hyphens=False)
        label = Text("\n").join(styled_like(label, piece) for piece in pieces)
    *above, last = label.split("\n")
    return [*above, Text.assemble(last, " " * max(room - last.cell_len, 0), f" {points:>{POINTS_WIDTH}}")]


def styled_like(label: Text, piece: str) -> Text:
    """``piece``, a line of ``label`` wrapped: the mark it starts with styled as in ``label``."""
    text = Text(piece)
    words = piece.split()
    if words and words[0] in MARK_STYLES and label.spans:
        start = piece.index(words[0])
        text.stylize(MARK_STYLES[words[0]], start, start + len(words[0]))
    return text


def marked(mark: str) -> Text:
    return Text(mark, style=MARK_STYLES.get(mark, ""))


def rendered(lines: list[Text], screen: Screen) -> str:
    """The lines as one string: their plain text, or through rich with colour (already wrapped: rich
    only adds the escape sequences of each line's styles)."""
    if not screen.colour:
        return "\n".join(line.plain.rstrip() for line in lines)
    out = io.StringIO()
    console = Console(file=out, width=screen.width, force_terminal=True, color_system="standard", **CONSOLE_OPTIONS)
    for line in lines:
        line.rstrip()
        console.print(line, soft_wrap=True)
    return out.getvalue().rstrip("\n")
