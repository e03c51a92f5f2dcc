"""Fake value: clip_grad_norm returns its clipped gradients as arrays of dtype object (whose elements
could be anything, with any __eq__).

Object arrays never cross the boundary (their bytes are pointers): the check fails naming the dtype.
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 0, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_clip_grad_norm": "ndarray of dtype object"}


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: (g * scale).astype(object) for name, g in grads.items()}, total_norm
