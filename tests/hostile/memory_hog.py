"""Memory: rnn_step_backward allocates 1 GiB (and touches every page) before answering correctly.

Graded with a 512 MiB cap (--memory-limit 512): the allocation fails inside the worker, the check
that called it fails with "memory limit exceeded", and the machine never sees the gigabyte. Without
a cap the allocation would succeed and every check would pass, so this case proves the cap is on.
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "memory limit exceeded"}
GRADE_OPTIONS = {"memory_limit_mib": 512}


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    hoard = np.ones((1 << 27,))  # 1 GiB of float64, every page written
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2) + 0 * hoard[0]
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
