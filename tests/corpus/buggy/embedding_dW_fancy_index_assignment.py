"""Word embedding whose backward writes ``dW[x] += dout``: a repeated word keeps one gradient.

A copy of reference/embedding.py's word embedding, written as a student would, with one bug:
``dW[x] += dout`` is buffered fancy indexing, so a row that x names k times is written once, with
the gradient of one occurrence, instead of the sum of all k (``np.add.at(dW, x, dout)``). Right
whenever no word repeats; the embedding problems always repeat one.
"""

import numpy as np

BUG_GROUP = "embedding"
AFFECTED = ("word_embedding_backward",)
MISCONCEPTION = "embedding-fancy-index-accumulate"


def word_embedding_forward(x, W):
    out = W[x]
    cache = (x, W)
    return out, cache


def word_embedding_backward(dout, cache):
    x, W = cache
    dW = np.zeros_like(W)
    dW[x] += dout  # BUG: a repeated index is written once, not accumulated
    return dW
