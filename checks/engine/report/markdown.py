"""A Markdown summary (``summary.md``, and GitHub's job summary): the total, a table per group, failures.

GitHub-flavoured Markdown: tables are GFM's. What the submission or a check wrote is fenced or in a
code span (``markup``), so it shows as written. The summary stays under ``SUMMARY_BYTES_BUDGET``,
GitHub's limit for one step's summary (1 MiB).
"""

from __future__ import annotations

from checks.engine.report.feedback import markdown_blocks
from checks.engine.report.markup import code_span, escaped, fenced
from checks.engine.report.model import CheckView, ReportModel, as_model
from checks.engine.report.text import OUTPUT_HEADING, clip, within_budget
from checks.engine.run.results import Grade

SUMMARY_BYTES_BUDGET = 1024 * 1024 - 1024  # GitHub's 1 MiB per step, with room for other steps' lines


def markdown_summary(report: Grade | ReportModel) -> str:
    """The summary for a grade, kept under ``SUMMARY_BYTES_BUDGET`` when encoded as UTF-8."""
    model = as_model(report)
    return within_budget(lambda limit: _summary(model, limit), SUMMARY_BYTES_BUDGET,
                         size=lambda text: len(text.encode()))


def render(report: Grade | ReportModel) -> str:
    return markdown_summary(report)


def _summary(model: ReportModel, text_limit: int) -> str:
    grade = model.grade
    parts = [
        f"## rnn-grade: {model.total} points for {code_span(model.id)}",
        f"profile {grade.profile}, seed {grade.seed}",
    ]
    if model.root_cause:  # right under the total: the first thing to read
        parts.insert(1, f"**{escaped(model.root_cause)}**")
    parts[2:2] = [escaped(line) for line in model.cut_short]  # why some checks failed at once
    if grade.import_error:
        parts += ["The submission could not be imported, so every check scored 0:", fenced(grade.import_error)]
    if model.files_left_out:
        heading, *notes = model.files_left_out
        parts += [heading, fenced("\n".join(notes))]
    for group in model.groups:
        parts += [f"### {escaped(group.name)}: {group.points}", _table(group.checks)]
    if model.failing:  # none after an import error: each would repeat it
        parts.append("### Failing checks, the most basic function first")
        parts += [_failure(view, text_limit) for view in model.failing]
    return "\n\n".join(parts) + "\n"


def _table(views: tuple[CheckView, ...]) -> str:
    rows = ["| | Check | What it checks | Points |", "|---|---|---|---:|"]
    rows += [f"| {view.mark} | {code_span(view.name)} | {escaped(view.result.check.description)} | "
             f"{view.points} |" for view in views]
    return "\n".join(rows)


def _failure(view: CheckView, text_limit: int) -> str:
    result = view.result
    parts = [f"#### {view.mark} {code_span(view.qualified_name)}: {view.points}", markdown_blocks(view.blocks, text_limit)]
    if result.output.strip():
        parts += [OUTPUT_HEADING, fenced(clip(result.output.rstrip(), text_limit))]
    return "\n\n".join(parts)
