"""The failing example a student is shown: the simplest one found, with every call it made.

``record_example`` runs a check's body once, on given arguments, outside Hypothesis, noting every
call into the submission (``checks.engine.isolation.trace``). What a failing check's result carries is a
``Counterexample``: the arguments, the trace, the failure's message on them (the message the
student reads: its numbers are this example's), a second failing example (a different draw), and
a larger failing example that tells mistakes apart (``confirming_trace``), on which diagnosis
(``checks.engine.run.diagnosis``) confirms a misconception model.

When a check fails, the runner (``runner.find_counterexample``) notes the main run's failing
examples (``failing_examples``: Hypothesis's shrunk one is the last), then looks for a simpler one
(``checks.engine.run.simple_example``).
``sentence`` tells the example: the property, the sizes, the inputs as Python to paste (arrays of
at most LITERAL_LIMIT entries), and the worst entries from the failure's ``discrepancies``.
"""

from __future__ import annotations

import copy
import functools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
from hypothesis import HealthCheck, Phase, settings

from checks.engine.isolation.boundary import WorkerFault, WorkerTimeout
from checks.engine.isolation.contract import Submission, SubmissionRaised, parameter_names
from checks.engine.isolation.faults import NotCalledAgain
from checks.engine.isolation.trace import CacheRef, Call, Trace
from checks.registry import API_GROUPS, Check
from checks.strategies import Dims
from checks.verdicts import Discrepancy, digits_to_tell_apart

# What a submission's fault looks like from a check: an assertion about its values, or an exception its
# own function raised in the worker (the runner sorts failures with it too).
SUBMISSION_FAULTS = (AssertionError, SubmissionRaised)


@dataclass
class Counterexample:
    """One failing example of one check.

    - arguments: the check's drawn arguments by parameter name, without ``sub`` (p=RNNProblem(...), seed=...)
    - trace: the calls into the submission that example made
    - message: the check's failure message on that example
    - simple: True if it was found by the search for simple values (else it is Hypothesis's first, shrunk on sizes)
    - second: another failing example's trace (a different draw), or None if none was found
    - confirming: the trace of a failing example large enough to tell mistakes apart (``tells_apart``),
      on which diagnosis confirms a misconception model; None if the run failed on none
    - sentence: the example in one sentence, for the student
    - discrepancies: the failure's worst wrong entries on it, worst first (``checks.verdicts.Discrepancy``)
    - not_finished: the submission never finished on it (a hang): ``trace`` is the calls the check makes on
      it with a correct submission, without their results (``example_not_finished``)
    """

    arguments: dict[str, Any]
    trace: Trace
    message: str
    simple: bool = False
    second: Trace | None = None
    sentence: str = ""
    discrepancies: tuple = ()
    confirming: Trace | None = None
    not_finished: bool = False


def record_example(check: Check, sub: Submission, arguments: dict[str, Any]) -> tuple[Trace, BaseException | None]:
    """Run ``check``'s body once on ``arguments``; return its trace and the exception it raised (None: it passed)."""
    body = check.function.hypothesis.inner_test
    with sub.recording() as trace:
        try:
            body(sub, **arguments)
        except Exception as error:  # noqa: BLE001 - a failure is what we came for
            return trace, error
    return trace, None


# --------------------------------------------------------------------------- noting failing examples


def note_not_finished(seen: "FailingExamples", fault: WorkerFault, arguments: dict[str, Any]) -> None:
    """Note ``arguments`` as the example ``fault`` ended the run on, if that fault is one a script can show on
    it: a hang, or a call refused because of an earlier hang or crashes (not the whole-run deadline's cut)."""
    if isinstance(fault, NotCalledAgain) or (isinstance(fault, WorkerTimeout) and not fault.by_deadline):
        seen.not_finished = copy.deepcopy(arguments)


def example_not_finished(check: Check, arguments: dict[str, Any], message: str) -> Counterexample | None:
    """The example a hang (or a refusal after one) ended ``check`` on, so that the student can reproduce it: its
    calls are those a correct submission gets on it (the course's reference, in this process: the student's
    code is not run again, which would only hang again), without their results. A reproduction script makes
    those calls on the student's code and shows the hang. None without a reference of this API, or if the
    reference does not pass the example."""
    from checks.engine.run.in_process import reference_in_process  # hangs only

    reference = reference_in_process()
    if reference is None or check.group in API_GROUPS:
        return None
    trace, error = record_example(check, reference, arguments)
    if error is not None or not trace.calls:
        return None
    for call in trace.calls:  # the reference's, not the student's: nothing of them may be told as the student's
        call.result, call.raised, call.arguments_after, call.entered = None, None, None, ()
    return Counterexample(arguments, trace, message, sentence=sentence(check, arguments, None, trace),
                          not_finished=True)


