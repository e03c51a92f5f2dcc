"""tanh: the step backward obeys tanh′(a) = 1 − tanh²(a) = 1 − next_h², on your own next_h.

With dz = dnext_h ⊙ (1 − next_h²), the gradient of the pre-activation, one step's backward is

    db = Σ_n dz      dprev_h = dz·Whᵀ      dx = dz·Wxᵀ      dWx = xᵀ·dz      dWh = prev_hᵀ·dz

The identity itself is derived and proved by SymPy (``reference.oracles.identities``); its text
is quoted in the failure message from ``TANH_IDENTITY``, which tests/ checks against SymPy's, so a
student's self-check states it without SymPy or the reference.
"""

from __future__ import annotations

from hypothesis import example, given

from checks.examples import DEGENERATE
from checks.registry import check
from checks.strategies import rnn_problems
from checks.verdicts import assert_all_close


TANH_IDENTITY = "d/dz tanh(z) = 1 - tanh(z)**2"  # as reference.oracles.identities.tanh_identity_text() prints it


def assert_step_backward_obeys_tanh_identity(sub, p) -> None:
    x, prev_h, dnext_h = p.x[:, 0], p.h0, p.dh[:, 0]
    (next_h, _), (dx, dprev_h, dWx, dWh, db) = sub.forward_and_backward(
        "rnn_step_forward", (x, prev_h, p.Wx, p.Wh, p.b), "rnn_step_backward", dnext_h)
    dz = dnext_h * (1 - next_h**2)
    expected = {"db": dz.sum(axis=0), "dprev_h": dz @ p.Wh.T, "dx": dz @ p.Wx.T,
                "dWx": x.T @ dz, "dWh": prev_h.T @ dz}
    actual = {"db": db, "dprev_h": dprev_h, "dx": dx, "dWx": dWx, "dWh": dWh}
    assert_all_close(actual, expected, f"dz = dnext_h ⊙ (1 − next_h²), from SymPy's {TANH_IDENTITY} "
                                       "applied to your own next_h")


@check(group="tanh", points=6, needs=("rnn_step_forward", "rnn_step_backward"))
@given(p=rnn_problems(max_t=1))
@example(p=DEGENERATE)
def step_backward_uses_one_minus_h_squared(sub, p):
    """db = Σ_n dz, dprev_h = dz·Whᵀ, dWx = xᵀ·dz with dz = dnext_h ⊙ (1 − next_h²)."""
    assert_step_backward_obeys_tanh_identity(sub, p)


@check(group="tanh", points=4, needs=("rnn_step_forward", "rnn_step_backward"))
@given(p=rnn_problems(max_t=1, saturated=True))
def saturated_step_backward_vanishes(sub, p):
    """At saturation (|a| ~ 1e3, next_h = ±1) 1 − next_h² ≈ 0: gradients vanish, never NaN."""
    assert_step_backward_obeys_tanh_identity(sub, p)


