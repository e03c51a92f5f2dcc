"""Declaring property checks, finding them, and weighting them.

A check is one decorated function::

    @check(group="tanh", points=5, needs=("rnn_step_forward", "rnn_step_backward"))
    @given(problem=rnn_problems())
    def step_backward_uses_one_minus_h_squared(sub, problem):
        ...

``sub`` is the ``checks.engine.isolation.contract.Submission`` under test. The check passes if it returns, and
fails on any exception (Hypothesis shrinks the inputs first). ``needs`` lists the contract
functions it calls: a missing one costs exactly this check's points, with "not implemented: ...".

The built-in checks live in one module per group, ``checks/<group>.py``; course checks live in any
folder passed with ``--checks-dir``.

A points table (``checks/points.toml``, a shipped assignment in ``checks/assignments/``, or a
course's file) overrides the decorators' points, so course staff can reweight without touching
code. Given as the assignment (``--points``, ``--assignment``), a table that names checks is the
whole assignment: a check it leaves out, or gives 0 points, is not run. It may also declare
course groups, set each check's visibility, and set the grading policy (``checks.policy``).

A check that calls the course's reference solution or its oracles (``reference/``) says so with
``reference=True``, and imports ``reference`` inside its own body: students are not given the
reference, and ``rnn-grade --self-check`` runs only the checks without it (``self_check_split``).
A check may ``stand_in_for`` a reference check of its own module: a property that needs no
solution and judges the same functions (the forward pass against the lecture's definition). It is
never part of a full grade; a self-check runs it in its counterpart's place, with the counterpart's
points, visibility and policy, so the self-check loses what the full grade loses for the same
mistake, and the full grade's checks and totals are untouched.
"""

from __future__ import annotations

import hashlib
import math
import importlib
import importlib.util
import sys
import tomllib
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import AbstractSet, Callable, Iterable

from checks.engine.isolation.contract_functions import KNOWN_NAMES
from checks.engine.run.profiles import hypothesis_settings, profile_from_environment
from checks.policy import DEFAULT_POLICY, Policy, policy_problem

GROUPS = ("forward", "backward", "tanh", "truncated", "clipping", "bidirectional", "classifier", "batching", "hygiene",
          "lstm", "gru", "embedding", "temporal", "captioning")
#: The groups of the other APIs, each with the module of ``checks`` that defines its checks. Those modules are
#: imported only when the points table lists one of their groups: the default grade neither runs their checks
#: nor pays for their imports (torch's), and an assignment of another API runs only its own.
API_GROUPS: dict[str, str] = {
    # deeplearning.ai's column-major API (--assignment dlai-c5w1): one group per function, as the course grades
    **{name: "dlai" for name in ("rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward",
                                 "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward")},
    # CS231n's PyTorch functions from 2025 (--assignment cs231n-pytorch)
    **{name: "torch_functions" for name in ("torch_rnn", "torch_embedding", "torch_lstm")},
    # nn.Module cells as torch.nn's (--assignment torch-cells)
    **{name: "torch_cells" for name in ("torch_rnn_cell", "torch_lstm_cell")},
}
DEFAULT_POINTS_TABLE = Path(__file__).with_name("points.toml")
ASSIGNMENTS_FOLDER = Path(__file__).with_name("assignments")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's
COURSE_GROUPS_KEY, POLICY_SECTION, COURSE_SECTION = "course_groups", "policy", "course"


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
    # True: the check judges the functions of ``needs`` each on its own, in ``parts`` (hygiene).
    needs_any: bool = False
    # A needs_any check's parts: the functions each equal share of its points needs (by default,
    # one part per function of ``needs``). A part one of whose functions is missing loses its share.
    # An assignment keeps only the parts it asks for (``scoped_to_assignment``).
    parts: tuple[tuple[str, ...], ...] = ()
    policy: Policy = DEFAULT_POLICY
    reference: bool = False  # it compares with the reference solution: left out of a self-check
    stands_in_for: str = ""  # a self-check runs it instead of this reference check of its module
    extra_credit: bool = False  # its points add to the score but not to the total it is out of (points table)

    @property
    def source(self) -> str:
        return f"{self.file}, line {self.line}"

    def share_judged(self, implemented: AbstractSet[str]) -> float:
        """The share of the points that can be earned when only ``implemented`` functions can be called.

        A check needs all of ``needs`` (1 or 0); a ``needs_any`` check splits its points equally among
        its ``parts``, and a part earns its share only if all of its functions are implemented: a
        missing function (or one that raises NotImplementedError) costs exactly the parts that call it.
        """
        if not self.needs_any:
            return float(set(self.needs) <= implemented)
        parts = self.parts or tuple((function,) for function in self.needs)
        return sum(set(part) <= implemented for part in parts) / len(parts)

    @property
    def description(self) -> str:
        """The docstring's first sentence, on one line: its first line, and the next ones while the
        sentence goes on (a summary wrapped in the source stays whole)."""
        lines = (self.function.__doc__ or self.name).strip().splitlines()
        summary = [lines[0].strip()]
        for line in lines[1:]:
            if summary[-1].endswith((".", ":", "!", "?")) or not line.strip():
                break
            summary.append(line.strip())
        return " ".join(summary)


