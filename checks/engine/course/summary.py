"""A class's summaries, built from its per-submission results.json files (never from memory).

``grades.csv`` has one row per submission of the class, in discovery order: ``submission,score,
max_score,<one column per group>,status,seconds,reason``. ``status`` is one of
``checks.engine.course.statuses``: ``graded``; ``empty``, ``syntax-error``, ``encoding-error``,
``import-error`` or ``timeout`` (the student's file could not be graded: 0, and the reason says
why); ``grader-error`` (the grader's fault); ``not-graded-yet`` (the run was stopped first: score
and group cells left blank, never 0). ``checks.csv`` has one row per check: its pass rate and
mean points over the submissions that were graded; ``report.html`` is a page that needs no
network: a histogram of totals (inline SVG, with a bar of its own for full marks), the pass rate of
every check, the slowest submissions, and every submission's row, linked to its feedback page
(``<id>/feedback.html``, a relative link).

Ids, group and check names, statuses and reasons are text, and an id is a student's file name:
every text cell of the CSV files is neutralised as OWASP recommends against CSV injection
(``spreadsheet_text``: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return
or a line feed gets a leading ``'``, so a spreadsheet shows it instead of running it as a formula),
while the numbers are written from numbers and stay numbers. The class table printed on stdout
(a CI log, in the matrix templates) shows every id and reason as one escaped line, and no line of
it starts a CI workflow command (``checks.engine.inputs.display``).

Because they are rebuilt from the reports on disk, an interrupted class still gets summaries of
what was finished, with a ``not-graded-yet`` row for every other submission, and a re-run that
skips unchanged submissions summarises the whole class.
"""

from __future__ import annotations

import csv
import html
import io
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from checks.engine.course.statuses import NOT_GRADED_REASON, NOT_GRADED_YET
from checks.engine.inputs.display import inert, shown
from checks.engine.report import number_text, write_atomically

GRADES_CSV, CHECKS_CSV, REPORT_HTML = "grades.csv", "checks.csv", "report.html"
# OWASP's CSV Injection page: the first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
HISTOGRAM_BINS = 10  # tenths of the maximum, below full marks; full marks have a bar of their own
FULL_MARKS_TOLERANCE = 1e-9  # points are sums of floats: 99.99999999 of 100 is full marks
SLOWEST_SHOWN = 10


@dataclass(frozen=True)
class Row:
    """One submission's line of the class summary, read from its results.json."""

    submission: str
    score: float
    max_score: float
    groups: dict[str, float]
    status: str
    seconds: float
    reason: str
    checks: tuple[CheckRow, ...]
    feedback: str = ""  # the feedback page's file name in the submission's folder, if it has one

    @property
    def graded_yet(self) -> bool:
        return self.status != NOT_GRADED_YET


@dataclass(frozen=True)
class CheckRow:
    group: str
    check: str
    score: float
    max_score: float
    passed: bool


def row_of(document: dict) -> Row:
    """The summary row of a results.json document written by class grading."""
    extra = document["extra_data"]
    checks = tuple(CheckRow(test["tags"][0], test["extra_data"]["check"], test["score"], test["max_score"],
                            test["status"] == "passed") for test in document["tests"])
    groups: dict[str, float] = {}
    for check in checks:
        groups[check.group] = groups.get(check.group, 0.0) + check.score
    return Row(extra["submission"], document["score"], extra["max_score"], groups, extra["status"],
               extra["seconds"], extra["reason"], checks, page_name(extra.get("feedback")))


def page_name(name: object) -> str:
    """The feedback page's name as results.json records it, if it is a plain file name (else none)."""
    return name if isinstance(name, str) and name and "/" not in name and not name.startswith(".") else ""


def not_graded_row(submission: str, max_score: float) -> Row:
    """The row of a submission the run stopped before grading: no score, and what to do."""
    return Row(submission, 0.0, max_score, {}, NOT_GRADED_YET, 0.0, NOT_GRADED_REASON, ())


def write_summaries(rows: Sequence[Row], out: Path) -> None:
    """grades.csv, checks.csv and report.html in ``out``, each written atomically."""
    write_atomically(out / GRADES_CSV, grades_csv(rows), beneath=out)
    write_atomically(out / CHECKS_CSV, checks_csv(rows), beneath=out)
    write_atomically(out / REPORT_HTML, report_html(rows), beneath=out)


def group_names(rows: Sequence[Row]) -> list[str]:
    """Every group, in the order the checks report them."""
    return list(dict.fromkeys(group for row in rows for group in row.groups))


