"""Tests of the gru check group (checks/gru.py) and its strategies (checks/gru_problems.py).

- The reference, the corpus's correct submissions, and the student-style GRU of the buggy files with
  its bug undone (per-gate slices, a dict cache) get every gru check with full points: no false failures.
- Each buggy GRU of tests/corpus/buggy/gru_*.py fails exactly the checks it should, and no check
  that calls none of its AFFECTED functions; the consistent bugs (z and 1 − z swapped, the reset
  gate outside bh_n) pass finite differences, which is why the group also has value checks.
- The gate-chain check names the gate whose derivative is wrong.
- The formulas the checks compute (gates, the chain) are the reference's; the saturated update
  gate is exactly 1.0 in float64, so the reference copies the state bit for bit.
- The strategies validate their arguments and generate what their docstrings say.

Graded with simplify=False (the score is the same; the search for a simpler example costs seconds per
failing check), except one test of the message a student sees.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import reference
from reference.misconceptions import IDS
from checks.engine.run.runner import grade_submission
from checks.gru import (
    GRU_FUNCTIONS,
    SEQUENCE_GRADIENTS,
    STEP_GRADIENTS,
    gate_chain,
    gates,
    own_candidate,
    sigmoid,
)
from checks.gru_problems import (
    DEGENERATE_GRU,
    SATURATED_UPDATE_BIAS,
    gru_problem_from_seed,
    gru_problems,
)
from checks.registry import load_checks
from checks.strategies import Dims, simple_values

ROOT = Path(__file__).resolve().parent.parent
BUGGY = ROOT / "tests" / "corpus" / "buggy"

FD_STEP = "gru_step_backward_matches_finite_differences"
FD_SEQUENCE = "gru_sequence_backward_matches_finite_differences"
GATE_CHAIN = "gru_step_backward_follows_the_gate_chain"
SATURATED_STEP = "gru_saturated_update_gate_keeps_the_state"
SATURATED_SEQUENCE = "gru_saturated_update_gate_keeps_h0_over_time"
SATURATED_GRADIENT = "gru_saturated_update_gate_passes_the_gradient_back_unchanged"
COMPOSED = "gru_sequence_forward_is_the_step_composed"
REF_STEP_FORWARD = "gru_step_forward_matches_reference"
REF_STEP_BACKWARD = "gru_step_backward_matches_reference"
REF_FORWARD = "gru_sequence_forward_matches_reference"
REF_BACKWARD = "gru_sequence_backward_matches_reference"
UNCHANGED = "gru_functions_leave_inputs_unchanged"
SHAPES = "gru_shapes_and_dtypes_are_exact_at_size_one"
REFERENCE_CHECKS = {REF_STEP_FORWARD, REF_STEP_BACKWARD, REF_FORWARD, REF_BACKWARD}

# The checks each bug fails, no more and no fewer.
EXPECTED_FAILURES = {
    # Consistent in forward and backward: finite differences pass. The values (the gate identity on
    # next_h, the reference) and the saturated gate (z = 1 must keep prev_h; it gives n) catch it.
    "gru_update_gate_swapped": {GATE_CHAIN, SATURATED_STEP, SATURATED_SEQUENCE, SATURATED_GRADIENT,
                                *REFERENCE_CHECKS},
    # Consistent too, and invisible when z = 1 (n is then not used): the gate chain and the reference.
    "gru_reset_outside_hidden_bias": {GATE_CHAIN, *REFERENCE_CHECKS},
    # Backward only, and invisible when z = 1 (z(1 − z) and 1 − z² are both 0 there).
    "gru_update_sigma_prime_one_minus_sigma_squared": {FD_STEP, FD_SEQUENCE, GATE_CHAIN, REF_STEP_BACKWARD,
                                                       REF_BACKWARD},
    "gru_dbh_candidate_missing_reset": {FD_STEP, FD_SEQUENCE, GATE_CHAIN, REF_STEP_BACKWARD, REF_BACKWARD},
    # The step functions are right: only the sequence's gradient checks see it (T ≥ 2).
    "gru_dWh_overwritten": {FD_SEQUENCE, REF_BACKWARD},
    "gru_forward_ignores_h0": {FD_SEQUENCE, SATURATED_SEQUENCE, COMPOSED, REF_FORWARD, REF_BACKWARD},
    "gru_backward_adds_into_dh": {UNCHANGED},
    "gru_bias_gradients_keepdims": {SHAPES},
}


@pytest.fixture(scope="module")
def gru_checks():
    return [c for c in load_checks() if c.group == "gru"]


def declared(path: Path) -> dict:
    """The module-level constants of a corpus file, read without importing it."""
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("BUG_GROUP", "AFFECTED", "MISCONCEPTION")}


def report(grade) -> str:
    return "\n".join(f"{r.check.name}: {r.score:g}/{r.check.points:g} {r.message[:300]}"
                     for r in grade.results if not r.passed)


# --------------------------------------------------------------------------- the group


def test_points_add_up_to_twenty(gru_checks):
    assert len(gru_checks) == 13
    assert sum(c.points for c in gru_checks) == 20
    assert {c.name for c in gru_checks if c.reference} == REFERENCE_CHECKS
    assert set(EXPECTED_FAILURES) == {p.stem for p in BUGGY.glob("gru_*.py")}


@pytest.mark.parametrize("path", [ROOT / "reference", *sorted((ROOT / "tests" / "corpus" / "correct").glob("*.py"))],
                         ids=lambda p: p.stem)
def test_correct_implementations_pass_every_gru_check_with_full_points(path, gru_checks):
    """The reference, and the corpus's three correct submissions (each GRU in a style of its own)."""
    grade = grade_submission(path, gru_checks, simplify=False)
    assert [r.check.name for r in grade.results] == [c.name for c in gru_checks]
    assert all(r.passed and r.score == r.check.points for r in grade.results), report(grade)
    assert grade.score == grade.max_score == 20


