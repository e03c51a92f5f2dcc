"""The ``rnn-grade`` command: grade one submission, print a summary, optionally write results.json.

Exit status: 0 full marks, 1 some check lost points (an unimportable submission included: it still
gets a complete report of zeros), 2 no grade could be produced (bad arguments, bad checks, an
internal error), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
import traceback
from pathlib import Path
from typing import Sequence

from checks.engine.confinement import ACTIVE
from checks.engine.isolation import DEFAULT_CALL_TIMEOUT, DEFAULT_MEMORY_LIMIT, WorkerFault, probe_confinement
from checks.engine.profiles import DEFAULT_SEED, MAX_EXAMPLES, PROFILE_ENVIRONMENT, profile_from_environment
from checks.engine.sandbox import find_package
from checks.registry import DEFAULT_POINTS_TABLE, Check, load_checks
from checks.engine.report import instructor_notes, mark, terminal_summary, total_line, write_results
from checks.engine.runner import CheckResult, Grade, grade_submission

EXIT_FULL_MARKS, EXIT_LOST_POINTS, EXIT_NO_GRADE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEBUG_ENVIRONMENT = "RNN_GRADE_DEBUG"
MIB = 1024**2

DESCRIPTION = "Grade a NumPy RNN submission with property-based checks."
EPILOG = f"""\
SUBMISSION is your .py file, or a folder whose __init__.py provides the functions.

results.json is written only when --results is given (nothing is written into the current
folder by default). On Gradescope, run:
    rnn-grade /autograder/submission/rnn_layers.py --results /autograder/results/results.json

The profile comes from --profile, else from the environment variable {PROFILE_ENVIRONMENT},
else "default". The same submission, profile and seed always give the same grade.

exit status: 0 full marks; 1 some check lost points (also when the submission cannot be
imported); 2 no grade could be produced (bad arguments or an internal error); 130 interrupted.
"""


class UsageError(Exception):
    """Something the person running rnn-grade must fix; the message says what."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status; nothing escapes as a traceback."""
    try:
        return run(argv)
    except KeyboardInterrupt:
        print("rnn-grade: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as problem:
        print(f"rnn-grade: {problem}", file=sys.stderr)
        return EXIT_NO_GRADE
    except Exception as error:  # noqa: BLE001 - a grader bug must still end with a clear message
        print(f"rnn-grade: internal error: {type(error).__name__}: {error}", file=sys.stderr)
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
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad options, 0 after --help
        return int(exit_.code or 0)
    submission = submission_path(args.submission)
    if args.results and args.results.is_dir():  # found out now, not after a long grading run
        raise UsageError(f"--results {args.results} is a folder; give the path of the file to write (.../results.json)")
    profile = resolve_profile(args.profile)
    checks = resolve_checks(args.checks_dir, args.points, builtin=args.builtin, profile=profile)
    show_progress = not args.quiet and sys.stderr.isatty()
    options = worker_options(args.path, args.call_timeout, args.memory_limit, args.allow_package)
    if args.require_sandbox:
        require_sandbox(options)
    grade = grade_submission(
        submission,
        checks,
        args.seed,
        progress=print_progress if show_progress else None,
        deadline=args.deadline,
        **options,
    )
    if args.results:  # first: the file Gradescope needs must not depend on a working terminal
        save(grade, args.results)
    show(total_line(grade) if args.quiet else terminal_summary(grade))
    show_instructor_notes(grade, quiet=args.quiet)
    return exit_status(grade)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnn-grade", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("submission", metavar="SUBMISSION", type=Path, help="a .py file or a folder with __init__.py")
    parser.add_argument("--results", type=Path, metavar="PATH", help="write Gradescope's results.json to PATH")
    parser.add_argument("--profile", choices=sorted(MAX_EXAMPLES),
                        help=f"how many examples per check (default: ${PROFILE_ENVIRONMENT} or default)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="N",
                        help=f"Hypothesis seed (default: {DEFAULT_SEED})")
    parser.add_argument("--path", action="append", type=Path, default=[], metavar="DIR",
                        help="make the modules in DIR importable by the submission (course helpers); repeatable")
    parser.add_argument("--checks-dir", action="append", type=Path, default=[], metavar="DIR",
                        help="also run the checks defined in DIR/*.py; repeatable")
    parser.add_argument("--no-builtin-checks", dest="builtin", action="store_false",
                        help="run only the --checks-dir checks (with their own points unless --points is given)")
    parser.add_argument("--points", type=Path, metavar="FILE",
                        help="points table (TOML, one section per group) overriding the checks' points")
    parser.add_argument("--call-timeout", type=positive_float, default=DEFAULT_CALL_TIMEOUT, metavar="SECONDS",
                        help=f"time limit of one call into the submission (default: {DEFAULT_CALL_TIMEOUT:g})")
    parser.add_argument("--deadline", type=positive_float, metavar="SECONDS",
                        help="bound the whole run: checks not finished by then score 0 (default: no bound)")
    parser.add_argument("--memory-limit", type=non_negative_int, default=DEFAULT_MEMORY_LIMIT // MIB, metavar="MIB",
                        help="address-space limit of the submission's process, 0 for none "
                        f"(default: {DEFAULT_MEMORY_LIMIT // MIB})")
    parser.add_argument("--allow-package", action="append", default=[], metavar="NAME",
                        help="let submissions import the installed package NAME (besides numpy and the standard "
                        "library); repeatable")
    parser.add_argument("--require-sandbox", action="store_true",
                        help="refuse to grade (exit 2) unless every layer of the worker's confinement is active here")
    parser.add_argument("--quiet", action="store_true", help="print only the total")
    return parser


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of MiB, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more, got {text!r}")
    return value


def submission_path(path: Path) -> Path:
    """The submission, if it is a .py file or a package folder; otherwise say what to pass instead."""
    if not path.exists():
        raise UsageError(f"submission {path}: no such file or folder. Pass your .py file or a folder with __init__.py.")
    if path.is_dir():
        if not (path / "__init__.py").is_file():
            raise UsageError(
                f"submission {path} is a folder without __init__.py. Pass the .py file that defines your functions, "
                "or add an __init__.py to the folder that imports them."
            )
        return path
    if path.suffix == ".ipynb":
        raise UsageError(
            f"submission {path} is a notebook. Export it as a .py file (File > Download as > Python) and pass that."
        )
    if path.suffix != ".py":
        raise UsageError(f"submission {path} is not a .py file. Pass the Python file that defines your functions.")
    return path


def resolve_profile(option: str | None) -> str:
    """--profile, else $RNN_GRADE_PROFILE (validated here, since argparse never sees it), else default."""
    if option:
        return option
    profile = profile_from_environment()
    if profile not in MAX_EXAMPLES:
        raise UsageError(
            f"the environment variable {PROFILE_ENVIRONMENT}={profile!r} names no profile; "
            f"use one of {', '.join(sorted(MAX_EXAMPLES))}, or unset it"
        )
    return profile


def resolve_checks(
    checks_dirs: Sequence[Path], points: Path | None, builtin: bool = True, profile: str | None = None
) -> list[Check]:
    """Load the checks to run, with the points table that applies; shared by the CLI and pytest.

    ``profile`` is bound when the checks are decorated (see ``checks.registry.load_checks``).
    """
    for folder in checks_dirs:
        if not Path(folder).is_dir():
            raise UsageError(f"--checks-dir {folder}: no such folder")
    if points is not None and not Path(points).is_file():
        raise UsageError(f"--points {points}: no such file")
    # Without --points: the course's table, if present; the built-in table names only built-in checks.
    if points is None and builtin and DEFAULT_POINTS_TABLE.is_file():
        points = DEFAULT_POINTS_TABLE
    try:
        checks = load_checks(checks_dirs, points, builtin=builtin, profile=profile)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"points table {points} is not valid TOML: {error}") from None
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


