"""One root cause first: the most basic failing function, and the failures that follow from it.

A tanh-derivative bug in ``rnn_step_backward`` can fail a dozen checks in five groups, because
``rnn_backward``, truncated BPTT, the bidirectional backward pass and the classifier may be built
on it. A student should fix that one function first. So:

- each check has a *subject*: the most derived function it needs (``contract_order.DEPENDENCY_ORDER``);
  a hygiene check, which looks at each function it needs on its own (``needs_any``), has none;
- the *root cause* is the most basic subject among the failing checks;
- a failing check about another function is a *consequence* of the root cause only on evidence,
  never from the standard assignment's call graph alone (a student's ``rnn_backward`` may never
  call ``rnn_step_backward``, and have the same mistake written again):
  - when the root cause fails its own checks: the failing example's calls show that the check's
    function really called it: the worker recorded an entry into it during one of the example's
    calls (``Call.entered``, ``checks.engine.isolation.worker.record_entries``), or the caller chain of an
    error the worker reported runs through it (``checks.engine.isolation.caller_chain``). Where no call
    shows it (a step written again inline, a function held in a closure), nothing is said;
  - when the root cause is not implemented: it is the missing piece the check needs (the check
    says so), and the check's own function is implemented.

The grade keeps the answer (``Grade.root_cause``) and each consequence says so (``consequence_of``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from checks.engine.isolation.caller_chain import ARROW
from checks.engine.isolation.contract_order import DEPENDENCY_ORDER, builds_on
from checks.engine.run.results import CheckResult, Grade, RootCause

if TYPE_CHECKING:
    from checks.registry import Check

NOT_IMPLEMENTED = "not implemented"  # how the runner begins the message of a check whose function is missing



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
    missing = all(root in missing_functions(result) for result in own)
    consequences = [result.check.name for result in failing(results) if follows_from(result, root, missing)]
    if not consequences:
        return None
    return RootCause(root, tuple(result.check.name for result in own), tuple(consequences), missing)


def follows_from(result: CheckResult, root: str, missing: bool) -> bool:
    """True if the failing ``result`` is about another function than ``root``, one that may build on it,
    and the evidence says it does: ``root`` is the missing piece it needs (``missing``: ``root`` is not
    implemented), or its failing example shows a call into ``root`` (``calls_into``)."""
    about = subject(result.check)
    if about is None or about == root or not any(root in builds_on(name) for name in result.check.needs):
        return False
    absent = missing_functions(result)
    if missing:
        return root in absent and about not in absent
    return not absent and calls_into(result, root)


def missing_functions(result: CheckResult) -> set[str]:
    """The functions a "not implemented: a, b" message names (none for any other message)."""
    if not result.message.startswith(NOT_IMPLEMENTED):
        return set()
    first_line = result.message.splitlines()[0]
    return {name.strip() for name in first_line[len(NOT_IMPLEMENTED):].lstrip(":").split(",") if name.strip()}


def calls_into(result: CheckResult, root: str) -> bool:
    """Whether the failing example shows a call of another function that entered ``root`` from the
    submission's own code: the worker recorded the entry (``Call.entered``), or a frame of ``root``
    is below another in the caller chain of an error the worker reported ("rnn_backward line 12 →
    rnn_step_backward line 5: ..."). Without an example there is no such evidence."""
    example = result.example
    if example is None:
        return False
    traces = [trace for trace in (example.trace, example.second) if trace is not None]
    chained = f"{ARROW}{root} line "
    return any(call.function != root and (root in call.entered or isinstance(call.raised, str)
                                          and chained in call.raised)
               for trace in traces for call in trace.calls)


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