def grades_csv(rows: Sequence[Row]) -> str:
    groups = group_names(rows)
    return csv_text(
        ["submission", "score", "max_score", *groups, "status", "seconds", "reason"],
        ([row.submission, *score_cells(row, groups), row.status, round(row.seconds, 2), row.reason] for row in rows),
    )


def score_cells(row: Row, groups: Sequence[str]) -> list:
    """score, max_score and each group's points; blank but for max_score where the row is not graded yet."""
    if not row.graded_yet:
        return ["", points(row.max_score), *("" for _ in groups)]
    return [points(row.score), points(row.max_score), *(points(row.groups.get(g, 0.0)) for g in groups)]


@dataclass(frozen=True)
class CheckStats:
    group: str
    check: str
    max_points: float
    submissions: int
    passed: int
    total_points: float

    @property
    def pass_rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0

    @property
    def mean_points(self) -> float:
        return self.total_points / self.submissions if self.submissions else 0.0


def check_stats(rows: Sequence[Row]) -> list[CheckStats]:
    """Per check, over every submission (one that could not be imported counts as failing it)."""
    results: dict[tuple[str, str], list[CheckRow]] = {}
    for row in rows:
        for check in row.checks:
            results.setdefault((check.group, check.check), []).append(check)
    return [CheckStats(group, name, max(c.max_score for c in seen), len(seen), sum(c.passed for c in seen),
                       sum(c.score for c in seen)) for (group, name), seen in results.items()]


def checks_csv(rows: Sequence[Row]) -> str:
    return csv_text(
        ["group", "check", "max_points", "submissions", "passed", "pass_rate", "mean_points"],
        ([s.group, s.check, points(s.max_points), s.submissions, s.passed, round(s.pass_rate, 4),
          points(s.mean_points)] for s in check_stats(rows)),
    )


def csv_text(header: list[str], rows) -> str:
    """The CSV file: every text cell on one line and through ``spreadsheet_text``; numbers as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in [header, *rows]:
        writer.writerow([spreadsheet_text(one_line(cell)) if isinstance(cell, str) else cell for cell in row])
    return buffer.getvalue()


def spreadsheet_text(text: str) -> str:
    """``text`` as a cell a spreadsheet shows and never evaluates: a leading ``'`` before a formula start."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def points(value: float) -> int | float:
    """Points to 4 decimals, as results.json rounds them, without a trailing ".0" (a number, not text)."""
    rounded = round(value, 4)
    return int(rounded) if rounded == int(rounded) else rounded


def class_table(rows: Sequence[Row], quiet: bool = False) -> str:
    """For the terminal or a CI log: one line per submission (with --quiet, only those not graded), then the
    count. Ids and reasons are the students': each is one escaped line, and no line runs a workflow command."""
    names = {row.submission: one_line(row.submission) for row in rows}
    width = max((len(name) for name in names.values()), default=10)
    lines = [f"{names[row.submission]:<{width}}  {score_text(row):>7} / {number_text(row.max_score):<6} "
             f"{one_line(row.status)}" + (f": {one_line(row.reason)[:120]}" if row.reason else "")
             for row in rows if not quiet or row.reason]
    statuses = ", ".join(f"{count} {one_line(status)}" for status, count in status_counts(rows).items())
    return inert("\n".join([*lines, f"{len(rows)} submissions: {statuses or 'none'}"]))


def score_text(row: Row) -> str:
    return number_text(row.score) if row.graded_yet else "-"


def one_line(text: str) -> str:
    """``text`` shown on one line: as ``display.shown`` escapes it, if it holds a character that needs it."""
    return shown(text) if any(not character.isprintable() for character in text) else text


