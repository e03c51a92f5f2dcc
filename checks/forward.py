"""forward: h_t = tanh(x_t·Wx + h_{t−1}·Wh + b), for one step and for a whole sequence."""

from __future__ import annotations

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
