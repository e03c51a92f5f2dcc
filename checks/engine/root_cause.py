"""One root cause first: the most basic failing function, and the failures that probably follow from it.

A tanh-derivative bug in ``rnn_step_backward`` fails a dozen checks in five groups, because
``rnn_backward``, truncated BPTT, the bidirectional backward pass and the classifier are built on it.
A student should fix that one function first. So:

- each check has a *subject*: the most derived function it needs (``contract.DEPENDENCY_ORDER``);
  a hygiene check, which looks at each function it needs on its own (``needs_any``), has none;
- the *root cause* is the most basic subject among the failing checks;
- a failing check about another function is a probable *consequence* of the root cause when one
  of the functions it needs builds on it (``contract.CALLS``, followed through).

"Probable" because the call graph is the standard assignment's, not read from the student's code.
The grade keeps the answer (``Grade.root_cause``) and each consequence says so (``consequence_of``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from checks.engine.contract import DEPENDENCY_ORDER, builds_on

if TYPE_CHECKING:
    from checks.engine.runner import CheckResult, Grade
    from checks.registry import Check

NOT_IMPLEMENTED = "not implemented"  # how the runner begins the message of a check whose function is missing


@dataclass(frozen=True)
class RootCause:
    """The most basic failing function, its own failing checks, and the failing checks that build on it."""

    function: str
    checks: tuple[str, ...]  # names of the failing checks whose subject it is
    consequences: tuple[str, ...]  # names of the other failing checks that probably follow from it
    missing: bool = False  # its own checks fail because it is not implemented

    @property
    def line(self) -> str:
        """'Fix rnn_step_backward first: 7 other failing checks call it.' (one line, for the top of a report)."""
        count = len(self.consequences)
        others = "1 other failing check calls it" if count == 1 else f"{count} other failing checks call it"
        return f"{'Implement' if self.missing else 'Fix'} {self.function} first: {others}."

    def as_data(self) -> dict:
        return {"function": self.function, "checks": list(self.checks), "consequences": list(self.consequences)}


def subject(check: Check) -> str | None:
    """The function ``check`` is about: the most derived of its needs; None for a hygiene check."""
    if check.needs_any or not check.needs:
        return None
    return max(check.needs, key=rank)


def rank(function: str | None) -> int:
    """Position in ``DEPENDENCY_ORDER`` (no subject: after every function)."""
    return DEPENDENCY_ORDER.index(function) if function in DEPENDENCY_ORDER else len(DEPENDENCY_ORDER)


def failing(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The results that lost points through the submission (a broken check says nothing of it)."""
    return [result for result in results if not result.passed and result.status != "error"]


def find_root_cause(results: Sequence[CheckResult]) -> RootCause | None:
    """The root cause among ``results``, or None when no failing check follows from another's function."""
    subjects = [name for result in failing(results) if (name := subject(result.check)) is not None]
    if not subjects:
        return None
    root = min(subjects, key=rank)
    own = [result for result in failing(results) if subject(result.check) == root]
    consequences = [result.check.name for result in failing(results) if follows_from(result.check, root)]
    if not consequences:
        return None
    missing = all(result.message.startswith(NOT_IMPLEMENTED) for result in own)
    return RootCause(root, tuple(result.check.name for result in own), tuple(consequences), missing)


def follows_from(check: Check, root: str) -> bool:
    """True if ``check`` is about another function than ``root`` and needs one that builds on ``root``."""
    about = subject(check)
    return about is not None and about != root and any(root in builds_on(name) for name in check.needs)


def attribute_root_cause(grade: Grade) -> None:
    """Set ``grade.root_cause`` and each probable consequence's ``consequence_of`` (none for an import error)."""
    for result in grade.results:
        result.consequence_of = ""
    grade.root_cause = None if grade.import_error else find_root_cause(grade.results)
    if grade.root_cause is None:
        return
    consequences = set(grade.root_cause.consequences)
    for result in failing(grade.results):
        if result.check.name in consequences:
            result.consequence_of = grade.root_cause.function


def most_basic_first(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The results that lost points, in the order to read them: the root cause's checks and the other
    independent failures first, the most basic function first; the probable consequences last.
    Stable otherwise, so the order of the checks (their groups) decides among equals."""
    lost = [result for result in results if not result.passed]
    return sorted(lost, key=lambda result: (bool(result.consequence_of), rank(subject(result.check))))
