"""Which checks a grade runs: the assignment's points table, the course's check folders, --self-check.

Resolved once, by ``checks.engine.options``; a cluster node loads the same checks again from a
``CheckSource``.
"""

from __future__ import annotations

import importlib.util
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from checks.engine.inputs.usage import UsageError
from checks.registry import (ASSIGNMENTS_FOLDER, DEFAULT_POINTS_TABLE, Check, CheckDefinitionError, CourseNeeds,
                             load_checks, read_points, self_check_split)


@dataclass(frozen=True)
class CheckSource:
    """Where the checks come from: what another process (a cluster node) needs to load the same ones.

    Checks hold functions of modules loaded from files (``--checks-dir``), which do not pickle by
    reference, so a node is sent this and loads them again (``checks.engine.course.cluster``).
    """

    checks_dirs: tuple[Path, ...] = ()
    points: Path | None = None  # the assignment's table (--points, --assignment); None: the built-in one
    builtin: bool = True
    profile: str | None = None
    self_check: bool = False

    def load(self) -> tuple[list[Check], list[Check]]:
        """(the checks to run, the ones --self-check left out), or UsageError."""
        checks = resolve_checks(self.checks_dirs, self.points, self.builtin, self.profile)
        return self_check(checks) if self.self_check else (require_reference(checks), [])


def existing_folder(flag: str, folder: Path) -> Path:
    if not folder.is_dir():
        raise UsageError(f"{flag} {folder}: no such folder")
    return folder


def assignment_table(points: Path | None, assignment: str | None) -> Path | None:
    """The points table --points or --assignment names (not both), or None for the built-in table."""
    if assignment is None:
        return points
    if points is not None:
        raise UsageError("give --points FILE or --assignment NAME, not both: each names the whole assignment")
    shipped = ASSIGNMENTS_FOLDER / f"{assignment}.toml"
    if shipped.is_file():
        return shipped
    if Path(assignment).is_file():
        return Path(assignment)
    names = ", ".join(sorted(path.stem for path in ASSIGNMENTS_FOLDER.glob("*.toml")))
    raise UsageError(f"--assignment {assignment}: no shipped assignment of that name (shipped: {names}) "
                     "and no such file")


#: What to install for a package an assignment requires, when it is missing: {package: pip's command}.
INSTALL = {"torch": "pip install 'rnn-grade[torch]'"}


def course_needs(points: Path | None) -> CourseNeeds:
    """The ``[course]`` needs of the assignment's table (none for the built-in one), each package required
    checked to be installed: else a UsageError (exit 2) saying what to install."""
    if points is None or not Path(points).is_file():
        return CourseNeeds()
    try:
        needs = read_points(Path(points)).course
    except CheckDefinitionError as error:
        raise UsageError(f"could not load the checks: {error}") from None
    for name in needs.requires:
        if importlib.util.find_spec(name) is None:
            install = INSTALL.get(name, f"pip install {name}")
            raise UsageError(f"this assignment ({Path(points).stem}) grades code that uses {name}, which is not "
                             f"installed for this Python; install it with: {install}")
    return needs


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
    # A table given (--points, --assignment) is the whole assignment. Without one, the built-in table
    # weights the built-in checks only: --checks-dir checks keep their decorators' points.
    given = points is not None
    if points is None and builtin and DEFAULT_POINTS_TABLE.is_file():
        points = DEFAULT_POINTS_TABLE
    try:
        checks = load_checks(checks_dirs, points, builtin=builtin, profile=profile, assignment=given)
    except CheckDefinitionError as error:  # the message names the course's file and line
        raise UsageError(f"could not load the checks: {error}") from None
    except Exception as error:  # noqa: BLE001 - a broken check module or points table, said plainly
        raise UsageError(f"could not load the checks: {type(error).__name__}: {error}{raised_at(error)}") from None
    if not checks:
        wanted = "at least one --checks-dir" if not builtin else "the built-in checks or a --checks-dir"
        raise UsageError(f"no checks to run: give {wanted}")
    return checks


def self_check(checks: list[Check]) -> tuple[list[Check], list[Check]]:
    """For --self-check: (the checks that need no reference solution, the ones left out)."""
    run, left_out = self_check_split(checks)
    if not run:
        raise UsageError("--self-check: every check to run compares with the reference solution, so none is left")
    return run, left_out


def require_reference(checks: list[Check]) -> list[Check]:
    """``checks``, if the reference solution some of them compare with can be imported; else say what to run."""
    needing = [c for c in checks if c.reference]
    if needing and importlib.util.find_spec("reference") is None:
        raise UsageError(f"the full grade needs the course's reference solution, which this installation does not "
                         f"include ({len(needing)} checks compare with it). Run with --self-check to grade with the "
                         f"{len(checks) - len(needing)} checks that need no reference.")
    return checks


def raised_at(error: BaseException) -> str:
    """' (in file.py, line N)' for the innermost frame, so a broken check module is easy to find."""
    frames = traceback.extract_tb(error.__traceback__)
    if isinstance(error, SyntaxError) or not frames:
        return ""  # a SyntaxError's message already names its file and line
    return f" (in {Path(frames[-1].filename).name}, line {frames[-1].lineno})"


def reference_installed() -> bool:
    """Whether the reference solution can be imported (a student's package ships without it)."""
    try:
        return importlib.util.find_spec("reference") is not None
    except ValueError:  # sys.modules["reference"] is None: imports of it are blocked
        return False