# -- report.html ---------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.75em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.bar { background: #4a7ebb; height: 0.8em; }
td[class^="status-"] { white-space: nowrap; }
.status-graded { color: #2a7d2a; } .status-not-graded-yet { color: #777; }
.status-empty, .status-syntax-error, .status-encoding-error, .status-import-error, .status-timeout,
.status-grader-error { color: #b22; }
"""


def report_html(rows: Sequence[Row]) -> str:
    """The whole page; every value from a submission is escaped (ids and reasons are the students')."""
    statuses = ", ".join(f"{count} {html.escape(status)}" for status, count in status_counts(rows).items())
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        "<title>rnn-grade: class report</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        "<h1>rnn-grade: class report</h1>",
        f"<p>{len(rows)} submissions: {statuses or 'none'}.</p>",
        "<h2>Totals</h2>", histogram_svg(rows),
        "<h2>Checks</h2>", checks_table(rows),
        "<h2>Slowest submissions</h2>", submissions_table(slowest(rows), "slowest"),
        "<h2>Every submission</h2>", submissions_table(rows, "submissions"),
        "</body>", "</html>", "",
    ])


def status_counts(rows: Sequence[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def histogram_counts(rows: Sequence[Row]) -> list[int]:
    """How many totals of graded rows fall in each tenth of the maximum, below full marks (0-10%, ...,
    90-100%), then how many have full marks: ``HISTOGRAM_BINS + 1`` counts."""
    counts = [0] * (HISTOGRAM_BINS + 1)
    for row in rows:
        if row.graded_yet:
            counts[histogram_bin(row)] += 1
    return counts


def histogram_bin(row: Row) -> int:
    if row.max_score and row.score >= row.max_score - FULL_MARKS_TOLERANCE:
        return HISTOGRAM_BINS  # full marks: the last bar
    fraction = row.score / row.max_score if row.max_score else 0.0
    return min(max(int(fraction * HISTOGRAM_BINS), 0), HISTOGRAM_BINS - 1)


def bin_label(index: int) -> tuple[str, str]:
    """The axis label and the tooltip's range of bar ``index``."""
    if index == HISTOGRAM_BINS:
        return "100%", "100% (full marks)"
    low, high = index * 100 // HISTOGRAM_BINS, (index + 1) * 100 // HISTOGRAM_BINS
    return f"{low}%", f"{low}% to under {high}%"


def histogram_svg(rows: Sequence[Row], width: int = 600, height: int = 200) -> str:
    """Bars of ``histogram_counts``, each with its count in ``data-count`` and a tooltip."""
    counts = histogram_counts(rows)
    tallest = max(counts) or 1
    slot = width / len(counts)
    parts = [f'<svg id="histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
             f'role="img" aria-label="histogram of totals">']
    for i, count in enumerate(counts):
        bar = (height - 20) * count / tallest
        label, span = bin_label(i)
        x = i * slot
        colour = "#2a7d2a" if i == HISTOGRAM_BINS else "#4a7ebb"
        parts += [
            f'<rect class="bin" data-count="{count}" x="{x + 2:.1f}" y="{height - bar:.1f}" width="{slot - 4:.1f}" '
            f'height="{bar:.1f}" fill="{colour}"><title>{span}: {count}</title></rect>',
            f'<text x="{x + slot / 2:.1f}" y="{height - bar - 4:.1f}" text-anchor="middle" font-size="12">{count}</text>',
            f'<text x="{x + slot / 2:.1f}" y="{height + 16}" text-anchor="middle" font-size="11">{label}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def checks_table(rows: Sequence[Row]) -> str:
    lines = ['<table id="checks">', "<tr><th>group</th><th>check</th><th>pass rate</th><th></th>"
             "<th>mean points</th></tr>"]
    for stats in check_stats(rows):
        lines.append(
            f"<tr><td>{html.escape(stats.group)}</td><td>{html.escape(stats.check)}</td>"
            f'<td class="number">{stats.pass_rate:.0%}</td>'
            f'<td><div class="bar" style="width: {100 * stats.pass_rate:.0f}px"></div></td>'
            f'<td class="number">{number_text(stats.mean_points)} / {number_text(stats.max_points)}</td></tr>')
    lines.append("</table>")
    return "\n".join(lines)


def slowest(rows: Sequence[Row]) -> list[Row]:
    return sorted((row for row in rows if row.graded_yet), key=lambda row: (-row.seconds, row.submission))[
        :SLOWEST_SHOWN]


def submissions_table(rows: Sequence[Row], table_id: str) -> str:
    lines = [f'<table id="{table_id}">', "<tr><th>submission</th><th>score</th><th>status</th><th>seconds</th>"
             "<th>reason</th></tr>"]
    for row in rows:
        status = html.escape(row.status)
        lines.append(
            f"<tr><td>{submission_cell(row)}</td>"
            f'<td class="number">{score_text(row)} / {number_text(row.max_score)}</td>'
            f'<td class="status-{status}">{status}</td><td class="number">{row.seconds:.1f}</td>'
            f"<td>{html.escape(one_line(row.reason))}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def submission_cell(row: Row) -> str:
    """The id, escaped, linked to the submission's feedback page if it has one: a relative link whose
    every character outside ``[A-Za-z0-9_.~/-]`` is percent-encoded, so it can only lead into OUT/<id>/."""
    name = html.escape(one_line(row.submission))
    if not row.feedback:
        return name
    target = urllib.parse.quote(f"{row.submission}/{row.feedback}", safe="/")
    return f'<a href="./{html.escape(target)}">{name}</a>'
