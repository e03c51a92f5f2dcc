"""Naming the misconception behind a failing check, only when it fits.

A misconception model (``reference.misconceptions``) is named only when it reproduces the student's
values on two examples: the simple example shown, and a larger failing example where different
mistakes give different numbers (``Counterexample.confirming``: N >= 2, T >= 3, D != H, see
``counterexample.tells_apart``). On each, every output where the student differs from the
reference must be the model's output, to tight tolerance, the model must differ from the reference
there too, every output where the student is right must be the model's too, and at least one wrong
output must be a value: an exception's type alone is never enough (many mistakes raise the same
ValueError). When two different mistakes fit, neither is named.

Mistakes seen in the calls themselves are named without a model, when both the example shown
and a second failing one show them: an input changed in place, an array right but for an axis of
length 1. Anything else: no misconception is named, and the wrong entries are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator

import numpy as np

from checks.engine.isolation.contract import parameter_names
from checks.engine.isolation.contract_returns import OUTPUT_NAMES
from checks.engine.run.counterexample import Counterexample
from checks.engine.isolation.protocol import Handle
from checks.engine.isolation.trace import CacheRef, Call, Trace, replay
from reference.misconceptions import LIBRARY, SEEN_IN_CALLS, Misconception, compose

# Tight: correct implementations written differently agree far better than this; a real mistake
# is off by far more.
RELATIVE_TOLERANCE = 1e-8
ABSOLUTE_TOLERANCE = 1e-10  # times the largest entry of the output
MAX_ENTRIES = 4  # wrong entries listed when no misconception fits

NO_MATCH = "no known misconception matches; the {what} is wrong in these entries: {entries}"
NO_MATCH_WHOLE = "no known misconception matches; wrong: {outputs}"  # when no entry can be compared


@dataclass(frozen=True)
class Diagnosis:
    """What diagnosis found for one failing check.

    - misconception: the id named, or None when no known misconception fits
    - explanation: one sentence for the student (the misconception, or the wrong entries)
    - variant: which model of the id matched, for the course's staff ("" if seen in the calls)
    """

    misconception: str | None
    explanation: str
    variant: str = ""


# -- outputs of a call --------------------------------------------------------------------------

Outcome = tuple[str | None, dict[str, Any]]  # (the exception's type name if it raised, outputs by name)


def named_outputs(function: str, value: Any) -> dict[str, Any]:
    """The leaves of a returned value by name ("dWh", "grads['Wh']"); caches left out."""
    names = OUTPUT_NAMES.get(function, ())
    items = list(value) if isinstance(value, (tuple, list)) and len(names) != 1 else [value]
    leaves = {}
    for position, item in enumerate(items):
        name = names[position] if position < len(names) else f"output {position}"
        if name == "cache" or isinstance(item, Handle):
            continue
        if isinstance(item, dict):
            leaves.update((f"{name}[{key!r}]", entry) for key, entry in item.items())
        else:
            leaves[name] = item
    return leaves


def student_outcome(call: Call) -> Outcome:
    if call.raised is not None:
        # "rnn_backward raised ValueError: operands could not be broadcast ...": the type is the word before ":"
        words = call.raised.split(":")[0].split()
        return (words[-1] if words else "Exception"), {}
    return None, named_outputs(call.function, call.result)


def replayed_outcomes(trace: Trace, functions: dict) -> list[Outcome]:
    return [(type(error).__name__, {}) if error is not None else (None, named_outputs(call.function, result))
            for call, result, error in replay(trace, functions.__getitem__)]


# -- comparing outputs --------------------------------------------------------------------------

def as_array(value: Any) -> np.ndarray | None:
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - a student's value may be anything
        return None
    return array if array.dtype.kind in "biuf" else None


def same(a: Any, b: Any) -> bool:
    """Equal to tight tolerance, in shape and in float precision (NaN equals NaN)."""
    x, y = as_array(a), as_array(b)
    if x is None or y is None:
        return x is None and y is None and type(a) is type(b) and repr(a) == repr(b)
    if x.shape != y.shape or precision(x) != precision(y):
        return False
    scale = max([1e-300, *(float(np.max(np.abs(v[np.isfinite(v)]), initial=0.0)) for v in (x, y))])
    return bool(np.allclose(x, y, rtol=RELATIVE_TOLERANCE, atol=ABSOLUTE_TOLERANCE * scale, equal_nan=True))


def precision(array: np.ndarray) -> int:
    return array.dtype.itemsize if array.dtype.kind == "f" and array.ndim else 8


def differences(student: list[Outcome], expected: list[Outcome]) -> list[tuple[int, str]]:
    """(call, output) where the student differs from the reference; output "raised" if only one raised."""
    found = []
    for i, ((s_raised, s_out), (e_raised, e_out)) in enumerate(zip(student, expected)):
        if s_raised or e_raised:
            if bool(s_raised) != bool(e_raised):
                found.append((i, "raised"))
            continue
        found += [(i, name) for name in {**e_out, **s_out} if not same(s_out.get(name), e_out.get(name))]
    return found


def agree_at(where: list[tuple[int, str]], a: list[Outcome], b: list[Outcome]) -> bool:
    """a and b agree at every (call, output) of ``where`` (for "raised": both raised the same type)."""
    for i, name in where:
        if name == "raised":
            if a[i][0] != b[i][0]:
                return False
        elif a[i][0] or b[i][0] or not same(a[i][1].get(name), b[i][1].get(name)):
            return False
    return True


def differ_at(where: list[tuple[int, str]], model: list[Outcome], expected: list[Outcome]) -> bool:
    return all(not agree_at([place], model, expected) for place in where)


# -- one example ----------------------------------------------------------------------------------

@dataclass
class Example:
    """One failing example: the calls, what the student returned, what the reference returns."""

    trace: Trace
    student: list[Outcome]
    expected: list[Outcome]

    @classmethod
    def of(cls, trace: Trace) -> "Example":
        return cls(trace, [student_outcome(call) for call in trace.calls], replayed_outcomes(trace, REFERENCE))

    @cached_property
    def wrong(self) -> list[tuple[int, str]]:
        """(call, output) where the student differs from the reference."""
        return differences(self.student, self.expected)

    @cached_property
    def wrong_values(self) -> list[tuple[int, str]]:
        """The wrong outputs that are values: those of calls where neither the student nor the reference raised."""
        return [(i, name) for i, name in self.wrong if name != "raised"]

    @cached_property
    def right(self) -> list[tuple[int, str]]:
        """(call, output) where the student returned the reference's value (calls where neither raised)."""
        wrong = set(self.wrong)
        return [(i, name) for i, ((s_raised, s_out), (e_raised, _)) in enumerate(zip(self.student, self.expected))
                if not s_raised and not e_raised for name in s_out if (i, name) not in wrong]

    def fits(self, model: Misconception) -> bool:
        """The model gives the student's values: the wrong ones (where it differs from the reference too), and
        the right ones (a model that changes an output the student got right is not the student's mistake:
        e.g. one dividing the loss and dx by mask.sum() does not describe a dx off by a factor alone)."""
        wrong = self.wrong
        if not wrong or not all(self.can_change(model, i) for i, _ in wrong):
            return False
        outcomes = replayed_outcomes(self.trace, model.functions)
        return (agree_at(wrong, self.student, outcomes) and differ_at(wrong, outcomes, self.expected)
                and agree_at(self.right, self.student, outcomes))

    def can_change(self, model: Misconception, call: int) -> bool:
        """The model changes this call's function, or the function that made a cache it is given."""
        made_by = [self.trace.calls[arg.call].function for arg in self.trace.calls[call].args if isinstance(arg, CacheRef)]
        return bool({self.trace.calls[call].function, *made_by} & model.affects)


