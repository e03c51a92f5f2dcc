"""Forging reply fields in batches, on the real checks: a correct submission (the CS231n-style one of
tests/corpus/correct) whose import replaces the worker's write_message (the worker runs
checks.engine.isolation.worker as __main__ in the submission's own process), so that in every batch's reply each
answer that reports the call's arguments afterwards (the hygiene checks' look at inputs) says
"arguments_after": 7, and the answer to the first call of each later batch says "raised": 42.

The tiny checks make no batch: full marks. On the real checks (test_hostile's own test) this used to
end the grade with exit 2 and no results.json: the forged fields reached the diagnosis. Now each is a
malformed reply, the submission's fault like a crash of the worker, and the report is complete.
"""
import sys

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}

WORKER = sys.modules["__main__"]
REAL_WRITE = getattr(WORKER, "write_message", None)


def forged_write(stream, message):
    answers = message.get("answers") if type(message) is dict else None
    if type(answers) is list:
        forged = [{**answer, "arguments_after": 7} if "arguments_after" in answer else answer for answer in answers]
        if forged == answers and "value" in answers[0]:
            forged[0] = {"raised": 42}
        message = {"answers": forged}
    return REAL_WRITE(stream, message)


if REAL_WRITE is not None:
    WORKER.write_message = forged_write


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One timestep of a vanilla RNN with a tanh activation.

    Inputs: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns next_h (N, H) and a cache for the backward pass.
    """
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    next_h = np.tanh(a)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """Backward pass of one timestep. Returns dx, dprev_h, dWx, dWh, db."""
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a vanilla RNN forward on a whole sequence x (N, T, D); returns h (N, T, H)."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    prev_h = h0
    for t in range(T):
        next_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = next_h
        cache.append(step_cache)
        prev_h = next_h
    return h, cache


def rnn_backward(dh, cache):
    """Full backpropagation through time. dh (N, T, H) is the upstream gradient of every h_t."""
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db


def rnn_backward_truncated(dh, cache, window):
    """Truncated BPTT: cut the sequence into windows of `window` steps from t = 0 and run
    full BPTT inside every window; the state entering a window is treated as a constant."""
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    dh0 = None
    for start in range(0, T, window):
        stop = min(start + window, T)
        dx_c, dh_in, dWx_c, dWh_c, db_c = rnn_backward(dh[:, start:stop, :], cache[start:stop])
        dx[:, start:stop, :] = dx_c
        dWx += dWx_c
        dWh += dWh_c
        db += db_c
        if start == 0:
            dh0 = dh_in  # only the first window reaches h0; later ones stop at a constant
    return dx, dh0, dWx, dWh, db


def clip_grad_norm(grads, max_norm):
    """Global-norm gradient clipping. Returns (new dict of clipped arrays, pre-clip norm)."""
    total_norm = 0.0
    for g in grads.values():
        total_norm += np.sum(g ** 2)
    total_norm = float(np.sqrt(total_norm))
    clipped = {}
    for name, g in grads.items():
        clipped[name] = g.copy()  # never hand back (or scale) the caller's array
        if total_norm > max_norm:
            clipped[name] *= max_norm / total_norm
    return clipped, total_norm


def birnn_forward(x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b):
    """Bidirectional RNN: h[..., :H] runs forward in time, h[..., H:] runs backward in
    time; both are aligned to the input time steps."""
    h_f, cache_f = rnn_forward(x, h0_f, Wx_f, Wh_f, b_f)
    h_b_rev, cache_b = rnn_forward(x[:, ::-1, :], h0_b, Wx_b, Wh_b, b_b)
    h = np.concatenate([h_f, h_b_rev[:, ::-1, :]], axis=2)
    cache = (cache_f, cache_b)
    return h, cache


def birnn_backward(dh, cache):
    """Backward pass of birnn_forward."""
    cache_f, cache_b = cache
    H = dh.shape[2] // 2
    dx_f, dh0_f, dWx_f, dWh_f, db_f = rnn_backward(dh[:, :, :H], cache_f)
    dx_b_rev, dh0_b, dWx_b, dWh_b, db_b = rnn_backward(dh[:, ::-1, H:], cache_b)
    dx = dx_f + dx_b_rev[:, ::-1, :]
    return dx, dh0_f, dWx_f, dWh_f, db_f, dh0_b, dWx_b, dWh_b, db_b


def rnn_classifier_loss(x, y, h0, Wx, Wh, b, W2, b2):
    """Many-to-one binary classifier on the last hidden state; mean binary cross-entropy."""
    N = x.shape[0]
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    h_T = h[:, -1, :]
    z = h_T.dot(W2) + b2
    # -[y log s + (1 - y) log(1 - s)] with s = sigmoid(z) equals log(1 + e^z) - y z
    loss = np.mean(np.logaddexp(0, z) - y * z)
    s = np.exp(-np.logaddexp(0, -z))  # sigmoid(z), without overflow
    dz = (s - y) / N
    dW2 = h_T.T.dot(dz)
    db2 = np.array([np.sum(dz)])
    dh = np.zeros_like(h)
    dh[:, -1, :] = np.outer(dz, W2)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    grads = {'x': dx, 'h0': dh0, 'Wx': dWx, 'Wh': dWh, 'b': db, 'W2': dW2, 'b2': db2}
    return float(loss), grads


def tbptt_batches(series, batch_size, window):
    """Lay a long series out for truncated BPTT: (num_windows, batch_size, window, ...)."""
    L = series.shape[0]
    stride = L // batch_size
    num_windows = stride // window
    batches = np.zeros((num_windows, batch_size, window) + series.shape[1:], dtype=series.dtype)
    for k in range(num_windows):
        for i in range(batch_size):
            start = i * stride + k * window
            batches[k, i] = series[start:start + window]
    return batches
