"""A class's summaries, built from its per-submission results.json files (never from memory).

``grades.csv`` has one row per submission: ``submission,score,max_score,<one column per group>,
status,seconds,reason``; ``checks.csv`` one row per check: its pass rate and mean points over
the class; ``report.html`` is a page that needs no network: a histogram of totals (inline SVG),
the pass rate of every check, the slowest submissions, and every submission's row.

Ids, group and check names, statuses and reasons are text, and an id is a student's file name:
every text cell of the CSV files is neutralised as OWASP recommends against CSV injection
(``spreadsheet_text``: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return
or a line feed gets a leading ``'``, so a spreadsheet shows it instead of running it as a formula),
while the numbers are written from numbers and stay numbers. The class table printed on stdout
(a CI log, in the matrix templates) shows every id and reason as one escaped line, and no line of
it starts a CI workflow command (``checks.engine.inputs.display``).

Because they are rebuilt from the reports on disk, an interrupted class still gets summaries of
what was finished, and a re-run that skips unchanged submissions summarises the whole class.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from checks.engine.inputs.display import inert, shown
from checks.engine.report import number_text, write_atomically

GRADES_CSV, CHECKS_CSV, REPORT_HTML = "grades.csv", "checks.csv", "report.html"
# OWASP's CSV Injection page: the first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
HISTOGRAM_BINS = 10
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
               extra["seconds"], extra["reason"], checks)


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
        ([row.submission, points(row.score), points(row.max_score), *(points(row.groups.get(g, 0.0)) for g in groups),
          row.status, round(row.seconds, 2), row.reason] for row in rows),
    )


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
    lines = [f"{names[row.submission]:<{width}}  {number_text(row.score):>7} / {number_text(row.max_score):<6} "
             f"{one_line(row.status)}" + (f": {one_line(row.reason)[:120]}" if row.reason else "")
             for row in rows if not quiet or row.reason]
    statuses = ", ".join(f"{count} {one_line(status)}" for status, count in status_counts(rows).items())
    return inert("\n".join([*lines, f"{len(rows)} submissions: {statuses or 'none'}"]))


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
.status-graded { color: #2a7d2a; } .status-import-error, .status-timeout, .status-grader-error { color: #b22; }
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
    """How many totals fall in each tenth of the maximum (full marks in the last bin)."""
    counts = [0] * HISTOGRAM_BINS
    for row in rows:
        fraction = row.score / row.max_score if row.max_score else 0.0
        counts[min(int(fraction * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    return counts


def histogram_svg(rows: Sequence[Row], width: int = 600, height: int = 200) -> str:
    """Bars of ``histogram_counts``, each with its count in ``data-count`` and a tooltip."""
    counts = histogram_counts(rows)
    tallest = max(counts) or 1
    slot = width / HISTOGRAM_BINS
    parts = [f'<svg id="histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
             f'role="img" aria-label="histogram of totals">']
    for i, count in enumerate(counts):
        bar = (height - 20) * count / tallest
        low, high = i * 100 // HISTOGRAM_BINS, (i + 1) * 100 // HISTOGRAM_BINS
        x = i * slot
        parts += [
            f'<rect class="bin" data-count="{count}" x="{x + 2:.1f}" y="{height - bar:.1f}" width="{slot - 4:.1f}" '
            f'height="{bar:.1f}" fill="#4a7ebb"><title>{low}-{high}%: {count}</title></rect>',
            f'<text x="{x + slot / 2:.1f}" y="{height - bar - 4:.1f}" text-anchor="middle" font-size="12">{count}</text>',
            f'<text x="{x + slot / 2:.1f}" y="{height + 16}" text-anchor="middle" font-size="11">{low}%</text>',
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
    return sorted(rows, key=lambda row: (-row.seconds, row.submission))[:SLOWEST_SHOWN]


def submissions_table(rows: Sequence[Row], table_id: str) -> str:
    lines = [f'<table id="{table_id}">', "<tr><th>submission</th><th>score</th><th>status</th><th>seconds</th>"
             "<th>reason</th></tr>"]
    for row in rows:
        status = html.escape(row.status)
        lines.append(
            f"<tr><td>{html.escape(one_line(row.submission))}</td>"
            f'<td class="number">{number_text(row.score)} / {number_text(row.max_score)}</td>'
            f'<td class="status-{status}">{status}</td><td class="number">{row.seconds:.1f}</td>'
            f"<td>{html.escape(one_line(row.reason))}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)
