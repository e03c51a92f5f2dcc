"""torch_rnn_cell, torch_lstm_cell: nn.Module cells graded against torch.nn itself (--assignment torch-cells).

A submission defines ``RNNCell`` and ``LSTMCell``, named and parameterised as torch.nn's: built as
``RNNCell(input_size, hidden_size, bias=True)``, with parameters weight_ih (kH, D), weight_hh (kH, H), bias_ih
(kH,), bias_hh (kH,) (k = 1, or 4 for the LSTM), called as ``cell(input, hx=None)``. Row-vector, the weights
stored (kH, ·) and applied transposed, for input (N, D), h and c (N, H):

    RNNCell:   h' = tanh(input·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)
    LSTMCell:  a = input·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh, in blocks of H columns in the order i, f, g, o
               i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
               c' = f ⊙ c + i ⊙ g       h' = o ⊙ tanh(c')

hx is h for the RNN cell and the tuple (h, c) for the LSTM cell; hx=None means zeros. The RNN cell returns h',
the LSTM cell the tuple (h', c').

How a cell is called, and against what. The student's cell runs in the worker, in float64 with the grader's
weights copied in, and only plain data comes back (checks/torch_cell_calls.py). The expected values come from
torch.nn.RNNCell and torch.nn.LSTMCell themselves, given the same weights, run here in the grading process
(checks/torch_nn_oracle.py): an oracle independent of this project's own NumPy reference, which it agrees with
(tests/test_checks_torch_cells.py). What a student reads names their cell's own tensors, and a mistake only on
evidence (checks/torch_cell_messages.py). This module holds the properties, shared by both cells, and the checks.

The checks of each cell (points in checks/assignments/torch-cells.toml):

- its parameters are torch.nn's: exactly weight_ih, weight_hh, bias_ih, bias_hh, of torch.nn's shapes;
- its outputs equal torch.nn's with the same weights (a CS231n-order LSTM, i, f, o, g, is named as such);
- autograd's gradients through it equal torch.nn's (a gradient that never arrives, from a .detach(), is named);
- gradcheck: its own autograd gradients equal central finite differences of its own forward, in float64
  (``checks.gradcheck``: one random direction, then each input alone; tolerances reasoned there);
- hx=None means zeros: cell(input) equals cell(input, zeros);
- float64 in, float64 out (torch.nn keeps the input's dtype);
- built with bias=False, it has only the two weights and still equals torch.nn's;
- unbatched input (D,) with hx (H,) gives (H,), as torch.nn accepts: 0 points in the shipped table (not
  run), for an instructor to turn on; the batched call is what every other check grades.

Tolerances. Outputs and gradients are compared with torch.nn's by ``checks.verdicts`` (1e-6 relative to the
largest expected entry): two float64 computations of one cell differ by rounding only, below 1e-12 here
(tests/test_checks_torch_cells.py measures torch.nn against the NumPy reference to that), while every bug of
the corpus moves some entry by more than 1e-3. A cell computing in float32 agrees with torch.nn to about
1e-7, inside that tolerance on purpose: float32 is charged by the dtype check and by gradcheck, where central
differences of a float32 forward are noise (``checks.gradcheck`` reasons its own tolerance, for float64).
hx=None against hx = zeros compares the student's cell with itself: a correct cell's two paths differ by
adding exact zeros, so not at all.

Cost: every example is one round trip (two for hx=None, two for gradcheck) and one torch.nn call here; each
check draws a fifth of the profile's examples (10 by default): every corpus bug shows on almost every example.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given

from checks.engine.isolation.contract import SubmissionRaised
from checks.gradcheck import assert_gradients_match_finite_differences, probe_seeds, weighted_sums
from checks.registry import check
from checks.torch_cell_calls import arrays, cell_grads, evaluator, outputs_of, run_as_built, run_cell, run_unbatched
from checks.torch_cell_messages import (BLOCKS, CUT_GRAPH, backward_refused, describe_shapes, grad_label, likely_cause,
                                        parameter_problems, sizes_in_words, tensor_label)
from checks.torch_cell_problems import (DEGENERATE_LSTM_CELL, DEGENERATE_RNN_CELL, OBLONG_LSTM_CELL, OBLONG_RNN_CELL,
                                        CellProblem, cell_problems)
from checks.torch_nn_oracle import torch_nn_cell
from checks.verdicts import PartialFailure, assert_all_close, how_many_wrong, mismatch

RNN_GROUP, LSTM_GROUP = "torch_rnn_cell", "torch_lstm_cell"


# -- the properties, shared by both cells ---------------------------------------------------------------------------


def assert_parameters_are_torch_nn_s(sub, p: CellProblem) -> None:
    """The cell built with ``p.init`` has exactly torch.nn's parameters, of its shapes."""
    # No weights sent: the worker then cannot copy any in, so it reports the parameters without calling the cell.
    run = run_cell(sub, p, gradients=False, params={})
    expected = {name: np.shape(value) for name, value in p.params.items()}
    problems = parameter_problems(run.parameters, expected)
    if problems:
        _, D, H = p.sizes
        built = f"{p.cell}(input_size={D}, hidden_size={H}{'' if p.has_bias else ', bias=False'})"
        raise AssertionError(f"{built} should have "
                             f"exactly the parameters {describe_shapes(expected)}, as torch.nn.{p.cell} does "
                             f"({BLOCKS[p.cell]} of hidden_size rows in each); yours has "
                             f"{describe_shapes({n: s for n, (s, _) in run.parameters.items()}) or 'none'}:\n"
                             + "\n".join(f"  {problem}" for problem in problems))


