"""deeplearning.ai's RNN and LSTM, column-major (``--assignment dlai-c5w1``): one group per function.

The course's equations, in its letters (n_x input features, n_a hidden units, n_y outputs, m examples, T_x steps;
x (n_x, m, T_x), a (n_a, m, T_x), parameters and gradients as dicts, biases (n, 1)):

    a_next  = tanh(Wax·xt + Waa·a_prev + ba)            yt_pred = softmax(Wya·a_next + by)   (over axis 0)

    ft = σ(Wf·[a_prev; xt] + bf)   it = σ(Wi·[…] + bi)   ot = σ(Wo·[…] + bo)   cct = tanh(Wc·[…] + bc)
    c_next = ft ⊙ c_prev + it ⊙ cct     a_next = ot ⊙ tanh(c_next)     yt_pred = softmax(Wy·a_next + by)

rnn_forward and lstm_forward run the cell over x from a0 (and c0 = 0); the backward functions take the gradient
of every a (da, or da_next and dc_next for the LSTM step) and return the course's gradient dicts, the biases'
summed over the examples with keepdims ((n_a, 1)). y is never differentiated, as in the course.

The checks, by group (points are the assignment table's, checks/assignments/dlai-c5w1.toml):

- rnn_cell_forward, lstm_cell_forward: the reference's values; yt_pred a softmax over each column of your own
  W·a_next + by; the LSTM with its forget gate held open and its input gate shut (bf = +100, bi = −100) keeps its
  cell, c_next = c_prev and a_next = ot ⊙ tanh(c_prev) (ft and it swapped fail here); exact shapes at size one;
- rnn_forward, lstm_forward: the reference's values; your own cell composed over time (from c0 = 0); exact shapes;
- rnn_cell_backward, rnn_backward, lstm_cell_backward, lstm_backward: finite differences of your own forward
  (L = Σ⟨a, da⟩, + ⟨c_next, dc_next⟩ for the LSTM step; checks/dlai_gradients.py); the reference's gradients;
  exact shapes (every bias gradient (n_a, 1));
- rnn_cell_backward, lstm_cell_backward: the tanh identity on your own a_next, and the σ and tanh identities on
  your own gates ft, it, cct, ot and c_next, read from your cache (the course's tuple), judged gate by gate, so a
  message names the gate whose derivative is wrong and the wrong derivative it follows (σ′ written as σ², …).

lstm_backward is graded against the mathematics. The course's printed expected output for it is that of an
implementation passing no gradient between steps (each step given da[:, :, t] alone and dc_prev = 0); one that
matches it fails here, and the message says so (``reference.misconceptions.column_major``).

A function that reads a notebook global instead of its parameters raises NameError here (only definitions are
loaded): the message names the global (``checks.engine.isolation.column_major``). One that reads a constant dict
of its own file instead gives wrong values for the drawn parameters, and fails against the reference.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given

from checks.column_major_problems import (DEGENERATE_LSTM, DEGENERATE_RNN, HOLD_BIAS, SMALL_LSTM, SMALL_RNN,
                                          ColumnProblem, column_problem_from_seed, column_problems)
from checks.dlai_gradients import (TANH_IDENTITY, assert_backward_matches_own_forward,
                                   assert_lstm_cell_obeys_identities, rnn_cell_identity_gradients, rnn_tanh_note)
from checks.engine.isolation.column_major import ColumnMajor
from checks.gradcheck import probe_seeds
from checks.registry import check
from checks.verdicts import assert_all_close, assert_close, labelled, mismatch

# Tolerances: every comparison with the reference or with the student's own values uses checks.verdicts' RTOL = 1e-6
# (two float64 computations of the same sums agree to ~1e-15 here: T_x <= 5, n <= 5); finite differences use
# checks.gradcheck's, reasoned there. The held gates are exact to rounding (column_major_problems' HOLD_BIAS).

RNN_MOVED = ("Wax", "Waa", "ba")  # the parameters rnn_cell_backward and rnn_backward differentiate
LSTM_MOVED = ("Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo")  # what lstm_cell_backward and lstm_backward differentiate


def softmax_columns(z: np.ndarray) -> np.ndarray:
    """The softmax of every column of z (n_y, m) or (n_y, m, T_x): the lecture's definition, over axis 0."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_note(y: np.ndarray) -> str:
    """Why a y is not a softmax over axis 0: its columns do not sum to 1 (and maybe its rows do)."""
    columns = y.sum(axis=0)
    if mismatch(columns, np.ones_like(columns)) is None:
        return "Its columns sum to 1, but the values are not the softmax of your own W·a_next + by."
    rows = y.sum(axis=1)
    if mismatch(rows, np.ones_like(rows)) is None:
        return ("Each row sums to 1 instead of each column: the softmax must normalise over axis 0 (the n_y "
                "outputs of one example), not over the examples.")
    return "Each column of y must sum to 1: the softmax normalises over axis 0, the n_y outputs of one example."


