"""pytest integration: ``pytest checks --submission PATH`` grades a submission, one test per check.

Test ids read ``test_check[<submission>-<group>-<check>]``, so ``-k``, ``-x``, ``--junitxml`` and
``-n`` (pytest-xdist) all work. Without ``--submission``, every submission under ``submissions/``
is graded (a .py file not starting with "_", or a folder with ``__init__.py``).

This file must be an *initial* conftest (pytest reads its options before parsing the command
line), which it is whenever ``checks`` or a file in it is named on the command line. A plain
``pytest`` at the repository root never loads it: ``testpaths`` is ``tests``.

Each pytest process (each xdist worker, too) keeps one worker process per submission for the
whole session and stops them all at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from checks.engine.cli import (
    MIB,
    UsageError,
    non_negative_int,
    positive_float,
    require_sandbox,
    resolve_checks,
    resolve_profile,
    submission_path,
    worker_options,
)
from checks.engine.contract import Submission
from checks.engine.isolation import DEFAULT_CALL_TIMEOUT, DEFAULT_MEMORY_LIMIT
from checks.engine.profiles import DEFAULT_SEED, MAX_EXAMPLES, PROFILE_ENVIRONMENT
from checks.registry import Check
from checks.engine.report import check_output, points_text
from checks.engine.runner import CheckResult, open_submission, run_check, unimportable_result

HERE = Path(__file__).parent
SUBMISSIONS_FOLDER = "submissions"
SETUP = pytest.StashKey["GradingSetup"]()
# Names of the user properties each test records (junitxml <properties>, and the summary below).
SCORE, MAX_SCORE, SUBMISSION = "rnn_grade_score", "rnn_grade_max_score", "rnn_grade_submission"
UNCONFINED = "rnn_grade_missing_protections"  # the worker's missing layers, for the instructor


@dataclass(frozen=True)
class GradingSetup:
    """What to grade and how, decided once from the command line."""

    submissions: tuple[Path, ...]
    checks: tuple[Check, ...]
    profile: str
    seed: int
    worker_options: dict = field(hash=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rnn-grade", "grading RNN submissions (pytest checks --submission PATH)")
    group.addoption("--submission", action="append", default=[], type=Path, metavar="PATH",
                    dest="rnn_grade_submissions", help="a .py file or a folder with __init__.py to grade; "
                    "repeatable (default: everything under submissions/)")
    group.addoption("--profile", choices=sorted(MAX_EXAMPLES), dest="rnn_grade_profile",
                    help=f"examples per check (default: ${PROFILE_ENVIRONMENT} or default)")
    group.addoption("--seed", type=int, default=DEFAULT_SEED, metavar="N", dest="rnn_grade_seed",
                    help=f"Hypothesis seed of every check (default: {DEFAULT_SEED})")
    group.addoption("--path", action="append", default=[], type=Path, metavar="DIR", dest="rnn_grade_paths",
                    help="make the modules in DIR importable by the submission; repeatable")
    group.addoption("--checks-dir", action="append", default=[], type=Path, metavar="DIR", dest="rnn_grade_checks_dirs",
                    help="also run the checks defined in DIR/*.py; repeatable")
    group.addoption("--no-builtin-checks", action="store_false", dest="rnn_grade_builtin",
                    help="run only the --checks-dir checks")
    group.addoption("--points", type=Path, metavar="FILE", dest="rnn_grade_points",
                    help="points table (TOML) overriding the checks' points")
    group.addoption("--call-timeout", type=positive_float, default=DEFAULT_CALL_TIMEOUT, metavar="SECONDS",
                    dest="rnn_grade_call_timeout", help=f"time limit of one call (default: {DEFAULT_CALL_TIMEOUT:g})")
    group.addoption("--memory-limit", type=non_negative_int, default=DEFAULT_MEMORY_LIMIT // MIB, metavar="MIB",
                    dest="rnn_grade_memory_limit", help="address-space limit of the submission's process, 0 for none")
    group.addoption("--allow-package", action="append", default=[], metavar="NAME", dest="rnn_grade_allow_packages",
                    help="let submissions import the installed package NAME; repeatable")
    group.addoption("--require-sandbox", action="store_true", dest="rnn_grade_require_sandbox",
                    help="refuse to grade unless every layer of the worker's confinement is active here")


def pytest_configure(config: pytest.Config) -> None:
    """Validate the options once, before collection; a mistake is a usage error, not 100 failures."""
    option = config.option
    if option.help or option.version:
        return
    try:
        given = option.rnn_grade_submissions
        submissions = tuple(submission_path(p) for p in given) if given else found_submissions(config.rootpath)
        profile = resolve_profile(option.rnn_grade_profile)
        checks = resolve_checks(
            option.rnn_grade_checks_dirs, option.rnn_grade_points, option.rnn_grade_builtin, profile
        )
        options = worker_options(option.rnn_grade_paths, option.rnn_grade_call_timeout,
                                 option.rnn_grade_memory_limit, option.rnn_grade_allow_packages)
        if option.rnn_grade_require_sandbox:
            require_sandbox(options)
        config.stash[SETUP] = GradingSetup(
            submissions=submissions,
            checks=tuple(checks),
            profile=profile,
            seed=option.rnn_grade_seed,
            worker_options=options,
        )
    except UsageError as problem:
        raise pytest.UsageError(f"rnn-grade: {problem}") from None


def found_submissions(root: Path) -> tuple[Path, ...]:
    """Every submission under ``submissions/``: .py files not starting with "_", and packages."""
    folder = root / SUBMISSIONS_FOLDER
    if not folder.is_dir():
        return ()
    entries = sorted(folder.iterdir())
    return tuple(
        entry for entry in entries
        if not entry.name.startswith(("_", "."))
        and ((entry.is_file() and entry.suffix == ".py") or (entry / "__init__.py").is_file())
    )


def submission_label(path: Path) -> str:
    return path.stem if path.is_file() else path.name


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # Only test_grade.py is a test module here; check modules run through it, never on their own.
    # (pytest asks this conftest only about paths inside checks/.)
    return None if collection_path == HERE / "test_grade.py" else True


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rnn_grade_case" not in metafunc.fixturenames:
        return
    setup = metafunc.config.stash[SETUP]
    cases = [
        pytest.param((submission, check), id=f"{submission_label(submission)}-{check.group}-{check.name}")
        for submission in setup.submissions
        for check in setup.checks
    ]
    if not setup.submissions:
        reason = f"no submissions under {SUBMISSIONS_FOLDER}/; pass one with --submission PATH"
        cases = [pytest.param(None, id="no-submissions", marks=pytest.mark.skip(reason=reason))]
    metafunc.parametrize("rnn_grade_case", cases)


class SubmissionPool:
    """One live worker per submission for this pytest process, started on first use."""

    def __init__(self, setup: GradingSetup) -> None:
        self.setup = setup
        self.opened: dict[Path, tuple[Submission | None, str | None]] = {}

    def run(self, path: Path, check: Check) -> CheckResult:
        if path not in self.opened:
            self.opened[path] = open_submission(path, **self.setup.worker_options)
        sub, fault = self.opened[path]
        if sub is None:
            return unimportable_result(check, fault)
        return run_check(check, sub, self.setup.seed)

    def missing_protections(self, path: Path) -> list[str]:
        """The layers of confinement the submission's worker went without, with the reasons."""
        sub, _ = self.opened.get(path, (None, None))
        missing = sub.worker.confinement.missing if sub is not None else ()
        return [f"{layer.title} ({layer.detail})" for layer in missing]

    def close(self) -> None:
        for sub, _ in self.opened.values():
            if sub is not None:
                sub.close()


