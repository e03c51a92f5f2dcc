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
import importlib
import importlib.util
import sys
import tomllib
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

    @property
    def description(self) -> str:
        return (self.function.__doc__ or self.name).strip().splitlines()[0]


_registered: dict[tuple[str, str], Check] = {}  # by (module, function name)
# Hypothesis fixes a test's settings when it is decorated, so the profile is chosen before the
# check modules are imported, once per process (load_checks).
_bound_profile: list[str] = []


def check(group: str, points: float, needs: Iterable[str], examples: float = 1.0) -> Callable[[Callable], Callable]:
    """Register the decorated function as a property check of ``group`` worth ``points``."""
    needs = tuple(needs)
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; use one of {', '.join(GROUPS)}")
    unknown = [name for name in needs if name not in CONTRACT_FUNCTIONS]
    if unknown:
        raise ValueError(f"needs names functions outside the contract: {unknown}")

    def register(function: Callable) -> Callable:
        name = function.__name__
        if getattr(function, "is_hypothesis_test", False):
            function = hypothesis_settings(bound_profile(), examples)(function)
        _registered[(function.__module__, name)] = Check(name, group, float(points), needs, function, examples)
        return function

    return register


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
    names = [c.name for c in found]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"two checks are named {', '.join(twice)}; check names must be unique")
    found.sort(key=lambda c: GROUPS.index(c.group))
    return apply_points(found, read_points(points_table) if points_table else {})


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
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]  # a fixed module can be loaded again
                raise
        names.add(name)
    return names


def read_points(path: Path) -> dict[str, float]:
    """{check name: points} from a TOML table with one section per group."""
    with open(path, "rb") as stream:
        table = tomllib.load(stream)
    return {name: float(points) for section in table.values() for name, points in section.items()}


def apply_points(found: list[Check], points: dict[str, float]) -> list[Check]:
    unknown = sorted(set(points) - {c.name for c in found})
    if unknown:
        raise ValueError(f"the points table names checks that do not exist: {', '.join(unknown)}")
    return [replace(c, points=points.get(c.name, c.points)) for c in found]
