"""truncated: chunked truncated BPTT, windows of `window` steps from t = 0, no gradient across.

The forward pass runs over the whole sequence; the state entering each window after the first
is a constant (``detach()`` in PyTorch). So truncated BPTT is full BPTT of each window on its
own, summed:

    (a) window ≥ T                      → exactly full BPTT
    (b) any window                      → the reference
    (c) any window                      → Σ over windows of your own rnn_backward on that window,
                                          started from the (constant) state that enters it
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from checks.engine.isolation.batch_calls import Call, forward_then_backward, in_sequence
from checks.examples import DEGENERATE, LONG
from checks.registry import check
from checks.strategies import RNNProblem, rnn_problems, truncation_windows
from checks.verdicts import assert_all_close

GRADIENTS = ("dx", "dh0", "dWx", "dWh", "db")
NEEDS = ("rnn_forward", "rnn_backward_truncated")


class TruncatedProblem(NamedTuple):
    """An RNN problem and a truncation window (so a failing example names both)."""

    p: RNNProblem
    window: int


@st.composite
def truncated_problems(draw):
    """An RNN problem with T ≥ 2 and a window 1 ≤ w < T that does not divide T (when one exists)."""
    p = draw(rnn_problems(min_t=2))
    return TruncatedProblem(p, draw(truncation_windows(p.x.shape[1])))


def truncated(p, window: int) -> list[Call]:
    """The calls of rnn_backward_truncated on p, for ``Submission.batch``: a forward, the backward on its cache."""
    return forward_then_backward("rnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b), "rnn_backward_truncated", p.dh, window)


def full_bptt(p) -> list[Call]:
    """The calls of full BPTT on p: a forward, and rnn_backward on its cache."""
    return forward_then_backward("rnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b), "rnn_backward", p.dh)


def gradients(results: list) -> dict:
    """The named gradients of a (forward, backward) pair's results."""
    return dict(zip(GRADIENTS, results[1]))


@check(group="truncated", points=3, needs=(*NEEDS, "rnn_backward"))
@given(p=rnn_problems(), extra=st.integers(0, 5))
@example(p=DEGENERATE, extra=0)
@example(p=LONG, extra=0)
def window_covering_sequence_is_full_bptt(sub, p, extra):
    """With window ≥ T, rnn_backward_truncated equals your own rnn_backward."""
    T = p.x.shape[1]
    results = sub.batch(in_sequence(full_bptt(p), truncated(p, T + extra)))
    assert_all_close(gradients(results[2:]), gradients(results), f"your own full BPTT (window {T + extra} ≥ T = {T})")


@check(group="truncated", points=5, needs=NEEDS, reference=True)
@given(problem=truncated_problems())
@example(problem=(LONG, 7))
def truncated_matches_reference(sub, problem):
    """With window < T (not dividing T), rnn_backward_truncated equals the reference."""
    import reference

    p, window = problem
    _, reference_cache = reference.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    expected = dict(zip(GRADIENTS, reference.rnn_backward_truncated(p.dh, reference_cache, window)))
    assert_all_close(gradients(sub.batch(truncated(p, window))), expected,
                     f"the reference (window {window}, T = {p.x.shape[1]})")


@check(group="truncated", points=4, needs=(*NEEDS, "rnn_backward"))
@given(problem=truncated_problems())
@example(problem=(LONG, 7))
def truncated_is_sum_of_window_backprops(sub, problem):
    """Truncated BPTT = Σ over windows of your own rnn_backward, entering state held constant."""
    p, window = problem
    results = sub.batch(truncated(p, window))
    h, _ = results[0]
    assert_all_close(gradients(results), windowwise_backprop(sub, p, h, window),
                     f"the sum of your own rnn_backward over windows of {window} steps")


def windowwise_backprop(sub, p, h: np.ndarray, window: int) -> dict:
    """Full BPTT of each window on its own, from the state h_{s−1} entering it, summed over windows."""
    T = p.x.shape[1]
    total = {"dx": np.zeros_like(p.x), "dWx": np.zeros_like(p.Wx), "dWh": np.zeros_like(p.Wh),
             "db": np.zeros_like(p.b)}
    starts = range(0, T, window)
    windows = [forward_then_backward("rnn_forward", (p.x[:, start:start + window], entering_state(p.h0, h, start),
                                                     p.Wx, p.Wh, p.b), "rnn_backward", p.dh[:, start:start + window])
               for start in starts]
    for start, (dx, dh_entering, dWx, dWh, db) in zip(starts, sub.batch(in_sequence(*windows))[1::2]):
        total["dx"][:, start:start + window] = dx
        total["dWx"] += dWx
        total["dWh"] += dWh
        total["db"] += db
        if start == 0:
            total["dh0"] = dh_entering
    return {name: total[name] for name in GRADIENTS}


def entering_state(h0: np.ndarray, h: np.ndarray, start: int) -> np.ndarray:
    """The state entering the window that starts at step ``start`` of a run from h0 with states h (N, T, H):
    h0, or h_{start−1}."""
    return h0 if start == 0 else h[:, start - 1]
