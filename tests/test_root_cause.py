"""One root cause first (issue 9 §4): each check's subject, the most basic failing one, and its consequences.

The unit tests use the real checks' ``needs`` with made-up results; a few real grades of corpus
bugs (shared by a module-scoped fixture) show that the analysis names the right function, and
that a bug in clipping alone marks no other failure as its consequence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.engine.contract import CALLS, CONTRACT_FUNCTIONS, DEPENDENCY_ORDER, builds_on
from checks.engine.root_cause import attribute_root_cause, find_root_cause, most_basic_first, subject
from checks.engine.runner import CheckResult, Grade, grade_submission, shorten
from checks.registry import load_checks

REPO = Path(__file__).resolve().parents[1]
BUGGY = REPO / "tests" / "corpus" / "buggy"


@pytest.fixture(scope="module")
def checks():
    return {check.name: check for check in load_checks()}


def results_failing(checks, names):
    return [CheckResult(check, 0.0, "wrong") if name in names else CheckResult(check, check.points)
            for name, check in checks.items()]


def test_the_call_graph_and_the_order_cover_the_contract_and_agree():
    assert set(CALLS) == set(DEPENDENCY_ORDER) == set(CONTRACT_FUNCTIONS)
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
    cause = find_root_cause(results_failing(checks, failing))
    assert cause.function == "rnn_step_backward"
    assert cause.checks == ("step_backward_matches_reference",)
    assert set(cause.consequences) == {"sequence_backward_matches_reference",
                                       "birnn_backward_matches_finite_differences"}
    assert cause.line == "Fix rnn_step_backward first: 2 other failing checks call it."


def test_a_forward_bug_is_more_basic_than_the_backward_checks_that_run_it(checks):
    failing = {"sequence_forward_matches_reference", "sequence_backward_matches_reference",
               "step_backward_matches_reference", "windowed_run_equals_whole_row"}
    cause = find_root_cause(results_failing(checks, failing))
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
    checks = load_checks()
    names = ("tanh_derivative_from_preactivation", "forward_ignores_h0", "per_tensor_clipping")
    return {name: grade_submission(BUGGY / f"{name}.py", checks) for name in names}


def test_a_tanh_derivative_bug_is_rooted_in_rnn_step_backward(grades):
    grade = grades["tanh_derivative_from_preactivation"]
    assert grade.root_cause.function == "rnn_step_backward"
    consequences = {r.check.name for r in grade.results if r.consequence_of == "rnn_step_backward"}
    assert consequences == set(grade.root_cause.consequences) and len(consequences) >= 3
    assert "sequence_backward_matches_reference" in consequences
    assert not any(r.consequence_of for r in grade.results if r.check.group in ("clipping", "hygiene", "forward"))
    first = most_basic_first(grade.results)[0]
    assert subject(first.check) == "rnn_step_backward" and not first.consequence_of


def test_a_forward_bug_is_rooted_in_a_forward_function(grades):
    grade = grades["forward_ignores_h0"]
    assert grade.root_cause.function in ("rnn_step_forward", "rnn_forward")
    assert all(r.consequence_of == grade.root_cause.function for r in grade.results if r.consequence_of)


def test_a_clipping_bug_marks_no_false_consequence(grades):
    grade = grades["per_tensor_clipping"]
    failing = [r for r in grade.results if not r.passed]
    assert failing and all(r.check.group == "clipping" for r in failing)
    assert grade.root_cause is None and not any(r.consequence_of for r in grade.results)
