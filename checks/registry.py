"""Declaring property checks, finding them, and weighting them.

A check is one decorated function::

    @check(group="tanh", points=5, needs=("rnn_step_forward", "rnn_step_backward"))
    @given(problem=rnn_problems())
    def step_backward_uses_one_minus_h_squared(sub, problem):
        ...

``sub`` is the ``checks.engine.contract.Submission`` under test. The check passes if it returns, and
fails on any exception (Hypothesis shrinks the inputs first). ``needs`` lists the contract
functions it calls: a missing one costs exactly this check's points, with "not implemented: ...".

The built-in checks live in one module per group, ``checks/<group>.py``; course checks live in any
folder passed with ``--checks-dir``.
The points in ``checks/points.toml`` override the decorator's, so course staff can reweight
without touching code.
"""

from __future__ import annotations

import hashlib
import math
import importlib
import importlib.util
import sys
import tomllib
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from checks.engine.contract import CONTRACT_FUNCTIONS
from checks.engine.profiles import hypothesis_settings, profile_from_environment

GROUPS = ("forward", "backward", "tanh", "truncated", "clipping", "bidirectional", "classifier", "batching", "hygiene")
DEFAULT_POINTS_TABLE = Path(__file__).with_name("points.toml")

@dataclass(frozen=True)
class Check:
    """A registered property check."""

    name: str
    group: str
    points: float
    needs: tuple[str, ...]
    function: Callable
    examples: float  # fraction of the profile's max_examples (long sequences are expensive)
    file: str = ""  # where its @check is, for messages to the course's staff
    line: int = 0
    visibility: str = "visible"

    @property
    def source(self) -> str:
        return f"{self.file}, line {self.line}"

    @property
    def description(self) -> str:
        return (self.function.__doc__ or self.name).strip().splitlines()[0]


_registered: dict[tuple[str, str], Check] = {}  # by (module, function name)
# Hypothesis fixes a test's settings when it is decorated, so the profile is chosen before the
# check modules are imported, once per process (load_checks).
_bound_profile: list[str] = []


class CheckDefinitionError(Exception):
    """A course's check module or points table is wrong. The message starts with its file and line,
    so the TA who wrote it can go straight there; the grade is not produced (exit 2)."""


def check(group: str, points: float, needs: Iterable[str], examples: float = 1.0) -> Callable[[Callable], Callable]:
    """Register the decorated function as a property check of ``group`` worth ``points``.

    Every argument is validated here, when the course's module is imported, and a mistake names the
    line of the ``@check(...)`` that made it.
    """
    file, line = caller_location()
    where = f"{file}, line {line}"
    needs = tuple(needs)
    if group not in GROUPS:
        raise CheckDefinitionError(f"{where}: unknown group {group!r}; use one of {', '.join(GROUPS)}")
    unknown = [name for name in needs if name not in CONTRACT_FUNCTIONS]
    if unknown:
        raise CheckDefinitionError(f"{where}: needs names functions outside the contract: {', '.join(unknown)}; "
                                   f"the contract functions are {', '.join(CONTRACT_FUNCTIONS)}")
    problem = points_problem(points)
    if problem:
        raise CheckDefinitionError(f"{where}: points={points!r}: {problem}")
    if type(examples) not in (int, float) or not 0 < examples <= 1:
        raise CheckDefinitionError(f"{where}: examples={examples!r}: give a fraction 0 < examples <= 1 of the "
                                   "profile's examples")

    def register(function: Callable) -> Callable:
        name = function.__name__
        if getattr(function, "is_hypothesis_test", False):
            function = hypothesis_settings(bound_profile(), examples)(function)
        key = (function.__module__, name)
        if key in _registered:  # two checks of one module share a name: the first would vanish
            raise CheckDefinitionError(f"{where}: a second check is named {name!r} in this module (the first is at "
                                       f"{_registered[key].source}); check names must be unique")
        _registered[key] = Check(name, group, float(points), needs, function, examples, file, line)
        return function

    return register


def caller_location(depth: int = 2) -> tuple[str, int]:
    """(file, line) of the code that called our caller: the ``@check(...)`` line."""
    frame = sys._getframe(depth)
    return frame.f_code.co_filename, frame.f_lineno


def points_problem(points: object) -> str | None:
    """Why ``points`` is not a valid number of points (finite, >= 0), or None."""
    if type(points) not in (int, float):
        return "points must be a number"
    if not math.isfinite(points) or points < 0:
        return "points must be a finite number >= 0"
    return None


def bound_profile() -> str:
    """The profile checks are decorated with: the one given to load_checks, else the environment's."""
    if not _bound_profile:
        _bound_profile.append(profile_from_environment())
    return _bound_profile[0]


