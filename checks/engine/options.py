"""The grader's options, declared once for both front ends and resolved once into ``GradingSettings``.

``OPTIONS`` is the one table: each ``Option`` gives a flag's help, type, default and the front
ends that offer it, ``rnn-grade`` (argparse) or the pytest plugin (``pytest checks``) or both.
``add_to_argparse`` and ``add_to_pytest`` render it (the plugin's destinations are prefixed
``rnn_grade_``, so they never clash with another plugin's), and ``resolve`` turns what either
front end parsed into a frozen ``GradingSettings``: every value checked once, here, with the
profile (from ``--profile`` or ``$RNN_GRADE_PROFILE``) among them. This is how pytest-timeout and
pytest-randomly do it: declared once, resolved once.

Types that argparse can check (a number, a choice) fail while parsing, with argparse's message;
what needs the file system or the environment fails in ``resolve``, as a ``UsageError``.
"""

from __future__ import annotations

import argparse
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from checks.engine.classroom import DEFAULT_FILE, DiscoveryError, Entry, discover, is_class_folder
from checks.engine.isolation import DEFAULT_CALL_TIMEOUT, DEFAULT_MEMORY_LIMIT, WorkerFault, WorkerOptions, probe_confinement
from checks.engine.profiles import DEFAULT_SEED, MAX_EXAMPLES, PROFILE_ENVIRONMENT, profile_from_environment
from checks.engine.sandbox import find_package
from checks.registry import DEFAULT_POINTS_TABLE, Check, CheckDefinitionError, load_checks

if TYPE_CHECKING:
    import pytest

CLI, PYTEST = "cli", "pytest"
BOTH, CLI_ONLY, PYTEST_ONLY = frozenset({CLI, PYTEST}), frozenset({CLI}), frozenset({PYTEST})
PYTEST_PREFIX = "rnn_grade_"
MIB = 1024**2


