"""A Markdown summary (``summary.md``, and GitHub's job summary): the total, a table per group, failures.

GitHub-flavoured Markdown: tables are GFM's. What the submission or a check wrote is fenced or in a
code span (``markup``), so it shows as written. The summary stays under ``SUMMARY_BYTES_BUDGET``,
GitHub's limit for one step's summary (1 MiB).
"""

from __future__ import annotations

from checks.engine.report.feedback import command_path, markdown_feedback
from checks.engine.report.markup import code_span, escaped, fenced
from checks.engine.report.text import (
    OUTPUT_HEADING, by_group, clip, files_left_out_lines, group_points, mark, points_text, submission_id, within_budget,
)
from checks.engine.run.root_cause import most_basic_first
from checks.engine.run.results import CheckResult, Grade

SUMMARY_BYTES_BUDGET = 1024 * 1024 - 1024  # GitHub's 1 MiB per step, with room for other steps' lines


def markdown_summary(grade: Grade) -> str:
    """The summary for ``grade``, kept under ``SUMMARY_BYTES_BUDGET`` when encoded as UTF-8."""
    return within_budget(lambda limit: _summary(grade, limit), SUMMARY_BYTES_BUDGET,
                         size=lambda text: len(text.encode()))


def render(grade: Grade) -> str:
    return markdown_summary(grade)


def _summary(grade: Grade, text_limit: int) -> str:
    parts = [
        f"## rnn-grade: {points_text(grade.score, grade.max_score)} points for {code_span(submission_id(grade))}",
        f"profile {grade.profile}, seed {grade.seed}",
    ]
    if grade.root_cause:  # right under the total: the first thing to read
        parts.insert(1, f"**{escaped(grade.root_cause.line)}**")
    if grade.import_error:
        parts += ["The submission could not be imported, so every check scored 0:", fenced(grade.import_error)]
    if files_left_out_lines(grade):
        heading, *notes = files_left_out_lines(grade)
        parts += [heading, fenced("\n".join(notes))]
    for group, results in by_group(grade.results):
        parts += [f"### {escaped(group)}: {group_points(results)}", _table(results)]
    failing = most_basic_first(grade.results)
    if failing and not grade.import_error:  # each would repeat the import error
        parts.append("### Failing checks, the most basic function first")
        parts += [_failure(result, command_path(grade), text_limit, bool(grade.left_out)) for result in failing]
    return "\n\n".join(parts) + "\n"


def _table(results: list[CheckResult]) -> str:
    rows = ["| | Check | What it checks | Points |", "|---|---|---|---:|"]
    rows += [f"| {mark(result)} | {code_span(result.check.name)} | {escaped(result.check.description)} | "
             f"{points_text(result.score, result.check.points)} |" for result in results]
    return "\n".join(rows)


def _failure(result: CheckResult, submission: str, text_limit: int, self_check: bool) -> str:
    check = result.check
    parts = [f"#### {mark(result)} {code_span(f'{check.group}/{check.name}')}: "
             f"{points_text(result.score, check.points)}", markdown_feedback(result, submission, text_limit, self_check)]
    if result.output.strip():
        parts += [OUTPUT_HEADING, fenced(clip(result.output.rstrip(), text_limit))]
    return "\n\n".join(parts)