def test_a_correct_student_style_gru_passes_every_check(gru_checks, tmp_path):
    """The corpus's student-style GRU with its one bug undone: the checks hold for code written unlike the reference."""
    text = (BUGGY / "gru_dWh_overwritten.py").read_text()
    assert text.count("        dWh = dWh_t\n") == 1
    correct = tmp_path / "student_gru.py"
    correct.write_text(text.replace("        dWh = dWh_t\n", "        dWh += dWh_t\n"))
    grade = grade_submission(correct, gru_checks, simplify=False)
    assert grade.score == grade.max_score == 20, report(grade)


@pytest.mark.parametrize("bug", sorted(EXPECTED_FAILURES))
def test_each_bug_fails_exactly_its_checks(bug, gru_checks):
    path = BUGGY / f"{bug}.py"
    constants = declared(path)
    assert constants["BUG_GROUP"] == "gru" and constants["MISCONCEPTION"] in (None, *IDS)  # tests/test_diagnosis.py
    assert set(constants["AFFECTED"]) <= set(GRU_FUNCTIONS)
    grade = grade_submission(path, gru_checks, simplify=False)
    failed = {r.check.name for r in grade.results if not r.passed}
    assert failed == EXPECTED_FAILURES[bug], report(grade)
    # The corpus's rule: a check that calls none of the AFFECTED functions keeps its points.
    untouched = [r for r in grade.results if not set(r.check.needs) & set(constants["AFFECTED"])]
    assert all(r.passed for r in untouched), report(grade)


# --------------------------------------------------------------------------- the gate chain's message

