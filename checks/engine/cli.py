"""The ``rnn-grade`` command: grade one submission, print a summary, optionally write results.json;
or grade a class (several PATHs, a class folder, or ``--out``: ``checks.engine.course.batch``).

Exit status for one submission: 0 full marks, 1 some check lost points (an unimportable submission
included: it still gets a complete report of zeros), 2 no trustworthy grade (bad arguments, bad
checks, a check whose own code raised, an internal error), 130 interrupted. For a class: 0 every
submission graded, 1 some could not be graded at all, 2 bad usage or a grader error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from checks.engine.inputs.display import inert, shown
from checks.engine.isolation.confinement import ACTIVE
from checks.engine.course.settings import GradingSettings
from checks.engine.inputs.usage import UsageError
from checks.engine.options import add_to_argparse, resolve
from checks.engine.run.profiles import PROFILE_ENVIRONMENT
from checks.engine.course.progress import CheckProgress
from checks.engine.course.source_problems import source_problem
from checks.engine.report import (
    ReportModel, instructor_notes, quoting_submissions, report_model, total_line, write_reports,
)
from checks.engine.run.repro import ReproFolderError, attach_scripts
from checks.engine.run.results import Grade
from checks.engine.run.runner import grade_submission

EXIT_FULL_MARKS, EXIT_LOST_POINTS, EXIT_NO_GRADE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEBUG_ENVIRONMENT = "RNN_GRADE_DEBUG"

DESCRIPTION = "Grade a NumPy RNN submission with property-based checks."
EPILOG = f"""\
PATH is your .py file, or a folder whose __init__.py provides the functions. For a class, give
several PATHs or a class folder (a folder without __init__.py: each .py file in it, and each
subfolder, is one submission) and --out DIR; a re-run skips what is unchanged (--force regrades).
--cluster tcp://HOST:8786 grades a class on a Dask cluster (pip install 'rnn-grade[cluster]').
In a CI matrix of N jobs, job I runs with --shard I/N (each submission is graded by one job), and
    rnn-grade merge OUT1 OUT2 ... --out MERGED
combines the jobs' --out folders into the reports one unsharded run would have written, and
    rnn-grade export --lms canvas|moodle --roster ROSTER.csv --class OUT
writes the gradebook file Canvas or Moodle imports from OUT/grades.csv (rnn-grade export --help).

results.json is written only when --results is given (nothing is written into the current
folder by default). On Gradescope, run:
    rnn-grade /autograder/submission/rnn_layers.py --results /autograder/results/results.json
