"""Two failing examples of a check, for diagnosis tests and bench/diagnosis.py.

A stand-in for ``CheckResult.example`` (made by the runner's search for simple values): the
check's explicit examples first, then a few of its own draws, without shrinking; the first two
different failing ones are kept (``record_example`` notes their calls). ``diagnosed`` adds the
confirming example the runner finds (``counterexample.confirming_trace``) and diagnoses.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from checks.engine.isolation.contract import Submission
from checks.engine.run.counterexample import Counterexample, FailingExamples, confirming_trace, record_example
from checks.engine.run.diagnosis import Diagnosis, diagnose
from checks.registry import Check


def failing_arguments(check: Check, sub: Submission, count: int = 2, draws: int = 12) -> list[dict[str, Any]]:
    """Up to ``count`` different argument dicts on which ``check`` fails on ``sub``."""
    found: list[dict[str, Any]] = []
    seen: set[str] = set()

    def note(arguments: dict[str, Any]) -> None:
        if len(found) < count and repr(arguments) not in seen:
            seen.add(repr(arguments))
            if record_example(check, sub, arguments)[1] is not None:
                found.append(arguments)

    for explicit in getattr(check.function, "hypothesis_explicit_examples", ()):
        note(dict(explicit.kwargs))
    strategies = check.function.hypothesis._given_kwargs
    quiet = settings(max_examples=draws, derandomize=True, database=None, phases=[Phase.generate],
                     suppress_health_check=list(HealthCheck), deadline=None)
    quiet(given(**strategies)(lambda **arguments: note(arguments)))()
    return found



def confirming(check: Check, sub: Submission):
    """The trace of the larger failing example diagnosis confirms a model on, as the runner finds it."""
    return confirming_trace(check, sub, FailingExamples())


def diagnosed(check: Check, sub: Submission, arguments: list[dict[str, Any]]) -> Diagnosis | None:
    """Diagnosis of ``check`` on ``sub``: shown ``arguments[0]``, second ``arguments[1]``, and the confirming example."""
    traces = [record_example(check, sub, a)[0] for a in arguments]
    return diagnose(Counterexample(arguments[0], traces[0], "", second=traces[1], confirming=confirming(check, sub)))