GATE_NAMING = {
    # bug: (what the gate-chain message must say, what it must not)
    "gru_update_sigma_prime_one_minus_sigma_squared": (["the update gate z (z blocks)"],
                                                       ["reset gate r", "candidate n", "swapped"]),
    "gru_dbh_candidate_missing_reset": (["the hidden side of the candidate n (n block of dbh only)"],
                                        ["update gate z", "reset gate r", "n block of dbx", "swapped"]),
    "gru_reset_outside_hidden_bias": (["the reset gate r (r blocks)", "the hidden side of the candidate n",
                                       "Your next_h is not (1 − z) ⊙ n + z ⊙ prev_h"],
                                      ["update gate z", "swapped"]),
    "gru_update_gate_swapped": (["z and 1 − z are swapped"], []),
}


@pytest.mark.parametrize("bug", sorted(GATE_NAMING))
def test_gate_chain_names_the_wrong_gate(bug, gru_checks):
    chain = [c for c in gru_checks if c.name == GATE_CHAIN]
    (result,) = grade_submission(BUGGY / f"{bug}.py", chain, simplify=False).results
    must, must_not = GATE_NAMING[bug]
    assert not result.passed
    for phrase in must:
        assert phrase in result.message, result.message
    for phrase in must_not:
        assert phrase not in result.message, result.message


def test_the_message_a_student_sees_names_the_update_gate(gru_checks):
    """With the simplest failing example (what the report shows), the z bug is still pinned on z alone."""
    chain = [c for c in gru_checks if c.name == GATE_CHAIN]
    (result,) = grade_submission(BUGGY / "gru_update_sigma_prime_one_minus_sigma_squared.py", chain).results
    assert "the update gate z (z blocks)" in result.message, result.message
    assert "reset gate r" not in result.message and "candidate n" not in result.message, result.message


# --------------------------------------------------------------------------- the formulas checked


@settings(max_examples=40, deadline=None)
@given(p=gru_problems())
def test_gates_and_chain_are_the_references(p):
    """gates() and gate_chain() restate the contract: they give the reference's next_h and gradients."""
    inputs, dnext_h = p.step_inputs, p.dh[:, 0]
    g = gates(**inputs)
    next_h, cache = reference.gru_step_forward(*inputs.values())
    np.testing.assert_allclose((1 - g.z) * g.n + g.z * p.h0, next_h, rtol=1e-13, atol=1e-15)
    # n recovered from next_h is n, to rounding amplified by at most 1 / (1 − z).
    np.testing.assert_allclose(own_candidate(next_h, p.h0, g.z), g.n, rtol=1e-12, atol=1e-13)
    expected = dict(zip(STEP_GRADIENTS, reference.gru_step_backward(dnext_h, cache)))
    for name, value in gate_chain(inputs, dnext_h, g, g.n).items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-12, atol=1e-14, err_msg=name)


def test_sigmoid_is_exactly_one_past_53_ln_2():
    """σ(a) rounds to 1.0 once e^(−a) < 2^(−53): a > 53·ln 2 ≈ 36.74, for every usual way of writing σ."""
    threshold = 53 * math.log(2)
    assert 36.73 < threshold < 36.74
    for sigma in (sigmoid, reference.gru.sigmoid, lambda a: 1 / (1 + np.exp(-a))):
        assert sigma(np.array([36.7]))[0] < 1.0
        assert sigma(np.array([36.8]))[0] == 1.0
    # Written with tanh, σ(a) = 0.5·(1 + tanh(a/2)) is exactly 1 a little later (past ~36.97), still far
    # below the saturated problems' z pre-activation (>= 87).
    assert 0.5 * (1 + np.tanh(36.9 / 2)) < 1.0 and 0.5 * (1 + np.tanh(37 / 2)) == 1.0
    assert 1 - sigmoid(np.array([SATURATED_UPDATE_BIAS - 13]))[0] == 0.0