def assert_gradients_equal(got: dict[str, np.ndarray], expected: dict[str, np.ndarray], against: str,
                           mistake: tuple[dict[str, np.ndarray], str] | None = None) -> None:
    """Two gradient dicts compared key by key (partial credit per key), named as the student reads them
    (gradients['dWax']). ``mistake``: a known wrong implementation's gradients on the same inputs and its sentence,
    added to the failure if the student's equal them: every key, so a correct submission is never told it."""
    same = mistake is not None and all(mismatch(got[key], mistake[0][key]) is None for key in mistake[0])
    assert_all_close(labelled("gradients", got), labelled("gradients", expected), against,
                     note=(lambda: mistake[1]) if same else None)


# -- rnn_cell_forward ----------------------------------------------------------------------------------------------


@check(group="rnn_cell_forward", points=4, needs=("rnn_cell_forward",), reference=True, examples=0.2)
@given(p=column_problems("rnn"))
@example(p=DEGENERATE_RNN)
def dlai_rnn_cell_forward_matches_reference(sub, p: ColumnProblem):
    """rnn_cell_forward returns the reference's a_next = tanh(Wax·xt + Waa·a_prev + ba) and
    yt_pred = softmax(Wya·a_next + by), for the parameters it is given."""
    from reference import column_major

    a_next, yt_pred, _ = ColumnMajor(sub).outputs("rnn_cell_forward", p.step_args())
    expected_a, expected_y, _ = column_major.rnn_cell_forward(*p.step_args())
    assert_all_close({"a_next": a_next, "yt_pred": yt_pred}, {"a_next": expected_a, "yt_pred": expected_y},
                     "the reference (a_next = tanh(Wax·xt + Waa·a_prev + ba), computed from the parameters argument)")


@check(group="rnn_cell_forward", points=2, needs=("rnn_cell_forward",), examples=0.2)
@given(p=column_problems("rnn", min_y=2))
@example(p=SMALL_RNN)
def dlai_rnn_cell_forward_yt_pred_is_a_softmax_of_each_column(sub, p: ColumnProblem):
    """yt_pred is the softmax over axis 0 of your own Wya·a_next + by: every column sums to 1."""
    a_next, yt_pred, _ = ColumnMajor(sub).outputs("rnn_cell_forward", p.step_args())
    expected = softmax_columns(p.parameters["Wya"] @ a_next + p.parameters["by"])
    assert_close(yt_pred, expected, "yt_pred", "softmax(Wya·a_next + by) over each column, from your own a_next",
                 note=lambda: softmax_note(yt_pred))


@check(group="rnn_cell_forward", points=1, needs=("rnn_cell_forward",), examples=0.1)
@given(p=column_problems("rnn", max_m=1, max_t=1, max_x=1, max_a=1, max_y=1))
@example(p=DEGENERATE_RNN)
def dlai_rnn_cell_forward_shapes_are_exact_at_size_one(sub, p: ColumnProblem):
    """At n_x = n_a = n_y = m = 1, a_next and yt_pred are still float64 arrays of shape (1, 1)."""
    with sub.exact_shapes():
        ColumnMajor(sub).outputs("rnn_cell_forward", p.step_args())


