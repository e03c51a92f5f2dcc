"""Failing once: rnn_step_forward is right, except that its very first call returns a wrong next_h.

Whoever grades it sees a failure that does not come back when the same example is run again. The
ordinary run calls that flaky, and a grade drawn ahead (``checks.engine.run.lookahead``) reruns the
check the ordinary way, where it passes: either way the failure stands, and the check that made the
first call (tiny_step_forward) loses its points.
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 0, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_forward": "different results for the same inputs"}

CALLS = [0]


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    CALLS[0] += 1
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return (next_h + 1.0 if CALLS[0] == 1 else next_h), (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