def assert_matches_torch_nn(sub, p: CellProblem) -> None:
    """The cell's outputs equal torch.nn's given the same weights."""
    actual = arrays(outputs_of(run_cell(sub, p, gradients=False), p))
    try:
        assert_all_close(actual, torch_nn_cell(p).outputs,
                         f"torch.nn.{p.cell} given the same weights ({sizes_in_words(p)})")
    except PartialFailure as failure:
        cause = likely_cause(p, actual)  # first: a short report shows a failure's first lines
        if cause:
            failure.args = (f"{cause}\n{failure.args[0]}",)
        raise


def assert_gradients_match_torch_nn(sub, p: CellProblem) -> None:
    """Autograd's gradients through the cell equal those through torch.nn's, for L = Σ_k ⟨output_k, upstream_k⟩."""
    run = run_cell(sub, p)
    actual = arrays(outputs_of(run, p))
    if run.backward_error is not None:
        raise AssertionError(backward_refused(p, run.backward_error))
    expected, grads = torch_nn_cell(p), cell_grads(run, p)
    wrong = [name for name in expected.grads if grads[name] is None or mismatch(grads[name], expected.grads[name])]
    if not wrong:
        return
    L = "⟨h', dh⟩" + (" + ⟨c', dc⟩" if p.c is not None else "")
    lines = [f"{how_many_wrong(len(wrong), len(expected.grads), 'gradient')}, compared with autograd through "
             f"torch.nn.{p.cell} given the same weights ({sizes_in_words(p)}; L = {L}):"]
    for name in wrong:
        problem = (f"no gradient reached {tensor_label(p, name)}: your forward cuts it from the graph ({CUT_GRAPH})"
                   if grads[name] is None else mismatch(grads[name], expected.grads[name]))
        lines.append(f"  {grad_label(p, name)}: {problem}")
    right = [grad_label(p, name) for name in expected.grads if name not in wrong]
    if right:
        lines.append(f"  correct: {', '.join(right)}")
    if any(mismatch(actual[name], value) for name, value in expected.outputs.items()):
        lines.append(f"  Your {p.cell}'s outputs are wrong too, compared with torch.nn's: fix the forward pass first.")
    raise PartialFailure("\n".join(lines), credit=len(right) / len(expected.grads))


def assert_gradcheck(sub, p: CellProblem, seed: int) -> None:
    """gradcheck: the cell's autograd gradients equal central finite differences of its own forward, in float64."""
    run, params = run_as_built(sub, p)
    outputs_of(run, p)
    if run.backward_error is not None:
        raise AssertionError(backward_refused(p, run.backward_error))
    arguments = {"input": p.input, **p.state, **params}
    grads = cell_grads(run, p)
    cut = [name for name in arguments if grads[name] is None]
    gradients = {name: np.zeros_like(a) if name in cut else grads[name] for name, a in arguments.items()}
    try:
        assert_gradients_match_finite_differences(
            evaluator(sub, p, tuple(params)), arguments, gradients,
            lambda out: weighted_sums(out, tuple(p.upstream)), seed,
            gradient_names={name: grad_label(p, name) for name in arguments})
    except PartialFailure as failure:
        if cut:
            failure.args = (f"{failure.args[0]}\n  No gradient reached {', '.join(tensor_label(p, n) for n in cut)}"
                            f" at all: your forward cuts it from the graph ({CUT_GRAPH}).",)
        raise


def assert_zero_state_without_hx(sub, p: CellProblem) -> None:
    """cell(input) equals cell(input, hx) with hx all zeros."""
    zeros = p.zero_state()
    run, params = run_as_built(sub, zeros, gradients=False)
    with_zeros = arrays(outputs_of(run, zeros))
    try:
        without = arrays(outputs_of(run_cell(sub, p, hx=False, gradients=False, params=params), p))
    except SubmissionRaised as error:
        raise SubmissionRaised(f"called with no hx, as cell(input), {error}") from None
    state = "h = 0" if p.c is None else "h = c = 0"
    assert_all_close(without, with_zeros, f"your own {p.cell} given hx = zeros ({state}; {sizes_in_words(p)}): "
                     "called as cell(input), with no hx, torch.nn's cells start from zeros")