# -- rnn_forward ---------------------------------------------------------------------------------------------------


@check(group="rnn_forward", points=4, needs=("rnn_forward",), reference=True, examples=0.2)
@given(p=column_problems("rnn"))
@example(p=DEGENERATE_RNN)
def dlai_rnn_forward_matches_reference(sub, p: ColumnProblem):
    """rnn_forward returns the reference's a (a_1 … a_T) and y_pred, from a0."""
    from reference import column_major

    a, y_pred, _ = ColumnMajor(sub).outputs("rnn_forward", p.sequence_args)
    expected_a, expected_y, _ = column_major.rnn_forward(*p.sequence_args)
    assert_all_close({"a": a, "y_pred": y_pred}, {"a": expected_a, "y_pred": expected_y},
                     "the reference (the cell applied at every step, from a0)")


@check(group="rnn_forward", points=2, needs=("rnn_cell_forward", "rnn_forward"), examples=0.2)
@given(p=column_problems("rnn", max_t=4))
@example(p=DEGENERATE_RNN)
def dlai_rnn_forward_is_the_cell_composed(sub, p: ColumnProblem):
    """rnn_forward's a[:, :, t] and y_pred[:, :, t] are your own rnn_cell_forward applied step after step from a0."""
    view = ColumnMajor(sub)
    a, y_pred, _ = view.outputs("rnn_forward", p.sequence_args)
    a_t, states, outputs = p.a0, [], []
    for t in range(p.x.shape[2]):
        a_t, y_t, _ = view.outputs("rnn_cell_forward", p.step_args(t, a_prev=a_t))
        states.append(a_t)
        outputs.append(y_t)
    assert_all_close({"a": a, "y_pred": y_pred}, {"a": np.stack(states, axis=2), "y_pred": np.stack(outputs, axis=2)},
                     "your own rnn_cell_forward applied at every step, each a_next passed on to the next step")


@check(group="rnn_forward", points=1, needs=("rnn_forward",), examples=0.1)
@given(p=column_problems("rnn", max_m=1, max_t=1, max_x=1, max_a=1, max_y=1))
@example(p=DEGENERATE_RNN)
def dlai_rnn_forward_shapes_are_exact_at_size_one(sub, p: ColumnProblem):
    """At every size 1, a and y_pred are float64 arrays of shape (1, 1, 1)."""
    with sub.exact_shapes():
        ColumnMajor(sub).outputs("rnn_forward", p.sequence_args)


# -- rnn_cell_backward ---------------------------------------------------------------------------------------------


@check(group="rnn_cell_backward", points=3, needs=("rnn_cell_forward", "rnn_cell_backward"), examples=0.3)
@given(p=column_problems("rnn", max_t=1), seed=probe_seeds())
@example(p=DEGENERATE_RNN, seed=0)
def dlai_rnn_cell_backward_matches_finite_differences(sub, p: ColumnProblem, seed: int):
    """rnn_cell_backward's gradients equal central differences of your own rnn_cell_forward
    (L = ⟨a_next, da_next⟩)."""
    assert_backward_matches_own_forward(sub, "rnn_cell_backward", p.step_args(), p.step_upstream, RNN_MOVED, seed)


@check(group="rnn_cell_backward", points=1, needs=("rnn_cell_forward", "rnn_cell_backward"), reference=True,
       examples=0.2)
