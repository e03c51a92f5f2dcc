"""LSTM whose forward starts the cell state from h0 (prev_c = h0) instead of c0 = 0; the backward is right for
the caches it is given. Model: "lstm-c0-from-h0"."""

import numpy as np


def sigmoid(x):
    pos = x >= 0
    z = np.exp(np.where(pos, -x, x))
    return np.where(pos, 1 / (1 + z), z / (1 + z))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i = sigmoid(a[:, 0:H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:4 * H])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    t = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - t * t)
    di = dc * g * i * (1 - i)
    df = dc * prev_c * f * (1 - f)
    dg = dc * i * (1 - g * g)
    do = dnext_h * t * o * (1 - o)
    da = np.hstack((di, df, do, dg))
    return da.dot(Wx.T), da.dot(Wh.T), dc * f, x.T.dot(da), prev_h.T.dot(da), np.sum(da, axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h, prev_c = h0, h0
    caches = []
    for t in range(T):
        prev_h, prev_c, c = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        caches.append(c)
    return h, (caches, D)


def lstm_backward(dh, cache):
    caches, D = cache
    N, T, H = dh.shape
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