def assert_keeps_float64(sub, p: CellProblem) -> None:
    """Given a float64 input, hx and parameters, every output is float64, as torch.nn keeps the input's dtype."""
    outputs = outputs_of(run_as_built(sub, p, gradients=False)[0], p)
    drifted = {name: out.dtype for name, out in outputs.items() if out.dtype != "float64"}
    if drifted:
        raise AssertionError(
            f"your {p.cell} returned {', '.join(f'{n} as {d}' for n, d in drifted.items())}, although the input, hx "
            "and every parameter are float64 (torch.nn keeps the input's dtype). A .float(), a .to(torch.float32), "
            "or a tensor made without dtype= (torch.zeros(N, H) is float32) turns the computation to float32, "
            "which keeps 7 of float64's 16 digits: too few for gradcheck.")


def assert_unbatched(sub, p: CellProblem) -> None:
    """An unbatched input (D,), with h (and c) of shape (H,), gives torch.nn's unbatched outputs, of shape (H,)."""
    actual = arrays(outputs_of(run_unbatched(sub, p), p))
    assert_all_close(actual, torch_nn_cell(p, unbatched=True).outputs,
                     f"torch.nn.{p.cell} on the unbatched input (input_size,) and hx (hidden_size,)")


# -- the checks ------------------------------------------------------------------------------------------------------

RNN, LSTM = ("RNNCell",), ("LSTMCell",)
FEW = 0.1  # the fraction of the profile's examples (5 by default) for the dtype, bias=False and unbatched checks,
# whose bugs show on every example


@check(group=RNN_GROUP, points=4, needs=RNN, examples=0.2)
@given(p=cell_problems("RNNCell"))
@example(p=OBLONG_RNN_CELL)
def rnn_cell_has_torch_nn_parameters(sub, p: CellProblem):
    """RNNCell has exactly torch.nn's parameters weight_ih (H, D), weight_hh (H, H), bias_ih (H,), bias_hh (H,)."""
    assert_parameters_are_torch_nn_s(sub, p)


@check(group=RNN_GROUP, points=10, needs=RNN, examples=0.2)
@given(p=cell_problems("RNNCell"))
@example(p=DEGENERATE_RNN_CELL)
@example(p=OBLONG_RNN_CELL)
def rnn_cell_matches_torch_nn(sub, p: CellProblem):
    """RNNCell's h' equals torch.nn.RNNCell's given the same weights: h' = tanh(input·W_ihᵀ + b_ih + h·W_hhᵀ
    + b_hh)."""
    assert_matches_torch_nn(sub, p)


@check(group=RNN_GROUP, points=10, needs=RNN, examples=0.2)
@given(p=cell_problems("RNNCell"))
@example(p=DEGENERATE_RNN_CELL)
def rnn_cell_gradients_match_torch_nn(sub, p: CellProblem):
    """Autograd's gradients of the input, hx and every parameter through RNNCell equal those through
    torch.nn.RNNCell (L = ⟨h', dh⟩)."""
    assert_gradients_match_torch_nn(sub, p)


@check(group=RNN_GROUP, points=8, needs=RNN, examples=0.2)
@given(p=cell_problems("RNNCell"), seed=probe_seeds())
@example(p=DEGENERATE_RNN_CELL, seed=0)
def rnn_cell_gradients_match_finite_differences(sub, p: CellProblem, seed: int):
    """gradcheck in float64: RNNCell's autograd gradients equal central differences of its own forward."""
    assert_gradcheck(sub, p, seed)


@check(group=RNN_GROUP, points=4, needs=RNN, examples=0.2)
@given(p=cell_problems("RNNCell"))
@example(p=DEGENERATE_RNN_CELL)
def rnn_cell_without_hx_starts_from_zeros(sub, p: CellProblem):
    """RNNCell called without hx, cell(input), returns what it returns given hx = zeros."""
    assert_zero_state_without_hx(sub, p)


@check(group=RNN_GROUP, points=2, needs=RNN, examples=FEW)
@given(p=cell_problems("RNNCell"))
@example(p=DEGENERATE_RNN_CELL)
def rnn_cell_keeps_float64(sub, p: CellProblem):
    """RNNCell given float64 input, hx and parameters returns a float64 h'."""
    assert_keeps_float64(sub, p)


