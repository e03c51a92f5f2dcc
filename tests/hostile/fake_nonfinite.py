"""Fake values: rnn_step_backward puts a NaN into dx (NaN compares unequal to everything, so a careless
"no entry differs" test passes), and clip_grad_norm returns total_norm = inf.

Both are rejected before any comparison, each check naming the non-finite value.
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 0, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "contains NaN or inf", "tiny_clip_grad_norm": "is inf; it must be finite"}


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    dx = da @ Wx.T
    dx[0, 0] = np.nan
    return dx, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, float("inf")
