"""The simplest failing example (issue 9 §1): found on failure, with simple values, told in one sentence.

A few corpus bugs are graded on a few groups' checks, once with the search and once without
(module-scoped): the examples must have small sizes and entries that are halves, the message must
paste into Python, and the score must be the main run's alone.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from checks.engine.isolation.contract import Submission, parameter_names
from checks.engine.run.counterexample import complexity, first_call_of_each_function, python_lines, record_example
from checks.engine.run.runner import grade_submission
from checks.engine.run.simple_example import narrowed
from checks.registry import load_checks
from checks.strategies import Dims, RNNProblem, in_simple_mode, rnn_problems, simple_values
from checks.verdicts import PartialFailure, assert_all_close, assert_close
from tiny_grading import REPO

BUGGY = Path(__file__).resolve().parent / "corpus" / "buggy"
# Each bug with the group of checks it is graded on here (its BUG_GROUP), to keep the grades few and short.
BUGS = {"tanh_derivative_from_preactivation": "tanh", "db_mean_over_batch": "backward",
        "dprev_h_untransposed_Wh": "backward", "per_tensor_clipping": "clipping"}
JARGON = ("Falsifying", "explicit example", "<submission", "seed=", "RNNProblem(", "Hypothesis", "You can reproduce")


@pytest.fixture(scope="module")
def checks():
    return load_checks()


def graded(checks, bug: str, **options):
    return grade_submission(BUGGY / f"{bug}.py", [c for c in checks if c.group == BUGS[bug]], **options)


@pytest.fixture(scope="module")
def grades(checks):
    return {bug: graded(checks, bug) for bug in BUGS}


@pytest.fixture(scope="module")
def unsearched(checks):
    return {bug: graded(checks, bug, simplify=False) for bug in BUGS}


def failing(grade):
    return [r for r in grade.results if not r.passed]


def entries(value):
    if isinstance(value, np.ndarray):
        yield from value.ravel()
    elif isinstance(value, dict):
        for item in value.values():
            yield from entries(item)
    elif isinstance(value, tuple):
        for item in value:
            yield from entries(item)


def test_every_failing_check_has_a_simple_example(grades):
    for bug, grade in grades.items():
        assert failing(grade), bug
        for result in failing(grade):
            example = result.example
            assert example is not None and example.simple, (bug, result.check.name)
            assert example.trace.calls, "the example's calls are recorded"
            if bug != "per_tensor_clipping":  # clipping tensors carry their own 10**k
                values = list(entries(tuple(example.arguments.values())))
                assert values and all(float(2 * v).is_integer() for v in values), (bug, result.check.name, values)


def test_the_tanh_bug_shrinks_to_size_one(grades):
    for result in failing(grades["tanh_derivative_from_preactivation"]):
        p = result.example.arguments["p"]
        assert p.dims == Dims(1, 1, 1, 1), (result.check.name, p.dims)


def test_the_batch_mean_bug_needs_and_gets_two_examples(grades):
    """db averaged over the batch is right for N = 1: the smallest failing example has N = 2."""
    for result in failing(grades["db_mean_over_batch"]):
        assert result.example.arguments["p"].dims.N == 2, result.message


def test_messages_have_no_hypothesis_jargon_and_their_inputs_paste_into_python(grades):
    """The message and the example's sentence have no Hypothesis internals; each call's inputs,
    pasted into Python, are exactly the arguments the check passed in that call."""
    for bug, grade in grades.items():
        for result in failing(grade):
            sentence = result.example.sentence
            assert not [word for word in JARGON if word in result.message + sentence], result.message
            assert result.check.description in sentence
            for call in first_call_of_each_function(result.example.trace):
                block = sentence.split(f"  {call.function}(", 1)[1].split(" with\n", 1)[1]
                own = itertools.takewhile(lambda line: line.startswith("    "), block.splitlines())
                inputs = [line.strip() for line in own if re.match(r"^    \w+ = ", line)]
                pasted = {"np": np}
                exec("\n".join(line for line in inputs if "too large" not in line), pasted)
                arguments = dict(zip(parameter_names(call.function), call.args))
                for line in inputs:
                    name = line.split(" = ", 1)[0]
                    if "too large" not in line:
                        assert_equal(pasted[name], arguments[name])


def assert_equal(pasted, value):
    if isinstance(value, dict):
        assert pasted.keys() == value.keys() and all(np.array_equal(pasted[k], value[k]) for k in value)
    else:
        assert np.array_equal(pasted, value)


def test_worst_entries_are_in_the_message(grades):
    result = next(r for r in failing(grades["db_mean_over_batch"])
                  if r.check.name == "step_backward_matches_reference")
    assert re.search(r"db\[0\]: expected -?[\d.]+, got -?[\d.]+ \(relative error [\d.e-]+\)",
                     result.example.sentence), result.example.sentence


def test_the_search_never_changes_a_score(grades, unsearched):
    for bug in BUGS:
        assert [r.score for r in grades[bug].results] == [r.score for r in unsearched[bug].results], bug
        assert all(r.example is None for r in unsearched[bug].results)


def test_the_search_is_deterministic(checks, grades):
    again = graded(checks, "tanh_derivative_from_preactivation")
    before = {r.check.name: r.message for r in grades["tanh_derivative_from_preactivation"].results}
    assert again.results and all(r.message == before[r.check.name] for r in again.results)


# --------------------------------------------------------------------------- pieces


def test_simple_values_mode_is_only_on_in_its_block():
    from hypothesis import find

    with simple_values(max_size=2):
        assert in_simple_mode()
        p = find(rnn_problems(), lambda p: np.any(p.Wh != 0) and p.dims.H == 2)
    assert not in_simple_mode()
    assert p.dims.N == 1 and p.dims.H == 2 and set(np.unique(p.Wh)) <= {-1.0, -0.5, 0.0, 0.5, 1.0}


def test_python_lines_paste_back():
    p = RNNProblem(*(np.full(shape, 0.5) for shape in [(1, 1, 2), (1, 1), (2, 1), (1, 1), (1,), (1, 1, 1)]))
    namespace = {"np": np}
    exec("\n".join(python_lines("p", p)), namespace)
    assert all(np.array_equal(namespace[name], getattr(p, name)) for name in p._fields)


def test_a_large_constant_array_pastes_back_as_np_full():
    p = RNNProblem(*(np.full(shape, -0.5) for shape in [(1, 30, 1), (1, 1), (1, 1), (1, 1), (1,), (1, 30, 1)]))
    lines = python_lines("p", p)
    assert lines[0] == "x = np.full((1, 30, 1), -0.5)"
    namespace = {"np": np}
    exec("\n".join(lines), namespace)
    assert all(np.array_equal(namespace[name], getattr(p, name)) for name in p._fields)


def test_a_bug_that_needs_a_long_sequence_gets_it_with_simple_values(checks):
    """`t is T - 1` breaks only beyond CPython's small-int cache: no example of the size caps 1 to 3
    fails, so the main run's T = 300 example is shown with every entry a half, cut to one unit."""
    check = next(c for c in checks if c.name == "sequence_backward_matches_reference")
    grade = grade_submission(BUGGY / "is_identity_last_step.py", [check])
    example = grade.results[0].example
    assert example.simple, grade.results[0].message
    p = example.arguments["p"]
    assert p.dims == Dims(N=1, T=300, D=1, H=1)
    assert all(len(set(np.ravel(array))) == 1 and float(2 * np.ravel(array)[0]).is_integer() for array in p)
    assert "x = np.full((1, 300, 1), 0.5)" in example.sentence


