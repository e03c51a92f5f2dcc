"""Temporal softmax loss whose loss is divided by N but whose dx is divided by mask.sum(): half of the
"softmax-normalised-by-unmasked" mistake. That model changes the loss too, which this file gets right, so it
must not be named (a diagnosis is never false)."""

import numpy as np


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    log_probs = x_flat - np.max(x_flat, axis=1, keepdims=True)
    log_probs -= np.log(np.sum(np.exp(log_probs), axis=1, keepdims=True))
    count = np.sum(mask_flat)
    loss = -np.sum(mask_flat * log_probs[np.arange(N * T), y_flat]) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= count
    dx_flat *= mask_flat[:, None]
    return loss, dx_flat.reshape(N, T, V)
