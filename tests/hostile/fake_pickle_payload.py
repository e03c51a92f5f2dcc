"""Fake value: rnn_step_backward returns, instead of db, an object whose __reduce__ would run code in
whatever process unpickles it (it sets builtins.RNN_GRADE_UNPICKLED there).

Nothing is ever pickled across the boundary: the check fails naming the class, and the grading process
never runs the payload (test_hostile checks builtins after every grade).
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "Payload"}


class Payload:
    def __reduce__(self):
        return exec, ("import builtins; builtins.RNN_GRADE_UNPICKLED = True",)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, Payload()


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
