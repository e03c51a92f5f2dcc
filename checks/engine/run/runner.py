"""Running checks against a submission and turning every outcome into a scored result.

Whatever happens inside a check (a pass, a counterexample, a crash, a hang, a missing function)
comes out of ``run_check`` as a ``CheckResult`` with a score, a status and a message. Nothing is
lost and nothing escapes: the report always lists every check.
"""

from __future__ import annotations

import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

import hypothesis
import hypothesis.errors

from checks.engine.run.counterexample import (SUBMISSION_FAULTS, Counterexample, FailingExamples, confirming_trace,
                                              each_example_wrapped, example_not_finished, failing_examples,
                                              note_not_finished, record_example, sentence)
from checks.engine.isolation.contract import NotImplementedInSubmission, Submission
from checks.engine.inputs.display import shorten, shown
from checks.engine.isolation.boundary import WorkerFault, WorkerOptions, WorkerTimeout
from checks.engine.run.lookahead import DrawnExamples, drawn_ahead
from checks.engine.run.streams import StoredExamples, StreamSet, stream_key
from checks.engine.run.profiles import DEFAULT_SEED
from checks.engine.run.assignments import reference_installed
from checks.engine.run.results import MESSAGE_LIMIT, CheckResult, Grade
from checks.engine.run.root_cause import attribute_root_cause
from checks.engine.run.simple_example import search_simple_example
from checks.registry import Check, bound_profile
from checks.verdicts import PartialFailure


# What a student reads when a check's own code is broken: nothing about their code is known.
GRADER_ERROR_MESSAGE = (
    "This check could not be run: the check itself is broken, which is a fault in the grader, not in "
    "your code. Your course staff can see the details; this check scores 0 for everyone until it is fixed."
)



def run_check(check: Check, sub: Submission, seed: int = DEFAULT_SEED, simplify: bool = True,
              drawn: DrawnExamples | StoredExamples | None = None) -> CheckResult:
    """Run one check; return its score and a message a student can act on.

    The Hypothesis profile was fixed when the check was imported (``checks.registry``). When the
    submission fails the check, and ``simplify``, a second search looks for the simplest failing
    example (``checks.engine.run.counterexample``): it becomes ``example`` and the message's sentence,
    and never changes the score, which is the main run's alone. ``drawn``: the check's examples drawn
    ahead (``checks.engine.run.lookahead``), which give the same result sooner.
    """
    started = time.perf_counter()
    sub.take_output()  # start this check's output segment
    sub.allow_unit_axes = check.policy.charges_shape_once
    faults = getattr(sub, "faults", None)  # the harness's tests grade stand-ins that have none
    if faults is not None:
        faults.cut_short = ""  # set by a refusal: the function whose earlier hang or crashes cut this check short
    score, message, grader_error, failure, seen = _score(check, sub, seed, drawn)
    cut_short_by = faults.cut_short if faults is not None else ""  # now: the search below may meet a refusal too
    output, seconds = sub.take_output(), time.perf_counter() - started
    example, left_out = None, []
    # The example is recorded call by call, so it needs a real Submission (the harness's tests use fakes).
    if failure is not None and simplify and seen.last is not None and isinstance(sub, Submission):
        with best_effort(left_out, f"the failing example of {check.name}"):
            try:
                example = find_counterexample(check, sub, seed, seen)
            except (WorkerFault, NotImplementedInSubmission):
                example = None  # the search hung or crashed the worker: the verdict stands, without an example
        sub.take_output()  # what the search printed is not this check's output
    elif seen.not_finished is not None and grader_error is None and simplify and isinstance(sub, Submission):
        with best_effort(left_out, f"the example of {check.name}"):
            example = example_not_finished(check, seen.not_finished, message)  # nothing of the student's runs
    # The score is the main run's; the message is told on the example shown, so that its numbers,
    # the example's worst entries and the repro script all describe the same inputs.
    message = message_on_example(message, failure, example)
    result = CheckResult(check, score, shorten(message, MESSAGE_LIMIT), output, seconds, grader_error)
    result.example, result.feedback_left_out, result.cut_short_by = example, left_out, cut_short_by
    return with_diagnosis(result)