def worker_options(paths: Sequence[Path], call_timeout: float, memory_limit_mib: int,
                   allowed_packages: Sequence[str] = ()) -> dict:
    """Keyword arguments for ``checks.engine.isolation.Worker``, after checking the --path folders
    and the --allow-package names."""
    for folder in paths:
        if not Path(folder).is_dir():
            raise UsageError(f"--path {folder}: no such folder")
    for name in allowed_packages:
        try:
            find_package(name)
        except (LookupError, ImportError, ValueError) as problem:
            raise UsageError(f"--allow-package {name}: {problem}") from None
    return {
        "import_paths": tuple(paths),
        "call_timeout": call_timeout,
        "memory_limit": memory_limit_mib * MIB or None,
        "allowed_packages": tuple(allowed_packages),
    }


def require_sandbox(options: dict) -> None:
    """For --require-sandbox: UsageError, naming what is missing, unless a worker here is fully confined."""
    try:
        missing = probe_confinement(**options).missing
    except WorkerFault as fault:
        raise UsageError(f"--require-sandbox: could not start a worker to check its confinement: {fault}") from None
    if missing:
        reasons = "; ".join(f"{layer.title} ({layer.detail})" for layer in missing)
        raise UsageError(f"--require-sandbox: refusing to grade, the worker cannot be fully confined on this "
                         f"machine. Missing: {reasons}")


def show_instructor_notes(grade: Grade, quiet: bool) -> None:
    """On stderr: how the worker was confined, and what the instructor should know (never the student)."""
    active = [layer.title for layer in grade.sandbox.layers if layer.state == ACTIVE]
    if active and not quiet:
        print(f"rnn-grade: the worker was confined by: {', '.join(active)}", file=sys.stderr)
    for note in instructor_notes(grade):
        print(f"rnn-grade: note: {note}", file=sys.stderr)


def show(text: str) -> None:
    """Print to stdout; a reader that went away (``rnn-grade ... | head``) is not an error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def print_progress(result: CheckResult) -> None:
    print(f"  {mark(result)}  {result.check.group}/{result.check.name}  ({result.seconds:.1f} s)", file=sys.stderr)


def save(grade: Grade, path: Path) -> None:
    try:
        write_results(grade, path)
    except OSError as error:
        raise UsageError(f"could not write {path}: {error.strerror or error}") from None


def exit_status(grade: Grade) -> int:
    full_marks = not grade.import_error and all(result.passed for result in grade.results)
    return EXIT_FULL_MARKS if full_marks else EXIT_LOST_POINTS


if __name__ == "__main__":
    sys.exit(main())