@pytest.fixture(scope="session")
def rnn_grade_pool(pytestconfig: pytest.Config) -> Iterator[SubmissionPool]:
    pool = SubmissionPool(pytestconfig.stash[SETUP])
    yield pool
    pool.close()


@pytest.fixture
def rnn_grade(rnn_grade_pool: SubmissionPool, record_property) -> Callable[[tuple[Path, Check]], None]:
    """Grade one (submission, check) case: record its points, and fail the test unless it earned all."""

    def grade(case: tuple[Path, Check]) -> None:
        submission, check = case
        result = rnn_grade_pool.run(submission, check)
        record_property(SUBMISSION, submission_label(submission))
        record_property(SCORE, result.score)
        record_property(MAX_SCORE, check.points)
        record_property(UNCONFINED, rnn_grade_pool.missing_protections(submission))
        if not result.passed:
            pytest.fail(f"{check.group}: {check.description}\n{check_output(result)}", pytrace=False)

    return grade


def pytest_report_header(config: pytest.Config) -> str | None:
    setup = config.stash.get(SETUP, None)
    if setup is None:
        return None
    names = ", ".join(submission_label(p) for p in setup.submissions) or "none"
    return f"rnn-grade: profile {setup.profile}, seed {setup.seed}, {len(setup.checks)} checks; submissions: {names}"


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
    setup = config.stash[SETUP]
    terminalreporter.section("rnn-grade")
    for name, (earned, available) in sorted(totals.items()):
        terminalreporter.write_line(f"{name}: {points_text(earned, available)} points of the checks run")
    terminalreporter.write_line(f"profile {setup.profile}, seed {setup.seed}")
    for protection in sorted(unconfined):  # for the instructor: the student reads the tests' messages
        terminalreporter.write_line(f"note: missing protection: {protection}")
