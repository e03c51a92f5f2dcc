"""One root cause first (issue 9 §4): each check's subject, the most basic failing one, and its consequences.

The unit tests use the real checks' ``needs`` with made-up results; a few real grades of corpus
bugs (shared by a module-scoped fixture) show that the analysis names the right function, and
that a bug in clipping alone marks no other failure as its consequence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.engine.isolation.contract_order import CALLS, DEPENDENCY_ORDER, builds_on
from checks.engine.isolation.contract_functions import KNOWN_NAMES
from checks.engine.run.assignments import assignment_table
from checks.engine.run.counterexample import Counterexample
from checks.engine.run.root_cause import attribute_root_cause, find_root_cause, most_basic_first, subject
from checks.engine.run.results import CheckResult, Grade
from checks.engine.run.runner import grade_submission
from checks.engine.inputs.display import shorten
from checks.engine.isolation.trace import Call, Trace
from checks.registry import load_checks

REPO = Path(__file__).resolve().parents[1]
BUGGY = REPO / "tests" / "corpus" / "buggy"


@pytest.fixture(scope="module")
def checks():
    return {check.name: check for check in load_checks()}


def results_failing(checks, names, calling=None, recorded=False):
    """The checks named fail ("wrong"); with ``calling``, each failing check's example shows its function's
    call raising from inside ``calling`` (the worker's caller chain), the evidence a consequence needs; with
    ``recorded``, instead, the call returns wrong values and the worker recorded its entry into ``calling``."""
    results = []
    for name, check in checks.items():
        if name not in names:
            results.append(CheckResult(check, check.points))
            continue
        result = CheckResult(check, 0.0, "wrong")
        about = subject(check)
        if calling and about and about != calling and recorded:
            result.example = Counterexample({}, Trace([Call(about, (), result=(), entered=(calling,))]), "wrong")
        elif calling and about and about != calling:
            raised = (f"{about} raised ValueError: shapes (2,3) and (2,2) not aligned "
                      f"({about} line 12 → {calling} line 5: da = dnext_h * (1 - next_h**2))")
            result.example = Counterexample({}, Trace([Call(about, (), raised=raised)]), "wrong")
        results.append(result)
    return results


def test_the_call_graph_and_the_order_cover_the_contract_and_agree():
    assert set(CALLS) == set(DEPENDENCY_ORDER) == set(KNOWN_NAMES)
    for function, callees in CALLS.items():  # what a function builds on comes before it
        assert all(DEPENDENCY_ORDER.index(c) < DEPENDENCY_ORDER.index(function) for c in callees)
    assert builds_on("rnn_classifier_loss") >= {"rnn_forward", "rnn_step_forward", "rnn_backward", "rnn_step_backward"}
    assert builds_on("clip_grad_norm") == {"clip_grad_norm"}


def test_a_checks_subject_is_its_most_derived_function_and_hygiene_has_none(checks):
    assert subject(checks["step_backward_matches_finite_differences"]) == "rnn_step_backward"
    assert subject(checks["birnn_backward_is_sum_of_directions"]) == "birnn_backward"
    assert subject(checks["windowed_run_equals_whole_row"]) == "tbptt_batches"
    assert subject(checks["truncated_is_sum_of_window_backprops"]) == "rnn_backward_truncated"
    assert subject(checks["rnn_functions_leave_inputs_unchanged"]) is None


def test_the_most_basic_failing_function_is_the_root_and_what_builds_on_it_its_consequences(checks):
    failing = {"step_backward_matches_reference", "sequence_backward_matches_reference",
               "birnn_backward_matches_finite_differences", "clipping_below_max_norm_is_identity",
               "rnn_functions_leave_inputs_unchanged"}
    cause = find_root_cause(results_failing(checks, failing, calling="rnn_step_backward"))
    assert cause.function == "rnn_step_backward"
    assert cause.checks == ("step_backward_matches_reference",)
    assert set(cause.consequences) == {"sequence_backward_matches_reference",
                                       "birnn_backward_matches_finite_differences"}
    assert cause.line == "Fix rnn_step_backward first: 2 other failing checks call it."


def test_a_forward_bug_is_more_basic_than_the_backward_checks_that_run_it(checks):
    failing = {"sequence_forward_matches_reference", "sequence_backward_matches_reference",
               "step_backward_matches_reference", "windowed_run_equals_whole_row"}
    cause = find_root_cause(results_failing(checks, failing, calling="rnn_forward"))
    # step backward does not build on rnn_forward: an independent failure, not a consequence
    assert (cause.function, set(cause.consequences)) == (
        "rnn_forward", {"sequence_backward_matches_reference", "windowed_run_equals_whole_row"})


def test_independent_failures_name_no_root_cause_and_come_in_dependency_order(checks):
    results = results_failing(checks, {"clipping_below_max_norm_is_identity", "batches_have_the_tbptt_layout",
                                       "step_forward_matches_reference"})
    assert find_root_cause(results) is None
    grade = Grade(Path("s.py"), "default", 0, results)
    attribute_root_cause(grade)
    assert grade.root_cause is None and not any(result.consequence_of for result in results)
    assert [r.check.name for r in most_basic_first(results)] == [
        "step_forward_matches_reference", "clipping_below_max_norm_is_identity", "batches_have_the_tbptt_layout"]


def test_a_missing_function_is_to_be_implemented_first(checks):
    results = [CheckResult(check, 0.0, "not implemented: rnn_step_forward") if "rnn_step_forward" in check.needs
               and not check.needs_any else CheckResult(check, check.points) for check in checks.values()]
    assert find_root_cause(results).line.startswith("Implement rnn_step_forward first: ")


def test_without_evidence_of_a_call_nothing_follows_from_the_root(checks):
    """Issue 20: "probably follows from rnn_step_backward" of an rnn_backward that never calls it."""
    failing = {"step_backward_matches_reference", "sequence_backward_matches_reference"}
    assert find_root_cause(results_failing(checks, failing)) is None  # "wrong", no example: no evidence
    results = results_failing(checks, failing, calling="rnn_step_backward")
    assert find_root_cause(results).consequences == ("sequence_backward_matches_reference",)
    for result in results:  # an error whose caller chain never enters rnn_step_backward is no evidence
        if result.example is not None:
            result.example.trace.calls[0].raised = "rnn_backward raised ValueError: bad (rnn_backward line 12: x)"
    assert find_root_cause(results) is None


def test_a_recorded_entry_into_the_root_is_evidence_for_wrong_values(checks):
    """Wrong values show no caller chain: the worker's record of the functions each call entered does."""
    failing = {"step_backward_matches_reference", "sequence_backward_matches_reference",
               "birnn_backward_matches_finite_differences"}
    results = results_failing(checks, failing, calling="rnn_step_backward", recorded=True)
    cause = find_root_cause(results)
    assert cause.line == "Fix rnn_step_backward first: 2 other failing checks call it."
    assert set(cause.consequences) == {"sequence_backward_matches_reference", "birnn_backward_matches_finite_differences"}
    examples = [result.example for result in results if result.example is not None]
    for example in examples:  # an entry into another function is no evidence about rnn_step_backward
        example.trace.calls[0].entered = ("rnn_step_forward",)
    assert find_root_cause(results) is None
    for example in examples:  # nor is the root's own call, whatever it says it entered
        example.trace.calls[0].function, example.trace.calls[0].entered = "rnn_step_backward", ("rnn_step_backward",)
    assert find_root_cause(results) is None


def test_implement_first_only_when_the_callers_own_function_is_there(checks):
    """Issue 20: "Implement rnn_step_backward first: 10 other failing checks call it" where rnn_backward
    is itself not implemented. Checks about rnn_backward then say it is missing: they follow from its absence."""
    absent = {"rnn_step_backward", "rnn_backward", "rnn_backward_truncated", "birnn_backward", "rnn_classifier_loss"}
    results = []
    for check in checks.values():
        missing = [name for name in check.needs if name in absent]
        results.append(CheckResult(check, 0.0, f"not implemented: {', '.join(missing)}") if missing and
                       not check.needs_any else CheckResult(check, check.points))
    assert find_root_cause(results) is None
    # rnn_backward implemented, its checks missing rnn_step_backward alone: then it is the missing piece
    results = [CheckResult(r.check, 0.0, "not implemented: rnn_step_backward")
               if not r.passed and subject(r.check) in ("rnn_step_backward", "rnn_backward") else r for r in results]
    results = [r if r.passed or subject(r.check) in ("rnn_step_backward", "rnn_backward") else
               CheckResult(r.check, r.check.points) for r in results]
    cause = find_root_cause(results)
    if cause is not None:  # only if a check about rnn_backward calls rnn_step_backward itself
        assert cause.line.startswith("Implement rnn_step_backward first") and cause.missing


def test_shorten_cuts_at_a_lines_end_and_says_how_much_is_left_out():
    text = "\n".join(f"line {i} " + "x" * 20 for i in range(10))
    cut = shorten(text, 70)
    assert cut.splitlines()[:2] == text.splitlines()[:2]
    assert cut.endswith(f"[8 more lines, {len(text) - len(chr(10).join(text.splitlines()[:2])) - 1} more "
                        "characters not shown]")
    assert shorten("word " * 10, 12).startswith("word word\n... [the rest of the line")


# -- real grades of corpus bugs --------------------------------------------------------------------


@pytest.fixture(scope="module")
def grades():
    # the corpus bugs implement the vanilla RNN only: grade them as the vanilla RNN's assignment
    checks = load_checks(points_table=assignment_table(None, "rnn"), assignment=True)
    names = ("tanh_derivative_from_preactivation", "forward_squeezed_input", "per_tensor_clipping",
             "tanh_typo_written_twice")
    return {name: grade_submission(BUGGY / f"{name}.py", checks) for name in names}


def test_a_tanh_derivative_bug_is_rooted_in_rnn_step_backward_and_its_callers_follow_on_the_workers_record(grades):
    """Its rnn_backward calls rnn_step_backward: the worker recorded the entry, so every failing check of the
    functions built on it (sequence, truncated, bidirectional, classifier) probably follows, and says so."""
    grade = grades["tanh_derivative_from_preactivation"]
    first = most_basic_first(grade.results)[0]
    assert subject(first.check) == "rnn_step_backward" and not first.consequence_of
    assert grade.root_cause.line.startswith("Fix rnn_step_backward first: ")
    failing = {r.check.name: subject(r.check) for r in grade.results if not r.passed}
    assert set(grade.root_cause.checks) == {name for name, about in failing.items() if about == "rnn_step_backward"}
    assert set(grade.root_cause.consequences) == {
        name for name, about in failing.items() if about not in (None, "rnn_step_backward", "clip_grad_norm")}
    assert {subject(r.check) for r in grade.results if r.consequence_of} >= {"rnn_backward", "rnn_classifier_loss"}
    for result in grade.results:
        if result.consequence_of:  # the evidence: a call of another function that entered rnn_step_backward
            assert any("rnn_step_backward" in call.entered and call.function != "rnn_step_backward"
                       for trace in (result.example.trace, result.example.second) if trace for call in trace.calls)


def test_the_same_mistake_written_twice_is_not_a_consequence(grades):
    """rnn_backward never calls rnn_step_backward there: its failures must not "follow from" it."""
    grade = grades["tanh_typo_written_twice"]
    assert not any(r.passed for r in grade.results if r.check.name == "sequence_backward_matches_reference")
    assert grade.root_cause is None and not any(r.consequence_of for r in grade.results)


def test_a_crash_inside_the_callee_is_a_consequence_with_evidence(grades):
    """forward_squeezed_input: rnn_forward passes a squeezed x_t and rnn_step_forward raises; the worker's
    caller chain shows birnn_forward → rnn_forward → rnn_step_forward. Where a crash comes later (rnn_backward
    meets the squeezed cache), the worker's record shows that the failing call entered rnn_forward."""
    grade = grades["forward_squeezed_input"]
    followers = [r for r in grade.results if r.consequence_of]
    assert followers and grade.root_cause.line.startswith("Fix rnn_forward first: ")
    chained = set()
    for result in followers:
        calls = [call for trace in (result.example.trace, result.example.second) if trace for call in trace.calls]
        if any("→ " + result.consequence_of + " line " in (call.raised or "") for call in calls):
            chained.add(result.check.name)
        else:
            assert any(result.consequence_of in call.entered for call in calls), result.check.name
    assert {"birnn_output_is_concatenation_of_directions", "birnn_forward_matches_reference"} <= chained
    assert all(r.consequence_of == grade.root_cause.function for r in followers)


def test_a_clipping_bug_marks_no_false_consequence(grades):
    grade = grades["per_tensor_clipping"]
    failing = [r for r in grade.results if not r.passed]
    assert failing and all(r.check.group == "clipping" for r in failing)
    assert grade.root_cause is None and not any(r.consequence_of for r in grade.results)
