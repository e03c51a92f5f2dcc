"""Fake value: rnn_step_backward returns db tiled to shape (N, H), every row the right db, which
broadcasting would let pass an elementwise comparison.

Shapes are checked exactly first: the check fails naming both shapes. (Only a shape off by axes of
length 1, a keepdims (1, H), is judged by value under the default policy, and charged once in
hygiene's exact-shape check: tests/test_profiles.py.)
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "has shape (2, 4); the contract says"}


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, np.tile(da.sum(axis=0), (len(da), 1))


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
