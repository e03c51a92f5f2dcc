"""The pytest plugin: ``pytest --pyargs checks --submission PATH`` grades PATH, one test per check.

Registered through the ``pytest11`` entry point ``rnn_grade``, so it works in any folder once
rnn-grade is installed (inside this repository ``pytest checks --submission PATH`` is the same run).
Test ids read ``test_check[<submission id>-<group>-<check>]``, so ``-k``, ``-x``, ``--junitxml``
and ``-n`` (pytest-xdist) all work. The submission id is the one ``rnn-grade`` reports use
(``checks.engine.course.classroom``): ``--submission`` takes files, packages and class folders, and
two students' ``rnn_layers.py`` are told apart (``alice``, ``bob``: each named by their folder). Without ``--submission``,
``submissions/`` under pytest's root folder is graded as a class folder.

Every pytest run in the environment loads this module, most of them runs that grade nothing (this
repository's own ``tests/``, any other project). So it imports only pytest here, and it declares
the grader's options only when a run grades: when ``--submission`` is given, or the checks are
named (``checks``, a path inside it, ``--pyargs checks``), or ``--help`` asks for them. Declaring
them imports the options table, and with it numpy and Hypothesis (0.3 to 0.6 s). A run that does
not grade never collects anything under ``checks/``; one that grades collects ``checks/test_grade.py``
only (the check modules run through it). The hooks that grade live on ``GradingSession``,
registered only when the run grades.

Each pytest process (each xdist worker, too) keeps one worker process per submission for the
whole session and stops them all at the end. Under ``-n`` xdist spreads the tests as it does any
others: sending each submission's tests to one xdist worker was measured, and bought nothing for a
class and cost a third more for one submission (docs/instructors/pytest.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator

import pytest

if TYPE_CHECKING:
    from checks.engine.course.classroom import Entry
    from checks.engine.course.settings import GradingSettings
    from checks.engine.isolation.contract import Submission
    from checks.engine.run.results import CheckResult
    from checks.registry import Check

CHECKS = Path(__file__).resolve().parent.parent  # the ``checks`` package's folder
GRADE_MODULE = CHECKS / "test_grade.py"
SUBMISSIONS_FOLDER = "submissions"
SUBMISSION_FLAG = "--submission"
OPTION_PREFIX = "rnn_grade_"  # checks.engine.options.PYTEST_PREFIX, named here to keep its import lazy
GRADING = pytest.StashKey[bool]()  # this run grades: the options are declared
SESSION = pytest.StashKey["GradingSession"]()
POINTS = pytest.StashKey[dict[str, Any]]()  # on an item: what its check earned
# Names of the user properties each test records (junitxml <properties>, where the family allows).
SCORE, MAX_SCORE, SUBMISSION = "rnn_grade_score", "rnn_grade_max_score", "rnn_grade_submission"
UNCONFINED = "rnn_grade_missing_protections"  # the worker's missing layers, for the instructor
PROPERTY_FAMILIES = ("xunit1", "legacy")  # the junit families whose <testcase> may hold <properties>


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Declare the grader's options, before pytest parses the command line, if this run grades.

    ``args`` is the whole command line, ``addopts`` and ``$PYTEST_ADDOPTS`` included (an xdist worker
    gets the controller's), so every process of a run decides alike.
    """
    if not grading_asked(early_config, args):
        return
    from checks.engine.options import add_to_pytest

    early_config.stash[GRADING] = True
    add_to_pytest(parser.getgroup("rnn-grade", "grading RNN submissions (pytest --pyargs checks --submission PATH)"))


def grading_asked(config: pytest.Config, args: list[str]) -> bool:
    namespace = config.known_args_namespace
    if namespace.help or submission_given(args):
        return True
    return any(names_the_checks(target, namespace.pyargs, config.invocation_params.dir)
               for target in collection_targets(config))


def submission_given(args: list[str]) -> bool:
    return any(arg == SUBMISSION_FLAG or arg.startswith(SUBMISSION_FLAG + "=") for arg in args)


