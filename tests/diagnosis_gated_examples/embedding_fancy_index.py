"""Word embedding whose backward accumulates with buffered fancy indexing, dW[x] += dout: a word that
occurs several times in x gets one occurrence's gradient. Model: "embedding-fancy-index-accumulate"."""

import numpy as np


def word_embedding_forward(x, W):
    out = W[x, :]
    return out, (x, W)


def word_embedding_backward(dout, cache):
    x, W = cache
    dW = np.zeros_like(W)
    dW[x] += dout
    return dW
