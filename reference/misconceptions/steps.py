"""Mistakes inside one timestep: the activation, its derivative, the transposes, the bias.

Each function is the reference's (reference/rnn.py) with one line changed; the comment on
that line says what the mistake is. Caches are (x, prev_h, Wx, Wh, next_h) as in the
reference unless a mistake needs to keep something else.
"""

from __future__ import annotations

import numpy as np

from reference.rnn import rnn_step_backward as correct_step_backward


def step_forward_keeping_preactivation(x, prev_h, Wx, Wh, b):
    """rnn_step_forward whose cache keeps the pre-activation a in place of next_h."""
    a = x @ Wx + prev_h @ Wh + b
    return np.tanh(a), (x, prev_h, Wx, Wh, a)


def step_backward_tanh_from_preactivation(dnext_h, cache):
    x, prev_h, Wx, Wh, a = cache
    da = dnext_h * (1 - a**2)  # mistake: 1 - a², where tanh'(a) = 1 - tanh(a)² = 1 - next_h²
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def step_backward_from_da(da, cache):
    """The step's gradients once the pre-activation gradient da (N, H) is known."""
    x, prev_h, Wx, Wh, _ = cache
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def step_backward_tanh_applied_twice(dnext_h, cache):
    next_h = cache[4]
    return step_backward_from_da(dnext_h * (1 - np.tanh(next_h) ** 2), cache)  # mistake: tanh of next_h


def step_backward_tanh_parenthesis(dnext_h, cache):
    next_h = cache[4]
    return step_backward_from_da(dnext_h * (1 - next_h) ** 2, cache)  # mistake: (1 - h)² for 1 - h²


def step_forward_relu(x, prev_h, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    next_h = np.maximum(a, 0.0)  # mistake: ReLU in place of tanh
    return next_h, (x, prev_h, Wx, Wh, next_h)


def step_backward_relu(dnext_h, cache):
    return step_backward_from_da(dnext_h * (cache[4] > 0), cache)


def step_forward_sigmoid(x, prev_h, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    with np.errstate(over="ignore"):
        next_h = 1 / (1 + np.exp(-a))  # mistake: the logistic sigmoid in place of tanh
    return next_h, (x, prev_h, Wx, Wh, next_h)


def step_backward_sigmoid(dnext_h, cache):
    next_h = cache[4]
    return step_backward_from_da(dnext_h * next_h * (1 - next_h), cache)


def step_forward_unstable_tanh(x, prev_h, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    with np.errstate(over="ignore", invalid="ignore"):
        next_h = (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))  # mistake: inf/inf = NaN for large |a|
    return next_h, (x, prev_h, Wx, Wh, next_h)


def step_backward_dprev_h_untransposed(dnext_h, cache):
    dx, _, dWx, dWh, db = correct_step_backward(dnext_h, cache)
    da = dnext_h * (1 - cache[4] ** 2)
    return dx, da @ cache[3], dWx, dWh, db  # mistake: da·Wh where da·Whᵀ is due


def step_backward_dx_untransposed(dnext_h, cache):
    _, dprev_h, dWx, dWh, db = correct_step_backward(dnext_h, cache)
    da = dnext_h * (1 - cache[4] ** 2)
    return da @ cache[2], dprev_h, dWx, dWh, db  # mistake: da·Wx where da·Wxᵀ is due (fails unless D = H)


def step_backward_db_batch_mean(dnext_h, cache):
    dx, dprev_h, dWx, dWh, _ = correct_step_backward(dnext_h, cache)
    da = dnext_h * (1 - cache[4] ** 2)
    return dx, dprev_h, dWx, dWh, da.mean(axis=0)  # mistake: mean over the batch where the sum is due


def step_backward_dWh_from_current_state(dnext_h, cache):
    dx, dprev_h, dWx, _, db = correct_step_backward(dnext_h, cache)
    next_h = cache[4]
    da = dnext_h * (1 - next_h**2)
    return dx, dprev_h, dWx, next_h.T @ da, db  # mistake: h_t where h_{t-1} belongs


def step_forward_without_bias(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh)  # mistake: b left out
    return next_h, (x, prev_h, Wx, Wh, next_h)


def step_forward_Wh_transposed(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh.T + b)  # mistake: prev_h·Whᵀ (column-vector habit)
    return next_h, (x, prev_h, Wx, Wh, next_h)


MODELS = [
    ("tanh-derivative-from-preactivation", "1 - a² from the pre-activation kept in the cache",
     "your {outputs} {equal} what you get when tanh' is computed as 1 - a² from the pre-activation a "
     "instead of 1 - h² from the output h",
     {"rnn_step_forward": step_forward_keeping_preactivation, "rnn_step_backward": step_backward_tanh_from_preactivation}),
    ("tanh-applied-twice", "1 - tanh(next_h)²",
     "your {outputs} {equal} what you get when tanh' is computed as 1 - tanh(h)², applying tanh again to "
     "the output h, which is already tanh(a)",
     {"rnn_step_backward": step_backward_tanh_applied_twice}),
    ("tanh-derivative-parenthesis", "(1 - next_h)²",
     "your {outputs} {equal} what you get when tanh' is computed as (1 - h)² instead of 1 - h²",
     {"rnn_step_backward": step_backward_tanh_parenthesis}),
    ("wrong-activation", "ReLU forward, ReLU derivative backward",
     "your {outputs} {equal} what you get with a ReLU in place of tanh",
     {"rnn_step_forward": step_forward_relu, "rnn_step_backward": step_backward_relu}),
    ("wrong-activation", "sigmoid forward, sigmoid derivative backward",
     "your {outputs} {equal} what you get with a sigmoid in place of tanh",
     {"rnn_step_forward": step_forward_sigmoid, "rnn_step_backward": step_backward_sigmoid}),
    ("unstable-tanh", "tanh from exponentials",
     "your {outputs} {equal} what you get when tanh is computed from exponentials, "
     "(e^a - e^-a)/(e^a + e^-a), which gives NaN once |a| is large; use np.tanh",
     {"rnn_step_forward": step_forward_unstable_tanh}),
    ("missing-transpose", "dprev_h = da·Wh",
     "your {outputs} {equal} what you get when dprev_h is computed with Wh where Whᵀ belongs",
     {"rnn_step_backward": step_backward_dprev_h_untransposed}),
    ("missing-transpose", "dx = da·Wx",
     "your {outputs} {equal} what you get when dx is computed with Wx where Wxᵀ belongs",
     {"rnn_step_backward": step_backward_dx_untransposed}),
    ("batch-mean-not-sum", "db averaged over the batch",
     "your {outputs} {equal} what you get when db is averaged over the batch; b is added to every row, "
     "so its gradient is the sum over the batch",
     {"rnn_step_backward": step_backward_db_batch_mean}),
    ("wrong-state-in-dWh", "dWh from next_h",
     "your {outputs} {equal} what you get when dWh pairs each step's gradient with h_t where h_{{t-1}} "
     "belongs (Wh multiplies the state entering the step)",
     {"rnn_step_backward": step_backward_dWh_from_current_state}),
    ("bias-left-out", "rnn_step_forward without b",
     "your {outputs} {equal} what you get when the bias b is left out of the pre-activation",
     {"rnn_step_forward": step_forward_without_bias}),
    ("recurrent-weights-transposed", "prev_h·Whᵀ in the forward",
     "your {outputs} {equal} what you get when the recurrent term is prev_h·Whᵀ instead of prev_h·Wh",
     {"rnn_step_forward": step_forward_Wh_transposed}),
]
