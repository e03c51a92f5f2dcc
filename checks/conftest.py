"""pytest integration: ``pytest checks --submission PATH`` grades a submission, one test per check.

Test ids read ``test_check[<submission id>-<group>-<check>]``, so ``-k``, ``-x``, ``--junitxml`` and
``-n`` (pytest-xdist) all work. The submission id is the one ``rnn-grade`` reports use
(``checks.engine.course.classroom``): ``--submission`` takes files, packages and class folders, and two
students' ``rnn_layers.py`` are told apart (``alice/rnn_layers.py``). Without ``--submission``,
``submissions/`` is graded as a class folder (its .py files not starting with "_", each alone).

This file must be an *initial* conftest (pytest reads its options before parsing the command
line), which it is whenever ``checks`` or a file in it is named on the command line. A plain
``pytest`` at the repository root never loads it: ``testpaths`` is ``tests``.

Each pytest process (each xdist worker, too) keeps one worker process per submission for the
whole session and stops them all at the end.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

import pytest

from checks.engine.course.classroom import Entry
from checks.engine.isolation.contract import Submission
from checks.engine.options import PYTEST, add_to_pytest, resolve
from checks.engine.course.settings import GradingSettings
from checks.engine.inputs.usage import UsageError
from checks.registry import Check
from checks.engine.report import check_output, points_text
from checks.engine.report.text import left_out_lines
from checks.engine.run.results import CheckResult
from checks.engine.run.runner import open_submission, run_check, unimportable_result

HERE = Path(__file__).parent
SUBMISSIONS_FOLDER = "submissions"
SETTINGS = pytest.StashKey[GradingSettings]()
# Names of the user properties each test records (junitxml <properties>, and the summary below).
SCORE, MAX_SCORE, SUBMISSION = "rnn_grade_score", "rnn_grade_max_score", "rnn_grade_submission"
UNCONFINED = "rnn_grade_missing_protections"  # the worker's missing layers, for the instructor


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to_pytest(parser.getgroup("rnn-grade", "grading RNN submissions (pytest checks --submission PATH)"))


def pytest_configure(config: pytest.Config) -> None:
    """Validate the options once, before collection; a mistake is a usage error, not 100 failures."""
    if config.option.help or config.option.version:
        return
    try:
        config.stash[SETTINGS] = resolve(config.option, PYTEST, found_submissions(config.rootpath))
    except UsageError as problem:
        raise pytest.UsageError(f"rnn-grade: {problem}") from None


def found_submissions(root: Path) -> tuple[Path, ...]:
    """``submissions/``, graded as a class folder, if it holds a submission."""
    folder = root / SUBMISSIONS_FOLDER
    has_submission = folder.is_dir() and any(
        not entry.name.startswith(("_", ".")) and (entry.suffix == ".py" or entry.is_dir())
        for entry in folder.iterdir()
    )
    return (folder,) if has_submission else ()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # Only test_grade.py is a test module here; check modules run through it, never on their own.
    # (pytest asks this conftest only about paths inside checks/.)
    return None if collection_path == HERE / "test_grade.py" else True


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rnn_grade_case" not in metafunc.fixturenames:
        return
    settings = metafunc.config.stash[SETTINGS]
    cases = [
        pytest.param((entry, check), id=f"{entry.id}-{check.group}-{check.name}")
        for entry in settings.entries
        for check in settings.checks
    ]
    if not settings.entries:
        reason = f"no submissions under {SUBMISSIONS_FOLDER}/; pass one with --submission PATH"
        cases = [pytest.param(None, id="no-submissions", marks=pytest.mark.skip(reason=reason))]
    metafunc.parametrize("rnn_grade_case", cases)


class SubmissionPool:
    """One live worker per submission for this pytest process, started on first use."""

    def __init__(self, settings: GradingSettings) -> None:
        self.settings = settings
        self.opened: dict[str, tuple[Submission | None, str | None]] = {}

    def run(self, entry: Entry, check: Check) -> CheckResult:
        if entry.id not in self.opened:
            self.opened[entry.id] = self.open(entry)
        sub, fault = self.opened[entry.id]
        if sub is None:
            return unimportable_result(check, fault)
        return run_check(check, sub, self.settings.seed)

    def open(self, entry: Entry) -> tuple[Submission | None, str | None]:
        if entry.problem:
            return None, entry.problem
        return open_submission(entry.path, replace(self.settings.worker_options, copy_siblings=not entry.alone))

    def missing_protections(self, entry: Entry) -> list[str]:
        """The layers of confinement the submission's worker went without, with the reasons."""
        sub, _ = self.opened.get(entry.id, (None, None))
        missing = sub.confinement.missing if sub is not None else ()
        return [f"{layer.title} ({layer.detail})" for layer in missing]

    def close(self) -> None:
        for sub, _ in self.opened.values():
            if sub is not None:
                sub.close()


@pytest.fixture(scope="session")
def rnn_grade_pool(pytestconfig: pytest.Config) -> Iterator[SubmissionPool]:
    pool = SubmissionPool(pytestconfig.stash[SETTINGS])
    yield pool
    pool.close()


@pytest.fixture
def rnn_grade(rnn_grade_pool: SubmissionPool, record_property) -> Callable[[tuple[Entry, Check]], None]:
    """Grade one (submission, check) case: record its points, and fail the test unless it earned all."""

    def grade(case: tuple[Entry, Check]) -> None:
        submission, check = case
        result = rnn_grade_pool.run(submission, check)
        record_property(SUBMISSION, submission.id)
        record_property(SCORE, result.score)
        record_property(MAX_SCORE, check.points)
        record_property(UNCONFINED, rnn_grade_pool.missing_protections(submission))
        if result.grader_error:
            pytest.fail(f"GRADER ERROR in {check.group}: {check.name} (the check is broken, not the submission):\n"
                        f"{result.grader_error}", pytrace=False)
        if not result.passed:
            pytest.fail(f"{check.group}: {check.description}\n{check_output(result, submission.path.name)}", pytrace=False)

    return grade


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return None
    names = ", ".join(entry.id for entry in settings.entries) or "none"
    return (f"rnn-grade: profile {settings.profile}, seed {settings.seed}, {len(settings.checks)} checks; "
            f"submissions: {names}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Points per submission, from the properties each test recorded (these survive xdist)."""
    totals: dict[str, list[float]] = {}
    unconfined: set[str] = set()
    for reports in terminalreporter.stats.values():
        for report in reports:
            properties = dict(getattr(report, "user_properties", ()) or ())
            if getattr(report, "when", None) == "call" and SCORE in properties:
                total = totals.setdefault(properties[SUBMISSION], [0.0, 0.0])
                total[0] += properties[SCORE]
                total[1] += properties[MAX_SCORE]
                unconfined.update(properties.get(UNCONFINED, ()))
    if not totals:
        return
    settings = config.stash[SETTINGS]
    terminalreporter.section("rnn-grade")
    for name, (earned, available) in sorted(totals.items()):
        terminalreporter.write_line(f"{name}: {points_text(earned, available)} points of the checks run")
    for line in left_out_lines(settings.left_out):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"profile {settings.profile}, seed {settings.seed}")
    for protection in sorted(unconfined):  # for the instructor: the student reads the tests' messages
        terminalreporter.write_line(f"note: missing protection: {protection}")