_registered: dict[tuple[str, str], Check] = {}  # by (module, function name)
# The course groups of the points table being loaded: a course check's group is validated when its
# module is imported, so load_checks reads the table first.
_course_groups: list[str] = []
# Hypothesis fixes a test's settings when it is decorated, so the profile is chosen before the
# check modules are imported, once per process (load_checks).
_bound_profile: list[str] = []


class CheckDefinitionError(Exception):
    """A course's check module or points table is wrong. The message starts with its file and line,
    so the TA who wrote it can go straight there; the grade is not produced (exit 2)."""


def check(
    group: str, points: float, needs: Iterable[str], examples: float = 1.0, needs_any: bool = False,
    reference: bool = False, parts: Iterable[Iterable[str]] = (), stands_in_for: str = "",
) -> Callable[[Callable], Callable]:
    """Register the decorated function as a property check of ``group`` worth ``points``.

    ``needs_any=True``: the check judges the functions of ``needs`` each on its own. Its points are
    split equally among its ``parts`` (default: one per function of ``needs``), each the functions
    that one share needs; it runs if any part can, must itself look only at the implemented
    functions (``sub.functions``), and a part with a missing function loses its share
    (``Check.share_judged``). ``reference=True`` declares that the check compares
    with the reference solution (or its oracles), so that a student's self-check, which has no
    reference, leaves it out; ``stands_in_for="name"``, that only a self-check runs it, in the place of
    the reference check ``name`` of its module, with its points. Every argument is validated here, when
    the course's module is imported, and a mistake names the line of the ``@check(...)`` that made it.
    """
    file, line = caller_location()
    where = f"{file}, line {line}"
    needs = tuple(needs)
    if group not in known_groups():
        raise CheckDefinitionError(f"{where}: unknown group {group!r}; use one of {', '.join(known_groups())}, "
                                   f"or declare it in the points file's {COURSE_GROUPS_KEY}")
    unknown = [name for name in needs if name not in KNOWN_NAMES]
    if unknown:
        raise CheckDefinitionError(f"{where}: needs names functions outside the contract: {', '.join(unknown)}; "
                                   f"the contract functions are {', '.join(KNOWN_NAMES)}")
    problem = points_problem(points)
    if problem:
        raise CheckDefinitionError(f"{where}: points={points!r}: {problem}")
    if type(examples) not in (int, float) or not 0 < examples <= 1:
        raise CheckDefinitionError(f"{where}: examples={examples!r}: give a fraction 0 < examples <= 1 of the "
                                   "profile's examples")
    if type(reference) is not bool:
        raise CheckDefinitionError(f"{where}: reference={reference!r}: give True if the check uses the reference "
                                   "solution, else leave it out")
    if type(stands_in_for) is not str or (stands_in_for and reference):
        raise CheckDefinitionError(f"{where}: stands_in_for={stands_in_for!r}: give the name of the reference check "
                                   "this check replaces in a self-check; a stand-in must not use the reference itself")
    parts = tuple(tuple(part) for part in parts)
    default_parts = tuple((function,) for function in needs) if needs_any else ()
    if parts and (not needs_any or not all(parts) or {f for part in parts for f in part} != set(needs)):
        raise CheckDefinitionError(f"{where}: parts={parts!r}: give parts only with needs_any=True, each a non-empty "
                                   "tuple of functions, together naming exactly the functions of needs")

    def register(function: Callable) -> Callable:
        name = function.__name__
        if getattr(function, "is_hypothesis_test", False):
            function = hypothesis_settings(bound_profile(), examples)(function)
        key = (function.__module__, name)
        if key in _registered:  # two checks of one module share a name: the first would vanish
            raise CheckDefinitionError(f"{where}: a second check is named {name!r} in this module (the first is at "
                                       f"{_registered[key].source}); check names must be unique")
        _registered[key] = Check(name, group, float(points), needs, function, examples, file, line,
                                 needs_any=bool(needs_any), parts=parts or default_parts, reference=reference,
                                 stands_in_for=stands_in_for)
        return function

    return register


