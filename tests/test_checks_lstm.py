"""Tests of the lstm check group (checks/lstm.py) and its strategies (checks/lstm_problems.py).

- The reference passes every lstm check with full points, and the points add up to 24.
- Each buggy corpus file tests/corpus/buggy/lstm_*.py fails exactly the checks named in CAUGHT (and
  keeps full points on every check that calls none of its AFFECTED functions); every check is in
  some file's set, so each bites on a realistic bug.
- The gate-identity check's message names the gate that is wrong (σ′ of the output gate, the forget
  gate's factor in dprev_c), and the upstream check's says why an in-place dnext_c matters.
- The strategies validate their arguments, draw what they say in both value modes, and saturate
  exactly: the reference meets each check's closed form on them, so a correct submission cannot fail.
- What gating is for, as a fact about the math: with the same candidate weights, the held LSTM cell
  carries the last step's gradient back unchanged, while the vanilla RNN's vanishes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.errors import InvalidArgument

import reference
from reference.misconceptions import IDS
from checks.engine.report.feedback import plain_feedback
from checks.engine.run.runner import grade_submission
from checks.lstm import (UPSTREAM_REUSE, held_memory_gradients, lecture_gates, lecture_step_gradients)
from checks.lstm_problems import (GATE_SATURATION, gate_block, lstm_problem_from_seed, lstm_problems,
                                  memory_problems)
from checks.registry import load_checks
from checks.strategies import Dims, simple_values
from checks.verdicts import mismatch
from test_wording import JARGON, OTHER_WORDS, is_contract_name, result_names

ROOT = Path(__file__).resolve().parent.parent
BUGGY = ROOT / "tests" / "corpus" / "buggy"

FD_STEP = "lstm_step_backward_matches_finite_differences"
FD_SEQUENCE = "lstm_backward_matches_finite_differences"
GATE_EQUATIONS = "lstm_step_backward_obeys_the_gate_equations"
HOLD = "lstm_step_with_open_forget_gate_keeps_the_cell"
MEMORY = "lstm_memory_carries_the_gradient_to_the_first_step"
COMPOSED = "lstm_forward_is_the_step_composed_from_a_zero_cell"
STEP_FORWARD_REFERENCE = "lstm_step_forward_matches_reference"
STEP_BACKWARD_REFERENCE = "lstm_step_backward_matches_reference"
FORWARD_REFERENCE = "lstm_forward_matches_reference"
BACKWARD_REFERENCE = "lstm_backward_matches_reference"
UNCHANGED = "lstm_functions_leave_inputs_unchanged"
UPSTREAM = "lstm_step_backward_leaves_upstream_unchanged"
SHAPES = "lstm_shapes_and_dtypes_are_exact_at_size_one"

POINTS = {FD_STEP: 3, FD_SEQUENCE: 4, GATE_EQUATIONS: 4, HOLD: 1, MEMORY: 2, COMPOSED: 2, STEP_FORWARD_REFERENCE: 1,
          STEP_BACKWARD_REFERENCE: 1, FORWARD_REFERENCE: 1, BACKWARD_REFERENCE: 2, UNCHANGED: 1, UPSTREAM: 1, SHAPES: 1}

BACKWARD_STEP_BUG = {FD_STEP, FD_SEQUENCE, GATE_EQUATIONS, STEP_BACKWARD_REFERENCE, BACKWARD_REFERENCE}
# The checks each buggy file fails, and only those.
CAUGHT = {
    # σ′ = 1 − σ² for i, f, o: also the memory check, where 1 − i² ≈ 1 reopens the shut input gate's path.
    "lstm_sigma_prime_one_minus_sigma_squared": BACKWARD_STEP_BUG | {MEMORY},
    # Only the output gate: o = 1 in the memory problem makes 1 − o² = o(1 − o) = 0 there, so it passes.
    "lstm_sigma_prime_output_gate_one_minus_o_squared": BACKWARD_STEP_BUG,
    # dprev_c = dc: f = 1 in the memory problem makes it right there.
    "lstm_dprev_c_without_forget_gate": BACKWARD_STEP_BUG,
    "lstm_dc_forgets_dnext_h": BACKWARD_STEP_BUG | {MEMORY},
    # i, f, g, o consistently: the backward is the exact gradient of this forward, so both finite-difference
    # checks pass; the reference, the gate equations (recomputed in the order i, f, o, g) and both gating
    # checks (the saturated biases open the wrong gates) catch it.
    "lstm_gate_order_ifgo": {GATE_EQUATIONS, HOLD, MEMORY, STEP_FORWARD_REFERENCE, STEP_BACKWARD_REFERENCE,
                             FORWARD_REFERENCE, BACKWARD_REFERENCE},
    # c0 = h0: dh0 misses the gradient through c0 (finite differences), and h differs from the step composed
    # from c0 = 0 and from the reference.
    "lstm_c0_from_h0": {FD_SEQUENCE, COMPOSED, FORWARD_REFERENCE, BACKWARD_REFERENCE},
    "lstm_inplace_dnext_c": {UPSTREAM},
    "lstm_backward_adds_into_dh": {UNCHANGED},
    "lstm_db_keepdims": {SHAPES},
}


@pytest.fixture(scope="module")
def lstm_checks():
    """The lstm checks at their decorators' points (an assignment's table may reweight them)."""
    return [c for c in load_checks(points_table=None) if c.group == "lstm"]


_grades: dict[str, object] = {}


def graded(name: str, checks) -> object:
    """The grade of reference (name "reference") or a buggy file, with the lstm checks; once per module."""
    if name not in _grades:
        path = ROOT / "reference" if name == "reference" else BUGGY / f"{name}.py"
        _grades[name] = grade_submission(path, checks)
    return _grades[name]


def declared(path: Path) -> dict:
    """BUG_GROUP, AFFECTED and MISCONCEPTION, read without importing the file."""
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("BUG_GROUP", "AFFECTED", "MISCONCEPTION")}


def failed(grade) -> set[str]:
    return {r.check.name for r in grade.results if not r.passed}


def message_of(grade, name: str) -> str:
    return next(r.message for r in grade.results if r.check.name == name)


# -- the checks' points, and the reference -------------------------------------------------------------------


def test_the_group_has_its_thirteen_checks_worth_24_points(lstm_checks):
    assert {c.name: c.points for c in lstm_checks} == POINTS
    assert sum(POINTS.values()) == 24
    assert {c.name for c in lstm_checks if c.reference} == {STEP_FORWARD_REFERENCE, STEP_BACKWARD_REFERENCE,
                                                             FORWARD_REFERENCE, BACKWARD_REFERENCE}


def test_reference_passes_every_lstm_check_with_full_points(lstm_checks):
    grade = graded("reference", lstm_checks)
    assert [r.check.name for r in grade.results if not r.passed] == []
    assert grade.score == grade.max_score == 24


# -- the buggy corpus -----------------------------------------------------------------------------------------


def test_every_lstm_corpus_file_is_listed_and_every_check_bites():
    assert {path.stem for path in BUGGY.glob("lstm_*.py")} == set(CAUGHT)
    assert set().union(*CAUGHT.values()) == set(POINTS)


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_buggy_file_fails_exactly_its_checks(name, lstm_checks):
    bug = declared(BUGGY / f"{name}.py")
    assert bug["BUG_GROUP"] == "lstm" and bug["MISCONCEPTION"] in (None, *IDS)  # tests/test_diagnosis.py names it
    grade = graded(name, lstm_checks)
    assert failed(grade) == CAUGHT[name], "\n".join(
        f"{r.check.name}: {r.score:g}/{r.check.points:g} {r.message[:300]}" for r in grade.results if not r.passed)
    untouched = [r for r in grade.results if not set(r.check.needs) & set(bug["AFFECTED"])]
    assert all(r.passed for r in untouched)


def test_gate_message_names_the_output_gate_and_sigma_prime(lstm_checks):
    message = message_of(graded("lstm_sigma_prime_output_gate_one_minus_o_squared", lstm_checks), GATE_EQUATIONS)
    assert "the output-gate block (o) of db" in message and "σ′ = σ(1 − σ), so σ′(a_o) = o(1 − o)" in message
    for other in ("input-gate block (i) of db", "forget-gate block (f) of db", "candidate block (g) of db", "dprev_c:"):
        assert other not in message, message


def test_gate_message_for_sigma_prime_names_sigmoid_gates_only(lstm_checks):
    message = message_of(graded("lstm_sigma_prime_one_minus_sigma_squared", lstm_checks), GATE_EQUATIONS)
    named = [block for block in ("input-gate block (i)", "forget-gate block (f)", "output-gate block (o)")
             if f"the {block} of db" in message]
    assert named and "candidate block (g) of db" not in message and "σ′ = σ(1 − σ)" in message, message


def test_gate_message_for_dprev_c_names_the_forget_gate(lstm_checks):
    message = message_of(graded("lstm_dprev_c_without_forget_gate", lstm_checks), GATE_EQUATIONS)
    assert "dprev_c = dc ⊙ f: the cell's gradient passes back through the forget gate f" in message
    assert "yours equals dc, without the factor f" in message
    assert " of db" not in message.split("The equations")[0], message  # db is right: no gate block is blamed


def test_upstream_message_says_why_it_matters(lstm_checks):
    message = message_of(graded("lstm_inplace_dnext_c", lstm_checks), UPSTREAM)
    assert "lstm_step_backward modified its input dnext_c" in message and UPSTREAM_REUSE in message


def test_memory_message_says_the_gradient_vanished(lstm_checks):
    message = message_of(graded("lstm_dc_forgets_dnext_h", lstm_checks), MEMORY)
    assert "has vanished" in message, message


def test_feedback_uses_the_one_vocabulary(lstm_checks):
    """tests/test_wording.py's rules on every failing lstm check's feedback: "correct" and "wrong" only, no
    Hypothesis jargon, every result named as the contract returns it."""
    for name in sorted(CAUGHT):
        grade = graded(name, lstm_checks)
        for result in (r for r in grade.results if not r.passed):
            text = plain_feedback(result, f"{name}.py")
            assert not OTHER_WORDS.search(text) and not [word for word in JARGON if word in text], text
            assert all(is_contract_name(n) for n in result_names(text)), (name, result_names(text))


# -- the strategies --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [
    lambda: lstm_problems(gates="open"),
    lambda: lstm_problems(max_d=30, max_h=30, gates="hold"),
    lambda: lstm_problems(min_t=1, gates="memory"),
    lambda: lstm_problems(max_n=0),
    lambda: memory_problems(min_t=1),
    lambda: lstm_problem_from_seed(Dims(1, 0, 1, 1), seed=0),
    lambda: lstm_problem_from_seed(Dims(1, 1, 1, 1), seed=0, gates="memory"),
])
def test_strategies_reject_bad_arguments_when_built(build):
    with pytest.raises(InvalidArgument):
        build()


def shapes_are_right(p) -> None:
    N, T, D, H = p.dims
    assert (p.h0.shape, p.prev_c.shape, p.dnext_c.shape) == ((N, H),) * 3
    assert (p.Wx.shape, p.Wh.shape, p.b.shape, p.dh.shape) == ((D, 4 * H), (H, 4 * H), (4 * H,), (N, T, H))
    assert all(a.dtype == np.float64 for a in p)


def reference_gates(p):
    """Each step's (i, f, o, g) in the reference's lstm_forward on p, and its h and cache."""
    h, cache = reference.lstm_forward(*p.sequence_inputs.values())
    return [step[5:9] for step in cache[4]], h, cache


def saturation_is_exact(p, gates: str) -> None:
    """The saturated gates are exactly 1.0, or below 1e-17, at every step of the reference's forward."""
    for t, (i, f, o, _) in enumerate(reference_gates(p)[0]):
        assert np.all(f == 1.0)
        assert np.all(i == 1.0) if gates == "memory" and t == 0 else np.all(i < 1e-17)
        assert gates != "memory" or np.all(o == 1.0)


