"""forward: h_t = tanh(x_t·Wx + h_{t−1}·Wh + b), for one step and for a whole sequence.

The full grade compares the forward pass with the course's reference solution. A student's
self-check has no solution, so each of those three checks has a stand-in (``stands_in_for``,
``checks.registry.self_check_split``) that judges the same function against the lecture's
definition instead, computed here from the very inputs the submission was given:
next_h = tanh(x·Wx + prev_h·Wh + b). That formula is the assignment's statement, not the solution.

Points: a self-check runs each stand-in in its counterpart's place, with the counterpart's points
(from the assignment's table), and a full grade never runs a stand-in. So the full grade's checks
and totals are unchanged, and a forward pass that forgets the bias loses the same forward points
in the self-check as in the full grade.

The sequence's stand-in takes each h_t from the submission's own h_{t−1} (h0 first): rnn_forward
must be the lecture's step composed over time. It does not compare rnn_forward with the
submission's own rnn_step_forward: a right rnn_forward beside a wrong step would lose the
sequence's points too, which the full grade does not take (the step's own check does); where
rnn_forward calls a wrong step, the report says to fix the step first (``run.root_cause``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given

from checks.examples import DEGENERATE, LONG
from checks.registry import check
from checks.strategies import rnn_problems
from checks.verdicts import assert_close


@check(group="forward", points=4, needs=("rnn_step_forward",), reference=True)
@given(p=rnn_problems(max_t=1))
@example(p=DEGENERATE)
def step_forward_matches_reference(sub, p):
    """rnn_step_forward computes next_h = tanh(x·Wx + prev_h·Wh + b)."""
    import reference

    x = p.x[:, 0]
    next_h, _ = sub.rnn_step_forward(x, p.h0, p.Wx, p.Wh, p.b)
    expected, _ = reference.rnn_step_forward(x, p.h0, p.Wx, p.Wh, p.b)
    assert_close(next_h, expected, "next_h", "tanh(x·Wx + prev_h·Wh + b) from the reference")


@check(group="forward", points=5, needs=("rnn_forward",), reference=True)
@given(p=rnn_problems())
@example(p=DEGENERATE)
@example(p=LONG)
def sequence_forward_matches_reference(sub, p):
    """rnn_forward returns h_1..h_T, each h_t = tanh(x_t·Wx + h_{t−1}·Wh + b), starting from h0."""
    import reference

    h, _ = sub.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    expected, _ = reference.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    assert_close(h, expected, "h", "the reference forward pass")


@check(group="forward", points=3, needs=("rnn_forward",), reference=True)
@given(p=rnn_problems(saturated=True))
def saturated_forward_is_plus_or_minus_one(sub, p):
    """With pre-activations of magnitude ~1e3, rnn_forward returns ±1, never NaN or overflow."""
    import reference

    h, _ = sub.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    expected, _ = reference.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    assert_close(h, expected, "h (saturated)", "the reference forward pass")


# -- the self-check's stand-ins: the lecture's definition, no solution ---------------------------

# What a stand-in's message says the result was compared with.
LECTURE_STEP = "the lecture's definition tanh(x·Wx + prev_h·Wh + b)"
LECTURE_SEQUENCE = "the lecture's step tanh(x_t·Wx + h_(t-1)·Wh + b), from h0 at t = 0, then from your own h_(t-1)"


def lecture_step(x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The lecture's step: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,) → next_h (N, H)."""
    return np.tanh(x @ Wx + prev_h @ Wh + b)


def lecture_states(h: np.ndarray, p) -> np.ndarray:
    """What each h_t (N, T, H) of ``h`` should be: the lecture's step from the submission's own h_{t−1}
    (h0 at t = 0), so that the first wrong state is where the mistake shows. If ``h`` has not the
    shape (N, T, H), the whole recurrence from h0 (whose shape is then what the comparison reports)."""
    N, T, _ = p.x.shape
    shape = (N, T, p.h0.shape[1])
    expected, previous = np.empty(shape), p.h0
    for t in range(T):
        expected[:, t] = lecture_step(p.x[:, t], previous, p.Wx, p.Wh, p.b)
        previous = h[:, t] if np.shape(h) == shape else expected[:, t]
    return expected


@check(group="forward", points=4, needs=("rnn_step_forward",), stands_in_for="step_forward_matches_reference")
@given(p=rnn_problems(max_t=1))
@example(p=DEGENERATE)
def step_forward_is_the_lecture_step(sub, p):
    """rnn_step_forward computes next_h = tanh(x·Wx + prev_h·Wh + b), as the lecture defines it.

    Self-check only, in place of step_forward_matches_reference: the definition is computed here.
    """
    x = p.x[:, 0]
    next_h, _ = sub.rnn_step_forward(x, p.h0, p.Wx, p.Wh, p.b)
    assert_close(next_h, lecture_step(x, p.h0, p.Wx, p.Wh, p.b), "next_h", LECTURE_STEP)


@check(group="forward", points=5, needs=("rnn_forward",), stands_in_for="sequence_forward_matches_reference")
@given(p=rnn_problems())
@example(p=DEGENERATE)
@example(p=LONG)
def sequence_forward_is_the_lecture_step_over_time(sub, p):
    """rnn_forward returns h_1..h_T, each h_t = tanh(x_t·Wx + h_{t−1}·Wh + b) of its own h_{t−1}, from h0.

    Self-check only, in place of sequence_forward_matches_reference: the definition is computed here.
    """
    h, _ = sub.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    assert_close(h, lecture_states(h, p), "h", LECTURE_SEQUENCE)


@check(group="forward", points=3, needs=("rnn_forward",), stands_in_for="saturated_forward_is_plus_or_minus_one")
@given(p=rnn_problems(saturated=True))
def saturated_forward_follows_the_lecture_step(sub, p):
    """With pre-activations of magnitude ~1e3, rnn_forward returns the definition's ±1, never NaN or overflow.

    Self-check only, in place of saturated_forward_is_plus_or_minus_one: the definition is computed here.
    """
    h, _ = sub.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    assert_close(h, lecture_states(h, p), "h (saturated)", LECTURE_SEQUENCE)