@settings(max_examples=40, deadline=None)
@given(data=st.data(), simple=st.booleans())
def test_saturated_problems_make_z_exactly_one_and_the_reference_copies_the_state(data, simple):
    if simple:
        with simple_values():
            p = data.draw(gru_problems(saturated_update=True))
    else:
        p = data.draw(gru_problems(saturated_update=True))
    H = p.h0.shape[1]
    a_z = p.x[:, 0] @ p.Wx[:, H:2 * H] + p.bx[H:2 * H] + p.h0 @ p.Wh[:, H:2 * H] + p.bh[H:2 * H]
    assert a_z.min() >= SATURATED_UPDATE_BIAS - 13
    assert np.all(gates(**p.step_inputs).z == 1.0)
    next_h, _ = reference.gru_step_forward(*p.step_inputs.values())
    assert np.array_equal(next_h, p.h0)
    h, cache = reference.gru_forward(*p.sequence_inputs.values())
    assert np.array_equal(h, np.broadcast_to(p.h0[:, None], h.shape))
    gradients = dict(zip(SEQUENCE_GRADIENTS, reference.gru_backward(p.dh, cache)))
    np.testing.assert_allclose(gradients.pop("dh0"), p.dh.sum(axis=1), rtol=1e-13)
    assert all(not value.any() for value in gradients.values())


# --------------------------------------------------------------------------- the strategies


@settings(max_examples=30, deadline=None)
@given(p=gru_problems(max_n=3, max_t=4, max_d=2, max_h=3, min_t=2))
def test_problems_have_the_contract_shapes_and_scales(p):
    N, T, D, H = p.dims
    assert 1 <= N <= 3 and 2 <= T <= 4 and 1 <= D <= 2 and 1 <= H <= 3
    shapes = {"x": (N, T, D), "h0": (N, H), "Wx": (D, 3 * H), "Wh": (H, 3 * H), "bx": (3 * H,), "bh": (3 * H,),
              "dh": (N, T, H)}
    for name, shape in shapes.items():
        value = getattr(p, name)
        assert value.shape == shape and value.dtype == np.float64, name
    assert np.abs(p.Wx).max() <= 1 / math.sqrt(D) and np.abs(p.Wh).max() <= 1 / math.sqrt(H)
    assert np.abs(p.bx).max() <= 0.5 and np.abs(p.bh).max() <= 0.5
    assert np.abs(p.x).max() <= 1 and np.abs(p.h0).max() <= 1 and np.abs(p.dh).max() <= 1


def test_problems_from_a_seed_are_reproducible():
    a, b = (gru_problem_from_seed(Dims(2, 3, 2, 4), seed=7) for _ in range(2))
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert DEGENERATE_GRU.dims == Dims(1, 1, 1, 1)


@pytest.mark.parametrize("arguments, named", [
    (dict(saturated_update="yes"), "saturated_update"),
    (dict(max_n=0), "max_n"),
    (dict(max_h=2.5), "max_h"),
    (dict(min_t=5, max_t=3), "max_t"),
])
def test_gru_problems_refuse_bad_arguments_when_built(arguments, named):
    with pytest.raises(InvalidArgument, match=named):
        gru_problems(**arguments)


# --------------------------------------------------------------------------- torch, where installed


def test_reference_agrees_with_torch_gru_where_installed():
    torch = pytest.importorskip("torch")
    p = gru_problem_from_seed(Dims(N=3, T=4, D=2, H=3), seed=3)
    gru = torch.nn.GRU(input_size=2, hidden_size=3, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(p.Wx.T))
        gru.weight_hh_l0.copy_(torch.from_numpy(p.Wh.T))
        gru.bias_ih_l0.copy_(torch.from_numpy(p.bx))
        gru.bias_hh_l0.copy_(torch.from_numpy(p.bh))
        expected, _ = gru(torch.from_numpy(p.x), torch.from_numpy(p.h0)[None])
    h, _ = reference.gru_forward(*p.sequence_inputs.values())
    np.testing.assert_allclose(h, expected.numpy(), rtol=1e-12, atol=1e-14)