@pytest.mark.parametrize("simple", [False, True], ids=["seeded", "simple"])
@pytest.mark.parametrize("gates", ["free", "hold", "memory"])
def test_problems_are_drawn_as_documented(gates, simple):
    strategy = memory_problems() if gates == "memory" else lstm_problems(gates=gates)

    @settings(max_examples=25)
    @given(p=strategy)
    def drawn(p):
        shapes_are_right(p)
        if gates == "memory":
            assert 20 <= p.dims.T <= 30 and np.all(p.dh[:, :-1] == 0)
            assert np.all(p.x[:, 0, 0] == 1) and np.all(p.x[:, 1:, 0] == 0)
            assert np.all(p.b[gate_block(2, p.dims.H)] == GATE_SATURATION)
        if gates != "free":
            saturation_is_exact(p, gates)

    if simple:
        with simple_values():
            drawn()
    else:
        drawn()


@pytest.mark.parametrize("simple", [False, True], ids=["seeded", "simple"])
def test_reference_meets_every_closed_form_the_checks_use(simple):
    """The gate equations, the held cell and the memory's gradient, on the reference, in both value modes."""

    @settings(max_examples=25)
    @given(p=lstm_problems(max_t=1), held=lstm_problems(max_t=1, gates="hold"), memory=memory_problems())
    def closed_forms(p, held, memory):
        _, next_c, cache = reference.lstm_step_forward(*p.step_inputs().values())
        expected, _ = lecture_step_gradients(p.step_inputs(), next_c, *p.step_upstream)
        gradients = reference.lstm_step_backward(*p.step_upstream, cache)
        assert all(mismatch(a, expected[name]) is None for name, a in zip(expected, gradients))

        next_h, next_c, _ = reference.lstm_step_forward(*held.step_inputs().values())
        assert mismatch(next_c, held.prev_c, rtol=1e-12) is None
        _, _, o, _ = lecture_gates(*(held.step_inputs()[k] for k in ("x", "prev_h", "Wx", "Wh", "b")))
        assert mismatch(next_h, o * np.tanh(held.prev_c)) is None

        h, cache = reference.lstm_forward(*memory.sequence_inputs.values())
        assert mismatch(h, np.repeat(h[:, :1], memory.dims.T, axis=1)) is None
        dx, dh0, *_ = reference.lstm_backward(memory.dh, cache)
        expected = held_memory_gradients(memory, h)
        assert mismatch(dh0, expected["dh0"], rtol=1e-12) is None and mismatch(dx, expected["dx"], rtol=1e-12) is None

    if simple:
        with simple_values():
            closed_forms()
    else:
        closed_forms()


