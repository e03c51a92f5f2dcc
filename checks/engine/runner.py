"""Running checks against a submission and turning every outcome into a scored result.

Whatever happens inside a check (a pass, a counterexample, a crash, a hang, a missing function)
comes out of ``run_check`` as a ``CheckResult`` with a score, a status and a message. Nothing is
lost and nothing escapes: the report always lists every check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import hypothesis

from checks.engine.confinement import Confinement
from checks.engine.contract import NotImplementedInSubmission, Submission
from checks.engine.isolation import Worker, WorkerFault
from checks.engine.profiles import DEFAULT_SEED
from checks.registry import Check, bound_profile
from checks.verdicts import PartialFailure, partial_credits

MESSAGE_LIMIT = 3000


@dataclass
class CheckResult:
    check: Check
    score: float
    message: str = ""
    output: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        # A failure always carries a message; without that test a failing 0-point check "passed".
        return not self.message and self.score >= self.check.points


@dataclass
class Grade:
    """Everything a report needs about one graded submission."""

    submission: Path
    profile: str
    seed: int
    results: list[CheckResult] = field(default_factory=list)
    import_error: str | None = None
    seconds: float = 0.0
    worker_calls: int = 0
    sandbox: Confinement = field(default_factory=Confinement)  # the worker's layers, for the instructor
    missing_module: str | None = None  # the import failed for want of this module (instructor advice)
    worker_seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.check.points for r in self.results)


def run_check(check: Check, sub: Submission, seed: int = DEFAULT_SEED) -> CheckResult:
    """Run one check; return its score and a message a student can act on.

    The Hypothesis profile was fixed when the check was imported (``checks.registry``).
    """
    started = time.perf_counter()
    sub.worker.output.take()  # start this check's output segment
    score, message = _score(check, sub, seed)
    return CheckResult(check, score, _shorten(message), sub.worker.output.take(), time.perf_counter() - started)


def _score(check: Check, sub: Submission, seed: int) -> tuple[float, str]:
    if sub.import_error:
        return 0.0, f"the submission could not be imported: {sub.import_error}"
    missing = [name for name in check.needs if name not in sub.functions]
    if missing:
        return 0.0, f"not implemented: {', '.join(missing)}"
    test = hypothesis.seed(seed)(check.function)
    try:
        with partial_credits() as credits:
            test(sub)
    except (NotImplementedInSubmission, WorkerFault) as fault:
        return 0.0, str(fault)
    except PartialFailure as failure:
        # The lowest credit seen on any failing example, not just on the shrunk one.
        return check.points * min(credits), _explain(failure)
    except Exception as failure:  # noqa: BLE001 - every failure of the submission is a verdict
        return 0.0, _explain(failure)
    return check.points, ""


def _explain(failure: BaseException) -> str:
    """The failure's own message, then Hypothesis's falsifying example."""
    notes = [note for note in getattr(failure, "__notes__", []) if not note.startswith("You can reproduce")]
    text = str(failure) or type(failure).__name__
    if not isinstance(failure, AssertionError) and not type(failure).__name__ == "SubmissionRaised":
        text = f"{type(failure).__name__}: {text}"
    return "\n".join([text, *notes])


def _shorten(message: str) -> str:
    if len(message) <= MESSAGE_LIMIT:
        return message
    return message[:MESSAGE_LIMIT] + f"\n... [{len(message) - MESSAGE_LIMIT} more characters]"


def grade_submission(
    path: Path,
    checks: list[Check],
    seed: int = DEFAULT_SEED,
    progress: Callable[[CheckResult], None] | None = None,
    deadline: float | None = None,
    **worker_options,
) -> Grade:
    """Grade one submission on every check, in one worker (restarted after any fault).

    ``progress``, if given, sees each result as soon as it exists (a long run shows it is alive).
    ``deadline`` bounds the whole run, in seconds: a check still running then fails, and checks
    not started get 0, each with a message saying so.
    """
    started = time.perf_counter()
    profile = bound_profile()  # the profile the checks were decorated with, recorded in the report
    ends = time.monotonic() + deadline if deadline else None
    sub, fault = open_submission(Path(path), deadline=ends, **worker_options)
    if sub is None:
        results = [unimportable_result(check, fault) for check in checks]
        return Grade(Path(path), profile, seed, results, import_error=fault, seconds=time.perf_counter() - started)
    grade = Grade(Path(path), profile, seed, import_error=sub.import_error, sandbox=sub.worker.confinement,
                  missing_module=sub.missing_module)
    try:
        for check in checks:
            if ends is not None and time.monotonic() >= ends:
                result = CheckResult(check, 0.0, f"not run: the whole-run deadline of {deadline:g} s was reached")
            else:
                result = run_check(check, sub, seed)
            grade.results.append(result)
            if progress:
                progress(result)
    finally:
        sub.close()
    grade.seconds = time.perf_counter() - started
    grade.worker_calls, grade.worker_seconds = sub.worker.requests_sent, sub.worker.seconds_waiting
    return grade


def open_submission(path: Path, deadline: float | None = None, **worker_options) -> tuple[Submission | None, str | None]:
    """Start the submission's worker: (submission, None), or (None, why) if the import hung or crashed it.

    An import that raises is not such a fault: it gives a Submission whose ``import_error`` is set.
    ``deadline`` is a ``time.monotonic()`` time after which the worker takes no more requests.
    """
    worker = Worker(path, **worker_options)
    worker.deadline = deadline
    try:
        return Submission(path, worker=worker), None
    except WorkerFault as fault:
        worker.stop()
        return None, str(fault)


def unimportable_result(check: Check, reason: str) -> CheckResult:
    """Zero for ``check``: the submission's import never finished (still a complete report)."""
    return CheckResult(check, 0.0, f"the submission could not be imported: {reason}")