def known_groups() -> tuple[str, ...]:
    """The built-in groups, then the course groups of the points table being loaded."""
    return (*GROUPS, *API_GROUPS, *_course_groups)


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
    assignment: bool = False,
) -> list[Check]:
    """Import every check module, apply the points table, and return the checks in group order.

    ``builtin=False`` leaves out the built-in group modules (the harness's own tests grade with a few
    tiny checks from ``extra_dirs`` only). ``profile`` binds the Hypothesis profile; it can be
    chosen once per process, before the first checks are imported. ``assignment=True``: the table
    is the whole assignment (given with --points or --assignment), so if it names any check, the
    checks it does not name are left out; otherwise (the built-in table, applied by default) a
    check it does not name keeps its decorator's points. Either way a check it gives 0 is left out.
    """
    hypothesis_settings(profile or bound_profile())  # an unknown profile fails here, clearly
    if profile and bound_profile() != profile:
        if _registered:
            raise RuntimeError(f"checks were already loaded with profile {bound_profile()!r} in this process")
        _bound_profile[:] = [profile]
    table = read_points(points_table) if points_table else PointsTable()
    _course_groups[:] = table.course_groups
    modules = set()
    if builtin:
        modules |= {importlib.import_module(f"checks.{group}").__name__ for group in GROUPS}
        listed = {entry.group for entry in table.entries.values()} & API_GROUPS.keys()
        modules |= {importlib.import_module(f"checks.{API_GROUPS[group]}").__name__ for group in listed}
    for folder in extra_dirs:
        modules |= import_folder(Path(folder))
    # Only the checks of the modules asked for now: an earlier call in the same process may have
    # registered checks from other folders.
    found = [c for (module, _), c in _registered.items() if module in modules and not c.stands_in_for]
    reject_duplicate_names(found + reject_stray_stand_ins(modules))
    order = {group: index for index, group in enumerate(known_groups())}
    found.sort(key=lambda c: order.get(c.group, len(order)))
    return apply_points(found, table, assignment)


def self_check_split(checks: Iterable[Check]) -> tuple[list[Check], list[Check]]:
    """(the checks a self-check runs, the checks it leaves out because they need the reference).

    A reference check with a stand-in (``stands_in_for``) is replaced by it, in its place, with its
    points, visibility and policy (those of the assignment's table), and is not left out.
    """
    stand_ins = {(module, c.stands_in_for): c for (module, _), c in _registered.items() if c.stands_in_for}
    run, left_out = [], []
    for c in checks:
        stand_in = stand_ins.get((c.function.__module__, c.name)) if c.reference else None
        if stand_in is not None:
            run.append(replace(stand_in, points=c.points, visibility=c.visibility, policy=c.policy))
        elif c.reference:
            left_out.append(c)
        else:
            run.append(c)
    return run, left_out


def reject_stray_stand_ins(modules: set[str]) -> list[Check]:
    """The stand-ins of ``modules``; each must name a reference check of its own module and group, and be
    its only stand-in."""
    seen: dict[tuple[str, str], Check] = {}
    for (module, _), c in _registered.items():
        if module not in modules or not c.stands_in_for:
            continue
        counterpart = _registered.get((module, c.stands_in_for))
        if counterpart is None or not counterpart.reference or counterpart.group != c.group:
            raise CheckDefinitionError(f"{c.source}: stands_in_for={c.stands_in_for!r} must name a check of this "
                                       f"module, of group {c.group}, declared reference=True")
        known = seen.setdefault((module, c.stands_in_for), c)
        if known is not c:
            raise CheckDefinitionError(f"{c.source}: {c.stands_in_for} already has a stand-in, at {known.source}")
    return list(seen.values())


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


