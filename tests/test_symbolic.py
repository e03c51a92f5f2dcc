"""On a tiny failing example, the expected gradient entry is shown as a SymPy expression (issue 9 §5).

Graded bugs of the corpus whose examples shrink to N = D = H = 1 and T ≤ 2 (the tanh-derivative
bug at one step, no recurrent carry and dWh overwritten at two) get ``symbolic_text`` naming the
worst wrong entry; the expression, read back from the text with SymPy, equals the reference's
gradient entry at the example's values, and not the student's. Larger examples get none, and a
passing grade never imports SymPy.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

import reference
from checks.engine.isolation.contract import Submission
from checks.engine.isolation.contract_returns import OUTPUT_NAMES
from checks.engine.run.counterexample import Counterexample, record_example
from checks.engine.run.runner import run_check
from checks.engine.run.symbolic import TINY_STEPS, symbolic_explanation
from checks.engine.isolation.trace import CacheRef
from checks.registry import load_checks
from checks.strategies import Dims, rnn_problem_from_seed

REPO = Path(__file__).resolve().parent.parent
BUGGY = REPO / "tests" / "corpus" / "buggy"
TINY_BUGS = ["tanh_derivative_from_preactivation", "no_recurrent_gradient", "dWh_overwritten"]
GRADIENT_CHECKS = ["step_backward_matches_finite_differences", "sequence_backward_matches_finite_differences",
                   "step_backward_matches_reference", "sequence_backward_matches_reference"]
UNICODE_TO_PYTHON = {"·": "*", "−": "-", "²": "**2", "³": "**3"}


@pytest.fixture(scope="module")
def checks():
    return {check.name: check for check in load_checks()}


@pytest.fixture(scope="module")
def graded(checks):
    """{(bug, check): CheckResult} for every gradient check each tiny bug fails."""
    results = {}
    for bug in TINY_BUGS:
        sub = Submission(BUGGY / f"{bug}.py")
        try:
            for name in GRADIENT_CHECKS:
                result = run_check(checks[name], sub)
                if not result.passed:
                    results[bug, name] = result
        finally:
            sub.close()
    return results


def calls_of(example: Counterexample):
    """(backward's name, the forward's arguments, the upstream gradient) of the example's first backward call."""
    for call in example.trace.calls:
        if call.function in ("rnn_step_backward", "rnn_backward") and isinstance(call.args[1], CacheRef):
            return call.function, example.trace.calls[call.args[1].call].args, call.args[0]
    raise AssertionError("no backward call in the example")


def read_back(text: str) -> sympy.Expr:
    """The expression of the text's first line ('dWh[0, 0] = <expression>') as SymPy reads Python."""
    expression = text.splitlines()[0].split(" = ", 1)[1]
    for unicode, python in UNICODE_TO_PYTHON.items():
        expression = expression.replace(unicode, python)
    return sympy.sympify(expression)


def values_at(backward: str, forward_args, upstream) -> dict[str, float]:
    """Every symbol of a tiny example by name: inputs, upstream gradients and the reference's states."""
    x, h0, Wx, Wh, b = (np.asarray(a, dtype=float) for a in forward_args)
    if backward == "rnn_step_backward":
        next_h = reference.rnn_step_forward(x, h0, Wx, Wh, b)[0]
        return {"x": x.item(), "prev_h": h0.item(), "Wx": Wx.item(), "Wh": Wh.item(), "b": b.item(),
                "dnext_h": np.asarray(upstream).item(), "next_h": next_h.item()}
    h = reference.rnn_forward(x, h0, Wx, Wh, b)[0]
    steps = range(1, x.shape[1] + 1)
    return {"h0": h0.item(), "Wx": Wx.item(), "Wh": Wh.item(), "b": b.item(),
            **{f"x_{t}": x[0, t - 1, 0] for t in steps}, **{f"h_{t}": h[0, t - 1, 0] for t in steps},
            **{f"dh_{t}": np.asarray(upstream)[0, t - 1, 0] for t in steps}}


def reference_gradient(backward: str, forward_args, upstream, name: str, index: tuple) -> float:
    forward = getattr(reference, backward.replace("backward", "forward"))
    cache = forward(*(np.asarray(a, dtype=float) for a in forward_args))[1]
    gradients = getattr(reference, backward)(np.asarray(upstream, dtype=float), cache)
    return float(gradients[OUTPUT_NAMES[backward].index(name)][index])


def test_tiny_examples_are_explained_at_one_and_two_steps(graded):
    explained = {key: r for key, r in graded.items() if r.symbolic_text}
    steps = {x.shape[1] if backward == "rnn_backward" else 1
             for backward, (x, *_), _ in (calls_of(r.example) for r in explained.values())}
    assert {bug for bug, _ in explained} == set(TINY_BUGS), sorted(graded)
    assert steps == {1, TINY_STEPS}
    assert {name for _, name in explained} == set(GRADIENT_CHECKS)


