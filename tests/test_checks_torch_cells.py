"""Tests of the torch-cells assignment: its checks (checks/torch_cells.py), the student's cell through the worker
(checks/torch_cell_calls.py), the oracle (checks/torch_nn_oracle.py), the messages (checks/torch_cell_messages.py)
and the strategies (checks/torch_cell_problems.py).

- The oracle is right: torch.nn's cells with copied weights equal this project's NumPy reference (weights
  transposed, the LSTM's gate blocks reordered from torch's i, f, g, o to CS231n's i, f, o, g), outputs and
  gradients; and torch.nn given the g and o blocks swapped computes what a CS231n-order cell computes.
- The shipped table is out of 100 (RNNCell 40, LSTMCell 60), the unbatched checks at 0 and so not run.
- The correct pair of cells scores full marks, unbatched input included; each buggy file of
  tests/corpus/torch_cells/ loses exactly the checks in CAUGHT, each with a message naming the cause; every
  check bites on some file.
- Every failing message says "correct" and "wrong" (never "differ") and nothing of Hypothesis; autograd's
  refusals and torch's shape and dtype errors get a hint in plain words.
- What the cell returns is checked before a comparison (as many floating-point tensors as torch.nn returns;
  TorchView has validated the reply itself); a cell whose parameters are not torch.nn's gets weights of its
  own names and shapes, and a hostile one (huge, or named as an input) is refused plainly; the strategies
  validate their arguments and draw what they say.

Grading starts one torch worker per corpus file (about 2 s each), with only the checks of the file's group.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.errors import InvalidArgument

pytest.importorskip("torch")

import reference  # noqa: E402
from checks.engine.isolation.boundary import WorkerOptions  # noqa: E402
from checks.engine.isolation.torch_contract import ModuleResult, NotATensor, TensorOut  # noqa: E402
from checks.engine.run.runner import grade_submission  # noqa: E402
from checks.registry import ASSIGNMENTS_FOLDER, load_checks, read_points  # noqa: E402
from checks.strategies import simple_values  # noqa: E402
from checks.torch_cell_calls import dtype_hint, outputs_of, own_parameters, shape_hint  # noqa: E402
from checks.torch_cell_messages import backward_refused, parameter_problems  # noqa: E402
from checks.torch_cell_problems import (PARAMETER_NAMES, cell_problem_from_seed, cell_problems,  # noqa: E402
                                        cs231n_gate_order, torch_gate_block)
from checks.torch_nn_oracle import torch_nn_cell  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "torch_cells"
TABLE = ASSIGNMENTS_FOLDER / "torch-cells.toml"
TORCH = WorkerOptions(preload=("torch",), allowed_packages=("torch",))
RTOL = 1e-12  # two float64 computations of one cell: they differ by rounding only (~1e-16 relative)


def check_names(cell: str) -> dict[str, str]:
    prefix = {"RNNCell": "rnn_cell", "LSTMCell": "lstm_cell"}[cell]
    return {short: f"{prefix}_{short}" for short in (
        "has_torch_nn_parameters", "matches_torch_nn", "gradients_match_torch_nn", "gradients_match_finite_differences",
        "without_hx_starts_from_zeros", "keeps_float64", "without_bias_matches_torch_nn", "accepts_unbatched_input")}


RNN, LSTM = check_names("RNNCell"), check_names("LSTMCell")
# The checks each buggy file fails, and only those (in its own group; the other cell is correct).
CAUGHT = {
    # Autograd differentiates the wrong forward exactly: gradcheck passes, torch.nn's comparisons do not.
    "lstm_gate_order_cs231n": {LSTM["matches_torch_nn"], LSTM["gradients_match_torch_nn"],
                               LSTM["without_bias_matches_torch_nn"], LSTM["accepts_unbatched_input"]},
    "rnn_hx_none_crash": {RNN["without_hx_starts_from_zeros"]},
    "lstm_hx_none_random": {LSTM["without_hx_starts_from_zeros"]},
    # torch.nn's weights cannot be copied in: the comparisons cannot run; what the cell does with its own
    # weights (gradcheck, hx=None, dtype) is still right, and bias=False has exactly torch.nn's two weights.
    "rnn_one_bias": {RNN["has_torch_nn_parameters"], RNN["matches_torch_nn"], RNN["gradients_match_torch_nn"],
                     RNN["accepts_unbatched_input"]},
    # Crashes whenever input_size ≠ hidden_size (every check has such an example), wrong when they are equal.
    "rnn_weights_untransposed": set(RNN.values()) - {RNN["has_torch_nn_parameters"]},
    "lstm_detach_hx": {LSTM["gradients_match_torch_nn"], LSTM["gradients_match_finite_differences"]},
    # float32 outputs agree with torch.nn to ~1e-7 relative, inside the comparisons' 1e-6, but central
    # differences of a float32 forward are noise: gradcheck and the dtype check fail.
    "lstm_float32": {LSTM["keeps_float64"], LSTM["gradients_match_finite_differences"]},
    "lstm_chunk_dim1": {LSTM["accepts_unbatched_input"]},
    # A correct LSTM whose parameters are nn.Linear's: everything that needs torch.nn's weights.
    "lstm_linear_layers": {LSTM["has_torch_nn_parameters"], LSTM["matches_torch_nn"], LSTM["gradients_match_torch_nn"],
                           LSTM["without_bias_matches_torch_nn"], LSTM["accepts_unbatched_input"]},
}
# A phrase of the first failing check's message (in CAUGHT's order above) that names the cause.
NAMED = {
    "lstm_gate_order_cs231n": (LSTM["matches_torch_nn"], "CS231n's order i, f, o, g"),
    "rnn_hx_none_crash": (RNN["without_hx_starts_from_zeros"], "called with no hx"),
    "lstm_hx_none_random": (LSTM["without_hx_starts_from_zeros"], "given hx = zeros"),
    "rnn_one_bias": (RNN["has_torch_nn_parameters"], "two biases, bias_ih and bias_hh"),
    "rnn_weights_untransposed": (RNN["matches_torch_nn"], "weight_ih.T"),
    "lstm_detach_hx": (LSTM["gradients_match_torch_nn"], "no gradient reached hx[0]"),
    "lstm_float32": (LSTM["keeps_float64"], "as float32"),
    "lstm_chunk_dim1": (LSTM["accepts_unbatched_input"], "raised"),
    "lstm_linear_layers": (LSTM["has_torch_nn_parameters"], "self.weight_ih = nn.Parameter"),
}


# -- the oracle: torch.nn against the NumPy reference ---------------------------------------------------------


def reordered(a: np.ndarray, H: int) -> np.ndarray:
    """torch's gate blocks i, f, g, o (rows) as CS231n's i, f, o, g."""
    return np.concatenate([a[torch_gate_block(k, H)] for k in (0, 1, 3, 2)])


SIZES = [(1, 1, 1), (2, 3, 2), (3, 2, 4), (2, 4, 4)]


@pytest.mark.parametrize("N, D, H", SIZES)
def test_torch_nn_rnn_cell_equals_the_numpy_reference(N, D, H):
    p = cell_problem_from_seed("RNNCell", N, D, H, seed=7)
    expected = torch_nn_cell(p)
    next_h, cache = reference.rnn_step_forward(p.input, p.h, p.weight_ih.T, p.weight_hh.T, p.bias_ih + p.bias_hh)
    dx, dh, dWx, dWh, db = reference.rnn_step_backward(p.dh, cache)
    np.testing.assert_allclose(expected.outputs["h'"], next_h, rtol=RTOL, atol=RTOL)
    for name, value in dict(input=dx, h=dh, weight_ih=dWx.T, weight_hh=dWh.T, bias_ih=db, bias_hh=db).items():
        np.testing.assert_allclose(expected.grads[name], value, rtol=RTOL, atol=RTOL, err_msg=name)


@pytest.mark.parametrize("N, D, H", SIZES)
def test_torch_nn_lstm_cell_equals_the_numpy_reference_with_gates_reordered(N, D, H):
    p = cell_problem_from_seed("LSTMCell", N, D, H, seed=7)
    expected = torch_nn_cell(p)
    Wx, Wh, b = reordered(p.weight_ih, H).T, reordered(p.weight_hh, H).T, reordered(p.bias_ih + p.bias_hh, H)
    next_h, next_c, cache = reference.lstm_step_forward(p.input, p.h, p.c, Wx, Wh, b)
    dx, dh, dc, dWx, dWh, db = reference.lstm_step_backward(p.dh, p.dc, cache)
    np.testing.assert_allclose(expected.outputs["h'"], next_h, rtol=RTOL, atol=RTOL)
    np.testing.assert_allclose(expected.outputs["c'"], next_c, rtol=RTOL, atol=RTOL)
    back = {"input": dx, "h": dh, "c": dc, "weight_ih": reordered(dWx.T, H), "weight_hh": reordered(dWh.T, H),
            "bias_ih": reordered(db, H), "bias_hh": reordered(db, H)}
    for name, value in back.items():
        np.testing.assert_allclose(expected.grads[name], value, rtol=RTOL, atol=RTOL, err_msg=name)


def test_swapped_g_and_o_blocks_are_what_a_cs231n_order_cell_computes():
    p = cell_problem_from_seed("LSTMCell", 2, 3, 2, seed=3)
    # CS231n's order read straight off torch's rows: block 2 is o, block 3 is g.
    next_h, next_c, _ = reference.lstm_step_forward(p.input, p.h, p.c, p.weight_ih.T, p.weight_hh.T,
                                                    p.bias_ih + p.bias_hh)
    swapped = torch_nn_cell(cs231n_gate_order(p)).outputs
    np.testing.assert_allclose(swapped["h'"], next_h, rtol=RTOL, atol=RTOL)
    np.testing.assert_allclose(swapped["c'"], next_c, rtol=RTOL, atol=RTOL)
    assert not np.allclose(torch_nn_cell(p).outputs["h'"], next_h)  # so the diagnosis can tell them apart


def test_unbatched_oracle_is_the_first_row_of_the_batched_one():
    p = cell_problem_from_seed("LSTMCell", 3, 2, 3, seed=5)
    batched, row = torch_nn_cell(p).outputs, torch_nn_cell(p, unbatched=True).outputs
    for name in ("h'", "c'"):
        assert row[name].shape == (3,)
        np.testing.assert_allclose(row[name], batched[name][0], rtol=RTOL, atol=RTOL)


def test_without_hx_the_oracle_starts_from_zeros():
    p = cell_problem_from_seed("RNNCell", 2, 2, 3, seed=5)
    np.testing.assert_allclose(torch_nn_cell(p, hx=False).outputs["h'"], torch_nn_cell(p.zero_state()).outputs["h'"],
                               rtol=RTOL, atol=RTOL)


# -- the shipped table -----------------------------------------------------------------------------------------------


def test_the_table_is_out_of_100_and_leaves_unbatched_input_out():
    table = read_points(TABLE)
    points = {name: entry.points for name, entry in table.entries.items()}
    assert set(points) == set(RNN.values()) | set(LSTM.values())
    assert sum(points[name] for name in RNN.values()) == 40 and sum(points[name] for name in LSTM.values()) == 60
    assert points[RNN["accepts_unbatched_input"]] == points[LSTM["accepts_unbatched_input"]] == 0
    assert table.course.requires == ("torch",)
    loaded = load_checks(points_table=TABLE, assignment=True)
    assert {c.name for c in loaded} == set(points) - {RNN["accepts_unbatched_input"], LSTM["accepts_unbatched_input"]}
    assert {c.group for c in loaded} == {"torch_rnn_cell", "torch_lstm_cell"}


# -- grading the corpus ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_checks(tmp_path_factory):
    """Every check of both cells, the unbatched ones at 1 point (the shipped table leaves them out)."""
    table = tmp_path_factory.mktemp("table") / "torch-cells-unbatched.toml"
    table.write_text(TABLE.read_text().replace("accepts_unbatched_input = 0", "accepts_unbatched_input = 1"))
    return load_checks(points_table=table, assignment=True)


def group_of(path: Path) -> str:
    tree = ast.parse(path.read_text())
    return next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "BUG_GROUP")


_grades: dict[str, object] = {}


def graded(name: str, checks) -> object:
    """The grade of a corpus file: the correct one with every check, a buggy one with its group's; once each.
    Without the search for a simpler failing example (the score is the same either way, and each NAMED phrase is
    in the message whichever example fails): it would cost about a fifth of this file's time."""
    if name not in _grades:
        path = CORPUS / f"{name}.py"
        if name != "cells_correct":
            checks = [c for c in checks if c.group == group_of(path)]
        _grades[name] = grade_submission(path, checks, options=TORCH, simplify=False)
    return _grades[name]