@given(p=column_problems("rnn", max_t=1))
@example(p=DEGENERATE_RNN)
def dlai_rnn_cell_backward_matches_reference(sub, p: ColumnProblem):
    """rnn_cell_backward returns the reference's gradients dxt, da_prev, dWax, dWaa, dba (tanh′ = 1 − a_next²)."""
    from reference import column_major

    view = ColumnMajor(sub)
    *_, cache = view.rnn_cell_forward(*p.step_args())
    got = view.rnn_cell_backward(*p.step_upstream, cache)
    *_, reference_cache = column_major.rnn_cell_forward(*p.step_args())
    expected = column_major.rnn_cell_backward(*p.step_upstream, reference_cache)
    assert_gradients_equal(got, expected, "the reference")


@check(group="rnn_cell_backward", points=1, needs=("rnn_cell_forward", "rnn_cell_backward"), examples=0.1)
@given(p=column_problems("rnn", max_m=1, max_t=1, max_x=1, max_a=1, max_y=1))
@example(p=DEGENERATE_RNN)
def dlai_rnn_cell_backward_shapes_are_exact_at_size_one(sub, p: ColumnProblem):
    """At every size 1 each gradient keeps its shape: dba is (n_a, 1) = (1, 1) (np.sum with keepdims=True)."""
    view = ColumnMajor(sub)
    *_, cache = view.rnn_cell_forward(*p.step_args())
    with sub.exact_shapes():
        view.rnn_cell_backward(*p.step_upstream, cache)


@check(group="rnn_cell_backward", points=2, needs=("rnn_cell_forward", "rnn_cell_backward"), examples=0.2)
@given(p=column_problems("rnn", max_t=1))
@example(p=DEGENERATE_RNN)
def dlai_rnn_cell_backward_obeys_the_tanh_identity(sub, p: ColumnProblem):
    """rnn_cell_backward follows dz = (1 − a_next²) ⊙ da_next on your own a_next: dxt = Waxᵀ·dz, da_prev = Waaᵀ·dz,
    dWax = dz·xtᵀ, dWaa = dz·a_prevᵀ, dba = Σ_m dz."""
    view = ColumnMajor(sub)
    a_next, _, cache = view.rnn_cell_forward(*p.step_args())
    (da_next,) = p.step_upstream
    got = view.rnn_cell_backward(da_next, cache)
    expected = rnn_cell_identity_gradients(*p.step_args(), a_next, da_next)
    # Rounding only: the same products as a correct backward, on the same a_next (RTOL, module header).
    assert_all_close(labelled("gradients", got), labelled("gradients", expected), f"the tanh identity, {TANH_IDENTITY}",
                     note=lambda: rnn_tanh_note(got, *p.step_args(), a_next, da_next))


# -- rnn_backward --------------------------------------------------------------------------------------------------


@check(group="rnn_backward", points=3, needs=("rnn_forward", "rnn_backward"), examples=0.3)
@given(p=column_problems("rnn"), seed=probe_seeds())
@example(p=DEGENERATE_RNN, seed=0)
def dlai_rnn_backward_matches_finite_differences(sub, p: ColumnProblem, seed: int):
    """rnn_backward's gradients equal central differences of your own rnn_forward (L = Σ_t ⟨a_t, da_t⟩)."""
    assert_backward_matches_own_forward(sub, "rnn_backward", p.sequence_args, (p.da,), RNN_MOVED, seed)


@check(group="rnn_backward", points=1, needs=("rnn_forward", "rnn_backward"), reference=True, examples=0.2)
@given(p=column_problems("rnn", min_t=2))
@example(p=SMALL_RNN)
def dlai_rnn_backward_matches_reference(sub, p: ColumnProblem):
    """rnn_backward returns the reference's dx, da0, dWax, dWaa, dba (full backpropagation through time, T_x >= 2)."""
    from reference import column_major
    from reference.misconceptions.column_major import (RNN_NO_GRADIENT_BETWEEN_STEPS,
                                                       rnn_backward_no_gradient_between_steps)

    view = ColumnMajor(sub)
    *_, caches = view.rnn_forward(*p.sequence_args)
    got = view.rnn_backward(p.da, caches)
    *_, reference_caches = column_major.rnn_forward(*p.sequence_args)
    assert_gradients_equal(got, column_major.rnn_backward(p.da, reference_caches),
                           "the reference (a_t's gradient is da[:, :, t] plus da_prev from step t + 1)",
                           mistake=(rnn_backward_no_gradient_between_steps(p.da, reference_caches),
                                    RNN_NO_GRADIENT_BETWEEN_STEPS))


