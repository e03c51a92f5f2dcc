"""The failing example a student is shown: the simplest one found, with every call it made.

``record_example`` runs a check's body once, on given arguments, outside Hypothesis, noting every
call into the submission (``checks.engine.trace``). What a failing check's result carries is a
``Counterexample``: the arguments, the trace, the failure's message on them, and a second
failing example (a different draw) that diagnosis (``checks.engine.diagnosis``) needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.engine.contract import Submission
from checks.engine.trace import Trace
from checks.registry import Check


@dataclass
class Counterexample:
    """One failing example of one check.

    - arguments: the check's drawn arguments by parameter name, without ``sub`` (p=RNNProblem(...), seed=...)
    - trace: the calls into the submission that example made
    - message: the check's failure message on that example
    - simple: True if it was found by the search for simple values (else it is Hypothesis's first, shrunk on sizes)
    - second: another failing example's trace (a different draw), or None if none was found
    - sentence: the example in one sentence, for the student
    """

    arguments: dict[str, Any]
    trace: Trace
    message: str
    simple: bool = False
    second: Trace | None = None
    sentence: str = ""


def record_example(check: Check, sub: Submission, arguments: dict[str, Any]) -> tuple[Trace, BaseException | None]:
    """Run ``check``'s body once on ``arguments``; return its trace and the exception it raised (None: it passed)."""
    body = check.function.hypothesis.inner_test
    with sub.recording() as trace:
        try:
            body(sub, **arguments)
        except Exception as error:  # noqa: BLE001 - a failure is what we came for
            return trace, error
    return trace, None
