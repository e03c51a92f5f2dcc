"""Deliberately buggy submission for the harness tests (bug group: backward).

rnn_backward "cleans up" each step's upstream gradient with np.squeeze. That is harmless
until H = 1 (with N > 1): dh[:, t] becomes (N,), broadcasts against dprev_h (N, 1) to (N, N),
and the step backward raises. Only degenerate hidden size H = 1 shows it.

Otherwise identical to tests/corpus/correct/consuming_cache.py.
"""
import numpy as np

BUG_GROUP = "backward"
AFFECTED = ("rnn_backward", "birnn_backward", "rnn_classifier_loss")
MISCONCEPTION = None  # it only raises (ValueError), and an exception type alone names no misconception


class _StepTape:
    """What one timestep needs for its backward pass."""

    def __init__(self, x, prev_h, Wx, Wh, next_h):
        self.x = x
        self.prev_h = prev_h
        self.Wx = Wx
        self.Wh = Wh
        self.next_h = next_h

    def backward(self, dnext_h):
        dz = dnext_h * (1.0 - self.next_h * self.next_h)
        dx = dz @ self.Wx.T
        dprev_h = dz @ self.Wh.T
        dWx = self.x.T @ dz
        dWh = self.prev_h.T @ dz
        db = dz.sum(axis=0)
        return dx, dprev_h, dWx, dWh, db


class _WeightGrads:
    """Running sums of dWx, dWh, db over the timesteps."""

    def __init__(self):
        self.dWx = self.dWh = self.db = None

    def add(self, dWx, dWh, db):
        if self.dWx is None:
            self.dWx, self.dWh, self.db = dWx, dWh, db
        else:
            self.dWx = self.dWx + dWx
            self.dWh = self.dWh + dWh
            self.db = self.db + db


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, [_StepTape(x, prev_h, Wx, Wh, next_h)]


def rnn_step_backward(dnext_h, cache):
    tape = cache.pop()
    return tape.backward(dnext_h)


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    hs = []
    cache = []  # a stack of step caches: the backward pass pops the last step first
    prev_h = h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        hs.append(prev_h)
        cache.append(step_cache)
    return np.stack(hs, axis=1), cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    grads = _WeightGrads()
    dxs = []
    dprev_h = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(np.squeeze(dh[:, t, :]) + dprev_h, cache.pop())
        dxs.append(dx_t)
        grads.add(dWx_t, dWh_t, db_t)
    dx = np.stack(dxs[::-1], axis=1)
    return dx, dprev_h, grads.dWx, grads.dWh, grads.db


def rnn_backward_truncated(dh, cache, window):
    N, T, H = dh.shape
    grads = _WeightGrads()
    dxs = []
    carry = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        upstream = dh[:, t, :] + carry
        if (t + 1) % window == 0:
            # last step of a window: the next window started from a constant state,
            # so nothing flows back into this step from the future
            upstream = dh[:, t, :]
        dx_t, carry, dWx_t, dWh_t, db_t = rnn_step_backward(upstream, cache.pop())
        dxs.append(dx_t)
        grads.add(dWx_t, dWh_t, db_t)
    dx = np.stack(dxs[::-1], axis=1)
    return dx, carry, grads.dWx, grads.dWh, grads.db


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(np.square(g)) for g in grads.values()])))
    scale = 1.0
    if total_norm > max_norm:
        scale = max_norm / total_norm
    # out=: a fresh array of g's shape, also for 0-d g (where g * scale would be a NumPy scalar)
    clipped = {name: np.multiply(g, scale, out=np.empty_like(g)) for name, g in grads.items()}
    return clipped, total_norm


def birnn_forward(x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b):
    h_f, cache_f = rnn_forward(x, h0_f, Wx_f, Wh_f, b_f)
    h_b, cache_b = rnn_forward(x[:, ::-1], h0_b, Wx_b, Wh_b, b_b)
    h = np.concatenate([h_f, h_b[:, ::-1]], axis=-1)
    return h, [cache_f, cache_b]


def birnn_backward(dh, cache):
    H = dh.shape[-1] // 2
    cache_b = cache.pop()
    cache_f = cache.pop()
    dx_b, dh0_b, dWx_b, dWh_b, db_b = rnn_backward(dh[:, ::-1, H:], cache_b)
    dx_f, dh0_f, dWx_f, dWh_f, db_f = rnn_backward(dh[:, :, :H], cache_f)
    return dx_f + dx_b[:, ::-1], dh0_f, dWx_f, dWh_f, db_f, dh0_b, dWx_b, dWh_b, db_b


def rnn_classifier_loss(x, y, h0, Wx, Wh, b, W2, b2):
    N = x.shape[0]
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    last = h[:, -1, :]
    z = last @ W2 + b2
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    prob = np.exp(z - np.logaddexp(0.0, z))  # sigmoid(z) = e^z / (1 + e^z)
    dz = (prob - y) / N
    dh = np.zeros_like(h)
    dh[:, -1, :] = dz[:, None] * W2[None, :]
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    grads = dict(x=dx, h0=dh0, Wx=dWx, Wh=dWh, b=db, W2=last.T @ dz, b2=np.array([dz.sum()]))
    return float(loss), grads


def tbptt_batches(series, batch_size, window):
    series = np.asarray(series)
    L = series.shape[0]
    stride = L // batch_size
    num_windows = stride // window
    feat = series.shape[1:]
    rows = series[:batch_size * stride].reshape((batch_size, stride) + feat)
    rows = rows[:, :num_windows * window].reshape((batch_size, num_windows, window) + feat)
    return rows.swapaxes(0, 1).copy()  # C-ordered copy, never a view of the input
