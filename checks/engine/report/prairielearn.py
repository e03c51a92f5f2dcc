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

from checks.engine.report.feedback import command_path, plain_feedback
from checks.engine.report.text import (
    OUTPUT_HEADING, broken_checks, by_group, clip, group_points, points_text, submission_id, visible,
    within_budget,
)
from checks.engine.run.results import CheckResult, Grade

RESULTS_BYTES_BUDGET = 1_000_000 - 24 * 1024  # under PrairieLearn's 1 MB, with room for indentation


def prairielearn_results(grade: Grade) -> dict:
    """The results.json document for ``grade``, kept under ``RESULTS_BYTES_BUDGET`` when encoded."""
    return within_budget(lambda limit: _document(grade, limit), RESULTS_BYTES_BUDGET)


def render(grade: Grade) -> str:
    return json.dumps(prairielearn_results(grade), indent=1, ensure_ascii=False) + "\n"


def _document(grade: Grade, text_limit: int) -> dict:
    problems = ungradable_reasons(grade)
    document = {
        "gradable": not problems,
        "score": round(grade.score / grade.max_score, 6) if grade.max_score else 0.0,
        "message": " ".join([f"{points_text(grade.score, grade.max_score)} points for {submission_id(grade)}.",
                             *([grade.root_cause.line] if grade.root_cause else [])]),
        "output": _output(grade),
        "tests": [_test(result, command_path(grade), text_limit, bool(grade.left_out)) for result in grade.results],
    }
    if problems:
        document["format_errors"] = problems
    return document


def ungradable_reasons(grade: Grade) -> list[str]:
    """Why no grade should count (empty when it should): the import failed, or a check is broken."""
    reasons = []
    if grade.import_error:
        reasons.append(f"The submission could not be imported: {grade.import_error}")
    broken = broken_checks(grade)
    if broken:
        reasons.append(f"{len(broken)} check(s) could not be run because of a fault in the grader, not in your "
                       f"code ({', '.join(broken)}); this submission does not count, please submit again later.")
    return reasons


def _output(grade: Grade) -> str:
    lines = [f"profile: {grade.profile}, seed: {grade.seed}"]
    lines += [f"{group}: {group_points(results)}" for group, results in by_group(grade.results)]
    return "\n".join(lines)


def _test(result: CheckResult, submission: str, text_limit: int, self_check: bool) -> dict:
    check = result.check
    printed = f"{OUTPUT_HEADING}\n{visible(clip(result.output.rstrip(), text_limit))}" if result.output.strip() else ""
    return {
        "name": f"{check.group}: {check.name}",
        "description": check.description,
        "points": round(result.score, 4),
        "max_points": round(check.points, 4),
        "message": visible(plain_feedback(result, submission, text_limit, self_check)),
        "output": printed,
    }