def failed(grade) -> set[str]:
    return {r.check.name for r in grade.results if not r.passed}


def test_correct_cells_score_full_marks_unbatched_input_included(all_checks):
    grade = graded("cells_correct", all_checks)
    assert failed(grade) == set()
    assert grade.score == grade.max_score == 102  # 100, and the two unbatched checks at 1 point here


def test_every_corpus_file_is_listed_and_every_check_bites():
    assert {path.stem for path in CORPUS.glob("*.py")} - {"cells_correct"} == set(CAUGHT)
    assert set().union(*CAUGHT.values()) == set(RNN.values()) | set(LSTM.values())


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_buggy_file_fails_exactly_its_checks_naming_the_cause(name, all_checks):
    grade = graded(name, all_checks)
    assert failed(grade) == CAUGHT[name]
    check, phrase = NAMED[name]
    message = next(r.message for r in grade.results if r.check.name == check)
    assert phrase in message, message


def test_messages_say_correct_and_wrong_and_nothing_of_hypothesis(all_checks):
    """The project's vocabulary (tests/test_wording.py) in every failing check's message of the corpus."""
    for name in sorted(CAUGHT):
        for result in graded(name, all_checks).results:
            if not result.passed:
                assert not re.search(r"\b(agrees?|disagrees?|differs?)\b", result.message, re.I), result.message
                assert not any(word in result.message for word in ("Falsifying", "CellProblem(", "seed=")), name


