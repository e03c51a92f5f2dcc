"""GRU as the original paper (Cho et al. 2014) and some textbooks write it: the reset gate multiplies
prev_h before Wh_n, n = tanh(x·Wx_n + bx_n + (r * prev_h)·Wh_n + bh_n), forward and backward.
Model: "gru-reset-before-matmul"."""

import numpy as np


def sigmoid(a):
    return np.exp(-np.logaddexp(0, -a))


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    gx = x @ Wx + bx
    gh = prev_h @ Wh + bh
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    rh = r * prev_h
    n = np.tanh(gx[:, 2 * H:] + rh @ Wh[:, 2 * H:] + bh[2 * H:])
    next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, r, z, n, rh)


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, r, z, n, rh = cache
    H = prev_h.shape[1]
    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    dan = dn * (1 - n ** 2)
    drh = dan @ Wh[:, 2 * H:].T
    dar = drh * prev_h * r * (1 - r)
    daz = dz * z * (1 - z)
    dgx = np.concatenate((dar, daz, dan), axis=1)
    drz = np.concatenate((dar, daz), axis=1)
    dprev_h = dnext_h * z + drz @ Wh[:, :2 * H].T + drh * r
    dWh = np.concatenate((prev_h.T @ drz, rh.T @ dan), axis=1)
    return dgx @ Wx.T, dprev_h, x.T @ dgx, dWh, dgx.sum(0), dgx.sum(0)


def gru_forward(x, h0, Wx, Wh, bx, bh):
    N, T, D = x.shape
    hs, caches = [], []
    h = h0
    for t in range(T):
        h, c = gru_step_forward(x[:, t], h, Wx, Wh, bx, bh)
        hs.append(h)
        caches.append(c)
    return np.stack(hs, axis=1) if hs else np.zeros((N, 0, h0.shape[1])), (caches, x.shape, h0.shape, Wx.shape, Wh.shape)


def gru_backward(dh, cache):
    caches, x_shape, h_shape, Wx_shape, Wh_shape = cache
    dx = np.zeros(x_shape)
    grads = [np.zeros(Wx_shape), np.zeros(Wh_shape), np.zeros(Wx_shape[1]), np.zeros(Wh_shape[1])]
    dprev = np.zeros(h_shape)
    for t in range(x_shape[1] - 1, -1, -1):
        dx[:, t], dprev, *g = gru_step_backward(dh[:, t] + dprev, caches[t])
        grads = [a + b for a, b in zip(grads, g)]
    return (dx, dprev, *grads)
