"""Hang: rnn_step_forward never returns, and every tiny check but the clipping one calls it.

The first check waits out one call timeout; the two later checks that need rnn_step_forward fail
at once with the same reason, naming the sizes of the call that hung, while clipping passes. This
is also the submission of the whole-run deadline test: with --deadline shorter than one call
timeout, the run ends at the deadline and the checks not started get 0 with a message naming the
deadline.
"""

import time

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 0, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 0}
EXPECTED_MESSAGES = {"tiny_step_forward": "rnn_step_forward did not finish within 1.5 s on N=",
                     "tiny_step_backward": "in an earlier check, rnn_step_forward did not finish within 1.5 s on N=",
                     "tiny_size_one": "in an earlier check, rnn_step_forward did not finish within 1.5 s on N="}
GRADE_OPTIONS = {"call_timeout": 1.5}


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    while True:
        time.sleep(1000)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