# -- what gating is for --------------------------------------------------------------------------------------


def cell_gradients(dh: np.ndarray, cache) -> list[np.ndarray]:
    """dL/dc_t for t = T−1 … 0 (c_0 = c0), by the reference's own step backward walked back over lstm_forward's cache."""
    dprev_h = np.zeros(dh[:, 0].shape)
    dprev_c = np.zeros(dh[:, 0].shape)
    found = []
    for t in reversed(range(dh.shape[1])):
        _, dprev_h, dprev_c, *_ = reference.lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[4][t])
        found.append(dprev_c)
    return found


def test_held_cell_carries_the_gradient_where_the_vanilla_rnn_loses_it():
    """T = 25, dh nonzero at the last step only. The LSTM's cell gradient dL/dc_t is the last step's
    dh_T ⊙ (1 − h_T²) at every step back to c0 (f = 1). A vanilla RNN with the LSTM's candidate weights
    (Wx_g, Wh_g, b_g: the candidate g is a vanilla RNN cell) on the same inputs multiplies its gradient by
    diag(1 − h_t²)·Wh_gᵀ at each step, so |dh0| <= Π_t max(1 − h_t²) · ‖Wh_g‖₂^T · |dh_T|: at these weight
    scales it vanishes, below 1e-4 of |dh_T| on the median problem and below 1e-2 on most."""
    ratios = []
    for seed in range(40):
        p = lstm_problem_from_seed(Dims(N=2, T=25, D=3, H=3), seed, gates="memory")
        h, cache = reference.lstm_forward(*p.sequence_inputs.values())
        carried = p.dh[:, -1] * (1 - h[:, -1]**2)
        assert all(mismatch(dc, carried, rtol=1e-12) is None for dc in cell_gradients(p.dh, cache))

        g = gate_block(3, p.dims.H)
        h_rnn, rnn_cache = reference.rnn_forward(p.x, p.h0, p.Wx[:, g], p.Wh[:, g], p.b[g])
        _, dh0, *_ = reference.rnn_backward(p.dh, rnn_cache)
        ratio = np.linalg.norm(dh0) / np.linalg.norm(p.dh[:, -1])
        bound = np.prod(np.max(1 - h_rnn**2, axis=(0, 2))) * np.linalg.norm(p.Wh[:, g], 2) ** p.dims.T
        assert ratio <= bound * (1 + 1e-9)
        ratios.append(ratio)
    assert np.median(ratios) < 1e-4 and np.mean(np.array(ratios) < 1e-2) >= 0.9, sorted(ratios)
