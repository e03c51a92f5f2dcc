"""An example check added with --checks-dir: vanishing gradients through time (see README)."""

import numpy as np
from hypothesis import given, strategies as st

from checks.registry import check
from checks.strategies import rnn_problems


@check(group="backward", points=5, needs=("rnn_forward", "rnn_backward"))
@given(p=st.one_of(rnn_problems(), rnn_problems(saturated=True)), rho=st.floats(0.1, 0.9))
def gradient_vanishes_through_time(sub, p, rho):
    """With ‖Wh‖₂ = ρ < 1, ‖dh0‖ ≤ ρ^T ‖dh_T‖ when only h_T receives gradient (|tanh′| ≤ 1)."""
    Wh = rho * p.Wh / np.linalg.norm(p.Wh, 2)
    dh = np.zeros_like(p.dh)
    dh[:, -1] = p.dh[:, -1]
    _, cache = sub.rnn_forward(p.x, p.h0, p.Wx, Wh, p.b)
    _, dh0, _, _, _ = sub.rnn_backward(dh, cache)
    T = p.x.shape[1]
    bound = rho**T * np.linalg.norm(dh[:, -1], axis=1)
    assert np.all(np.linalg.norm(dh0, axis=1) <= bound * (1 + 1e-9)), (
        f"‖dh0‖ = {np.linalg.norm(dh0, axis=1)} exceeds ρ^T‖dh_T‖ = {bound} (ρ = {rho:.3g}, T = {T})")
