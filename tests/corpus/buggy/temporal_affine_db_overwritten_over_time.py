"""Temporal affine backward whose db is overwritten at every step instead of summed over time.

A copy of reference/embedding.py's temporal layers, written as a student would: the backward
loops over time, adding dx and dw step by step, but assigns db = dout[:, t].sum(axis=0), so only
the last step's bias gradient is left (as dWh_overwritten.py does for the RNN). Right only for
T = 1.
"""

import numpy as np

BUG_GROUP = "temporal"
AFFECTED = ("temporal_affine_backward",)
MISCONCEPTION = None


def temporal_affine_forward(x, w, b):
    N, T, D = x.shape
    M = b.shape[0]
    out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b
    cache = x, w, b, out
    return out, cache


def temporal_affine_backward(dout, cache):
    x, w, b, out = cache
    N, T, D = x.shape
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for t in range(T):
        dx[:, t, :] = dout[:, t, :].dot(w.T)
        dw += x[:, t, :].T.dot(dout[:, t, :])
        db = dout[:, t, :].sum(axis=0)  # BUG: overwritten at every step, not summed over time
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)

    shifted = x_flat - np.max(x_flat, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    probs = np.exp(log_probs)
    loss = -np.sum(mask_flat * log_probs[np.arange(N * T), y_flat]) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    dx_flat *= mask_flat[:, None]
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    dx = dx_flat.reshape(N, T, V)
    return loss, dx
