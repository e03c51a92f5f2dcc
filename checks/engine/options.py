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
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from checks.engine.inputs.display import inert, shown
from checks.engine.course.classroom import (DEFAULT_FILE, DiscoveryError, Entry, discover, is_class_folder,
                                           is_student_folder)
from checks.engine.isolation.boundary import (DEFAULT_CALL_TIMEOUT, DEFAULT_MEMORY_LIMIT, PRELOADED, WorkerFault,
                                               WorkerOptions, probe_confinement)
from checks.engine.output_paths import OutputPathError, inputs_of, refuse_inputs, require_writable
from checks.engine.run.profiles import DEFAULT_SEED, MAX_EXAMPLES, PROFILE_ENVIRONMENT, profile_from_environment
from checks.engine.run.repro import ReproFolderError, prepare_folder
from checks.engine.report import FORMATS
from checks.engine.isolation.sandbox import find_package
from checks.engine.course.shards import Shard, ShardError, parse_shard, select
from checks.engine.course.settings import CLUSTER_EXTRA, GradingSettings
from checks.engine.inputs.usage import UsageError
from checks.engine.run.assignments import CheckSource, assignment_table, course_needs, existing_folder
from checks.registry import Check

if TYPE_CHECKING:
    import pytest

CLI, PYTEST = "cli", "pytest"
BOTH, CLI_ONLY, PYTEST_ONLY = frozenset({CLI, PYTEST}), frozenset({CLI}), frozenset({PYTEST})
PYTEST_PREFIX = "rnn_grade_"
MIB = 1024**2



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
    aliases: tuple[str, ...] = ()  # more flags for the same option (-v for --verbose); rnn-grade only

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
    Option("submissions", "submissions",
           "a .py file, a notebook (.ipynb), a folder with __init__.py, or a class folder of submissions", type=Path,
           metavar="PATH", front_ends=CLI_ONLY),
    Option("--submission", "submissions", "a .py file, a notebook, a folder with __init__.py or a class folder to "
           "grade; repeatable (default: everything under submissions/)", action="append", type=Path, default=(),
           metavar="PATH", front_ends=PYTEST_ONLY),
    Option("--results", "results", "write Gradescope's results.json to PATH", type=Path, metavar="PATH",
           front_ends=CLI_ONLY),
    # -- formats (issue 8, part 2: every platform from one run) --
    Option("--format", "formats", f"the reports to write, a comma list of {', '.join(FORMATS)} (default: "
           "gradescope); each file format is written to the path its option gives, github to the files named by "
           "$GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT, with ::error annotations on stdout",
           default="gradescope", metavar="LIST", front_ends=CLI_ONLY),
    Option("--prairielearn", "prairielearn", "write PrairieLearn's results.json to PATH (with --format prairielearn)",
           type=Path, metavar="PATH", front_ends=CLI_ONLY),
    Option("--junit", "junit", "write JUnit XML (GitLab, Jenkins) to PATH (with --format junit)", type=Path,
           metavar="PATH", front_ends=CLI_ONLY),
    Option("--markdown", "markdown", "write a Markdown summary to PATH (with --format markdown)", type=Path,
           metavar="PATH", front_ends=CLI_ONLY),
    # -- end of formats --
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
    # profiles
    Option("--points", "points", "the assignment's points table (TOML, one section per group): the checks it "
           "lists, at its points and policy (one that lists no check keeps the checks' own points)", type=Path,
           metavar="FILE"),
    Option("--assignment", "assignment", "grade a shipped assignment profile (e.g. cs231n: checks/assignments/"
           "NAME.toml) or a points table's path; instead of --points", metavar="NAME"),
    # end profiles
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
    # pytest has its own -v; the plugin's failures show the whole feedback anyway
    Option("--verbose", "verbose", "show everything: every check in the table, each failing check's feedback in "
           "full, and how the worker was confined (by default, a few lines a failing check)",
           action="store_true", default=False, front_ends=CLI_ONLY, aliases=("-v",)),
    # self-check (issue 8, item 5): what a student can run without the reference solution
    Option("--self-check", "self_check", "run only the checks that need no reference solution (what students can "
           "run on their own); the total is out of those checks", action="store_true", default=False),
    Option("--repro-dir", "repro_dir", "write DIR/<check>.py for each failing check: a script that needs only "
           "Python and numpy, reproduces the failure (python DIR/<check>.py SUBMISSION exits 1), and exits 0 on a "
           "correct submission (grading a class, each submission gets OUT/<id>/repro/ instead)", type=Path,
           metavar="DIR", front_ends=CLI_ONLY),
    # -- class grading (issue 8, part 1) --
    Option("--file", "file_name", "in a class folder, grade each student folder through its file NAME "
           f"(default: its only .py file, else {DEFAULT_FILE})", metavar="NAME"),
    Option("--out", "out", "class grading: write DIR/<id>/results.json, DIR/grades.csv, DIR/checks.csv and "
           "DIR/report.html; a re-run skips what is unchanged", type=Path, metavar="DIR", front_ends=CLI_ONLY),
    Option("--jobs", "jobs", "class grading: grade N submissions at a time (default: the cores available)",
           type=positive_int, metavar="N", front_ends=CLI_ONLY),
    Option("--force", "force", "class grading: regrade submissions whose report in --out is up to date",
           action="store_true", default=False, front_ends=CLI_ONLY),
    # CI matrix (issue 10, part 4): each job grades its shard, `rnn-grade merge` combines their --out folders
    Option("--shard", "shard", "class grading: grade only shard I of N (the submissions whose id hashes to I; "
           "shards 1/N to N/N grade each submission once), for a CI matrix; combine the shards' --out folders "
           "with rnn-grade merge", metavar="I/N", front_ends=CLI_ONLY),
    # -- a cluster (issue 10, part 4) --
    Option("--cluster", "cluster", "class grading: send one task per submission to the Dask scheduler at ADDRESS "
           "(such as tcp://10.0.0.5:8786), instead of grading here with --jobs; needs "
           f"pip install '{CLUSTER_EXTRA}'", metavar="ADDRESS", front_ends=CLI_ONLY),
)


