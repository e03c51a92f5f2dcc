"""Deliberately buggy submission for the harness tests (bug group: tanh).

The parenthesis typo (1 - h)² for 1 - h² in rnn_step_backward and, written again, in the helper
of rnn_backward and rnn_backward_truncated, which never call rnn_step_backward. Root-cause
attribution must not say that the failures of rnn_backward "probably follow from
rnn_step_backward": they are the same mistake made twice (issue 20).

Otherwise identical to tests/corpus/correct/einsum_dict_cache.py.
"""
import numpy as np

BUG_GROUP = "tanh"
AFFECTED = ("rnn_step_backward", "rnn_backward", "rnn_backward_truncated", "birnn_backward", "rnn_classifier_loss")
MISCONCEPTION = "tanh-derivative-parenthesis"


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    z = np.einsum('nd,dh->nh', x, Wx) + np.einsum('nk,kh->nh', prev_h, Wh) + b
    next_h = np.tanh(z)
    cache = {'x': x, 'prev_h': prev_h, 'Wx': Wx, 'Wh': Wh, 'next_h': next_h}
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    dz = dnext_h * (1.0 - cache['next_h']) ** 2  # mistake: (1 - h)², where 1 - h² is due
    dx = np.einsum('nh,dh->nd', dz, cache['Wx'])
    dprev_h = np.einsum('nh,kh->nk', dz, cache['Wh'])
    dWx = np.einsum('nd,nh->dh', cache['x'], dz)
    dWh = np.einsum('nk,nh->kh', cache['prev_h'], dz)
    db = np.einsum('nh->h', dz)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    xw = np.einsum('ntd,dh->nth', x, Wx) + b  # input part of every pre-activation at once
    h = np.empty((N, T, H))
    prev = h0
    for t in range(T):
        prev = np.tanh(xw[:, t] + np.einsum('nk,kh->nh', prev, Wh))
        h[:, t] = prev
    cache = {'x': x, 'h0': h0, 'Wx': Wx, 'Wh': Wh, 'h': h}
    return h, cache


def _backprop(dh, cache, window):
    """BPTT over windows of `window` steps starting at t = 0 (window >= T: full BPTT)."""
    x, h0, Wx, Wh, h = cache['x'], cache['h0'], cache['Wx'], cache['Wh'], cache['h']
    N, T, H = dh.shape
    h_prev = np.concatenate([h0[:, None, :], h[:, :-1, :]], axis=1)  # h_{t-1} for every t
    dz = np.empty((N, T, H))
    carry = np.zeros((N, H))
    dh0 = None
    for t in range(T - 1, -1, -1):
        dz[:, t] = (dh[:, t] + carry) * (1.0 - h[:, t]) ** 2  # mistake: the same typo
        dprev = np.einsum('nh,kh->nk', dz[:, t], Wh)
        if t == 0:
            dh0 = dprev
        # a window opens at t: the state entering it is a constant, nothing flows further back
        carry = np.zeros((N, H)) if t % window == 0 else dprev
    dx = np.einsum('nth,dh->ntd', dz, Wx)
    dWx = np.einsum('ntd,nth->dh', x, dz)
    dWh = np.einsum('ntk,nth->kh', h_prev, dz)
    db = np.einsum('nth->h', dz)
    return dx, dh0, dWx, dWh, db


def rnn_backward(dh, cache):
    return _backprop(dh, cache, dh.shape[1])


def rnn_backward_truncated(dh, cache, window):
    return _backprop(dh, cache, window)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(sum(np.vdot(g, g) for g in grads.values())))
    factor = max_norm / total_norm if total_norm > max_norm else 1.0
    # g * factor is a new array (asarray: a 0-d array times a float would be a NumPy scalar)
    clipped = {name: np.asarray(g * factor) for name, g in grads.items()}
    return clipped, total_norm


def birnn_forward(x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b):
    h_f, cache_f = rnn_forward(x, h0_f, Wx_f, Wh_f, b_f)
    h_b, cache_b = rnn_forward(np.flip(x, axis=1), h0_b, Wx_b, Wh_b, b_b)
    h = np.concatenate((h_f, np.flip(h_b, axis=1)), axis=-1)
    return h, {'fwd': cache_f, 'bwd': cache_b, 'H': h_f.shape[-1]}


def birnn_backward(dh, cache):
    H = cache['H']
    dx_f, dh0_f, dWx_f, dWh_f, db_f = rnn_backward(dh[..., :H], cache['fwd'])
    dx_b, dh0_b, dWx_b, dWh_b, db_b = rnn_backward(np.flip(dh[..., H:], axis=1), cache['bwd'])
    dx = dx_f + np.flip(dx_b, axis=1)
    return dx, dh0_f, dWx_f, dWh_f, db_f, dh0_b, dWx_b, dWh_b, db_b


def rnn_classifier_loss(x, y, h0, Wx, Wh, b, W2, b2):
    N = x.shape[0]
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    h_T = h[:, -1]
    z = np.einsum('nh,h->n', h_T, W2) + b2
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    p = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid(z), bounded for any z
    dz = (p - y) / N
    dh = np.zeros_like(h)
    dh[:, -1] = np.einsum('n,h->nh', dz, W2)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    grads = {
        'x': dx, 'h0': dh0, 'Wx': dWx, 'Wh': dWh, 'b': db,
        'W2': np.einsum('n,nh->h', dz, h_T),
        'b2': np.sum(dz, keepdims=True),
    }
    return float(loss), grads


def tbptt_batches(series, batch_size, window):
    series = np.asarray(series)
    stride = series.shape[0] // batch_size
    num_windows = stride // window
    idx = (np.arange(num_windows)[:, None, None] * window
           + np.arange(batch_size)[None, :, None] * stride
           + np.arange(window)[None, None, :])
    return series[idx]  # fancy indexing: (num_windows, batch_size, window, *features), a copy