def test_the_expression_is_the_reference_gradient_of_the_worst_entry(graded):
    checked = 0
    for (bug, check), result in graded.items():
        if not result.symbolic_text:
            continue
        worst = result.example.discrepancies[0]
        entry = f"{worst.name}[{', '.join(map(str, worst.index))}]"
        assert result.symbolic_text.startswith(f"{entry} = "), (bug, check, result.symbolic_text)
        backward, forward_args, upstream = calls_of(result.example)
        expression = read_back(result.symbolic_text)
        values = values_at(backward, forward_args, upstream)
        assert {s.name for s in expression.free_symbols} <= set(values), expression
        value = float(expression.subs({sympy.Symbol(k): v for k, v in values.items()}))
        expected = reference_gradient(backward, forward_args, upstream, worst.name, tuple(worst.index))
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12), (bug, check, result.symbolic_text)
        assert value != pytest.approx(worst.got, rel=1e-6, abs=1e-9), "the student's own value: not the expected one"
        assert "tanh" not in result.symbolic_text.splitlines()[0]  # written with h_t, as in the lecture
        checked += 1
    assert checked >= 6


def test_the_latex_is_sympys_of_the_same_entry(graded):
    result = graded["dWh_overwritten", "sequence_backward_matches_reference"]
    assert result.symbolic_text.startswith("dWh[0, 0] = ")
    assert result.symbolic_latex.startswith(r"\mathrm{dWh}[0, 0] = ")
    for piece in (r"\left(1 - h_{1}^{2}\right)", r"\left(1 - h_{2}^{2}\right)", r"\mathrm{d}h_{2}", "h_{0}", "W_{h}"):
        assert piece in result.symbolic_latex, result.symbolic_latex
    where = result.symbolic_text.splitlines()[1]
    assert where.startswith("where h_1 = tanh(x_1·Wx + h0·Wh + b), h_2 = tanh(x_2·Wx + h_1·Wh + b)")


def test_an_example_that_is_not_tiny_is_not_explained(checks):
    sub = Submission(BUGGY / "no_recurrent_gradient.py")
    try:
        for dims in (Dims(N=1, T=3, D=1, H=1), Dims(N=1, T=2, D=1, H=2), Dims(N=2, T=2, D=1, H=1)):
            p = rnn_problem_from_seed(dims, seed=3)
            trace, error = record_example(checks["sequence_backward_matches_reference"], sub, {"p": p})
            example = Counterexample({"p": p}, trace, str(error), discrepancies=tuple(error.discrepancies))
            assert symbolic_explanation(example) is None, dims
        tiny = rnn_problem_from_seed(Dims(N=1, T=2, D=1, H=1), seed=3)  # the same bug, tiny: explained
        trace, error = record_example(checks["sequence_backward_matches_reference"], sub, {"p": tiny})
        assert symbolic_explanation(Counterexample({"p": tiny}, trace, "", discrepancies=tuple(error.discrepancies)))
    finally:
        sub.close()


IMPORTS_SYMPY = """
import json, sys
from pathlib import Path
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks
checks = [c for c in load_checks() if c.group in ("backward", "tanh")]
grade = grade_submission(Path(sys.argv[1]), checks)
print(json.dumps({"score": grade.score, "max": grade.max_score, "sympy": "sympy" in sys.modules}))
"""


@pytest.mark.parametrize("path, imports", [(REPO / "reference", False),
                                           (BUGGY / "tanh_derivative_from_preactivation.py", True)],
                         ids=["passing", "failing-tiny"])
def test_sympy_is_imported_only_to_explain_a_failure(path, imports, tmp_path):
    run = subprocess.run([sys.executable, "-c", IMPORTS_SYMPY, str(path)], capture_output=True, text=True,
                         timeout=600, cwd=REPO, env={"RNN_GRADE_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    graded = json.loads(run.stdout.splitlines()[-1])
    assert (graded["score"] == graded["max"]) is not imports
    assert graded["sympy"] is imports


def test_an_entry_of_another_gradient_call_is_not_explained(checks):
    """truncation_window_start_dx_doubled (issue 20): the example of "truncated BPTT = the sum of your own
    rnn_backward over windows" is tiny, T = 2 and window 1, and makes rnn_backward_truncated on both steps beside
    rnn_backward on each window (T = 1). The worst wrong entry, dx[0, 1, 0], is the truncated call's: it is not
    explained as an entry of the first window's rnn_backward (that raised IndexError, and the student got no grade),
    and nothing of the feedback was left out."""
    sub = Submission(BUGGY / "truncation_window_start_dx_doubled.py")
    try:
        result = run_check(checks["truncated_is_sum_of_window_backprops"], sub)
    finally:
        sub.close()
    assert not result.passed and result.example is not None, result.message
    worst = result.example.discrepancies[0]
    window = next(call for call in result.example.trace.calls if call.function == "rnn_backward")
    assert worst.name == "dx" and worst.index[1] >= np.shape(window.args[0])[1], (worst, window.args[0])
    assert symbolic_explanation(result.example) is None
    assert result.symbolic_text == "" and result.feedback_left_out == []


def test_a_formula_that_is_not_the_stated_expected_value_is_not_shown(graded):
    """The formula explains the failure's entry only if its value at the example is the expected value the
    failure states: the same example stating another expected value gets no formula."""
    result = graded["dWh_overwritten", "sequence_backward_matches_reference"]
    worst, *rest = result.example.discrepancies
    assert symbolic_explanation(result.example) == (result.symbolic_text, result.symbolic_latex)
    for other in (worst.expected + 0.01, -worst.expected, worst.got):
        stated = dataclasses.replace(result.example, discrepancies=(dataclasses.replace(worst, expected=other), *rest))
        assert symbolic_explanation(stated) is None, other