@check(group="rnn_backward", points=1, needs=("rnn_forward", "rnn_backward"), examples=0.1)
@given(p=column_problems("rnn", max_m=1, max_t=1, max_x=1, max_a=1, max_y=1))
@example(p=DEGENERATE_RNN)
def dlai_rnn_backward_shapes_are_exact_at_size_one(sub, p: ColumnProblem):
    """At every size 1 each gradient keeps its shape: dx (1, 1, 1), dba (n_a, 1) = (1, 1)."""
    view = ColumnMajor(sub)
    *_, caches = view.rnn_forward(*p.sequence_args)
    with sub.exact_shapes():
        view.rnn_backward(p.da, caches)


# == the LSTM ======================================================================================================

DEGENERATE_HOLD = column_problem_from_seed("lstm", (1, 1, 1, 1, 1), seed=1, gates="hold")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) without overflow: exp is only taken of −|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def output_gate(xt: np.ndarray, a_prev: np.ndarray, parameters: dict) -> np.ndarray:
    """ot = σ(Wo·[a_prev; xt] + bo) (n_a, m): the lecture's output gate, recomputed from the inputs."""
    return sigmoid(parameters["Wo"] @ np.concatenate([a_prev, xt], axis=0) + parameters["bo"])


# -- lstm_cell_forward ---------------------------------------------------------------------------------------------


@check(group="lstm_cell_forward", points=4, needs=("lstm_cell_forward",), reference=True, examples=0.2)
@given(p=column_problems("lstm"))
@example(p=DEGENERATE_LSTM)
def dlai_lstm_cell_forward_matches_reference(sub, p: ColumnProblem):
    """lstm_cell_forward returns the reference's a_next, c_next and yt_pred, for the parameters it is given."""
    from reference import column_major

    a_next, c_next, yt_pred, _ = ColumnMajor(sub).outputs("lstm_cell_forward", p.step_args())
    expected = column_major.lstm_cell_forward(*p.step_args())
    assert_all_close({"a_next": a_next, "c_next": c_next, "yt_pred": yt_pred},
                     dict(zip(("a_next", "c_next", "yt_pred"), expected)),
                     "the reference (c_next = ft ⊙ c_prev + it ⊙ cct, a_next = ot ⊙ tanh(c_next), every gate on "
                     "[a_prev; xt], computed from the parameters argument)")


@check(group="lstm_cell_forward", points=1, needs=("lstm_cell_forward",), examples=0.2)
@given(p=column_problems("lstm", min_y=2))
@example(p=SMALL_LSTM)
def dlai_lstm_cell_forward_yt_pred_is_a_softmax_of_each_column(sub, p: ColumnProblem):
    """yt_pred is the softmax over axis 0 of your own Wy·a_next + by: every column sums to 1."""
    a_next, _, yt_pred, _ = ColumnMajor(sub).outputs("lstm_cell_forward", p.step_args())
    expected = softmax_columns(p.parameters["Wy"] @ a_next + p.parameters["by"])
    assert_close(yt_pred, expected, "yt_pred", "softmax(Wy·a_next + by) over each column, from your own a_next",
                 note=lambda: softmax_note(yt_pred))


