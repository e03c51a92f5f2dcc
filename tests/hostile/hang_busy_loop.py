"""Hang: rnn_step_backward spins forever in a busy loop (pure Python, holds the GIL).

Only the check that calls it fails, after the per-call timeout; the worker is killed and a fresh one
grades the remaining checks normally.
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "rnn_step_backward did not finish within 2 s on N="}


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    while True:
        pass


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