@dataclass(frozen=True)
class Entry:
    """One check's line of a points table."""

    group: str
    points: float
    visibility: str
    line: int
    extra_credit: bool = False


@dataclass(frozen=True)
class CourseNeeds:
    """What an assignment's submissions need besides numpy: its table's ``[course]`` section.

    ``requires``: packages the submissions import (``["torch"]``), installed with the grader and allowed
    in the worker as ``--allow-package`` allows one. ``paths``: the course's helper modules' folders (as
    ``--path`` gives them), relative to the table's own folder in the file and absolute here.
    """

    requires: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()


@dataclass(frozen=True)
class PointsTable:
    """A points table, validated: the checks it names, its course groups and its policy."""

    path: Path | None = None
    entries: dict[str, Entry] = field(default_factory=dict)
    course_groups: tuple[str, ...] = ()
    policy: Policy = DEFAULT_POLICY
    course: CourseNeeds = CourseNeeds()

    def where(self, line: int) -> str:
        return f"{self.path}, line {line}"


def read_points(path: Path) -> PointsTable:
    """The table in TOML ``path``: one section per group, ``name = points`` or
    ``name = { points = 4, visibility = "hidden" }``; optionally a top-level
    ``course_groups = ["..."]``, a ``[policy]`` table and a ``[course]`` table (``CourseNeeds``).

    Every mistake (an unknown group, points that are not a number >= 0, a check listed twice, an
    unknown visibility or policy) is a CheckDefinitionError naming the line of the table.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CheckDefinitionError(f"{path}: not valid TOML: {error}") from None
    course_groups = read_course_groups(path, text, table.pop(COURSE_GROUPS_KEY, []))
    policy = read_policy(path, text, table.pop(POLICY_SECTION, {}))
    course = read_course_needs(path, text, table.pop(COURSE_SECTION, {}))
    entries: dict[str, Entry] = {}
    for group, section in table.items():
        if group not in (*GROUPS, *API_GROUPS, *course_groups) or type(section) is not dict:
            raise CheckDefinitionError(f"{path}, line {line_of(text, group)}: [{group}] is not a group; the groups "
                                       f"are {', '.join((*GROUPS, *API_GROUPS, *course_groups))} (declare a course group in "
                                       f"{COURSE_GROUPS_KEY})")
        for name, value in section.items():
            line = line_of(text, name, after=group)
            if name in entries:
                raise CheckDefinitionError(f"{path}, line {line}: {name} is listed twice (also under "
                                           f"[{entries[name].group}])")
            entries[name] = read_entry(f"{path}, line {line}", name, value, group, line)
    return PointsTable(Path(path), entries, course_groups, policy, course)


def read_entry(where: str, name: str, value: object, group: str, line: int) -> Entry:
    """One ``name = points`` or ``name = { points = N, visibility = "..." }`` line, validated."""
    settings = value if type(value) is dict else {"points": value}
    unknown = sorted(set(settings) - {"points", "visibility", "extra_credit"})
    if unknown:
        raise CheckDefinitionError(f"{where}: {name}: unknown setting {unknown[0]!r}; give points, visibility "
                                   "and extra_credit")
    extra_credit = settings.get("extra_credit", False)
    if type(extra_credit) is not bool:
        raise CheckDefinitionError(f"{where}: {name}: extra_credit = {extra_credit!r}; give true or false")
    if "points" not in settings:
        raise CheckDefinitionError(f"{where}: {name}: give its points, as {{ points = 4, ... }}")
    problem = points_problem(settings["points"])
    if problem:
        raise CheckDefinitionError(f"{where}: {name} = {value!r}: {problem}")
    visibility = settings.get("visibility", "visible")
    if visibility not in VISIBILITIES:
        raise CheckDefinitionError(f"{where}: {name}: visibility {visibility!r}; use one of {', '.join(VISIBILITIES)}")
    return Entry(group, float(settings["points"]), visibility, line, extra_credit)


def read_course_groups(path: Path, text: str, value: object) -> tuple[str, ...]:
    """The top-level ``course_groups = ["attention", ...]``: new group names for course checks."""
    where = f"{path}, line {line_of(text, COURSE_GROUPS_KEY)}"
    if type(value) is not list or not all(type(name) is str and name.isidentifier() for name in value):
        raise CheckDefinitionError(f"{where}: {COURSE_GROUPS_KEY} must be a list of names, "
                                   'as course_groups = ["attention"]')
    clashes = [name for name in value if name in (*GROUPS, *API_GROUPS, POLICY_SECTION, COURSE_SECTION,
                                                  COURSE_GROUPS_KEY)]
    if clashes or len(set(value)) != len(value):
        taken = clashes[0] if clashes else next(name for name in value if value.count(name) > 1)
        raise CheckDefinitionError(f"{where}: the course group {taken!r} is already a group or a reserved name")
    return tuple(value)


def read_policy(path: Path, text: str, section: object) -> Policy:
    """The ``[policy]`` table (``checks.policy``); settings it leaves out keep their defaults."""
    if type(section) is not dict:
        raise CheckDefinitionError(f"{path}, line {line_of(text, POLICY_SECTION)}: [{POLICY_SECTION}] must be a table")
    for key, value in section.items():
        problem = policy_problem(key, value)
        if problem:
            raise CheckDefinitionError(f"{path}, line {line_of(text, key, after=POLICY_SECTION)}: {problem}")
    return Policy(**section)


def read_course_needs(path: Path, text: str, section: object) -> CourseNeeds:
    """The ``[course]`` table: ``requires = ["torch"]`` and ``paths = ["folder"]``, both optional."""
    where = f"{path}, line {line_of(text, COURSE_SECTION)}"
    if type(section) is not dict:
        raise CheckDefinitionError(f"{where}: [{COURSE_SECTION}] must be a table")
    unknown = sorted(set(section) - {"requires", "paths"})
    if unknown:
        raise CheckDefinitionError(f"{where}: [{COURSE_SECTION}] has no setting {unknown[0]!r}; give requires and paths")
    requires, paths = section.get("requires", []), section.get("paths", [])
    if type(requires) is not list or not all(type(name) is str and name.isidentifier() for name in requires):
        raise CheckDefinitionError(f'{where}: requires must list top-level package names, as requires = ["torch"]')
    if type(paths) is not list or not all(type(folder) is str and folder for folder in paths):
        raise CheckDefinitionError(f'{where}: paths must list folders, as paths = ["course_helpers"]')
    folders = tuple(Path(path).parent / folder for folder in paths)
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        raise CheckDefinitionError(f"{where}: paths: no such folder {missing[0]}")
    return CourseNeeds(tuple(dict.fromkeys(requires)), folders)


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


def apply_points(found: list[Check], table: PointsTable, assignment: bool = False) -> list[Check]:
    """The checks with the table's points, visibility and policy, without those it leaves out.

    A check the table lists under another group, or a name that is no check, is an error.
    """
    groups = {c.name: c.group for c in found}
    for name, entry in table.entries.items():
        if name not in groups:
            raise CheckDefinitionError(f"{table.where(entry.line)}: {name} is not a check; the points table "
                                       "may only name checks that exist")
        if groups[name] != entry.group:
            raise CheckDefinitionError(f"{table.where(entry.line)}: the points table lists {name} under "
                                       f"[{entry.group}], but it is a check of group {groups[name]}; move it to "
                                       f"[{groups[name]}]")
    whole_assignment = assignment and bool(table.entries)
    applied = []
    for c in found:
        entry = table.entries.get(c.name)
        if entry is None and whole_assignment:
            continue
        if entry is not None:
            if entry.points == 0:
                continue
            c = replace(c, points=entry.points, visibility=entry.visibility, extra_credit=entry.extra_credit)
        applied.append(replace(c, policy=table.policy))
    return scoped_to_assignment(applied)


def scoped_to_assignment(checks: list[Check]) -> list[Check]:
    """The checks, each ``needs_any`` check split only among the parts the assignment asks for: those whose
    functions the other checks need. The cs231n assignment asks for the four rnn functions, so the shapes
    check judges those four, and a correct solution of them earns its 2 points."""
    asked = {function for c in checks if not c.needs_any for function in c.needs}
    scoped = []
    for c in checks:
        parts = tuple(part for part in c.parts if set(part) <= asked)
        if parts and parts != c.parts:
            c = replace(c, needs=tuple(f for f in c.needs if any(f in part for part in parts)), parts=parts)
        scoped.append(c)
    return scoped