Other platforms: --format prairielearn --prairielearn /grade/results/results.json;
--format junit --junit report.xml (GitLab, Jenkins); --format github (in GitHub Actions: job
summary, annotations, and GitHub Classroom's result in $GITHUB_OUTPUT); --format markdown
--markdown summary.md. Formats combine: --format gradescope,junit --results r.json --junit j.xml.

The profile comes from --profile, else from the environment variable {PROFILE_ENVIRONMENT},
else "default". The same submission, profile and seed always give the same grade.

--self-check runs only the checks that need no reference solution, and says which it left out.
    rnn-grade bundle student --out DIR
writes a wheel of the checks without the reference, for students to install and self-check with.
    rnn-grade bundle gradescope --out autograder.zip [--points FILE | --assignment NAME] [--checks-dir DIR]...
writes Gradescope's autograder: setup.sh, run_autograder, the grader and the course's checks.

exit status: 0 full marks; 1 some check lost points (also when the submission cannot be
imported); 2 no trustworthy grade (bad arguments, a broken check, or an internal error: the
report, if asked for, is still written and lists every check); 130 interrupted.
class exit status: 0 every submission was graded (whatever the scores); 1 some submission could
not be graded at all (import error, or a hang at import); 2 bad usage or a grader error.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status; nothing escapes as a traceback."""
    try:
        return run(argv)
    except KeyboardInterrupt:
        print("rnn-grade: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as problem:
        note(str(problem))
        return EXIT_NO_GRADE
    except Exception as error:  # noqa: BLE001 - a grader bug must still end with a clear message
        note(f"internal error: {type(error).__name__}: {error}")
        if os.environ.get(DEBUG_ENVIRONMENT):
            traceback.print_exc()
        else:
            print(f"(set {DEBUG_ENVIRONMENT}=1 to see the traceback)", file=sys.stderr)
        return EXIT_NO_GRADE


def run(argv: Sequence[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # Messages quote math (⊙, ², −); a C-locale terminal must not turn that into a crash.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    argv = list(sys.argv[1:] if argv is None else argv)
    # Class grading and the bundles are imported only when asked for: one submission's grade
    # needs neither (multiprocessing, importlib.metadata, zipfile, csv and html are theirs).
    if argv[:2] == ["bundle", "gradescope"]:  # rnn-grade bundle gradescope --out autograder.zip
        from checks.engine.bundles import gradescope_bundle

        return gradescope_bundle.main(argv[2:])
    if argv[:1] == ["bundle"]:  # rnn-grade bundle student --out DIR
        from checks.engine.bundles import student_package

        return student_package.main(argv[1:])
    if argv[:1] == ["merge"]:  # rnn-grade merge OUT... --out MERGED
        from checks.engine.course import merge

        return merge.main(argv[1:])
    if argv[:1] == ["export"]:  # rnn-grade export --lms canvas|moodle --roster ROSTER.csv
        from checks.engine.course import export

        return export.main(argv[1:])
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad options, 0 after --help
        return int(exit_.code or 0)
    settings = resolve(args)
    if settings.class_mode:
        from checks.engine.course.batch import run_class
        from checks.engine.course.classroom import folders_written_by_rnn_grade
        from checks.engine.inputs.intake import OUTPUT_MARKER

        for folder in folders_written_by_rnn_grade([Path(path) for path in args.submissions]):
            note(f"note: {shown(folder)} was not graded: it holds rnn-grade's own output (an --out or --repro-dir "
                 f"folder). If it is a student's, remove {OUTPUT_MARKER} or the scripts from it.")
        return run_class(settings)
    grade = grade_one(settings, folder_given=Path(args.submissions[0]).is_dir() if args.submissions else False)
    problems, unscripted = [], []
    try:
        unscripted = attach_scripts(grade, settings.repro_dir)  # with --repro-dir: each check left without, and why
    except ReproFolderError as problem:
        problems.append(str(problem))
    model = report_model(grade)  # once, for every report below
    # First: the files a platform needs must not depend on a working terminal.
    problems += save(model, settings)
    with quoting_submissions(settings.formats):
        show(total_line(grade) if settings.quiet else terminal_report(model, settings.verbose))
        show_instructor_notes(grade, verbose=settings.verbose)
        report_grader_errors(grade)
    for problem in unscripted + problems:  # after the grade: a report that could not be written never hides it
        note(problem)
    return EXIT_NO_GRADE if problems else exit_status(grade)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnn-grade", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_to_argparse(parser)
    parser.add_argument("--version", action="version", version=f"rnn-grade {installed_version()}",
                        help="print rnn-grade's version and exit")
    return parser


def installed_version() -> str:
    """The installed distribution's version (the student wheel's, installed as rnn-grade-student)."""
    from importlib.metadata import PackageNotFoundError, version

    for distribution in ("rnn-grade", "rnn-grade-student"):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return "(version unknown: not installed as a package)"


def terminal_report(model: ReportModel, verbose: bool) -> str:
    """The report for the terminal; rich is imported only here, when one is printed."""
    from checks.engine.report.terminal import screen_of, terminal_summary

    return terminal_summary(model, screen_of(sys.stdout, verbose=verbose))


def show_instructor_notes(grade: Grade, verbose: bool) -> None:
    """On stderr, for the instructor (never in the student's report): what they should know (a protection
    missing, a module to provide, feedback that raised), and with -v how the worker was confined.

    A protection that is there is no news: without -v nothing is printed then."""
    notes = [f"note: {text}" for text in instructor_notes(grade)]
    if verbose:
        active = [layer.title for layer in grade.sandbox.layers if layer.state == ACTIVE]
        notes.insert(0, f"the worker was confined by: {', '.join(active) or 'no protection'}")
    for text in notes:
        note(text, wrap=True)


def note(text: str, wrap: bool = False) -> None:
    """``rnn-grade: text`` on stderr; text quoted from a submission (a module's name, a message) never
    starts a line a CI runner would run as a workflow command. ``wrap``: wrapped to the width of
    the terminal stderr goes to (80 columns if unknown), continuations indented."""
    text = f"rnn-grade: {text}"
    if wrap:
        width = max(shutil.get_terminal_size((80, 24)).columns, 40)
        text = "\n".join(textwrap.wrap(text, width, subsequent_indent="    ", break_long_words=True,
                                        break_on_hyphens=False)) or text
    print(inert(text), file=sys.stderr)


def show(text: str) -> None:
    """Print to stdout; a reader that went away (``rnn-grade ... | head``) is not an error.

    The summary quotes the submission (messages, printed output), wrapped to the terminal's width: no
    line of it, wherever a wrap falls, runs a CI workflow command, with or without --format github.
    """
    try:
        print(inert(text), flush=True)
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def save(grade: Grade | ReportModel, settings: GradingSettings) -> list[str]:
    """Write the requested reports (--format); each that could not be written, said plainly with the path
    the user gave (the writable folders were checked before grading: this is a full disk, say)."""
    problems = []
    for name in settings.formats:
        try:
            write_reports(grade, [name], settings.report_paths)
        except OSError as error:
            path = settings.report_paths.get(name, error.filename or "a report")
            problems.append(f"could not write {path}: {error.strerror or error}; the grade above is complete, "
                            "but this report was not written")
    return problems


def report_grader_errors(grade: Grade) -> None:
    """Tell the course's staff, on stderr, which checks are broken and where."""
    for result in grade.results:
        if result.grader_error:
            note(f"grader error, scored 0 for everyone: {result.grader_error}")


def exit_status(grade: Grade) -> int:
    """2 if any check is broken (no trustworthy grade), else 0 for full marks and 1 otherwise."""
    if any(result.status == "error" for result in grade.results):
        return EXIT_NO_GRADE
    full_marks = not grade.import_error and all(result.passed for result in grade.results)
    return EXIT_FULL_MARKS if full_marks else EXIT_LOST_POINTS



def grade_one(settings: GradingSettings, folder_given: bool) -> Grade:
    """The grade of the one submission: an empty or unparseable file is told as such without starting a
    worker (``course.source_problems``), and a student's folder is named by the folder, not its file."""
    entry = settings.entries[0]
    if not folder_given:  # a file is named by its file name, as the student gave it
        entry = replace(entry, id=shown(entry.path.name))
    problem = source_problem(entry)
    if problem:
        from checks.engine.course.documents import not_importable  # lazily: it imports the HTML renderer

        return not_importable(entry, settings, problem.reason)
    progress = CheckProgress(settings.checks, sys.stderr, enabled=not settings.quiet)
    try:
        return grade_submission(entry.path, settings.checks, settings.seed, progress=progress.advance,
                                deadline=settings.deadline, options=settings.worker_options,
                                left_out=settings.left_out, submission_id=entry.id)
    finally:
        progress.close()


if __name__ == "__main__":
    sys.exit(main())