def message_on_example(message: str, failure: BaseException | None, example: Counterexample | None) -> str:
    """The failure's message as told on ``example`` (the one shown), else the main run's ``message``.

    The main run's is kept when the example gave none, and for an unreliable failure, whose
    message says the example failed once and passed when run again."""
    if example is None or not example.message or isinstance(failure, UnreliableResult):
        return message
    return example.message


def with_diagnosis(result: CheckResult) -> CheckResult:
    """Fill the misconception fields of a failing check that has its example, and on a tiny example the
    expected entry's SymPy expression (``checks.engine.run.symbolic``); else leave it as it is."""
    if result.passed or result.example is None or result.example.not_finished or not reference_installed():
        return result  # an example the submission never finished on has none of its values to diagnose
    with best_effort(result.feedback_left_out, f"the diagnosis of {result.check.name}"):
        from checks.engine.run.diagnosis import diagnose  # the models are the reference's variants: loaded on failure only

        found = diagnose(result.example)
        if found is not None:
            result.misconception, result.misconception_explanation = found.misconception, found.explanation
    with best_effort(result.feedback_left_out, f"the symbolic explanation of {result.check.name}"):
        from checks.engine.run.symbolic import symbolic_explanation  # SymPy is imported only for a tiny example

        explained = symbolic_explanation(result.example)
        if explained is not None:
            result.symbolic_text, result.symbolic_latex = explained
    return result