def test_complexity_prefers_fewer_and_smaller_entries():
    assert complexity({"a": np.zeros(1)}) < complexity({"a": np.zeros(2)})
    assert complexity({"a": np.array([0.5])}) < complexity({"a": np.array([1.0])})


def test_comparisons_attach_the_worst_entries():
    with pytest.raises(PartialFailure) as raised:
        assert_all_close({"dx": np.array([1.0, 2.0, 3.0]), "db": np.zeros(1)},
                         {"dx": np.array([1.0, 2.5, 4.0]), "db": np.zeros(1)}, "the reference")
    worst = raised.value.discrepancies
    assert [(d.name, d.index, d.expected, d.got) for d in worst] == [("dx", (2,), 4.0, 3.0), ("dx", (1,), 2.5, 2.0)]
    with pytest.raises(AssertionError) as raised:
        assert_close(np.array([[0.0, 1.0]]), np.array([[0.0, 2.0]]), "h", "the reference")
    assert [(d.index, d.relative_error) for d in raised.value.discrepancies] == [((0, 1), 0.5)]


# -- narrowing to one example, one input and one hidden unit --------------------------------------

def two_unit_problem(**entries) -> RNNProblem:
    """N = T = D = H = 2, every entry 0 but those given as {name: {index: value}}."""
    shapes = {"x": (2, 2, 2), "h0": (2, 2), "Wx": (2, 2), "Wh": (2, 2), "b": (2,), "dh": (2, 2, 2)}
    arrays = {name: np.zeros(shape) for name, shape in shapes.items()}
    for name, values in entries.items():
        for index, value in values.items():
            arrays[name][index] = value
    return RNNProblem(**arrays)