def options_of(front_end: str) -> tuple[Option, ...]:
    return tuple(option for option in OPTIONS if front_end in option.front_ends)


def add_to_argparse(parser: argparse.ArgumentParser) -> None:
    """Declare the command line's options (``rnn-grade``) on ``parser``."""
    for option in options_of(CLI):
        parser.add_argument(option.flag, *option.aliases, **option.keywords())


def add_to_pytest(group: pytest.OptionGroup) -> None:
    """Declare the pytest plugin's options on its option group, under destinations prefixed ``rnn_grade_``."""
    for option in options_of(PYTEST):
        group.addoption(option.flag, **option.keywords(PYTEST_PREFIX))




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
    # One student's folder alone is one submission, graded and reported as a file is, under the folder's name.
    class_folders = [path for path in paths if is_class_folder(path) and not is_student_folder(path, values["file_name"])]
    class_mode = len(entries) > 1 or bool(class_folders) or values["out"] is not None
    shard = shard_option(values["shard"], values["out"])
    class_ids = tuple(entry.id for entry in entries) if shard else ()
    entries = select(entries, shard)
    if class_mode and values["results"] is not None:
        raise UsageError("--results is for one submission; to grade several, give --out DIR (each gets "
                         "DIR/<id>/results.json)")
    results = results_path(values["results"])
    formats = report_formats(values["formats"])
    report_files = class_report_paths(values) if class_mode else report_paths(values, formats)
    points_table = assignment_table(values["points"], values["assignment"])
    check_output_paths(report_files, entries, points_table, values)
    profile = resolve_profile(values["profile"])
    needs = course_needs(points_table)  # the assignment's own packages and helper folders
    worker_options = WorkerOptions(
        import_paths=(*needs.paths, *(existing_folder("--path", Path(p)) for p in values["paths"])),
        call_timeout=values["call_timeout"],
        memory_limit=values["memory_limit"] * MIB or None,
        allowed_packages=tuple(dict.fromkeys((*needs.requires,
                                              *(package_name(name) for name in values["allowed_packages"])))),
        preload=tuple(name for name in needs.requires if name in PRELOADED),
        require_sandbox=values["require_sandbox"],
    )
    check_source = CheckSource(tuple(Path(folder) for folder in values["checks_dirs"]), points_table,
                               values["builtin"], profile, values["self_check"])
    checks, left_out = check_source.load()
    cluster = cluster_address(values["cluster"], class_mode, values["jobs"])
    repro_dir = repro_folder(values["repro_dir"], class_mode, checks)
    if worker_options.require_sandbox:  # last: it starts a worker, worth doing only for a valid command
        require_sandbox(worker_options)
    return GradingSettings(tuple(entry.path for entry in entries), tuple(checks), profile, values["seed"],
                           worker_options, results, values["deadline"], values["quiet"], tuple(left_out), formats,
                           report_files, entries, class_mode, values["out"], values["jobs"], values["force"],
                           verbose=values["verbose"], repro_dir=repro_dir, shard=shard, class_ids=class_ids,
                           check_source=check_source, cluster=cluster)


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


def shard_option(text: str | None, out: Path | None) -> Shard | None:
    """--shard I/N, checked; it needs --out, the folder ``rnn-grade merge`` takes."""
    if text is None:
        return None
    try:
        shard = parse_shard(text)
    except ShardError as problem:
        raise UsageError(str(problem)) from None
    if out is None:
        raise UsageError(f"--shard {text} needs --out DIR: rnn-grade merge combines the shards' --out folders "
                         "into the class's reports")
    return shard


def results_path(path: Path | None, option: str = "--results", file_name: str = "results.json") -> Path | None:
    """A report's path, refused now if it names a folder (not found out after a long grading run)."""
    if path is not None and path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give the path of the file to write (.../{file_name})")
    return path