class SearchOver(BaseException):
    """Raised from inside a search's example to stop Hypothesis (it lets BaseExceptions through)."""


@dataclass
class FailingExamples:
    """The arguments of failing examples of one run of a check, by parameter name (without ``sub``)."""

    first: dict[str, Any] | None = None  # the first draw that failed
    last: dict[str, Any] | None = None  # the last one: Hypothesis's shrunk example, replayed last
    simplest: dict[str, Any] | None = None  # the least complex one (``complexity``)
    largest: dict[str, Any] | None = None  # the first that best tells mistakes apart (``telling_sizes``)
    examples: int = 0  # every example run, failing or not
    not_finished: dict[str, Any] | None = None  # the example a hang (or a refusal after one) ended the run on
    longest: int = 0  # the most steps T of any example run, failing or not

    def saw(self, arguments: dict[str, Any]) -> None:
        """Note an example about to run (failing or not): how long a sequence the check draws."""
        sizes = problem_sizes(arguments)
        self.longest = max(self.longest, sizes.T if sizes is not None else 0)

    def note(self, arguments: dict[str, Any]) -> None:
        kept = copy.deepcopy(arguments)
        self.first = self.first or kept
        self.last = kept
        if self.simplest is None or complexity(kept) < complexity(self.simplest):
            self.simplest = kept
        if self.largest is None or telling_sizes(kept) > telling_sizes(self.largest):
            self.largest = kept

    def confirming(self) -> dict[str, Any] | None:
        """The failing example on which a misconception may be confirmed: ``largest``, if it
        ``tells_apart`` at the sizes this check draws; else None (then no model is named)."""
        if self.largest is None or not tells_apart(self.largest, self.longest):
            return None
        return self.largest


@contextmanager
def each_example_wrapped(test: Callable, wrapper: Callable[[Callable], Callable]) -> Iterator[None]:
    """While in the block, Hypothesis runs each example of ``test`` through ``wrapper(inner)``.

    ``test.hypothesis.inner_test`` is the function Hypothesis calls per example, reassignable
    for such wrappers; the original is put back afterwards. A plain function is left alone.
    """
    hooks = getattr(test, "hypothesis", None)
    if hooks is None:
        yield
        return
    inner = hooks.inner_test
    hooks.inner_test = functools.wraps(inner)(wrapper(inner))
    try:
        yield
    finally:
        hooks.inner_test = inner


@contextmanager
def failing_examples(test: Callable, sub: Any, stop_after: int | None = None,
                     fair: Callable[[dict[str, Any]], bool] | None = None) -> Iterator[FailingExamples]:
    """Note the arguments of every failing example of the @given ``test`` on ``sub`` while in the block.

    With ``stop_after``, it stops the run after that many examples. With ``fair``, a failing example
    whose arguments are not fair (``fair(arguments)`` is False) counts as passing: neither noted nor
    shrunk towards.
    """
    seen = FailingExamples()

    def noting_failures(inner: Callable) -> Callable:
        def example(*args, **kwargs):
            if stop_after is not None and seen.examples >= stop_after:
                raise SearchOver
            seen.examples += 1
            seen.saw(kwargs)
            try:
                return inner(*args, **kwargs)
            except SUBMISSION_FAULTS:
                # Hypothesis passes every argument by name, the submission too.
                arguments = {name: value for name, value in kwargs.items() if value is not sub}
                if fair is not None and not fair(arguments):
                    return None
                seen.note(arguments)
                raise
            except WorkerFault as fault:
                note_not_finished(seen, fault, {name: value for name, value in kwargs.items() if value is not sub})
                raise
        return example

    with each_example_wrapped(test, noting_failures):
        yield seen


# -- the example that confirms a diagnosis -------------------------------------------------------------
#
# At the smallest sizes different mistakes give the same numbers: at T = 1 there is no recurrence
# and no window boundary, at N = 1 a sum over the batch is its mean, at D = H a transposed Wx has
# the right shape. Diagnosis names a model only if it also reproduces a failing example where
# they disagree: N >= 2, D != H, H >= 2, and T >= 3 (or as long as this check's sequences get).

TELLING_STEPS = 3