def load_checks(
    extra_dirs: Iterable[Path] = (),
    points_table: Path | None = DEFAULT_POINTS_TABLE,
    builtin: bool = True,
    profile: str | None = None,
) -> list[Check]:
    """Import every check module, apply the points table, and return the checks in group order.

    ``builtin=False`` leaves out the built-in group modules (the harness's own tests grade with a few
    tiny checks from ``extra_dirs`` only). ``profile`` binds the Hypothesis profile; it can be
    chosen once per process, before the first checks are imported.
    """
    hypothesis_settings(profile or bound_profile())  # an unknown profile fails here, clearly
    if profile and bound_profile() != profile:
        if _registered:
            raise RuntimeError(f"checks were already loaded with profile {bound_profile()!r} in this process")
        _bound_profile[:] = [profile]
    modules = set()
    if builtin:
        modules |= {importlib.import_module(f"checks.{group}").__name__ for group in GROUPS}
    for folder in extra_dirs:
        modules |= import_folder(Path(folder))
    # Only the checks of the modules asked for now: an earlier call in the same process may have
    # registered checks from other folders.
    found = [c for (module, _), c in _registered.items() if module in modules]
    reject_duplicate_names(found)
    found.sort(key=lambda c: GROUPS.index(c.group))
    return apply_points(found, read_points(points_table) if points_table else {})


def reject_duplicate_names(found: list[Check]) -> None:
    """Check names are the ids of reports, CSV columns and pytest tests: each must be unique."""
    by_name: dict[str, list[Check]] = {}
    for c in found:
        by_name.setdefault(c.name, []).append(c)
    for name, same in by_name.items():
        if len(same) > 1:
            raise CheckDefinitionError(f"{same[1].source}: a second check is named {name!r} (the first is at "
                                       f"{same[0].source}); check names must be unique")


def import_folder(folder: Path) -> set[str]:
    """Import every ``*.py`` in ``folder`` (once per process) and return the module names."""
    if not folder.is_dir():
        raise FileNotFoundError(f"--checks-dir {folder}: no such folder")
    names = set()
    for path in sorted(folder.glob("*.py")):
        # The folder's path is part of the name, so two folders may both hold a "extra.py".
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
        name = f"rnn_grade_extra_checks.{path.stem}_{digest}"
        if name not in sys.modules:
            import_check_module(name, path)
        names.add(name)
    return names


def import_check_module(name: str, path: Path) -> None:
    """Import one course check module; any failure names the module's own file and line."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    for key in [key for key in _registered if key[0] == name]:  # left by an earlier, failed import
        del _registered[key]
    try:
        spec.loader.exec_module(module)
    except CheckDefinitionError:
        del sys.modules[name]  # a fixed module can be loaded again
        raise
    except Exception as error:  # noqa: BLE001 - a broken module, a misused strategy: said plainly
        del sys.modules[name]
        raise CheckDefinitionError(f"{location_in(error, path)}: importing the check module raised "
                                   f"{type(error).__name__}: {error}") from error


def location_in(error: BaseException, path: Path) -> str:
    """'path, line N' of the deepest frame of ``error`` inside the file ``path`` (or of its syntax error)."""
    if isinstance(error, SyntaxError) and error.lineno:
        return f"{path}, line {error.lineno}"
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
             if Path(frame.filename).resolve() == path.resolve()]
    return f"{path}, line {lines[-1]}" if lines else str(path)


def read_points(path: Path) -> dict[str, tuple[str, float]]:
    """{check name: (group, points)} from a TOML table with one section per group, validated.

    An unknown group, a value that is not a number >= 0, or a check listed twice is an error that
    names the line of the table.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CheckDefinitionError(f"{path}: not valid TOML: {error}") from None
    points: dict[str, tuple[str, float]] = {}
    for group, section in table.items():
        if group not in GROUPS or type(section) is not dict:
            raise CheckDefinitionError(f"{path}, line {line_of(text, group)}: [{group}] is not a group; "
                                       f"the groups are {', '.join(GROUPS)}")
        for name, value in section.items():
            where = f"{path}, line {line_of(text, name, after=group)}"
            problem = points_problem(value)
            if problem:
                raise CheckDefinitionError(f"{where}: {name} = {value!r}: {problem}")
            if name in points:
                raise CheckDefinitionError(f"{where}: {name} is listed twice (also under [{points[name][0]}])")
            points[name] = (group, float(value))
    return points


def line_of(text: str, key: str, after: str | None = None) -> int:
    """The line number (from 1) where ``key`` is defined in a TOML text, inside section ``after``."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        start = next((i for i, line in enumerate(lines) if line.strip().strip("[]").strip() == after), 0)
    for number, line in enumerate(lines[start:], start + 1):
        stripped = line.strip()
        if stripped.partition("=")[0].strip().strip('"') == key or stripped.strip("[]").strip() == key:
            return number
    return 0


def apply_points(found: list[Check], points: dict[str, tuple[str, float]]) -> list[Check]:
    """The checks with the table's points; a check the table lists under another group is an error."""
    groups = {c.name: c.group for c in found}
    unknown = sorted(set(points) - set(groups))
    if unknown:
        raise CheckDefinitionError(f"the points table names checks that do not exist: {', '.join(unknown)}")
    misplaced = [(name, group) for name, (group, _) in points.items() if groups[name] != group]
    if misplaced:
        name, group = misplaced[0]
        raise CheckDefinitionError(f"the points table lists {name} under [{group}], but it is a check of group "
                                   f"{groups[name]}; move it to [{groups[name]}]")
    return [replace(c, points=points[c.name][1]) if c.name in points else c for c in found]