@check(group="lstm_cell_forward", points=2, needs=("lstm_cell_forward",), examples=0.2)
@given(p=column_problems("lstm", gates="hold"))
@example(p=DEGENERATE_HOLD)
def dlai_lstm_cell_with_open_forget_gate_keeps_the_cell(sub, p: ColumnProblem):
    """With the forget gate open (bf = +100, ft = 1) and the input gate shut (bi = −100, it = 0), c_next = c_prev
    and a_next = ot ⊙ tanh(c_prev)."""
    xt, a_prev, c_prev, parameters = p.step_args()
    a_next, c_next, _, _ = ColumnMajor(sub).outputs("lstm_cell_forward", p.step_args())
    held = f"bf = +{HOLD_BIAS:g} and bi = −{HOLD_BIAS:g}, so ft = 1 and it = 0 to float64 precision"
    # it·cct < 1e-41: c_next is c_prev up to rounding; RTOL allows a correct cell's rounding and nothing else.
    assert_close(c_next, c_prev, "c_next", f"c_prev, kept by the gates ({held})", note=lambda: gate_note(c_next, p))
    expected_a = output_gate(xt, a_prev, parameters) * np.tanh(c_prev)
    assert_close(a_next, expected_a, "a_next", f"ot ⊙ tanh(c_prev) ({held})")


def gate_note(c_next: np.ndarray, p: ColumnProblem) -> str:
    """What a wrong c_next under held gates suggests: the forget and input gates swapped, or c_prev not used."""
    xt, a_prev, c_prev, parameters = p.step_args()
    cct = np.tanh(parameters["Wc"] @ np.concatenate([a_prev, xt], axis=0) + parameters["bc"])
    if mismatch(c_next, cct) is None:
        return ("Your c_next is cct, the candidate: the gates act as if ft = 0 and it = 1. Check that the forget "
                "gate (Wf, bf) multiplies c_prev and the input gate (Wi, bi) multiplies cct, not the other way round.")
    return "With ft = 1 and it = 0, c_next = ft ⊙ c_prev + it ⊙ cct must be c_prev."


@check(group="lstm_cell_forward", points=1, needs=("lstm_cell_forward",), examples=0.1)
@given(p=column_problems("lstm", max_m=1, max_t=1, max_x=1, max_a=1, max_y=1))
@example(p=DEGENERATE_LSTM)
def dlai_lstm_cell_forward_shapes_are_exact_at_size_one(sub, p: ColumnProblem):
    """At every size 1, a_next, c_next and yt_pred are float64 arrays of shape (1, 1)."""
    with sub.exact_shapes():
        ColumnMajor(sub).outputs("lstm_cell_forward", p.step_args())


# -- lstm_forward --------------------------------------------------------------------------------------------------


@check(group="lstm_forward", points=4, needs=("lstm_forward",), reference=True, examples=0.2)
@given(p=column_problems("lstm"))
@example(p=DEGENERATE_LSTM)
def dlai_lstm_forward_matches_reference(sub, p: ColumnProblem):
    """lstm_forward returns the reference's a, y and c, from a0 and c0 = 0."""
    from reference import column_major

    a, y, c, _ = ColumnMajor(sub).outputs("lstm_forward", p.sequence_args)
    expected = column_major.lstm_forward(*p.sequence_args)
    assert_all_close({"a": a, "y": y, "c": c}, dict(zip(("a", "y", "c"), expected)),
                     "the reference (the cell applied at every step, from a0 and c0 = 0)")


@check(group="lstm_forward", points=2, needs=("lstm_cell_forward", "lstm_forward"), examples=0.2)
@given(p=column_problems("lstm", max_t=4))
@example(p=DEGENERATE_LSTM)
def dlai_lstm_forward_is_the_cell_composed_from_a_zero_cell(sub, p: ColumnProblem):
    """lstm_forward's a, y and c are your own lstm_cell_forward applied step after step from a0 and c0 = 0."""
    view = ColumnMajor(sub)
    a, y, c, _ = view.outputs("lstm_forward", p.sequence_args)
    a_t, c_t, steps = p.a0, np.zeros_like(p.a0), []
    for t in range(p.x.shape[2]):
        a_t, c_t, y_t, _ = view.outputs("lstm_cell_forward", p.step_args(t, a_prev=a_t, c_prev=c_t))
        steps.append((a_t, y_t, c_t))
    composed = {name: np.stack([s[k] for s in steps], axis=2) for k, name in enumerate(("a", "y", "c"))}
    first_wrong = next((t for t in range(p.x.shape[2]) if mismatch(c[:, :, t], composed["c"][:, :, t])), None)
    assert_all_close({"a": a, "y": y, "c": c}, composed,
                     "your own lstm_cell_forward applied at every step from a0 and c0 = 0, each a_next and c_next "
                     "passed on", note=lambda: zero_cell_note(first_wrong))