# The reference as the models are built (a model with nothing replaced): every contract function by the
# name a trace calls it, CaptioningRNN's methods as "CaptioningRNN.loss" / "CaptioningRNN.sample" included.
REFERENCE = compose({})


def diagnose(example: Counterexample) -> Diagnosis | None:
    """The misconception both failing examples show, or the wrong entries when none fits.

    None when there is nothing to say: no second example to confirm a model on, or no output
    of the calls differs from the reference's (the check failed on something the calls do not show).
    """
    if example.second is None:
        return None
    shown = Example.of(example.trace)
    seen = seen_in_calls([shown, Example.of(example.second)])
    if seen:
        return seen
    if not shown.wrong:
        return None
    model = confirmed_model(shown, example.confirming)
    if model is None:
        return no_match(shown)
    outputs = wrong_outputs(shown)
    return Diagnosis(model.id, model.explanation.format(outputs=listed(outputs), equal=agreeing(outputs, "equals", "equal")),
                     model.variant)


def confirmed_model(shown: Example, confirming: Trace | None) -> Misconception | None:
    """The one mistake whose models fit both the example shown and the confirming one, by their values;
    None without a confirming example, or when none fits, or when two different mistakes do."""
    if confirming is None:
        return None
    examples = [shown, Example.of(confirming)]
    if not all(e.wrong_values for e in examples):  # an exception's type alone tells no mistake
        return None
    fitting = [model for model in LIBRARY if all(e.fits(model) for e in examples)]
    return fitting[0] if fitting and len({model.id for model in fitting}) == 1 else None


def wrong_outputs(example: Example) -> list[str]:
    """The names of the example's wrong outputs, in the contract's words: "dWh", "grads['b2']", and for a call
    that raised (or returned where the reference raised) "rnn_backward's ValueError" ("rnn_backward's result")."""
    names = [name if name != "raised" else raised_name(example, i) for i, name in example.wrong]
    return list(dict.fromkeys(names))


def raised_name(example: Example, call: int) -> str:
    function, raised = example.trace.calls[call].function, example.student[call][0]
    return f"{function}'s {raised}" if raised else f"{function}'s result"


def listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


PLURAL_NOUNS = frozenset({"batches"})  # contract names that read as plurals: "your batches equal"


def agreeing(names: list[str], singular: str, plural: str) -> str:
    """The verb for ``names`` as a subject: "your dWh equals", "your dWh and db equal", "your batches equal"."""
    return singular if len(names) == 1 and names[0] not in PLURAL_NOUNS else plural


def no_match(example: Example) -> Diagnosis:
    worst = dict(sorted(wrong_entries(example), key=lambda entry: entry[1]))  # an entry's worst error last, kept
    entries = sorted(worst.items(), key=lambda entry: -entry[1])[:MAX_ENTRIES]
    outputs = wrong_outputs(example)
    if not entries:  # an exception, or a shape: no entry to compare
        return Diagnosis(None, NO_MATCH_WHOLE.format(outputs=listed(outputs)))
    what = "gradient" if all(name.startswith(("d", "grads", "clipped")) for name in outputs) else "output"
    return Diagnosis(None, NO_MATCH.format(what=what, entries=", ".join(entry for entry, _ in entries)))


def wrong_entries(example: Example) -> Iterator[tuple[str, float]]:
    """("dWh[0, 1]", relative error) for every wrong entry of the wrong outputs of the example."""
    for i, name in example.wrong:
        got = as_array(example.student[i][1].get(name)) if name != "raised" else None
        due = as_array(example.expected[i][1].get(name)) if name != "raised" else None
        if got is None or due is None or got.shape != due.shape:
            continue
        with np.errstate(invalid="ignore"):
            error = np.abs(got - due) / np.maximum(np.abs(due), 1e-12)
        wrong = ~np.isclose(got, due, rtol=RELATIVE_TOLERANCE, atol=0.0, equal_nan=True)
        for index in np.argwhere(wrong) if got.ndim else ([()] if wrong else []):
            index = tuple(int(k) for k in index)
            where = f"[{', '.join(map(str, index))}]" if index else ""
            yield f"{name}{where}", float(error[index]) if np.isfinite(error[index]) else float("inf")


# -- mistakes seen in the calls themselves --------------------------------------------------------

def seen_in_calls(examples: list[Example]) -> Diagnosis | None:
    """An input changed in place, or every wrong output off by axes of length 1, on both examples."""
    mutated = [mutation(e.trace) for e in examples]
    if all(mutated):
        function, argument = mutated[0]
        return Diagnosis("mutates-input", SEEN_IN_CALLS["mutates-input"].format(function=function, argument=argument))
    kinds = [shape_mistakes(e) for e in examples]
    if all(kinds) and len(set().union(*(set(k) for k in kinds))) == 1:
        kind = next(iter(kinds[0].values()))
        outputs = list(kinds[0])
        shape = as_array(wrong_expected(examples[0], outputs[0])).shape
        return Diagnosis(kind, SEEN_IN_CALLS[kind].format(
            outputs=listed(outputs), has=agreeing(outputs, "has", "have"), shape=shape,
            **{"is": agreeing(outputs, "is", "are")}))
    return None


def mutation(trace: Trace) -> tuple[str, str] | None:
    """(function, argument) of the first call that changed one of its inputs."""
    for call in trace.calls:
        for position, (before, after) in enumerate(zip(call.args, call.arguments_after or ())):
            if after is not None and not unchanged(before, after):
                return call.function, argument_name(call.function, position)
    return None


def unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, dict) and isinstance(after, dict):
        return before.keys() == after.keys() and all(unchanged(before[k], after[k]) for k in before)
    x, y = as_array(before), as_array(after)
    if x is None or y is None:
        return True  # caches and other opaque values: nothing to compare
    return x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))


def argument_name(function: str, position: int) -> str:
    parameters = parameter_names(function)
    return parameters[position] if position < len(parameters) else f"argument {position + 1}"


def shape_mistakes(example: Example) -> dict[str, str]:
    """Wrong output -> shape mistake id, if every wrong output is right but for axes of length 1 (else {})."""
    found = {}
    for i, name in example.wrong:
        got, due = (as_array(example.student[i][1].get(name)) if name != "raised" else None,
                    wrong_expected(example, name, i))
        if got is None or due is None or got.shape == due.shape or got.size != due.size \
                or tuple(n for n in got.shape if n != 1) != tuple(n for n in due.shape if n != 1) \
                or not same(got.reshape(due.shape), due):
            return {}
        if got.ndim > due.ndim:
            found[name] = "shape-keepdims"
        else:
            found[name] = "scalar-where-array-due" if got.ndim == 0 else "degenerate-size-squeeze"
    return found


def wrong_expected(example: Example, name: str, call: int | None = None) -> np.ndarray | None:
    if call is None:
        call = next(i for i, n in example.wrong if n == name)
    return as_array(example.expected[call][1].get(name))