@contextmanager
def best_effort(notes: list[str], stage: str, undo: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Run one stage of feedback (a failing example, a diagnosis, a symbolic explanation, the root cause, a
    reproduction script) so that its fault costs only itself.

    If the block raises, ``undo`` takes back what the stage had already set, and ``notes`` (the staff's, never
    the student's: ``report.text.instructor_notes``) say which stage was left out and why. The check keeps its
    verdict, score and message, and the report stays complete. A check's own code raising while it judges is
    another matter, a grader error (``describe_grader_fault``). WorkerFault and the other BaseExceptions pass.
    """
    try:
        yield
    except Exception as error:  # noqa: BLE001 - whatever the stage's fault, the grade stands without it
        undo()
        notes.append(f"{stage} was left out: it raised {type(error).__name__}: {shown(shorten(str(error), 300))}"
                     f"{raised_at(error)}")


def raised_at(error: BaseException) -> str:
    """' (at file, line N, in function)': where ``error`` was raised, for the staff."""
    frames = traceback.extract_tb(error.__traceback__)
    return f" (at {frames[-1].filename}, line {frames[-1].lineno}, in {frames[-1].name})" if frames else ""



def find_counterexample(check: Check, sub: Submission, seed: int, seen: FailingExamples) -> Counterexample:
    """The failing example to show: the simplest found in simple-value mode, else Hypothesis's shrunk one
    from the main run; the other (or the main run's first failing draw) is its ``second``."""
    simple = search_simple_example(check, sub, seed, seen.last)
    main_trace, main_error = record_example(check, sub, seen.last)
    if simple is None:
        other = seen.first if seen.first is not seen.last else None
        second = record_example(check, sub, other)[0] if other is not None else None
        return Counterexample(seen.last, main_trace, _failure_text(main_error), False, second,
                              sentence(check, seen.last, main_error, main_trace), worst_entries(main_error),
                              confirming_trace(check, sub, seen))
    trace, error = record_example(check, sub, simple)
    return Counterexample(simple, trace, _failure_text(error), True, main_trace, sentence(check, simple, error, trace),
                          worst_entries(error), confirming_trace(check, sub, seen))


def worst_entries(error: BaseException | None) -> tuple:
    """The failure's wrong entries, worst first (none if it names none, or the example passed)."""
    return tuple(getattr(error, "discrepancies", None) or ())


def _failure_text(error: BaseException | None) -> str:
    return _explain(error) if error is not None else ""


def _score(check: Check, sub: Submission, seed: int, drawn: DrawnExamples | StoredExamples | None = None
           ) -> tuple[float, str, str | None, BaseException | None, FailingExamples]:
    """(points, message for the student, grader error for the staff or None, the submission's failure or None,
    the failing examples seen)."""
    seen = FailingExamples()
    if sub.import_error:
        return 0.0, f"the submission could not be imported: {sub.import_error}", None, None, seen
    missing = [name for name in check.needs if name not in sub.functions]
    if missing and not check.share_judged(sub.functions):
        return 0.0, f"not implemented: {', '.join(missing)}", None, None, seen
    if check.needs_any:
        sub.stubs_met.clear()  # the functions this check finds raising NotImplementedError
    refused = refusal(check, sub)
    if refused:
        return 0.0, refused, None, None, seen
    test = hypothesis.seed(seed)(check.function)
    ahead = DrawnRun()
    try:
        if drawn is not None:
            ahead = run_drawn_examples(test, sub, drawn, seen)
            if ahead.passed:
                return check.points * judged_share(check, sub), unjudged(check, sub), None, None, seen
        with credits_of_every_example(test) as credits, failing_examples(test, sub) as seen:
            test(sub)
        if ahead.failure is not None:  # failed drawn ahead, passed when run again: the failure stands
            if not isinstance(ahead.failure, SUBMISSION_FAULTS):
                raise ahead.failure  # the check's own code raised: a grader error
            seen.note(ahead.arguments)
            raise UnreliableResult(f"{_explain(ahead.failure)}\n{UNRELIABLE}")
    except (NotImplementedInSubmission, WorkerFault) as fault:
        return 0.0, str(fault), None, None, seen
    except PartialFailure as failure:
        # The lowest credit seen on any failing example, not just on the shrunk one.
        credit = min([*credits, failure.credit]) if check.policy.gives_partial_credit else 0.0
        # A needs_any check's credit is that of the parts it judged: the others' shares are lost.
        message = "\n".join(filter(None, [_explain(failure), unjudged(check, sub)]))
        return check.points * credit * judged_share(check, sub), message, None, failure, seen
    except Exception as failure:  # noqa: BLE001 - sorted below: the submission's fault, or the check's
        if is_grader_fault(failure):
            return 0.0, GRADER_ERROR_MESSAGE, describe_grader_fault(failure, check), None, seen
        return 0.0, _explain(failure), None, failure, seen
    return check.points * judged_share(check, sub), unjudged(check, sub), None, None, seen


def judged_share(check: Check, sub: Submission) -> float:
    """The share of ``check``'s points the submission can earn: for a ``needs_any`` check, that of the
    parts whose functions are all implemented and still called (``Check.share_judged``); else 1."""
    if not check.needs_any:
        return 1.0
    return check.share_judged(sub.callable_functions - sub.stubs_met)


def unjudged(check: Check, sub: Submission) -> str:
    """What the student reads about the parts of a ``needs_any`` check it could not judge (else ""):
    the functions not implemented, and why a function was not called again."""
    if not check.needs_any:
        return ""
    missing = [name for name in check.needs if name not in sub.functions or name in sub.stubs_met]
    lines = [f"not implemented: {', '.join(missing)}"] if missing else []
    return "\n".join([*lines, *(sub.faults.refusal(name) for name in check.needs if name in sub.faults.condemned)])


@dataclass
class DrawnRun:
    """How a check's body did on its examples drawn ahead (``run_drawn_examples``)."""

    passed: bool = False
    failure: Exception | None = None  # the first example's failure, if one failed
    arguments: dict | None = None  # ... and that example's arguments (without the submission)


def run_drawn_examples(test: Callable, sub: Submission, drawn: DrawnExamples | StoredExamples,
                       seen: FailingExamples | None = None) -> DrawnRun:
    """Run the body of ``test`` on each of its examples drawn ahead, up to the first that fails.

    Passing them all gives the ordinary run's verdict, a pass. Otherwise (an example failed, or the
    drawing stopped early) the ordinary run decides, so what the examples printed is dropped. A
    worker fault or a missing function is raised, as from the ordinary run (``checks.engine.run.lookahead``),
    the example a hang ended it on noted in ``seen``.
    """
    hooks = getattr(test, "hypothesis", None)
    if hooks is None:  # a plain function: nothing was drawn
        return DrawnRun()
    for arguments in drawn.arguments(sub):
        try:
            hooks.inner_test(**arguments)
        except Exception as failure:  # noqa: BLE001 - the submission's or the check's: the ordinary run sorts it
            sub.take_output()
            return DrawnRun(failure=failure, arguments={k: v for k, v in arguments.items() if v is not sub})
        except WorkerFault as fault:
            if seen is not None:
                note_not_finished(seen, fault, {k: v for k, v in arguments.items() if v is not sub})
            raise
    if not drawn.complete:
        sub.take_output()
    return DrawnRun(passed=drawn.complete)


# Said when an example failed and then passed on the same inputs: Hypothesis's "flaky" verdict in an
# ordinary run, or an example that failed drawn ahead and passed when the ordinary run repeated it.
# A correct submission gives the same results for the same inputs, so the failure stands, and the
# check scores 0 either way: a submission must not pass by failing only once.
UNRELIABLE = ("This example failed, then passed when the check was run again on the same inputs: your "
              "functions gave different results for the same inputs (do they keep state between calls, "
              "or use randomness?).")


class UnreliableResult(AssertionError):
    """An example failed drawn ahead, and passed when the ordinary run repeated it."""


def refusal(check: Check, sub: Submission) -> str | None:
    """Why ``check`` fails at once: a function it needs hung or crashed twice earlier (``checks.engine.isolation.faults``).

    A ``needs_any`` check still runs while some function it looks at can be called.
    """
    condemned = [name for name in check.needs if name in sub.faults.condemned]
    callable_left = [name for name in check.needs if name in sub.functions and name not in sub.faults.condemned]
    if not condemned or (check.needs_any and callable_left):
        return None
    return sub.faults.refusal(condemned[0])


# What a submission's fault looks like from a check (counterexample.SUBMISSION_FAULTS): an assertion
# about its values (ContractViolation and PartialFailure included), or an exception its own function
# raised in the worker. Any other exception was raised by the check's own code (a typo, a misused
# strategy, a broken oracle).


def is_grader_fault(error: BaseException) -> bool:
    """True if ``error`` comes from the check, not the submission.

    Hypothesis reports a failure it could not reproduce as an exception group (FlakyFailure) of
    what it saw: that is the submission's fault if any of those was.
    """
    if isinstance(error, BaseExceptionGroup):
        return all(is_grader_fault(inner) for inner in error.exceptions)
    return not isinstance(error, SUBMISSION_FAULTS)


def describe_grader_fault(error: BaseException, check: Check) -> str:
    """'<file>, line N, in <function>: TypeError: ...' at the deepest frame in the check's own file."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if frame.filename == check.file]
    where = own[-1] if own else (frames[-1] if frames else None)
    location = f"{where.filename}, line {where.lineno}, in {where.name}" if where else check.source
    code = f"\n    {where.line.strip()}" if where is not None and where.line else ""
    return f"check {check.name} ({check.source}) raised {type(error).__name__}: {error}\n  at {location}{code}"


@contextmanager
def credits_of_every_example(test: Callable) -> Iterator[list[float]]:
    """The credit of every PartialFailure that any example of ``test`` raises, while in the block.

    Hypothesis re-raises only the failure of the shrunk example, and shrinking may well find one
    on which more parts happen to be right, so each credit is noted on its way out. A plain
    function has a single example: the credit of its failure is all there is.
    """
    credits: list[float] = []

    def noting_credits(inner: Callable) -> Callable:
        def example(*args, **kwargs):
            try:
                return inner(*args, **kwargs)
            except PartialFailure as failure:
                credits.append(failure.credit)
                raise
        return example

    with each_example_wrapped(test, noting_credits):
        yield credits


def _explain(failure: BaseException) -> str:
    """The failure's own message, without Hypothesis's notes (the example is told by its sentence).

    A failure Hypothesis could not reproduce (FlakyFailure, a group of what it saw) is told by the
    submission's first failure in it, and UNRELIABLE."""
    if isinstance(failure, BaseExceptionGroup) and isinstance(failure, hypothesis.errors.Flaky):
        seen = [inner for inner in failure.exceptions if isinstance(inner, SUBMISSION_FAULTS)]
        if seen:
            return f"{_explain(seen[0])}\n{UNRELIABLE}"
    text = str(failure) or type(failure).__name__
    if not isinstance(failure, AssertionError) and not type(failure).__name__ == "SubmissionRaised":
        text = f"{type(failure).__name__}: {text}"
    return text



def grade_submission(
    path: Path,
    checks: Sequence[Check],
    seed: int = DEFAULT_SEED,
    progress: Callable[[CheckResult], None] | None = None,
    deadline: float | None = None,
    options: WorkerOptions = WorkerOptions(),
    left_out: Sequence[Check] = (),
    submission_id: str = "",
    simplify: bool = True,
    lookahead: bool | None = None,
    streams: StreamSet | None = None,
) -> Grade:
    """Grade one submission on every check, in one worker (restarted after any fault).

    ``progress``, if given, sees each result as soon as it exists (a long run shows it is alive).
    ``deadline`` bounds the whole run, in seconds: a check still running then fails, and checks
    not started get 0, each with a message saying so (it sets ``options.deadline``, the instant).
    ``left_out`` are the checks a self-check did not run, for the report to say so.
    ``submission_id`` names the submission in reports (default: its file or folder name).
    ``simplify=False`` skips the search for a simple failing example (the score is the same either way).
    ``lookahead``: whether a forked process draws the examples ahead (``checks.engine.run.lookahead``: the
    same grade, sooner, given a spare core); None (default) where a core is spare, False never (each
    example drawn when its check needs it, as Hypothesis does alone), True wherever it can.
    ``streams``: every check's examples drawn once for a class (``checks.engine.run.streams``), for
    ``checks`` and ``seed``; then nothing is drawn ahead, and the same grade comes sooner still.
    """
    started = time.perf_counter()
    profile = bound_profile()  # the profile the checks were decorated with, recorded in the report
    ends = time.monotonic() + deadline if deadline else None
    if streams is not None and streams.key != stream_key(checks, seed):
        streams = None  # drawn for other checks or settings: never used (the examples are drawn here instead)
    with drawn_ahead(checks, seed, False if streams else lookahead) as drawing:  # before the worker starts
        drawing = streams or drawing
        try:
            sub = Submission(Path(path), replace(options, deadline=ends))
        except WorkerFault as fault:
            results = [unimportable_result(check, str(fault)) for check in checks]
            return Grade(Path(path), profile, seed, results, import_error=str(fault),
                         seconds=time.perf_counter() - started, left_out=tuple(left_out), id=submission_id,
                         import_timed_out=isinstance(fault, WorkerTimeout))
        grade = Grade(Path(path), profile, seed, import_error=with_files_left_out(sub.import_error, sub.files_left_out),
                      sandbox=sub.confinement, missing_module=sub.missing_module, left_out=tuple(left_out),
                      id=submission_id, files_left_out=sub.files_left_out,
                      examples_key=streams.key if streams is not None else "")
        try:
            for index, check in enumerate(checks):
                if ends is not None and time.monotonic() >= ends:
                    result = CheckResult(check, 0.0, f"not run: the whole-run deadline of {deadline:g} s was reached")
                else:
                    result = run_check(check, sub, seed, simplify, drawing.examples(index) if drawing else None)
                grade.results.append(result)
                if progress:
                    progress(result)
        finally:
            sub.close()
    with best_effort(grade.feedback_left_out, "the root cause", undo=lambda: without_root_cause(grade)):
        attribute_root_cause(grade)
    grade.seconds = time.perf_counter() - started
    grade.worker_calls, grade.worker_seconds = sub.stats.calls, sub.stats.seconds_waiting
    return grade


def with_files_left_out(import_error: str | None, left_out: Sequence[str]) -> str | None:
    """An import error followed by what was left out of the copy (often why the import failed), so
    every report that shows the one shows the other."""
    if import_error is None or not left_out or import_error.startswith("there is nothing to import"):
        return import_error
    return "\n".join([import_error, *left_out])


def without_root_cause(grade: Grade) -> None:
    """Take back whatever ``attribute_root_cause`` had set: no root cause, no consequence."""
    grade.root_cause = None
    for result in grade.results:
        result.consequence_of = ""


def open_submission(path: Path, options: WorkerOptions = WorkerOptions()) -> tuple[Submission | None, str | None]:
    """Start the submission's worker: (submission, None), or (None, why) if the import hung or crashed it.

    An import that raises is not such a fault: it gives a Submission whose ``import_error`` is set.
    """
    try:
        return Submission(path, options), None
    except WorkerFault as fault:
        return None, str(fault)


def unimportable_result(check: Check, reason: str) -> CheckResult:
    """Zero for ``check``: the submission's import never finished (still a complete report)."""
    return CheckResult(check, 0.0, f"the submission could not be imported: {reason}")
