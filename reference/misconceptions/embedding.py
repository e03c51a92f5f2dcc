"""Mistakes of the word embedding and the temporal softmax loss (reference/embedding.py).

Each function is the reference's with one line changed, marked "mistake".
"""

from __future__ import annotations

import numpy as np


def word_embedding_backward_fancy_index(dout, cache):
    x, W_shape = cache
    dW = np.zeros(W_shape)
    dW[x] += dout  # mistake: buffered fancy indexing, a repeated word keeps one gradient (its last), not the sum
    return dW


def temporal_softmax_loss_by_unmasked(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_rows, y_rows = x.reshape(N * T, V), y.reshape(N * T)
    keep = mask.reshape(N * T).astype(bool)
    rows = np.arange(N * T)
    shifted = x_rows - x_rows.max(axis=1, keepdims=True)
    exp_shifted = np.exp(shifted)
    sum_exp = exp_shifted.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(sum_exp)
    probs = exp_shifted / sum_exp
    count = keep.sum()  # mistake: the number of unmasked positions, where the batch size N is due
    with np.errstate(divide="ignore", invalid="ignore"):  # no unmasked position: 0 / 0, as the student's gives
        loss = float(np.where(keep, -log_probs[rows, y_rows], 0.0).sum() / count)
        dx_rows = probs.copy()
        dx_rows[rows, y_rows] -= 1.0
        dx_rows = np.where(keep[:, None], dx_rows, 0.0) / count
    return loss, dx_rows.reshape(N, T, V)


MODELS = [
    ("embedding-fancy-index-accumulate", "dW[x] += dout",
     "your {outputs} {equal} what you get with dW[x] += dout: a word that occurs several times in x gets "
     "the gradient of one occurrence only, where the sum over all of them is due (np.add.at adds them all)",
     {"word_embedding_backward": word_embedding_backward_fancy_index}),
    ("softmax-normalised-by-unmasked", "loss and dx divided by mask.sum()",
     "your {outputs} {equal} what you get when the loss and dx are divided by the number of unmasked "
     "positions, mask.sum(), instead of by the batch size N",
     {"temporal_softmax_loss": temporal_softmax_loss_by_unmasked}),
]
