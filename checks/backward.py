"""backward: BPTT gradients equal finite differences of your own forward, and the reference.

For L = Σ_t ⟨h_t, dh_t⟩, backprop must give dL/dx, dL/dh0, dL/dWx, dL/dWh, dL/db. Every output
is checked: several classic bugs leave dh0 right and dWh wrong, or the other way round.
"""

from __future__ import annotations

from hypothesis import example, given

from checks.examples import DEGENERATE, LONG
from checks.gradcheck import assert_backprop_matches_own_forward, probe_seeds
from checks.registry import check
from checks.strategies import rnn_problems
from checks.verdicts import assert_all_close

STEP_GRADIENTS = ("dx", "dprev_h", "dWx", "dWh", "db")
SEQUENCE_GRADIENTS = ("dx", "dh0", "dWx", "dWh", "db")


def step_inputs(p) -> dict:
    return {"x": p.x[:, 0], "prev_h": p.h0, "Wx": p.Wx, "Wh": p.Wh, "b": p.b}


def sequence_inputs(p) -> dict:
    return {"x": p.x, "h0": p.h0, "Wx": p.Wx, "Wh": p.Wh, "b": p.b}


@check(group="backward", points=5, needs=("rnn_step_forward", "rnn_step_backward"))
@given(p=rnn_problems(max_t=1), seed=probe_seeds())
@example(p=DEGENERATE, seed=0)
def step_backward_matches_finite_differences(sub, p, seed):
    """rnn_step_backward's gradients equal central differences of your own rnn_step_forward."""
    assert_backprop_matches_own_forward(sub, "rnn_step_forward", "rnn_step_backward", step_inputs(p), p.dh[:, 0],
                                        seed, STEP_GRADIENTS)


@check(group="backward", points=6, needs=("rnn_forward", "rnn_backward"))
@given(p=rnn_problems(), seed=probe_seeds())
@example(p=DEGENERATE, seed=0)
@example(p=LONG, seed=0)
def sequence_backward_matches_finite_differences(sub, p, seed):
    """rnn_backward's gradients equal central differences of your own rnn_forward (L = Σ h·dh)."""
    assert_backprop_matches_own_forward(sub, "rnn_forward", "rnn_backward", sequence_inputs(p), p.dh, seed,
                                        SEQUENCE_GRADIENTS)


@check(group="backward", points=3, needs=("rnn_step_forward", "rnn_step_backward"), reference=True)
@given(p=rnn_problems(max_t=1))
@example(p=DEGENERATE)
def step_backward_matches_reference(sub, p):
    """rnn_step_backward returns the reference's (dx, dprev_h, dWx, dWh, db)."""
    import reference

    inputs, dnext_h = step_inputs(p), p.dh[:, 0]
    _, gradients = sub.forward_and_backward("rnn_step_forward", inputs.values(), "rnn_step_backward", dnext_h)
    _, reference_cache = reference.rnn_step_forward(*inputs.values())
    assert_all_close(dict(zip(STEP_GRADIENTS, gradients)),
                     dict(zip(STEP_GRADIENTS, reference.rnn_step_backward(dnext_h, reference_cache))),
                     "the reference")


@check(group="backward", points=6, needs=("rnn_forward", "rnn_backward"), reference=True)
@given(p=rnn_problems())
@example(p=DEGENERATE)
@example(p=LONG)
def sequence_backward_matches_reference(sub, p):
    """rnn_backward returns the reference's (dx, dh0, dWx, dWh, db) for full BPTT."""
    import reference

    inputs = sequence_inputs(p)
    _, gradients = sub.forward_and_backward("rnn_forward", inputs.values(), "rnn_backward", p.dh)
    _, reference_cache = reference.rnn_forward(*inputs.values())
    assert_all_close(dict(zip(SEQUENCE_GRADIENTS, gradients)),
                     dict(zip(SEQUENCE_GRADIENTS, reference.rnn_backward(p.dh, reference_cache))),
                     "the reference")