def zero_cell_note(t: int | None) -> str:
    """Where the composition first goes wrong: at the first step (c0) or later (the states passed on)."""
    if t == 0:
        return "Already c at the first step is wrong: the cell state starts at c0 = np.zeros((n_a, m)), not a0."
    if t is None:
        return "Each step's cell state agrees: pass each step's a_next on, and store a_next, yt and c_next at t."
    return f"c is correct up to step {t} and wrong at step {t + 1}: pass each step's a_next and c_next to the next."


@check(group="lstm_forward", points=1, needs=("lstm_forward",), examples=0.1)
@given(p=column_problems("lstm", max_m=1, max_t=1, max_x=1, max_a=1, max_y=1))
@example(p=DEGENERATE_LSTM)
def dlai_lstm_forward_shapes_are_exact_at_size_one(sub, p: ColumnProblem):
    """At every size 1, a, y and c are float64 arrays of shape (1, 1, 1)."""
    with sub.exact_shapes():
        ColumnMajor(sub).outputs("lstm_forward", p.sequence_args)


# -- lstm_cell_backward --------------------------------------------------------------------------------------------


@check(group="lstm_cell_backward", points=3, needs=("lstm_cell_forward", "lstm_cell_backward"), examples=0.3)
@given(p=column_problems("lstm", max_t=1), seed=probe_seeds())
@example(p=DEGENERATE_LSTM, seed=0)
def dlai_lstm_cell_backward_matches_finite_differences(sub, p: ColumnProblem, seed: int):
    """lstm_cell_backward's gradients equal central differences of your own lstm_cell_forward
    (L = ⟨a_next, da_next⟩ + ⟨c_next, dc_next⟩)."""
    assert_backward_matches_own_forward(sub, "lstm_cell_backward", p.step_args(), p.step_upstream, LSTM_MOVED, seed)


@check(group="lstm_cell_backward", points=1, needs=("lstm_cell_forward", "lstm_cell_backward"), reference=True,
       examples=0.2)
@given(p=column_problems("lstm", max_t=1))
@example(p=DEGENERATE_LSTM)
def dlai_lstm_cell_backward_matches_reference(sub, p: ColumnProblem):
    """lstm_cell_backward returns the reference's gradients (dc = dc_next + da_next ⊙ ot ⊙ (1 − tanh²(c_next))
    reaches c_prev, the gates and the weights)."""
    from reference import column_major

    view = ColumnMajor(sub)
    *_, cache = view.lstm_cell_forward(*p.step_args())
    got = view.lstm_cell_backward(*p.step_upstream, cache)
    *_, reference_cache = column_major.lstm_cell_forward(*p.step_args())
    assert_gradients_equal(got, column_major.lstm_cell_backward(*p.step_upstream, reference_cache), "the reference")


@check(group="lstm_cell_backward", points=1, needs=("lstm_cell_forward", "lstm_cell_backward"), examples=0.1)
@given(p=column_problems("lstm", max_m=1, max_t=1, max_x=1, max_a=1, max_y=1))
@example(p=DEGENERATE_LSTM)
def dlai_lstm_cell_backward_shapes_are_exact_at_size_one(sub, p: ColumnProblem):
    """At every size 1 each gradient keeps its shape: dbf, dbi, dbc, dbo are (n_a, 1) (np.sum with keepdims=True)."""
    view = ColumnMajor(sub)
    *_, cache = view.lstm_cell_forward(*p.step_args())
    with sub.exact_shapes():
        view.lstm_cell_backward(*p.step_upstream, cache)