class UsageError(Exception):
    """Something the person running the grader must fix; the message says what."""


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def whole_number(minimum: int, unit: str = "", meaning: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number (of ``unit``) of at least ``minimum`` (which means ``meaning``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number{unit}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum}{meaning} or more, got {text!r}")
        return value

    return parse


non_negative_int = whole_number(0, " of MiB", " (no limit)")
positive_int = whole_number(1)


@dataclass(frozen=True)
class Option:
    """One option of the grader, as both front ends declare it.

    ``action`` is argparse's: "store", "append" (repeatable), "store_true"/"store_false" (a
    flag). A ``flag`` without leading dashes is a positional argument (the CLI's SUBMISSION).
    ``default`` is given as a tuple for repeatable options and rendered as a fresh list.
    """

    flag: str
    dest: str
    help: str
    action: str = "store"
    type: Callable[[str], Any] | None = None
    default: Any = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    front_ends: frozenset[str] = BOTH

    @property
    def positional(self) -> bool:
        return not self.flag.startswith("-")

    def keywords(self, dest_prefix: str = "") -> dict[str, Any]:
        """The ``add_argument`` keywords (pytest's ``addoption`` takes argparse's)."""
        if self.positional:
            # One or more PATHs, parsed as a list like the repeatable --submission.
            return {"nargs": "+", "type": self.type, "metavar": self.metavar, "help": self.help}
        default = list(self.default) if self.action == "append" else self.default
        keywords = {"dest": dest_prefix + self.dest, "action": self.action, "default": default, "help": self.help}
        if self.action in ("store", "append"):
            keywords.update(type=self.type, metavar=self.metavar, choices=self.choices)
        return keywords


OPTIONS: tuple[Option, ...] = (
    Option("submissions", "submissions", "a .py file, a folder with __init__.py, or a class folder of submissions",
           type=Path, metavar="PATH", front_ends=CLI_ONLY),
    Option("--submission", "submissions", "a .py file, a folder with __init__.py or a class folder to grade; "
           "repeatable (default: everything under submissions/)", action="append", type=Path, default=(),
           metavar="PATH", front_ends=PYTEST_ONLY),
    Option("--results", "results", "write Gradescope's results.json to PATH", type=Path, metavar="PATH",
           front_ends=CLI_ONLY),
    Option("--profile", "profile", f"how many examples per check (default: ${PROFILE_ENVIRONMENT} or default)",
           choices=tuple(sorted(MAX_EXAMPLES))),
    Option("--seed", "seed", f"Hypothesis seed (default: {DEFAULT_SEED})", type=int, default=DEFAULT_SEED,
           metavar="N"),
    Option("--path", "paths", "make the modules in DIR importable by the submission (course helpers); repeatable",
           action="append", type=Path, default=(), metavar="DIR"),
    Option("--checks-dir", "checks_dirs", "also run the checks defined in DIR/*.py; repeatable",
           action="append", type=Path, default=(), metavar="DIR"),
    Option("--no-builtin-checks", "builtin",
           "run only the --checks-dir checks (with their own points unless --points is given)",
           action="store_false", default=True),
    Option("--points", "points", "points table (TOML, one section per group) overriding the checks' points",
           type=Path, metavar="FILE"),
    Option("--call-timeout", "call_timeout",
           f"time limit of one call into the submission (default: {DEFAULT_CALL_TIMEOUT:g})",
           type=positive_float, default=DEFAULT_CALL_TIMEOUT, metavar="SECONDS"),
    Option("--deadline", "deadline", "bound the whole run: checks not finished by then score 0 (default: no bound)",
           type=positive_float, metavar="SECONDS", front_ends=CLI_ONLY),
    Option("--memory-limit", "memory_limit",
           f"address-space limit of the submission's process, 0 for none (default: {DEFAULT_MEMORY_LIMIT // MIB})",
           type=non_negative_int, default=DEFAULT_MEMORY_LIMIT // MIB, metavar="MIB"),
    Option("--allow-package", "allowed_packages", "let the submission import package NAME besides numpy; repeatable",
           action="append", default=(), metavar="NAME"),
    Option("--require-sandbox", "require_sandbox",
           "refuse to grade unless the submission's process can be fully confined (see SECURITY.md)",
           action="store_true", default=False),
    Option("--quiet", "quiet", "print only the total", action="store_true", default=False,
           front_ends=CLI_ONLY),
    # -- class grading (issue 8, part 1) --
    Option("--file", "file_name", "in a class folder, grade each student folder through its file NAME "
           f"(default: its only .py file, else {DEFAULT_FILE})", metavar="NAME"),
    Option("--out", "out", "class grading: write DIR/<id>/results.json, DIR/grades.csv, DIR/checks.csv and "
           "DIR/report.html; a re-run skips what is unchanged", type=Path, metavar="DIR", front_ends=CLI_ONLY),
    Option("--jobs", "jobs", "class grading: grade N submissions at a time (default: the cores available)",
           type=positive_int, metavar="N", front_ends=CLI_ONLY),
    Option("--force", "force", "class grading: regrade submissions whose report in --out is up to date",
           action="store_true", default=False, front_ends=CLI_ONLY),
)


def options_of(front_end: str) -> tuple[Option, ...]:
    return tuple(option for option in OPTIONS if front_end in option.front_ends)


def add_to_argparse(parser: argparse.ArgumentParser) -> None:
    """Declare the command line's options (``rnn-grade``) on ``parser``."""
    for option in options_of(CLI):
        parser.add_argument(option.flag, **option.keywords())


def add_to_pytest(group: pytest.OptionGroup) -> None:
    """Declare the pytest plugin's options on its option group, under destinations prefixed ``rnn_grade_``."""
    for option in options_of(PYTEST):
        group.addoption(option.flag, **option.keywords(PYTEST_PREFIX))


@dataclass(frozen=True)
class GradingSettings:
    """What to grade and how, decided once from the command line (either front end's)."""

    submissions: tuple[Path, ...]
    checks: tuple[Check, ...]
    profile: str
    seed: int
    worker_options: WorkerOptions
    results: Path | None = None  # where to write results.json (rnn-grade only)
    deadline: float | None = None  # seconds for the whole run (rnn-grade only)
    quiet: bool = False
    entries: tuple[Entry, ...] = ()  # the submissions with their ids (checks.engine.classroom)
    class_mode: bool = False  # several submissions, a class folder or --out: graded by checks.engine.batch
    out: Path | None = None
    jobs: int | None = None  # None: the cores available
    force: bool = False


def resolve(
    namespace: argparse.Namespace, front_end: str = CLI, default_submissions: Sequence[Path] = ()
) -> GradingSettings:
    """Check what ``front_end`` parsed into ``namespace`` and decide the settings, or raise UsageError.

    Options the front end does not offer take their table default. Without a submission named,
    ``default_submissions`` are graded (the plugin's: everything under submissions/).
    """
    values = parsed_values(namespace, front_end)
    paths = [Path(p) for p in values["submissions"]] or list(default_submissions)
    entries = submission_entries(paths, values["file_name"])
    class_mode = len(entries) > 1 or any(map(is_class_folder, paths)) or values["out"] is not None
    if class_mode and values["results"] is not None:
        raise UsageError("--results is for one submission; to grade several, give --out DIR (each gets "
                         "DIR/<id>/results.json)")
    results = results_path(values["results"])
    profile = resolve_profile(values["profile"])
    worker_options = WorkerOptions(
        import_paths=tuple(existing_folder("--path", Path(p)) for p in values["paths"]),
        call_timeout=values["call_timeout"],
        memory_limit=values["memory_limit"] * MIB or None,
        allowed_packages=tuple(dict.fromkeys(package_name(name) for name in values["allowed_packages"])),
        require_sandbox=values["require_sandbox"],
    )
    checks = resolve_checks(values["checks_dirs"], values["points"], values["builtin"], profile)
    if worker_options.require_sandbox:  # last: it starts a worker, worth doing only for a valid command
        require_sandbox(worker_options)
    return GradingSettings(tuple(entry.path for entry in entries), tuple(checks), profile, values["seed"],
                           worker_options, results, values["deadline"], values["quiet"], entries, class_mode,
                           values["out"], values["jobs"], values["force"])


def parsed_values(namespace: argparse.Namespace, front_end: str) -> dict[str, Any]:
    """{dest: value} for every option: from ``namespace`` where the front end offers it, else the default."""
    prefix = PYTEST_PREFIX if front_end == PYTEST else ""
    values = {option.dest: option.default for option in OPTIONS}
    values.update({option.dest: getattr(namespace, prefix + option.dest) for option in options_of(front_end)})
    return values


def submission_entries(paths: Sequence[Path], file_name: str | None) -> tuple[Entry, ...]:
    """The submissions the PATHs name (class folders opened), or a UsageError saying what to pass instead."""
    if file_name is not None and (not file_name or Path(file_name).name != file_name):
        raise UsageError(f"--file {file_name!r}: give a file name (such as {DEFAULT_FILE}), not a path")
    try:
        return tuple(discover(paths, file_name))
    except DiscoveryError as problem:
        raise UsageError(str(problem)) from None


def results_path(path: Path | None) -> Path | None:
    """--results, refused now if it names a folder (not found out after a long grading run)."""
    if path is not None and path.is_dir():
        raise UsageError(f"--results {path} is a folder; give the path of the file to write (.../results.json)")
    return path


def resolve_profile(given: str | None) -> str:
    """--profile, else $RNN_GRADE_PROFILE, else "default"; checked here, whichever it came from."""
    profile = given or profile_from_environment()
    if profile not in MAX_EXAMPLES:
        source = f"--profile {profile!r}" if given else f"the environment variable {PROFILE_ENVIRONMENT}={profile!r}"
        raise UsageError(f"{source} names no profile; use one of {', '.join(sorted(MAX_EXAMPLES))}, or unset it")
    return profile


def existing_folder(flag: str, folder: Path) -> Path:
    if not folder.is_dir():
        raise UsageError(f"{flag} {folder}: no such folder")
    return folder


def package_name(name: str) -> str:
    """An --allow-package NAME: an installed top-level package, as ``import NAME`` takes it."""
    try:
        find_package(name)
    except (LookupError, ImportError, ValueError) as problem:
        raise UsageError(f"--allow-package {name}: {problem}") from None
    return name


def require_sandbox(options: WorkerOptions) -> None:
    """For --require-sandbox: UsageError, naming what is missing, unless a worker here is fully confined."""
    try:
        missing = probe_confinement(options).missing
    except WorkerFault as fault:
        raise UsageError(f"--require-sandbox: could not start a worker to check its confinement: {fault}") from None
    if missing:
        reasons = "; ".join(f"{layer.title} ({layer.detail})" for layer in missing)
        raise UsageError(f"--require-sandbox: refusing to grade, the worker cannot be fully confined on this "
                         f"machine. Missing: {reasons}")


def resolve_checks(
    checks_dirs: Sequence[Path], points: Path | None, builtin: bool = True, profile: str | None = None
) -> list[Check]:
    """Load the checks to run, with the points table that applies.

    ``profile`` is bound when the checks are decorated (see ``checks.registry.load_checks``).
    """
    for folder in checks_dirs:
        existing_folder("--checks-dir", Path(folder))
    if points is not None and not Path(points).is_file():
        raise UsageError(f"--points {points}: no such file")
    # Without --points: the course's table, if present; the built-in table names only built-in checks.
    if points is None and builtin and DEFAULT_POINTS_TABLE.is_file():
        points = DEFAULT_POINTS_TABLE
    try:
        checks = load_checks(checks_dirs, points, builtin=builtin, profile=profile)
    except CheckDefinitionError as error:  # the message names the course's file and line
        raise UsageError(f"could not load the checks: {error}") from None
    except Exception as error:  # noqa: BLE001 - a broken check module or points table, said plainly
        raise UsageError(f"could not load the checks: {type(error).__name__}: {error}{raised_at(error)}") from None
    if not checks:
        wanted = "at least one --checks-dir" if not builtin else "the built-in checks or a --checks-dir"
        raise UsageError(f"no checks to run: give {wanted}")
    return checks


def raised_at(error: BaseException) -> str:
    """' (in file.py, line N)' for the innermost frame, so a broken check module is easy to find."""
    frames = traceback.extract_tb(error.__traceback__)
    if isinstance(error, SyntaxError) or not frames:
        return ""  # a SyntaxError's message already names its file and line
    return f" (in {Path(frames[-1].filename).name}, line {frames[-1].lineno})"
