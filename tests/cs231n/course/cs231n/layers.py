"""A tiny stand-in for CS231n's cs231n/layers.py: the helpers rnn_layers.py gets from
``from cs231n.layers import *`` (numpy as np among them)."""
from builtins import range

import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db
