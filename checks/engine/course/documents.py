"""One submission of a class: graded, and turned into the documents of its folder ``OUT/<id>/``.

What both backends run for each submission: a forked grading process (``checks.engine.course.batch``)
and a cluster node (``checks.engine.course.cluster``), whose client writes what a node returns.

Its folder gets ``results.json`` (Gradescope's format, with the row's status and reason in
``extra_data``: the statuses are ``checks.engine.course.statuses``), the student's feedback page
``feedback.md`` and ``feedback.html`` (``checks.engine.course.feedback_page``), written always, the
formats asked for, and ``repro/<check>.py``. A graded file that is empty or that Python cannot read
(``checks.engine.course.source_problems``) is not imported at all: its row says what is wrong.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Mapping, Sequence

from checks.engine.course.classroom import Entry
from checks.engine.course.feedback_page import FEEDBACK_HTML, FEEDBACK_MD, feedback_html
from checks.engine.course.settings import GradingSettings
from checks.engine.course.source_problems import SourceProblem, source_problem
from checks.engine.course.statuses import GRADED, GRADER_ERROR, IMPORT_ERROR, TIMEOUT
from checks.engine.report import FORMATS, GITHUB, write_atomically
from checks.engine.report.files import ReportWriteError
from checks.engine.report.gradescope import render as gradescope_render
from checks.engine.report.markdown import render as markdown_render
from checks.engine.run.cpus import cores
from checks.engine.run.lookahead import worth_drawing_ahead
from checks.engine.run.repro import script_files, script_path
from checks.engine.run.results import CheckResult, Grade
from checks.engine.run.runner import grade_submission, unimportable_result
from checks.engine.run.streams import StreamSet
from checks.registry import bound_profile

RESULTS = "results.json"


REPRO = "repro"  # OUT/<id>/repro/<check>.py: the reproduction scripts of its failing checks


GRADER_FAILED = ("This submission could not be graded because of a fault in the grader, not in your code; "
                 "your course staff can see the details.")


STOP_GRACE = 10.0  # seconds an interrupted grading process has to stop its worker and exit


def submission_documents(entry: Entry, stamp: str, settings: GradingSettings,
                         streams: StreamSet | None = None) -> dict[str, str]:
    """Grade one submission: ``{path in OUT/<id>: text}`` of every file of its report, results.json last.

    What both backends run for each submission: the forked grading process here, and a cluster
    node's grading process (``checks.engine.course.cluster``), whose client writes what this returns.
    """
    problem = source_problem(entry)
    grade = not_importable(entry, settings, problem.reason) if problem else grade_entry(entry, settings, streams)
    documents = script_files(grade, REPRO)
    extra_data = class_extra_data(grade, stamp, problem)
    documents.update(report_documents(grade, extra_data, settings.formats))
    return documents


def grade_entry(entry: Entry, settings: GradingSettings, streams: StreamSet | None = None) -> Grade:
    """The grade of one entry; a student folder with nothing to import gets zeros and the reason.

    ``streams``: the class's examples, drawn once (``checks.engine.run.streams``); without them, each
    grade draws its own, ahead where a core is spare."""
    if entry.problem:
        return not_importable(entry, settings, entry.problem)
    options = replace(settings.worker_options, copy_siblings=not entry.alone)
    return grade_submission(entry.path, settings.checks, settings.seed, deadline=settings.deadline, options=options,
                            left_out=settings.left_out, submission_id=entry.id,
                            lookahead=worth_drawing_ahead(settings.jobs or cores()), streams=streams)


def not_importable(entry: Entry, settings: GradingSettings, reason: str) -> Grade:
    """Zeros on every check, each saying ``reason``, without starting a worker."""
    results = [unimportable_result(check, reason) for check in settings.checks]
    return Grade(entry.path, bound_profile(), settings.seed, results, import_error=reason, id=entry.id)


def report_documents(grade: Grade, extra_data: dict, formats: Sequence[str] = ()) -> dict[str, str]:
    """``{file name: text}`` of one submission's reports: the file formats asked for (prairielearn.json,
    junit.xml, summary.md), the feedback page (feedback.md, feedback.html), and results.json last (its
    presence means done).

    ``github`` writes to the workflow's own files, one result per job: it is not per submission.
    """
    reports = [FORMATS[name] for name in formats if name not in ("gradescope", GITHUB)]
    documents = {report.file_name: report.render(grade) for report in reports}
    feedback = markdown_render(grade)
    documents[FEEDBACK_MD] = feedback
    documents[FEEDBACK_HTML] = feedback_html(feedback, grade.id)
    documents[RESULTS] = gradescope_render(grade, extra_data)
    return documents


def write_documents(out: Path, submission_id: str, documents: Mapping[str, str]) -> None:
    """Write each ``{path in OUT/<id>: text}`` atomically, in order (results.json last: then the report is
    done), never through a link below ``out`` (``report.files``: ReportWriteError instead).

    A reproduction script is never written over a file rnn-grade did not write.
    """
    folder = out / submission_id
    for name, text in documents.items():
        path = folder / name
        if name.startswith(f"{REPRO}/"):
            script_path(path.parent, path.stem)
        write_atomically(path, text, beneath=out)


def deliver(out: Path, submission_id: str, documents: Mapping[str, str]) -> None:
    """``write_documents``, for a report graded elsewhere (a cluster node): if its folder cannot be written
    (a link, say), nothing is, and the submission's row (``read_row``) says why; the class goes on."""
    try:
        write_documents(out, submission_id, documents)
    except ReportWriteError:
        pass


def class_extra_data(grade: Grade, stamp: str | None, problem: SourceProblem | None = None) -> dict:
    """What class grading records in results.json's extra_data (the summaries are built from it);
    ``problem``, the graded file's, decides the status and reason if there is one."""
    status = problem.status if problem else status_of(grade)
    return {"status": status, "reason": reason_of(grade, status), "seconds": round(grade.seconds, 3),
            "fingerprint": stamp if status != GRADER_ERROR else None, "feedback": FEEDBACK_HTML,
            "examples": grade.examples_key or None}


def status_of(grade: Grade) -> str:
    if any(result.status == "error" for result in grade.results):
        return GRADER_ERROR
    if grade.import_timed_out:
        return TIMEOUT
    return IMPORT_ERROR if grade.import_error else GRADED


def reason_of(grade: Grade, status: str) -> str:
    """One line: why the submission was not graded (empty when it was)."""
    if status == GRADER_ERROR:
        text = next(result.grader_error for result in grade.results if result.grader_error)
    else:
        text = grade.import_error or ""
    return " ".join(text.split())


def record_grader_error(entry: Entry, settings: GradingSettings, out: Path, reason: str) -> None:
    """A report of zeros for a submission the grader failed on (regraded by the next run)."""
    results = [CheckResult(check, 0.0, GRADER_FAILED) for check in settings.checks]
    grade = Grade(entry.path, bound_profile(), settings.seed, results, id=entry.id)
    extra = {"status": GRADER_ERROR, "reason": reason, "seconds": 0.0, "fingerprint": None, "feedback": FEEDBACK_HTML}
    try:
        write_documents(out, entry.id, report_documents(grade, extra))
    except ReportWriteError:
        pass  # its folder cannot be written (a link, say): read_row's row then says why
