"""Gaming the inputs: right only where a lazy test suite looks. The step functions are right for a
batch of one and fall back to wrong formulas otherwise (Wh transposed in the forward step, db averaged
over the batch in the backward step); the sequence functions are right for T <= 4 and fall back to
wrong ones for longer sequences (every step fed h0 instead of h_{t-1}; no gradient carried back
through time).

It must still fail: the built-in checks draw N up to 4 and T up to 12, plus T = 300. test_hostile
grades it once with the built-in forward and backward checks, and every one of them must lose
points. (On the tiny checks, which use N = 2 except tiny_size_one, it loses the step
checks.)
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 0, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_forward": "wrong next_h", "tiny_step_backward": "wrong, compared with"}


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    recurrent = prev_h @ Wh if x.shape[0] == 1 else prev_h @ Wh.T
    next_h = np.tanh(x @ Wx + recurrent + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    db = da.sum(axis=0) if x.shape[0] == 1 else da.mean(axis=0)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, db


def step(x, prev_h, Wx, Wh, b):
    return np.tanh(x @ Wx + prev_h @ Wh + b)


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h = h0
    for t in range(T):
        h[:, t] = step(x[:, t], prev_h, Wx, Wh, b)
        if T <= 4:
            prev_h = h[:, t]
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = cache
    N, T, H = dh.shape
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    carried = np.zeros((N, H))
    for t in reversed(range(T)):
        da = (dh[:, t] + carried) * (1 - h[:, t] ** 2)
        prev_h = h[:, t - 1] if t > 0 else h0
        dx[:, t] = da @ Wx.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
        carried = da @ Wh.T if T <= 4 else np.zeros((N, H))
    return dx, carried, dWx, dWh, db


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