@check(group="lstm_cell_backward", points=2, needs=("lstm_cell_forward", "lstm_cell_backward"), examples=0.2)
@given(p=column_problems("lstm", max_t=1))
@example(p=DEGENERATE_LSTM)
def dlai_lstm_cell_backward_obeys_the_gate_identities(sub, p: ColumnProblem):
    """lstm_cell_backward follows dc = dc_next + da_next ⊙ ot ⊙ (1 − tanh²(c_next)) and, gate by gate,
    dft = dc ⊙ c_prev ⊙ ft(1 − ft), dit, dcct, dot with σ′ = σ(1 − σ), on your own gates (your cache's)."""
    view = ColumnMajor(sub)
    # The gates as plain data, from one call; the backward gets the cache of a second, identical call (a forward of
    # the same inputs is deterministic): a cache in the worker is used by exactly one backward. Tolerance: RTOL, as
    # for the reference (the same products on the same values, rounding only).
    own = view.lstm_cell_cache(*p.step_args())
    *_, cache = view.lstm_cell_forward(*p.step_args())
    got = view.lstm_cell_backward(*p.step_upstream, cache)
    assert_lstm_cell_obeys_identities(got, own, p.step_args(), *p.step_upstream)


# -- lstm_backward -------------------------------------------------------------------------------------------------


@check(group="lstm_backward", points=3, needs=("lstm_forward", "lstm_backward"), examples=0.3)
@given(p=column_problems("lstm"), seed=probe_seeds())
@example(p=DEGENERATE_LSTM, seed=0)
def dlai_lstm_backward_matches_finite_differences(sub, p: ColumnProblem, seed: int):
    """lstm_backward's gradients equal central differences of your own lstm_forward (L = Σ_t ⟨a_t, da_t⟩)."""
    assert_backward_matches_own_forward(sub, "lstm_backward", p.sequence_args, (p.da,), LSTM_MOVED, seed)


@check(group="lstm_backward", points=1, needs=("lstm_forward", "lstm_backward"), reference=True, examples=0.2)
@given(p=column_problems("lstm", min_t=2))
@example(p=SMALL_LSTM)
def dlai_lstm_backward_matches_reference(sub, p: ColumnProblem):
    """lstm_backward returns the reference's gradients: full backpropagation through time, da_prev and dc_prev
    carried from each step to the one before (T_x >= 2, where that matters)."""
    from reference import column_major
    from reference.misconceptions.column_major import (NO_GRADIENT_BETWEEN_STEPS,
                                                       lstm_backward_no_gradient_between_steps)

    view = ColumnMajor(sub)
    *_, caches = view.lstm_forward(*p.sequence_args)
    got = view.lstm_backward(p.da, caches)
    *_, reference_caches = column_major.lstm_forward(*p.sequence_args)
    assert_gradients_equal(got, column_major.lstm_backward(p.da, reference_caches),
                           "the reference (a_t's gradient is da[:, :, t] plus da_prev from step t + 1, and dc_prev is "
                           "carried back too)",
                           mistake=(lstm_backward_no_gradient_between_steps(p.da, reference_caches),
                                    NO_GRADIENT_BETWEEN_STEPS))


@check(group="lstm_backward", points=1, needs=("lstm_forward", "lstm_backward"), examples=0.1)
@given(p=column_problems("lstm", max_m=1, max_t=1, max_x=1, max_a=1, max_y=1))
@example(p=DEGENERATE_LSTM)
def dlai_lstm_backward_shapes_are_exact_at_size_one(sub, p: ColumnProblem):
    """At every size 1 each gradient keeps its shape: dx (1, 1, 1), the biases' (n_a, 1) = (1, 1)."""
    view = ColumnMajor(sub)
    *_, caches = view.lstm_forward(*p.sequence_args)
    with sub.exact_shapes():
        view.lstm_backward(p.da, caches)
