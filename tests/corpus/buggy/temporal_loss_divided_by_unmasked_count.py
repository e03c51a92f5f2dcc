"""Temporal softmax loss divided by the number of unmasked positions instead of the batch size N.

A copy of reference/embedding.py's temporal layers, written as a student would (CS231n's
flattened form, with a log-softmax), with one bug: the loss and dx are divided by mask.sum(), a "mean over the real
words", where CS231n divides by N. Equal only when exactly N positions are unmasked.
"""

import numpy as np

BUG_GROUP = "temporal"
AFFECTED = ("temporal_softmax_loss",)
MISCONCEPTION = "softmax-normalised-by-unmasked"


def temporal_affine_forward(x, w, b):
    N, T, D = x.shape
    M = b.shape[0]
    out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b
    cache = x, w, b, out
    return out, cache


def temporal_affine_backward(dout, cache):
    x, w, b, out = cache
    N, T, D = x.shape
    M = b.shape[0]
    dx = dout.reshape(N * T, M).dot(w.T).reshape(N, T, D)
    dw = dout.reshape(N * T, M).T.dot(x.reshape(N * T, D)).T
    db = dout.sum(axis=(0, 1))
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)

    shifted = x_flat - np.max(x_flat, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    probs = np.exp(log_probs)
    count = np.sum(mask_flat)  # BUG: the number of real words, not the batch size N
    loss = -np.sum(mask_flat * log_probs[np.arange(N * T), y_flat]) / count
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= count
    dx_flat *= mask_flat[:, None]
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    dx = dx_flat.reshape(N, T, V)
    return loss, dx