def telling_sizes(arguments: dict[str, Any]) -> tuple[int, int, int, int, int]:
    """How well an example's sizes tell mistakes apart, compared as a tuple (more is better):
    the criteria of ``tells_apart`` met at the longest T possible, then the entries in all.
    An example without an RNN problem (clipping, batching) counts its entries alone."""
    sizes = problem_sizes(arguments)
    entries = complexity(arguments)[0]
    if sizes is None:
        return (0, 0, 0, 0, entries)
    return (int(sizes.N >= 2), int(sizes.D != sizes.H), int(sizes.H >= 2), min(sizes.T, TELLING_STEPS), entries)


def tells_apart(arguments: dict[str, Any], longest: int) -> bool:
    """N >= 2, D != H, H >= 2 and T >= min(3, ``longest``, the most steps the check drew); an example
    without an RNN problem qualifies if it has more than one entry per array on average."""
    sizes = problem_sizes(arguments)
    if sizes is None:
        return complexity(arguments)[0] > len(arguments)
    return sizes.N >= 2 and sizes.D != sizes.H and sizes.H >= 2 and sizes.T >= min(TELLING_STEPS, max(longest, 1))


CONFIRMING_DRAWS = 40  # examples of the check drawn (not run) to find ones that tell mistakes apart
CONFIRMING_TRIES = 3  # ... of which at most this many are run on the submission
CONFIRMING_SETTINGS = settings(max_examples=CONFIRMING_DRAWS, phases=(Phase.generate,), database=None,
                               derandomize=True, deadline=None, suppress_health_check=list(HealthCheck),
                               report_multiple_bugs=False, print_blob=False)


def confirming_trace(check: Check, sub: Submission, seen: FailingExamples) -> Trace | None:
    """The calls of a failing example that tells mistakes apart (``tells_apart``), or None if none is found.

    The main run's own (``FailingExamples.confirming``) if it has one: it costs nothing more. Else the
    check's examples are drawn again (derandomized: the same every run), without running them, and the
    CONFIRMING_TRIES that tell mistakes apart best (``telling_sizes``) are run until one fails. A check whose explicit
    degenerate example fails stops there, so its main run rarely has a large failing example.
    """
    arguments = seen.confirming()
    if arguments is not None:
        return record_example(check, sub, arguments)[0]
    candidates = drawn_arguments(check, sub)
    longest = max([seen.longest, *(sizes.T for a in candidates if (sizes := problem_sizes(a)) is not None)])
    # The most telling first: the more entries, the less room for two mistakes to agree by chance.
    telling = sorted((arguments for arguments in candidates if tells_apart(arguments, longest)),
                     key=telling_sizes, reverse=True)
    with np.errstate(all="ignore"):
        for arguments in telling[:CONFIRMING_TRIES]:
            trace, error = record_example(check, sub, arguments)
            if isinstance(error, SUBMISSION_FAULTS):
                return trace
    return None


def drawn_arguments(check: Check, sub: Submission) -> list[dict[str, Any]]:
    """CONFIRMING_DRAWS examples of ``check`` as Hypothesis draws them (derandomized), none of them run."""
    test = check.function
    if getattr(test, "hypothesis", None) is None:
        return []
    drawn: list[dict[str, Any]] = []

    def noting_only(inner: Callable) -> Callable:
        def example(*args, **kwargs):
            drawn.append(copy.deepcopy({name: value for name, value in kwargs.items() if value is not sub}))
        return example

    with search_settings(test, CONFIRMING_SETTINGS), each_example_wrapped(test, noting_only):
        try:
            test(sub)
        except Exception:  # noqa: BLE001 - a strategy that cannot draw: no confirming example, nothing more
            pass
    return drawn


def complexity(arguments: Any) -> tuple[int, int, float]:
    """(number of entries, number of non-zero entries, Σ|entries|) of every array, dict and number inside."""
    values = list(_numbers(arguments))
    return len(values), sum(1 for v in values if v != 0), float(sum(abs(v) for v in values if np.isfinite(v)))


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, np.ndarray):
        yield from (float(v) for v in value.ravel())
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)



@contextmanager
def search_settings(test: Callable, chosen: settings) -> Iterator[None]:
    """``test`` runs under ``chosen`` settings in the block. Hypothesis reads a test's settings from this
    attribute at each call; decorating again with ``settings`` would change the check for good."""
    attribute = "_hypothesis_internal_use_settings"
    previous = getattr(test, attribute)
    setattr(test, attribute, chosen)
    try:
        yield
    finally:
        setattr(test, attribute, previous)


# --------------------------------------------------------------------------- the sentence