def test_an_autograd_refusal_is_told_in_plain_words_first():
    refusal = ("one of the variables needed for gradient computation has been modified by an inplace operation: "
               "[torch.DoubleTensor [2, 3]], which is output 0 of TanhBackward0, is at version 1")
    message = backward_refused(P, refusal)
    assert message.startswith("Backpropagating through your RNNCell failed: an in-place write")
    assert message.endswith(refusal)


# -- hostile replies and the strategies ------------------------------------------------------------------------------


P = cell_problem_from_seed("RNNCell", 2, 3, 2, seed=1)
H_OUT = TensorOut(np.zeros((2, 2)), "float64", True, True)


@pytest.mark.parametrize("run, phrase", [
    (ModuleResult({}, outputs=(H_OUT, H_OUT)), "returns h' alone, one tensor"),
    (ModuleResult({}, outputs=(NotATensor("tuple"),)), "(a tuple)"),
    (ModuleResult({}, outputs=(TensorOut(np.zeros((2, 2), dtype=np.int64), "int64", False, False),)), "as int64"),
    (ModuleResult({}, parameter_problem="missing: bias_hh"), "could not be copied into your RNNCell: missing: bias_hh"),
    ("missing: bias_hh", "could not run"),  # one forward of module_many
], ids=["two-tensors", "not-a-tensor", "integer-tensor", "parameter-problem", "parameter-problem-of-many"])
def test_outputs_other_than_torch_nn_s_fail_saying_what_came(run, phrase):
    with pytest.raises(AssertionError) as failure:
        outputs_of(run, P)
    assert phrase in str(failure.value)


