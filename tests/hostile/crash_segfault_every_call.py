"""Crash: rnn_step_forward reads address 0 through ctypes on every call: the worker dies of SIGSEGV.

Three tiny checks call rnn_step_forward. The first crash fails only its check; the second condemns
the function, and the third check fails at once, without a worker, saying it crashed twice.
Clipping never calls it and passes.
"""

import ctypes

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 0, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 0}
EXPECTED_MESSAGES = {
    "tiny_step_forward": "died while running rnn_step_forward on N=",
    "tiny_step_backward": "rnn_step_forward has now crashed twice, so later checks will not call it",
    "tiny_size_one": "in an earlier check, rnn_step_forward crashed the worker process twice, the second time on N=",
}


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    return ctypes.string_at(0)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