LITERAL_LIMIT = 24  # arrays of at most this many entries are shown as literals
HIDDEN_ARGUMENTS = ("seed",)  # drawn for the check's own probes, not an input of the student's code
WORST_SHOWN = 3


def sentence(check: Check, arguments: dict[str, Any], failure: BaseException | None,
             trace: Trace | None = None) -> str:
    """The example in one sentence, then its inputs as Python to paste, then the worst entries.

    "The property "<check's first docstring line>" fails for N=1, T=1, D=1, H=1, with these inputs:"
    The inputs are those of the calls the check made (``trace``), by the contract's argument names,
    so a step check shows ``x`` of shape (N, D) and ``prev_h``; without a trace, the drawn arguments.
    """
    sizes = problem_sizes(arguments)
    where = f" for {sizes_text(sizes)}" if sizes else ""
    lines = [f'The property "{check.description}" fails{where}, with these inputs (import numpy as np):']
    calls = first_call_of_each_function(trace) if trace is not None else []
    for call in calls:
        named = [(name, arg) for name, arg in zip(parameter_names(call.function), call.args)
                 if not isinstance(arg, CacheRef)]
        lines.append(f"  {call.function}({', '.join(parameter_names(call.function)[:len(call.args)])}) with")
        lines += [f"    {line}" for name, arg in named for line in python_lines(name, arg)]
    if not calls:
        for name, value in arguments.items():
            if name not in HIDDEN_ARGUMENTS:
                lines += [f"  {line}" for line in python_lines(name, value)]
    worst = list(getattr(failure, "discrepancies", []) or [])[:WORST_SHOWN]
    if worst:
        lines.append("Worst entries:")
        lines += [worst_entry_line(d) for d in worst]
    return "\n".join(lines)


def worst_entry_line(d: Discrepancy) -> str:
    """"  dWh[0, 1]: expected 0.5, got 0.4999964 (relative error 7.2e-06)", with digits enough to tell them apart."""
    where = f"[{', '.join(map(str, d.index))}]" if d.index else ""
    digits = digits_to_tell_apart([d.got], d.expected)
    return (f"  {d.name}{where}: expected {d.expected:.{digits}g}, got {d.got:.{digits}g} "
            f"(relative error {d.relative_error:.2g})")


def problem_sizes(arguments: dict[str, Any]) -> Dims | None:
    """The N, T, D, H of the example's RNN problem (an argument, or one inside a tuple), if it has one."""
    values = [*arguments.values(), *(item for value in arguments.values()
                                     if isinstance(value, tuple) and not hasattr(value, "dims") for item in value)]
    return next((value.dims for value in values if hasattr(value, "dims")), None)


def sizes_text(sizes: Dims) -> str:
    # No spaces around "=": wrapping a report never splits "H = 1" across two lines.
    return f"N={sizes.N}, T={sizes.T}, D={sizes.D}, H={sizes.H}"


def first_call_of_each_function(trace: Trace) -> list[Call]:
    """The calls that show the example's inputs: the first of each function (later ones are perturbed
    or repeated calls of finite differences and of idempotence)."""
    seen: dict[str, Call] = {}
    for call in trace.calls:
        seen.setdefault(call.function, call)
    return list(seen.values())


def python_lines(name: str, value: Any) -> list[str]:
    """``name = <value>`` as lines of Python (numpy as np); a named tuple gives one line per field."""
    if hasattr(value, "_fields"):
        return [line for field_name in value._fields for line in python_lines(field_name, getattr(value, field_name))]
    if isinstance(value, dict):
        items = [f"{key!r}: {array_literal(item)}" for key, item in value.items()]
        return [f"{name} = {{{', '.join(items)}}}"]
    if isinstance(value, tuple):
        return [line for i, item in enumerate(value) for line in python_lines(f"{name}_{i}", item)]
    return [f"{name} = {array_literal(value)}"]


def array_literal(value: Any) -> str:
    """np.array([...]) for a small array, a description of a large one, repr of a plain number."""
    if isinstance(value, np.ndarray):
        if value.size <= LITERAL_LIMIT:
            return f"np.array({_plain(value.tolist())!r})"
        if value.size and np.all(value == value.flat[0]):
            return f"np.full({value.shape!r}, {_plain(value.flat[0].item())!r})"
        return f"...  # an array of shape {value.shape}, too large to show"
    if isinstance(value, (np.floating, np.integer)):
        return repr(value.item())
    return repr(value)


def _plain(value: Any) -> Any:
    """Nested lists with -0.0 written as 0.0 (a student pasting it gets the same values)."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return 0.0 if value == 0 and isinstance(value, float) else value
