"""PrairieLearn's external-grader ``results.json``, per PrairieLearn's docs/externalGrading.md.

``score`` is a fraction in [0, 1]; ``tests[]`` carry the points. ``gradable`` is false when the
submission could not even be imported (a syntax error, a missing module, an import that hangs), and
also when a check is broken (a fault in the grader): PrairieLearn then marks the submission
"invalid, not gradable", awards and takes no points, and does not use up the student's attempt. The
reason goes into ``format_errors``, which PrairieLearn shows for such a submission.

The texts are plain text, as the element ``<pl-external-grader-results>`` shows them.
The file must stay under 1 MB.
"""

from __future__ import annotations

import json

from checks.engine.report.feedback import plain_blocks
from checks.engine.report.model import CheckView, ReportModel, as_model
from checks.engine.report.text import OUTPUT_HEADING, clip, visible, within_budget
from checks.engine.run.results import Grade

RESULTS_BYTES_BUDGET = 1_000_000 - 24 * 1024  # under PrairieLearn's 1 MB, with room for indentation


def prairielearn_results(report: Grade | ReportModel) -> dict:
    """The results.json document for a grade, kept under ``RESULTS_BYTES_BUDGET`` when encoded."""
    model = as_model(report)
    return within_budget(lambda limit: _document(model, limit), RESULTS_BYTES_BUDGET)


def render(report: Grade | ReportModel) -> str:
    return json.dumps(prairielearn_results(report), indent=1, ensure_ascii=False) + "\n"


def _document(model: ReportModel, text_limit: int) -> dict:
    grade = model.grade
    problems = ungradable_reasons(model)
    document = {
        "gradable": not problems,
        "score": round(grade.score / grade.max_score, 6) if grade.max_score else 0.0,
        "message": " ".join([f"{model.total} points for {model.id}.", *([model.root_cause] if model.root_cause else [])]),
        "output": _output(model),
        "tests": [_test(view, text_limit) for view in model.checks],
    }
    if problems:
        document["format_errors"] = problems
    return document


def ungradable_reasons(model: ReportModel) -> list[str]:
    """Why no grade should count (empty when it should): the import failed, or a check is broken."""
    reasons = []
    if model.grade.import_error:
        reasons.append(f"The submission could not be imported: {model.grade.import_error}")
    broken = model.broken
    if broken:
        reasons.append(f"{len(broken)} check(s) could not be run because of a fault in the grader, not in your "
                       f"code ({', '.join(broken)}); this submission does not count, please submit again later.")
    return reasons


def _output(model: ReportModel) -> str:
    lines = [f"profile: {model.grade.profile}, seed: {model.grade.seed}"]
    lines += [f"{group.name}: {group.points}" for group in model.groups]
    return "\n".join(lines)


def _test(view: CheckView, text_limit: int) -> dict:
    result, check = view.result, view.result.check
    printed = f"{OUTPUT_HEADING}\n{visible(clip(result.output.rstrip(), text_limit))}" if result.output.strip() else ""
    return {
        "name": f"{check.group}: {check.name}",
        "description": check.description,
        "points": round(result.score, 4),
        "max_points": round(check.points, 4),
        "message": visible(plain_blocks(view.blocks, text_limit)),
        "output": printed,
    }