def report_formats(text: str) -> tuple[str, ...]:
    """--format's comma list, each name once, in the order given; an unknown name is a UsageError."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise UsageError(f"--format {text!r}: {'unknown ' + ', '.join(unknown) if unknown else 'no format named'}; "
                         f"give a comma list of {', '.join(FORMATS)}")
    return names


def report_paths(values: dict[str, Any], formats: Sequence[str]) -> dict[str, Path]:
    """{format: file} from the path options; each requested file format needs its path, and each path its format.

    Gradescope, the default, is written only when --results is given (nothing lands in the current
    folder unasked). Two reports to one file would overwrite each other: refused as well.
    """
    paths = {}
    for name, report in FORMATS.items():
        if report is None:
            continue
        path = values[report.option.removeprefix("--")]
        if path is not None and name not in formats:
            raise UsageError(f"{report.option} {path} is given, but --format does not list {name}: add it "
                             f"(--format {','.join([*formats, name])})")
        if path is None and name in formats and name != "gradescope":
            raise UsageError(f"--format {name} needs {report.option} PATH, the file to write")
        if path is not None:
            paths[name] = results_path(Path(path), report.option, report.file_name)
    written = list(paths.values())
    duplicates = {str(path) for path in written if written.count(path) > 1}
    if duplicates:
        raise UsageError(f"two reports would be written to {', '.join(sorted(duplicates))}; give each its own file")
    return paths


def check_output_paths(reports: Mapping[str, Path], entries: Sequence[Entry], points: Path | None,
                       values: dict[str, Any]) -> None:
    """Before grading: no report path (nor --repro-dir, nor --out) is an input, and every report path can be
    written."""
    inputs = inputs_of((entry.path for entry in entries), with_siblings=len(entries) == 1, points=points,
                       folders={"--checks-dir": map(Path, values["checks_dirs"]), "--path": map(Path, values["paths"])})
    options = {FORMATS[name].option: path for name, path in reports.items()}
    folders = {"--repro-dir": values["repro_dir"], "--out": values["out"]}
    options.update({option: Path(folder) for option, folder in folders.items() if folder is not None})
    try:
        refuse_inputs(options, inputs)
        for name, path in reports.items():
            require_writable(FORMATS[name].option, path)
    except OutputPathError as problem:
        raise UsageError(str(problem)) from None


def class_report_paths(values: dict[str, Any]) -> dict[str, Path]:
    """No report paths in class mode: every format is written beside each DIR/<id>/results.json."""
    given = [report.option for report in FORMATS.values() if report and values[report.option.removeprefix("--")]]
    if given:
        raise UsageError(f"{given[0]} is for one submission; grading several, --out DIR gets each submission's "
                         "reports beside its DIR/<id>/results.json")
    return {}


def repro_folder(folder: Path | None, class_mode: bool, checks: Sequence[Check]) -> Path | None:
    """--repro-dir, created and checked now (writable, no foreign <check>.py), not after grading."""
    if folder is None:
        return None
    if class_mode:
        raise UsageError("--repro-dir is for one submission; grading several, --out DIR gets each submission's "
                         "scripts in DIR/<id>/repro/")
    created = not folder.exists()
    try:
        prepared = prepare_folder(folder, (check.name for check in checks))
    except ReproFolderError as problem:
        raise UsageError(str(problem)) from None
    if created:
        print(inert(f"rnn-grade: created folder {shown(folder)}"), file=sys.stderr)
    return prepared


def cluster_address(address: str | None, class_mode: bool, jobs: int | None) -> str | None:
    """--cluster ADDRESS, if it goes with the rest of the command and Dask's client is installed.

    Whether a scheduler answers there is found out when connecting (``checks.engine.course.cluster``).
    """
    if address is None:
        return None
    if not class_mode:
        raise UsageError("--cluster is for grading a class: give a class folder or several submissions (and --out DIR)")
    if jobs is not None:
        raise UsageError("give --jobs N (grade here) or --cluster ADDRESS (grade on a Dask cluster), not both: on a "
                         "cluster, the workers' number decides how many submissions are graded at a time")
    if not address.strip():
        raise UsageError("--cluster: give the Dask scheduler's address, such as tcp://10.0.0.5:8786")
    from checks.engine.course.cluster import require_distributed  # imports Dask only when --cluster is given

    require_distributed()
    return address.strip()


def resolve_profile(given: str | None) -> str:
    """--profile, else $RNN_GRADE_PROFILE, else "default"; checked here, whichever it came from."""
    profile = given or profile_from_environment()
    if profile not in MAX_EXAMPLES:
        source = f"--profile {profile!r}" if given else f"the environment variable {PROFILE_ENVIRONMENT}={profile!r}"
        raise UsageError(f"{source} names no profile; use one of {', '.join(sorted(MAX_EXAMPLES))}, or unset it")
    return profile



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