@check(group=RNN_GROUP, points=2, needs=RNN, examples=FEW)
@given(p=cell_problems("RNNCell", bias=False))
@example(p=OBLONG_RNN_CELL._replace(bias_ih=None, bias_hh=None))
def rnn_cell_without_bias_matches_torch_nn(sub, p: CellProblem):
    """RNNCell(…, bias=False) has only weight_ih and weight_hh, and equals torch.nn.RNNCell(…, bias=False)."""
    assert_parameters_are_torch_nn_s(sub, p)
    assert_matches_torch_nn(sub, p)


@check(group=RNN_GROUP, points=1, needs=RNN, examples=FEW)
@given(p=cell_problems("RNNCell"))
@example(p=OBLONG_RNN_CELL)
def rnn_cell_accepts_unbatched_input(sub, p: CellProblem):
    """RNNCell on an unbatched input (D,) and hx (H,) returns torch.nn.RNNCell's h' (H,) (not required by default)."""
    assert_unbatched(sub, p)


@check(group=LSTM_GROUP, points=4, needs=LSTM, examples=0.2)
@given(p=cell_problems("LSTMCell"))
@example(p=OBLONG_LSTM_CELL)
def lstm_cell_has_torch_nn_parameters(sub, p: CellProblem):
    """LSTMCell has exactly torch.nn's parameters weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,)."""
    assert_parameters_are_torch_nn_s(sub, p)


@check(group=LSTM_GROUP, points=16, needs=LSTM, examples=0.2)
@given(p=cell_problems("LSTMCell"))
@example(p=DEGENERATE_LSTM_CELL)
@example(p=OBLONG_LSTM_CELL)
def lstm_cell_matches_torch_nn(sub, p: CellProblem):
    """LSTMCell's (h', c') equal torch.nn.LSTMCell's given the same weights, gate blocks in the order i, f, g, o."""
    assert_matches_torch_nn(sub, p)


@check(group=LSTM_GROUP, points=14, needs=LSTM, examples=0.2)
@given(p=cell_problems("LSTMCell"))
@example(p=DEGENERATE_LSTM_CELL)
def lstm_cell_gradients_match_torch_nn(sub, p: CellProblem):
    """Autograd's gradients of the input, hx = (h, c) and every parameter through LSTMCell equal those through
    torch.nn.LSTMCell (L = ⟨h', dh⟩ + ⟨c', dc⟩)."""
    assert_gradients_match_torch_nn(sub, p)


@check(group=LSTM_GROUP, points=12, needs=LSTM, examples=0.2)
@given(p=cell_problems("LSTMCell"), seed=probe_seeds())
@example(p=DEGENERATE_LSTM_CELL, seed=0)
def lstm_cell_gradients_match_finite_differences(sub, p: CellProblem, seed: int):
    """gradcheck in float64: LSTMCell's autograd gradients equal central differences of its own forward."""
    assert_gradcheck(sub, p, seed)


@check(group=LSTM_GROUP, points=6, needs=LSTM, examples=0.2)
@given(p=cell_problems("LSTMCell"))
@example(p=DEGENERATE_LSTM_CELL)
def lstm_cell_without_hx_starts_from_zeros(sub, p: CellProblem):
    """LSTMCell called without hx, cell(input), returns what it returns given hx = (zeros, zeros)."""
    assert_zero_state_without_hx(sub, p)


@check(group=LSTM_GROUP, points=4, needs=LSTM, examples=FEW)
@given(p=cell_problems("LSTMCell"))
@example(p=DEGENERATE_LSTM_CELL)
def lstm_cell_keeps_float64(sub, p: CellProblem):
    """LSTMCell given float64 input, hx and parameters returns float64 h' and c'."""
    assert_keeps_float64(sub, p)


@check(group=LSTM_GROUP, points=4, needs=LSTM, examples=FEW)
@given(p=cell_problems("LSTMCell", bias=False))
@example(p=OBLONG_LSTM_CELL._replace(bias_ih=None, bias_hh=None))
def lstm_cell_without_bias_matches_torch_nn(sub, p: CellProblem):
    """LSTMCell(…, bias=False) has only weight_ih and weight_hh, and equals torch.nn.LSTMCell(…, bias=False)."""
    assert_parameters_are_torch_nn_s(sub, p)
    assert_matches_torch_nn(sub, p)


@check(group=LSTM_GROUP, points=1, needs=LSTM, examples=FEW)
@given(p=cell_problems("LSTMCell"))
@example(p=OBLONG_LSTM_CELL)
def lstm_cell_accepts_unbatched_input(sub, p: CellProblem):
    """LSTMCell on an unbatched input (D,) and hx ((H,), (H,)) returns torch.nn.LSTMCell's (h', c'), each (H,)
    (not required by default)."""
    assert_unbatched(sub, p)