def collection_targets(config: pytest.Config) -> list[str]:
    """What pytest will collect: the arguments, else ``testpaths`` (from the root folder), else here.

    The command line is not parsed yet, so the arguments may include the values of options pytest
    does not know yet (``--submission x.py`` gives ``x.py``); that only costs a path comparison.
    """
    given = list(config.known_args_namespace.file_or_dir or ())
    if given:
        return given
    if config.invocation_params.dir == config.rootpath and config.getini("testpaths"):
        return list(config.getini("testpaths"))
    return [str(config.invocation_params.dir)]


def names_the_checks(target: str, pyargs: bool, here: Path) -> bool:
    """True if ``target`` (a path, a node id, or a module under ``--pyargs``) is within the checks."""
    name = target.split("::")[0]
    if pyargs and (name == "checks" or name.startswith("checks.")):
        return True
    path = Path(here, name).resolve()
    return path == CHECKS or CHECKS in path.parents


def pytest_configure(config: pytest.Config) -> None:
    """Validate the options once, before collection; a mistake is a usage error, not 100 failures."""
    if not config.stash.get(GRADING, False) or config.option.help or config.option.version:
        return
    from checks.engine.inputs.usage import UsageError
    from checks.engine.options import PYTEST, resolve

    if config.getoption(OPTION_PREFIX + "submissions") and not any(
        names_the_checks(target, config.option.pyargs, config.invocation_params.dir) for target in config.args
    ):
        raise pytest.UsageError("rnn-grade: --submission grades only when the checks are collected: "
                                "add --pyargs checks (or, inside the rnn-grade repository, checks)")
    try:
        settings = resolve(config.option, PYTEST, found_submissions(config.rootpath))
    except UsageError as problem:
        raise pytest.UsageError(f"rnn-grade: {problem}") from None
    session = GradingSession(config, settings)
    config.stash[SESSION] = session
    config.pluginmanager.register(session, "rnn_grade_session")


