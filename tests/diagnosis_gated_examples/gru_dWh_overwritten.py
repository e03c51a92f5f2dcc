"""GRU whose backward assigns dWh at each step (dWh = ...) instead of summing it over time.
Model: "weights-overwritten-not-summed"."""

import numpy as np


def sigmoid(a):
    return np.exp(-np.logaddexp(0, -a))


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    gx = x @ Wx + bx
    gh = prev_h @ Wh + bh
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, r, z, n, gh[:, 2 * H:])


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, r, z, n, hn = cache
    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    dan = dn * (1 - n ** 2)
    dar = dan * hn * r * (1 - r)
    daz = dz * z * (1 - z)
    dgx = np.concatenate((dar, daz, dan), axis=1)
    dgh = np.concatenate((dar, daz, dan * r), axis=1)
    dprev_h = dnext_h * z + dgh @ Wh.T
    return dgx @ Wx.T, dprev_h, x.T @ dgx, prev_h.T @ dgh, dgx.sum(0), dgh.sum(0)


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
        grads[1] = g[1]
    return (dx, dprev, *grads)
