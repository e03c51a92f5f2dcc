"""GitHub Actions and GitHub Classroom: the job summary, ``::error`` annotations, and Classroom's result.

- ``$GITHUB_STEP_SUMMARY``: the Markdown summary is appended (``markdown``), under 1 MiB.
- stdout: one ``::error`` workflow command per failing check, at most ``ANNOTATION_LIMIT`` (GitHub
  shows 10 of each kind per step), escaped as github/docs ``workflow-commands.md`` says.
- the terminal summary quotes failure messages, which a submission can fill with lines such as
  ``::error::...``: printed inside ``workflow_commands_stopped``, GitHub runs none of them
  (``::stop-commands::TOKEN`` ... ``::TOKEN::``, with a token the submission cannot know).
- ``$GITHUB_OUTPUT``: ``result=<base64 of JSON>``, the runner output that classroom-resources'
  ``autograding-grading-reporter`` decodes from ``<ID>_RESULTS``. Its schema is the runners'
  version 3 (``autograding-python-grader``): ``status`` pass/fail/error, ``max_score``, ``tests[]``
  with ``name``, ``status``, ``score``, ``message``, ``test_code``, ``filename``, ``line_no``,
  ``duration`` and ``output`` (cut to 500 characters). The reporter adds up ``tests[].score`` against
  ``max_score`` (src/notify-classroom.js), so each check keeps its own points (the stock python
  grader splits ``max-score`` evenly), and fails the job unless ``status`` is "pass".
  The reporter receives the result in one environment variable, which Linux caps at 128 KiB, so
  the encoded result is kept under ``RESULT_BYTES_BUDGET``: texts are cut shorter and shorter, and
  for hundreds of failing checks left out, never the scores.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from checks.engine.report.feedback import plain_blocks
from checks.engine.report.files import append_text
from checks.engine.report.markdown import markdown_summary
from checks.engine.report.model import CheckView, ReportModel, as_model
from checks.engine.report.text import clip, visible, within_budget
from checks.engine.run.results import Grade

SUMMARY_VARIABLE, OUTPUT_VARIABLE = "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"
ANNOTATION_LIMIT = 10
ANNOTATION_LINES = 6  # of a failure message: the annotation is a glance, the summary has the rest
CLASSROOM_OUTPUT_LIMIT = 500  # characters of a test's output, as the stock runners cut it
RESULT_BYTES_BUDGET = 96 * 1024  # of the base64 text: one environment variable holds at most 128 KiB


def publish(report: Grade | ReportModel, environment: Mapping[str, str], stdout: TextIO) -> None:
    """Annotate the failing checks on ``stdout``; append the summary and Classroom's result where GitHub says."""
    model = as_model(report)
    for command in annotations(model):
        print(command, file=stdout)
    if environment.get(SUMMARY_VARIABLE):
        append_text(Path(environment[SUMMARY_VARIABLE]), markdown_summary(model))
    if environment.get(OUTPUT_VARIABLE):
        append_text(Path(environment[OUTPUT_VARIABLE]), f"result={classroom_result_base64(model)}\n")


@contextmanager
def workflow_commands_stopped(stdout: TextIO) -> Iterator[None]:
    """While in the block, GitHub runs no workflow command the job prints (quoted text may hold some)."""
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", file=stdout, flush=True)
    try:
        yield
    finally:
        print(f"::{token}::", file=stdout, flush=True)


# -- annotations ---------------------------------------------------------------------------------


def annotations(report: Grade | ReportModel) -> list[str]:
    """``::error`` commands for the failing checks, the most basic function first (``root_cause``): at most
    ``ANNOTATION_LIMIT``, the last one counting the rest."""
    model = as_model(report)
    grade, failing = model.grade, model.failing
    file = _annotation_file(grade)
    if grade.import_error:
        return [error_command("The submission could not be imported, so every check scored 0:\n"
                              + grade.import_error, title="rnn-grade: import failed", file=file)]
    shown = failing if len(failing) <= ANNOTATION_LIMIT else failing[: ANNOTATION_LIMIT - 1]
    commands = [_check_annotation(view, file) for view in shown]
    if len(shown) < len(failing):
        commands.append(error_command(f"{len(failing) - len(shown)} more checks lost points; the job summary "
                                      "lists them all.", title="rnn-grade: more failing checks", file=file))
    return commands


def _check_annotation(view: CheckView, file: str | None) -> str:
    message = "\n".join(plain_blocks(view.blocks).splitlines()[:ANNOTATION_LINES])
    title = f"rnn-grade {view.qualified_name}: {view.points}"
    return error_command(message, title=title, file=file)


def _annotation_file(grade: Grade) -> str | None:
    """The submission's path, when it is relative (GitHub links annotations to files in the repository)."""
    return None if grade.submission.is_absolute() else grade.submission.as_posix()


def error_command(message: str, **properties: str | None) -> str:
    """``::error k=v,...::message``, escaped as GitHub's workflow commands require."""
    given = ",".join(f"{name}={escape_property(value)}" for name, value in properties.items() if value)
    return f"::error {given}::{escape_data(message)}" if given else f"::error::{escape_data(message)}"


def escape_data(text: str) -> str:
    return visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


# -- GitHub Classroom ------------------------------------------------------------------------------


def classroom_result(report: Grade | ReportModel) -> dict:
    """The runner result (version 3) the Classroom reporter reads, under ``RESULT_BYTES_BUDGET`` once encoded."""
    model = as_model(report)
    return within_budget(lambda limit: _classroom_document(model, limit), RESULT_BYTES_BUDGET,
                         size=lambda document: len(_encoded(document)), floor=0)


def classroom_result_base64(report: Grade | ReportModel) -> str:
    return _encoded(classroom_result(report))


def _encoded(document: dict) -> str:
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode("ascii")


def _classroom_document(model: ReportModel, text_limit: int) -> dict:
    grade = model.grade
    document = {
        "version": 3,
        "status": classroom_status(grade),
        "max_score": round(grade.max_score, 4),
        "tests": [_classroom_test(model, view, text_limit) for view in model.checks],
    }
    if grade.import_error:
        document["message"] = clip(f"The submission could not be imported: {grade.import_error}", max(text_limit, 200))
    return document


def classroom_status(grade: Grade) -> str:
    """error if a check is broken (no trustworthy grade), pass if every check passed, else fail."""
    if any(result.status == "error" for result in grade.results):
        return "error"
    return "pass" if not grade.import_error and all(result.passed for result in grade.results) else "fail"


def _classroom_test(model: ReportModel, view: CheckView, text_limit: int) -> dict:
    grade, result, check = model.grade, view.result, view.result.check
    return {
        "name": f"{check.group}/{check.name}",
        "status": {"passed": "pass", "failed": "fail", "error": "error"}[result.status],
        "score": round(result.score, 4),
        "message": visible(plain_blocks(view.blocks, text_limit)) if text_limit else "",
        "test_code": check.description if text_limit else "",
        "filename": grade.submission.name,
        "line_no": 0,  # the reporter prints "line N" unless 0; the check's own line means nothing to a student
        "duration": round(result.seconds, 3),
        "output": visible(result.output[:min(CLASSROOM_OUTPUT_LIMIT, text_limit)]),
    }
