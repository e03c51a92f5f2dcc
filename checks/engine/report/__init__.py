"""Reports of a ``Grade``, one module per platform, and the registry that writes the requested ones.

- ``gradescope``: Gradescope's ``results.json`` (Markdown outputs, per-check visibility);
- ``prairielearn``: PrairieLearn's external-grader ``results.json``;
- ``junit``: JUnit XML for GitLab and Jenkins;
- ``github``: the GitHub Actions job summary, ``::error`` annotations, GitHub Classroom's result;
- ``markdown``: a Markdown summary;
- ``terminal``: the report printed by ``rnn-grade`` (imported by the command line only when it prints
  one: it imports rich).

Every format renders one ``model.ReportModel`` per grade (``report_model``): the groups, the order of
the failing checks, the root cause, each check's feedback blocks and the quoted commands are worked
out there once. ``write_reports`` builds it once for all the formats it writes.

``FORMATS`` names every format ``--format`` accepts; each file format has the file name it takes
beside ``results.json`` in a class folder. ``write_reports`` writes the requested ones for one grade.
Student-visible text is about the student's code only; ``text.instructor_notes`` is for staff.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from checks.engine.report import github, gradescope, junit, markdown, prairielearn
from checks.engine.report.files import write_atomically
from checks.engine.report.gradescope import RESULTS_BYTES_BUDGET, gradescope_results
from checks.engine.report.feedback import check_output, feedback_blocks
from checks.engine.report.model import ReportModel, as_model, report_model
from checks.engine.report.text import instructor_notes, mark, number_text, points_text, total_line
from checks.engine.run.results import Grade

__all__ = [
    "FORMATS", "GITHUB", "Format", "RESULTS_BYTES_BUDGET", "ReportModel", "check_output", "feedback_blocks",
    "gradescope_results", "report_model",
    "instructor_notes", "mark", "paths_beside", "points_text", "total_line", "quoting_submissions",
    "write_reports", "write_results", "write_atomically", "number_text",
]

GITHUB = "github"


@dataclass(frozen=True)
class Format:
    """A report written to a file: its name in a class folder, its path option, and what it holds."""

    file_name: str
    option: str  # the rnn-grade option that names its file for one submission
    render: Callable[[Grade | ReportModel], str]


FORMATS: dict[str, Format | None] = {  # None: github writes where GitHub's environment variables say
    "gradescope": Format("results.json", "--results", gradescope.render),
    "prairielearn": Format("prairielearn.json", "--prairielearn", prairielearn.render),
    "junit": Format("junit.xml", "--junit", junit.render),
    GITHUB: None,
    "markdown": Format("summary.md", "--markdown", markdown.render),
}


def write_reports(grade: Grade | ReportModel, formats: Sequence[str], paths: Mapping[str, Path],
                  environment: Mapping[str, str] | None = None, stdout: TextIO | None = None) -> None:
    """Write each of ``formats`` for ``grade``: a file format to ``paths[name]`` (skipped without a path),
    atomically; ``github`` to GitHub's files (``environment``, default ``os.environ``) and ``stdout``.
    The report model is built once for them all."""
    model = as_model(grade)
    for name in formats:
        report = FORMATS[name]
        if report is None:
            github.publish(model, os.environ if environment is None else environment, stdout or sys.stdout)
        elif name in paths:
            write_atomically(paths[name], report.render(model))


def quoting_submissions(formats: Sequence[str]) -> AbstractContextManager[None]:
    """The context in which to print text quoted from submissions: with ``github``, GitHub runs no
    workflow command from it."""
    return github.workflow_commands_stopped(sys.stdout) if GITHUB in formats else nullcontext()


def paths_beside(folder: Path, formats: Sequence[str]) -> dict[str, Path]:
    """Where class mode writes each file format of one submission: ``folder/results.json`` and its siblings."""
    return {name: Path(folder) / report.file_name for name in formats if (report := FORMATS[name]) is not None}


def write_results(grade: Grade, path: Path, extra_data: Mapping[str, Any] | None = None) -> None:
    """Write Gradescope's results.json atomically: a reader (Gradescope) never sees a half-written file.

    ``extra_data`` is merged into the document's own.
    """
    write_atomically(Path(path), gradescope.render(grade, extra_data))