def test_parameter_problems_name_a_transposed_weight_and_a_single_bias():
    expected = {name: np.shape(value) for name, value in P.params.items()}
    built = {"weight_ih": ((3, 2), "float32"), "weight_hh": ((2, 2), "float32"), "bias": ((2,), "float32")}
    problems = "\n".join(parameter_problems(built, expected))
    assert "weight_ih has shape (3, 2), expected (2, 3): the transpose" in problems
    assert "bias_ih is missing" in problems and "bias is not a parameter" in problems
    assert "two biases" in problems
    assert parameter_problems({name: (shape, "float64") for name, shape in expected.items()}, expected) == []


def test_torch_s_refusals_to_mix_dtypes_or_shapes_get_a_hint():
    assert "dtype=input.dtype" in dtype_hint("expected m1 and m2 to have the same dtype, but got: float != double")
    assert dtype_hint("mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)") == ""
    square, oblong = cell_problem_from_seed("RNNCell", 2, 2, 2, seed=1), P
    raised = "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)"
    assert "weight_ih.T" in shape_hint(oblong, raised) and shape_hint(square, raised) == ""


def test_own_parameters_keep_torch_nn_s_where_they_fit_and_refuse_what_cannot_be_told_apart():
    built = {"weight_ih": ((2, 3), "float32"), "weight_hh": ((2, 2), "float32"), "bias": ((2,), "float32")}
    own = own_parameters(P, built)
    assert own["weight_ih"] is P.weight_ih and own["weight_hh"] is P.weight_hh
    assert own["bias"].shape == (2,) and np.all(np.abs(own["bias"]) <= 1 / np.sqrt(2))
    np.testing.assert_array_equal(own_parameters(P, built)["bias"], own["bias"])  # the same problem, the same weights
    for hostile in ({"c": ((2,), "float32")}, {"huge": ((10**6,), "float32")}):
        with pytest.raises(AssertionError):
            own_parameters(P, hostile)