def found_submissions(root: Path) -> tuple[Path, ...]:
    """``submissions/``, graded as a class folder, if it holds a submission."""
    folder = root / SUBMISSIONS_FOLDER
    has_submission = folder.is_dir() and any(
        not entry.name.startswith(("_", ".")) and (entry.suffix in (".py", ".ipynb") or entry.is_dir())
        for entry in folder.iterdir()
    )
    return (folder,) if has_submission else ()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Nothing under ``checks/`` is a test of its own; ``test_grade.py`` grades, when the run grades."""
    if collection_path == CHECKS or not collection_path.is_relative_to(CHECKS):
        return None
    if collection_path == GRADE_MODULE and SESSION in config.stash:
        return None
    return True


class SubmissionPool:
    """One live worker per submission for this pytest process, started on first use."""

    def __init__(self, settings: GradingSettings) -> None:
        self.settings = settings
        self.opened: dict[str, tuple[Submission | None, str | None]] = {}

    def run(self, entry: Entry, check: Check) -> CheckResult:
        from checks.engine.run.runner import run_check, unimportable_result

        if entry.id not in self.opened:
            self.opened[entry.id] = self.open(entry)
        sub, fault = self.opened[entry.id]
        if sub is None:
            return unimportable_result(check, fault)
        return run_check(check, sub, self.settings.seed)

    def open(self, entry: Entry) -> tuple[Submission | None, str | None]:
        from dataclasses import replace

        from checks.engine.run.runner import open_submission

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


class GradingSession:
    """The hooks of a run that grades, registered as a plugin by ``pytest_configure``; the fixtures use it."""

    def __init__(self, config: pytest.Config, settings: GradingSettings) -> None:
        self.config = config
        self.settings = settings
        self.totals: dict[str, list[float]] = {}  # submission id: [earned, available], from the reports
        self.unconfined: set[str] = set()
        # pytest writes user properties into <testcase>, which the xunit2 schema (the default) forbids.
        self.testcase_properties = (not config.option.xmlpath
                                    or config.getini("junit_family") in PROPERTY_FAMILIES)

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "rnn_grade_case" not in metafunc.fixturenames:
            return
        cases = [
            pytest.param((entry, check), id=f"{entry.id}-{check.group}-{check.name}")
            for entry in self.settings.entries
            for check in self.settings.checks
        ]
        if not self.settings.entries:
            reason = f"no submissions under {SUBMISSIONS_FOLDER}/; pass one with --submission PATH"
            cases = [pytest.param(None, id="no-submissions", marks=pytest.mark.skip(reason=reason))]
        metafunc.parametrize("rnn_grade_case", cases)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Carry the points on the call's report: it reaches the controller under xdist, not the item."""
        report = yield
        if call.when == "call" and POINTS in item.stash:
            report.rnn_grade_points = item.stash[POINTS]
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        points = getattr(report, "rnn_grade_points", None)
        if report.when != "call" or points is None:
            return
        total = self.totals.setdefault(points[SUBMISSION], [0.0, 0.0])
        total[0] += points[SCORE]
        total[1] += points[MAX_SCORE]
        self.unconfined.update(points[UNCONFINED])

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        """Each submission's total as a <testsuite> property (valid in every junit family)."""
        from _pytest.junitxml import xml_key  # the junit writer record_testsuite_property uses

        xml = self.config.stash.get(xml_key, None)
        for name, (earned, available) in sorted(self.totals.items()) if xml is not None else ():
            xml.add_global_property(f"{SCORE}[{name}]", f"{earned:g}")
            xml.add_global_property(f"{MAX_SCORE}[{name}]", f"{available:g}")

    def pytest_report_header(self) -> str:
        settings = self.settings
        names = ", ".join(entry.id for entry in settings.entries) or "none"
        return (f"rnn-grade: profile {settings.profile}, seed {settings.seed}, {len(settings.checks)} checks; "
                f"submissions: {names}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Points per submission, from the reports (these reach the controller under xdist)."""
        from checks.engine.report import points_text
        from checks.engine.report.text import left_out_lines

        if not self.totals:
            return
        write = terminalreporter.write_line
        terminalreporter.section("rnn-grade")
        for name, (earned, available) in sorted(self.totals.items()):
            write(f"{name}: {points_text(earned, available)} points of the checks run")
        for line in left_out_lines(self.settings.left_out):
            write(line)
        write(f"profile {self.settings.profile}, seed {self.settings.seed}")
        for protection in sorted(self.unconfined):  # for the instructor: the student reads the tests' messages
            write(f"note: missing protection: {protection}")


@pytest.fixture(scope="session")
def rnn_grade_pool(pytestconfig: pytest.Config) -> Iterator[SubmissionPool]:
    pool = SubmissionPool(pytestconfig.stash[SESSION].settings)
    yield pool
    pool.close()


@pytest.fixture
def rnn_grade(rnn_grade_pool: SubmissionPool, request: pytest.FixtureRequest) -> Callable[[tuple[Entry, Check]], None]:
    """Grade one (submission, check) case: record its points, and fail the test unless it earned all."""
    session = request.config.stash[SESSION]

    def grade(case: tuple[Entry, Check]) -> None:
        submission, check = case
        result = rnn_grade_pool.run(submission, check)
        points = {SUBMISSION: submission.id, SCORE: result.score, MAX_SCORE: check.points,
                  UNCONFINED: rnn_grade_pool.missing_protections(submission)}
        request.node.stash[POINTS] = points
        if session.testcase_properties:
            request.node.user_properties.extend(points.items())
        fail_unless_earned(result, check, submission)

    return grade


def fail_unless_earned(result: CheckResult, check: Check, submission: Entry) -> None:
    """Fail the test with the grader's message (partial credit included), never with a traceback."""
    from checks.engine.report import check_output
    from checks.engine.run.assignments import reference_installed
    from checks.engine.run.repro import script_or_reason

    if result.grader_error:
        pytest.fail(f"GRADER ERROR in {check.group}: {check.name} (the check is broken, not the submission):\n"
                    f"{result.grader_error}", pytrace=False)
    if not result.passed:
        result.repro_script, _ = script_or_reason(result, reference_installed())  # the command shown writes it
        pytest.fail(f"{check.group}: {check.description}\n{check_output(result, submission.path.name)}", pytrace=False)