def test_a_failing_example_is_narrowed_to_the_one_unit_that_fails(checks):
    check = next(c for c in checks if c.name == "sequence_backward_matches_reference")
    # No recurrent carry shows only through Wh and a later step's dh: unit 1 of example 1 has both.
    p = two_unit_problem(Wh={(1, 1): 0.5}, dh={(1, 1, 1): 0.5})
    sub = Submission(BUGGY / "no_recurrent_gradient.py")
    try:
        cut = narrowed(check, sub, {"p": p})["p"]
    finally:
        sub.close()
    assert cut.dims == Dims(N=1, T=2, D=1, H=1)
    assert cut.Wh.tolist() == [[0.5]] and cut.dh.tolist() == [[[0.0], [0.5]]] and not cut.x.any()


def test_an_example_that_needs_two_units_is_kept_whole(checks):
    check = next(c for c in checks if c.name == "step_backward_matches_reference")
    # dprev_h = dz·Wh instead of dz·Whᵀ differs only through an off-diagonal Wh entry: no one unit shows it.
    p = two_unit_problem(Wh={(0, 1): 0.5}, dh={(0, 0, 1): 0.5})
    sub = Submission(BUGGY / "dprev_h_untransposed_Wh.py")
    try:
        assert isinstance(record_example(check, sub, {"p": p})[1], AssertionError)  # it does fail
        assert narrowed(check, sub, {"p": p})["p"] is p
    finally:
        sub.close()


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the check's own 0/0, on purpose
def test_a_simple_example_where_the_check_fails_for_everyone_is_never_shown(monkeypatch):
    """The README's example check divides by ‖Wh‖₂: at Wh = 0, a simple value, it is NaN for every
    implementation. The search keeps only examples the reference passes, so the 1 − a² bug is shown
    one with finite inputs; without that guard it would be shown Wh = nan."""
    from checks.engine.run import in_process
    from checks.engine.run.simple_example import search_simple_example

    example_check = load_checks([REPO / "docs" / "examples"], points_table=None, builtin=False)[0]
    sub = Submission(BUGGY / "tanh_derivative_from_preactivation.py")
    try:
        def inputs_passed(arguments):
            trace, error = record_example(example_check, sub, arguments)
            assert error is not None  # the example does fail the bug
            return [value for call in trace.calls for value in entries(call.args)]

        guarded = search_simple_example(example_check, sub, seed=0)
        assert guarded is None or np.all(np.isfinite(inputs_passed(guarded)))
        monkeypatch.setattr(in_process, "reference_in_process", lambda: None)
        unguarded = search_simple_example(example_check, sub, seed=0)
        assert unguarded is not None and not np.all(np.isfinite(inputs_passed(unguarded)))
    finally:
        sub.close()


# -- one example per failure (issue 20 §8) -------------------------------------------------------

SAME_INPUTS_BUGS = {"dWh_overwritten": "backward", "inplace_dnext_h": "hygiene", "tanh_derivative_paren_typo": "tanh",
                    "truncation_boundary_off_by_one": "truncated"}


@pytest.mark.parametrize("bug", sorted(SAME_INPUTS_BUGS))
def test_the_message_its_worst_entries_the_example_and_the_script_describe_the_same_inputs(checks, bug):
    """Issue 20: "dx[0, 0]: backprop gives 0.0693985 …" (the main run's example) above x = Wx = 0 (the
    simple one). Replaying the example shown on the submission gives the message, number for number, and
    the example's sentence with its worst entries; the repro script replays those very calls."""
    from checks.engine.run.counterexample import sentence
    from checks.engine.run.results import MESSAGE_LIMIT
    from checks.engine.run.runner import _failure_text
    from checks.engine.inputs.display import shorten

    grade = grade_submission(BUGGY / f"{bug}.py", [c for c in checks if c.group == SAME_INPUTS_BUGS[bug]])
    failing = [r for r in grade.results if not r.passed and r.example is not None]
    assert failing
    sub = Submission(BUGGY / f"{bug}.py")
    try:
        for result in failing:
            trace, error = record_example(result.check, sub, result.example.arguments)
            assert result.message == shorten(_failure_text(error), MESSAGE_LIMIT), result.check.name
            assert result.example.sentence == sentence(result.check, result.example.arguments, error, trace)
            # the repro script is written from result.example.trace: the very calls replayed here
            assert [c.function for c in result.example.trace.calls] == [c.function for c in trace.calls]
    finally:
        sub.close()
