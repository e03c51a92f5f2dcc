"""Gradescope's ``results.json``, per https://gradescope-autograders.readthedocs.io/en/latest/specs/.

That spec documents a fixed set of top-level keys and offers ``extra_data`` for anything else, so
the machine-readable profile and seed go into ``extra_data`` (and, for people, into ``output``).
Outputs are Markdown (``"md"``), with every text that comes from the submission or a check in a
fenced block or a code span (``markup``): Gradescope's default top-level format, ``simple_format``,
renders HTML, and a falsifying example such as ``<submission rnn.py>`` would be swallowed as a tag.
Test names are ``"text"``.

What students see (``output`` and each test's ``output``) is about their code only. Notes for the
instructor (the layers of confinement, what to pass so a missing module is found) go into
``extra_data`` and ``instructor_notes``, which the command line prints on stderr; on Gradescope that
is the autograder's captured output, shown to instructors only: ``stdout_visibility`` is "hidden".
Each test's ``visibility`` is its check's, from the points file.

Deterministic for a given submission, profile and seed, apart from ``execution_time``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from checks.engine.report.feedback import markdown_blocks
from checks.engine.report.markup import code_span, escaped, fenced
from checks.engine.report.model import CheckView, ReportModel, as_model
from checks.engine.report.text import OUTPUT_HEADING, clip, instructor_notes, within_budget
from checks.engine.run.results import Grade

# Gradescope keeps results.json small; the runner already caps each message (3000 chars) and each
# check's captured output (4 KB), and this budget guards the whole file whatever the check count.
RESULTS_BYTES_BUDGET = 512 * 1024


def gradescope_results(report: Grade | ReportModel) -> dict:
    """The results.json document for a grade, kept under ``RESULTS_BYTES_BUDGET`` when encoded."""
    model = as_model(report)
    return within_budget(lambda limit: _document(model, limit), RESULTS_BYTES_BUDGET)


def render(report: Grade | ReportModel, extra_data: Mapping[str, Any] | None = None) -> str:
    """results.json's text; ``extra_data`` is merged into the document's own (class grading keeps
    its bookkeeping there)."""
    document = gradescope_results(report)
    document["extra_data"].update(extra_data or {})
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _document(model: ReportModel, text_limit: int) -> dict:
    grade = model.grade
    tests = [_test(view, text_limit) for view in model.checks]
    return {
        "score": round(sum(test["score"] for test in tests), 4),
        "execution_time": int(round(grade.seconds)),
        "output": submission_output(model),
        "output_format": "md",
        "test_output_format": "md",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "submission": model.id,
            "profile": grade.profile,
            "seed": grade.seed,
            "max_score": round(grade.max_score, 4),
            "import_error": grade.import_error,
            "sandbox": grade.sandbox.as_data(),
            "instructor_notes": instructor_notes(grade),
            "left_out": [{"check": c.name, "group": c.group, "points": round(c.points, 4)} for c in grade.left_out],
            "root_cause": grade.root_cause.as_data() if grade.root_cause else None,
            "files_left_out": list(grade.files_left_out),  # checks.engine.inputs.intake: one sentence each
        },
        "tests": tests,
    }


def _test(view: CheckView, text_limit: int) -> dict:
    result, check = view.result, view.result.check
    return {
        "name": f"{check.group}: {check.description}",
        "score": round(result.score, 4),
        "max_score": round(check.points, 4),
        # Gradescope knows only passed and failed; a broken check is told apart in extra_data.
        "status": "passed" if result.passed else "failed",
        "output": test_output(view, text_limit),
        "output_format": "md",
        "tags": [check.group],
        "visibility": check.visibility,
        "extra_data": {"check": check.name, "status": result.status,
                       **({"consequence_of": result.consequence_of} if result.consequence_of else {}),
                       **({"cut_short_by": result.cut_short_by} if result.cut_short_by else {}),
                       **({"grader_error": result.grader_error} if result.grader_error else {}),
                       **({"misconception": result.misconception} if result.misconception else {})},
    }


def test_output(view: CheckView, text_limit: int) -> str:
    """One check's Markdown: its feedback (``feedback``), the points, then anything the code printed."""
    parts, result = [], view.result
    if not result.passed:
        parts += [markdown_blocks(view.blocks, text_limit), f"Points: {view.points}"]
    if result.output.strip():
        parts += [OUTPUT_HEADING, fenced(clip(result.output.rstrip(), text_limit))]
    return "\n\n".join(parts)


def submission_output(model: ReportModel) -> str:
    """The Markdown at the top of the Gradescope page: who, how, the total, and the group subtotals."""
    grade = model.grade
    parts = [
        f"rnn-grade: {model.total} points for {code_span(model.id)}",
        f"profile: {grade.profile}, seed: {grade.seed}",
    ]
    if model.root_cause:
        parts.insert(0, f"**{escaped(model.root_cause)}**")
    parts[1:1] = [escaped(line) for line in model.cut_short]  # why some checks failed at once
    if model.left_out:
        parts.append(fenced("\n".join(model.left_out)))
    if grade.import_error:
        parts += ["The submission could not be imported, so every check scored 0:", fenced(grade.import_error)]
    if model.files_left_out:
        heading, *notes = model.files_left_out
        parts += [heading, fenced("\n".join(notes))]
    if model.broken:
        parts.append(f"{len(model.broken)} check(s) could not be run because of a fault in the grader, not in your "
                     "code: " + ", ".join(code_span(name) for name in model.broken))
    subtotals = [f"- {escaped(group.name)}: {group.points}" for group in model.groups]
    parts.append("\n".join(subtotals))
    return "\n\n".join(parts)