@pytest.mark.parametrize("kwargs", [dict(cell="GRUCell"), dict(cell="RNNCell", max_d=6), dict(cell="LSTMCell", max_h=0),
                                    dict(cell="RNNCell", bias=1)])
def test_strategies_validate_their_arguments(kwargs):
    with pytest.raises(InvalidArgument):
        cell_problems(**kwargs)


@pytest.mark.parametrize("simple", [False, True])
@pytest.mark.parametrize("cell, k", [("RNNCell", 1), ("LSTMCell", 4)])
def test_strategies_draw_torch_nn_shapes(cell, k, simple):
    @settings(max_examples=20, deadline=None, database=None)
    @given(p=cell_problems(cell), q=cell_problems(cell, bias=False))
    def draws(p, q):
        N, D, H = p.sizes
        assert {n: a.shape for n, a in p.params.items()} == dict(zip(PARAMETER_NAMES, [(k * H, D), (k * H, H),
                                                                                         (k * H,), (k * H,)]))
        assert p.input.shape == (N, D) and p.h.shape == p.dh.shape == (N, H)
        assert (p.c is None) == (p.dc is None) == (cell == "RNNCell")
        assert set(q.params) == {"weight_ih", "weight_hh"} and q.init["bias"] is False and "bias" not in p.init
        assert all(a.dtype == np.float64 for a in (p.input, p.h, *p.params.values(), *p.upstream))
        assert np.all(np.abs(p.input) <= 1) and np.all(np.abs(p.params["bias_ih"]) <= 0.5)

    if simple:
        with simple_values():
            draws()
    else:
        draws()
