"""Correct submission, vectorised with np.einsum, caches are dicts.

rnn_forward projects every input step at once and only loops over the recurrence;
rnn_backward and rnn_backward_truncated share one helper that loops over time to get the
pre-activation gradients and then forms dx, dWx, dWh and db with single einsums over all
steps. rnn_forward does not call rnn_step_forward and the sequence backward passes do not
call rnn_step_backward.
"""
import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    z = np.einsum('nd,dh->nh', x, Wx) + np.einsum('nk,kh->nh', prev_h, Wh) + b
    next_h = np.tanh(z)
    cache = {'x': x, 'prev_h': prev_h, 'Wx': Wx, 'Wh': Wh, 'next_h': next_h}
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    dz = dnext_h * (1.0 - cache['next_h'] ** 2)
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
        dz[:, t] = (dh[:, t] + carry) * (1.0 - h[:, t] ** 2)
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


# ----------------------------------------------------------------------------------------------
# LSTM, GRU, word embedding, temporal layers and the captioning model, vectorised the same way:
# the gates are computed stacked (one sigmoid over the i, f, o blocks, one over r, z), the input
# side of every step is projected at once, the sequence backward passes collect the
# pre-activation gradients of all steps and form the weight gradients with one einsum each.


def _sigmoid(a):
    """σ(a) = exp(-log(1 + e^(-a))): logaddexp never overflows, and small values keep their precision."""
    return np.exp(-np.logaddexp(0.0, -a))


def _lstm_cell(a, prev_c):
    """Gate values (N, 4H) stacked i, f, o, g from the pre-activations a, and the new cell state."""
    H = prev_c.shape[-1]
    gates = np.concatenate((_sigmoid(a[..., :3 * H]), np.tanh(a[..., 3 * H:])), axis=-1)
    i, f, g = gates[..., :H], gates[..., H:2 * H], gates[..., 3 * H:]
    return gates, f * prev_c + i * g


def _lstm_cell_backward(dh, dc_next, gates, prev_c, next_c):
    """Pre-activation gradients (N, 4H) of one step, and dprev_c; dh, dc_next are dL/dh_t, dL/dc_t from outside."""
    H = prev_c.shape[-1]
    i, f, o, g = (gates[..., k * H:(k + 1) * H] for k in range(4))
    tc = np.tanh(next_c)
    dc = dc_next + dh * o * (1.0 - tc * tc)
    dgates = np.concatenate((dc * g, dc * prev_c, dh * tc, dc * i), axis=-1)
    slopes = np.concatenate((gates[..., :3 * H] * (1.0 - gates[..., :3 * H]), 1.0 - g * g), axis=-1)
    return dgates * slopes, dc * f


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    a = np.einsum('nd,dk->nk', x, Wx) + np.einsum('nj,jk->nk', prev_h, Wh) + b
    gates, next_c = _lstm_cell(a, prev_c)
    H = prev_c.shape[-1]
    next_h = gates[:, 2 * H:3 * H] * np.tanh(next_c)
    cache = {'x': x, 'prev_h': prev_h, 'prev_c': prev_c, 'Wx': Wx, 'Wh': Wh, 'gates': gates, 'next_c': next_c}
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    da, dprev_c = _lstm_cell_backward(dnext_h, dnext_c, cache['gates'], cache['prev_c'], cache['next_c'])
    dx = np.einsum('nk,dk->nd', da, cache['Wx'])
    dprev_h = np.einsum('nk,jk->nj', da, cache['Wh'])
    dWx = np.einsum('nd,nk->dk', cache['x'], da)
    dWh = np.einsum('nj,nk->jk', cache['prev_h'], da)
    db = np.einsum('nk->k', da)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    xa = np.einsum('ntd,dk->ntk', x, Wx) + b  # the input side of every step at once
    h = np.empty((N, T, H))
    c = np.empty((N, T, H))
    gates = np.empty((N, T, 4 * H))
    prev_h, prev_c = h0, np.zeros((N, H))
    for t in range(T):
        gates[:, t], prev_c = _lstm_cell(xa[:, t] + np.einsum('nj,jk->nk', prev_h, Wh), prev_c)
        prev_h = gates[:, t, 2 * H:3 * H] * np.tanh(prev_c)
        c[:, t], h[:, t] = prev_c, prev_h
    cache = {'x': x, 'h0': h0, 'Wx': Wx, 'Wh': Wh, 'h': h, 'c': c, 'gates': gates}
    return h, cache


def lstm_backward(dh, cache):
    x, h0, Wx, Wh, h, c, gates = (cache[k] for k in ('x', 'h0', 'Wx', 'Wh', 'h', 'c', 'gates'))
    N, T, H = dh.shape
    c_prev = np.concatenate([np.zeros((N, 1, H)), c[:, :-1]], axis=1)  # c_{t-1}, from c0 = 0
    h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)
    da = np.empty((N, T, 4 * H))
    carry_h = np.zeros((N, H))
    carry_c = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        da[:, t], carry_c = _lstm_cell_backward(dh[:, t] + carry_h, carry_c, gates[:, t], c_prev[:, t], c[:, t])
        carry_h = np.einsum('nk,jk->nj', da[:, t], Wh)
    dx = np.einsum('ntk,dk->ntd', da, Wx)
    dWx = np.einsum('ntd,ntk->dk', x, da)
    dWh = np.einsum('ntj,ntk->jk', h_prev, da)
    db = np.einsum('ntk->k', da)
    return dx, carry_h, dWx, dWh, db


def _gru_cell(ax, ah, prev_h):
    """Gates (r, z stacked, (N, 2H)), candidate n and next_h from the input and hidden sides (N, 3H)."""
    H = prev_h.shape[-1]
    rz = _sigmoid(ax[..., :2 * H] + ah[..., :2 * H])
    n = np.tanh(ax[..., 2 * H:] + rz[..., :H] * ah[..., 2 * H:])
    z = rz[..., H:]
    return rz, n, z * prev_h + (1.0 - z) * n


def _gru_cell_backward(dnext_h, rz, n, hn, prev_h):
    """Input-side and hidden-side pre-activation gradients (N, 3H) of one step, and the direct dprev_h."""
    H = prev_h.shape[-1]
    r, z = rz[..., :H], rz[..., H:]
    dan = dnext_h * (1.0 - z) * (1.0 - n * n)
    drz = np.concatenate((dan * hn, dnext_h * (prev_h - n)), axis=-1) * rz * (1.0 - rz)
    return (np.concatenate((drz, dan), axis=-1), np.concatenate((drz, dan * r), axis=-1), dnext_h * z)


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    ax = np.einsum('nd,dk->nk', x, Wx) + bx
    ah = np.einsum('nj,jk->nk', prev_h, Wh) + bh
    rz, n, next_h = _gru_cell(ax, ah, prev_h)
    H = prev_h.shape[-1]
    cache = {'x': x, 'prev_h': prev_h, 'Wx': Wx, 'Wh': Wh, 'rz': rz, 'n': n, 'hn': ah[:, 2 * H:]}
    return next_h, cache


def gru_step_backward(dnext_h, cache):
    dax, dah, direct = _gru_cell_backward(dnext_h, cache['rz'], cache['n'], cache['hn'], cache['prev_h'])
    dx = np.einsum('nk,dk->nd', dax, cache['Wx'])
    dprev_h = direct + np.einsum('nk,jk->nj', dah, cache['Wh'])
    dWx = np.einsum('nd,nk->dk', cache['x'], dax)
    dWh = np.einsum('nj,nk->jk', cache['prev_h'], dah)
    return dx, dprev_h, dWx, dWh, np.einsum('nk->k', dax), np.einsum('nk->k', dah)


def gru_forward(x, h0, Wx, Wh, bx, bh):
    N, T, _ = x.shape
    H = h0.shape[1]
    ax = np.einsum('ntd,dk->ntk', x, Wx) + bx  # the input side of every step at once
    h = np.empty((N, T, H))
    rz = np.empty((N, T, 2 * H))
    n = np.empty((N, T, H))
    hn = np.empty((N, T, H))
    prev = h0
    for t in range(T):
        ah = np.einsum('nj,jk->nk', prev, Wh) + bh
        rz[:, t], n[:, t], prev = _gru_cell(ax[:, t], ah, prev)
        hn[:, t] = ah[:, 2 * H:]
        h[:, t] = prev
    cache = {'x': x, 'h0': h0, 'Wx': Wx, 'Wh': Wh, 'h': h, 'rz': rz, 'n': n, 'hn': hn}
    return h, cache


def gru_backward(dh, cache):
    x, h0, Wx, Wh, h = (cache[k] for k in ('x', 'h0', 'Wx', 'Wh', 'h'))
    N, T, H = dh.shape
    h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)
    dax = np.empty((N, T, 3 * H))
    dah = np.empty((N, T, 3 * H))
    carry = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dax[:, t], dah[:, t], direct = _gru_cell_backward(dh[:, t] + carry, cache['rz'][:, t], cache['n'][:, t],
                                                          cache['hn'][:, t], h_prev[:, t])
        carry = direct + np.einsum('nk,jk->nj', dah[:, t], Wh)
    dx = np.einsum('ntk,dk->ntd', dax, Wx)
    dWx = np.einsum('ntd,ntk->dk', x, dax)
    dWh = np.einsum('ntj,ntk->jk', h_prev, dah)
    return dx, carry, dWx, dWh, np.einsum('ntk->k', dax), np.einsum('ntk->k', dah)


def word_embedding_forward(x, W):
    out = np.take(W, x, axis=0)  # a copy, (N, T, D)
    return out, {'x': x, 'V': W.shape[0]}


def word_embedding_backward(dout, cache):
    # one-hot (N, T, V): a word that occurs k times collects all k gradients in the sum
    onehot = (cache['x'][..., None] == np.arange(cache['V'])).astype(dout.dtype)
    return np.einsum('ntv,ntd->vd', onehot, dout)


def temporal_affine_forward(x, w, b):
    out = np.einsum('ntd,dm->ntm', x, w) + b
    return out, {'x': x, 'w': w}


def temporal_affine_backward(dout, cache):
    dx = np.einsum('ntm,dm->ntd', dout, cache['w'])
    dw = np.einsum('ntd,ntm->dm', cache['x'], dout)
    db = np.einsum('ntm->m', dout)
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    shifted = x - x.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    onehot = (y[..., None] == np.arange(V))
    weight = mask.astype(np.float64) / N  # each unmasked position counts 1/N
    loss = -np.einsum('nt,ntv,ntv->', weight, onehot, log_p)
    dx = np.einsum('nt,ntv->ntv', weight, np.exp(log_p) - onehot)
    if verbose:
        print('dx: ', dx.shape)
    return float(loss), dx


class CaptioningRNN:
    """CS231n's captioning model; its loss uses the vectorised layers above, its sample runs max_length steps."""

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type='rnn',
                 dtype=np.float32):
        if cell_type not in ('rnn', 'lstm'):
            raise ValueError(f'Invalid cell_type "{cell_type}"')
        self.cell_type, self.dtype, self.word_to_idx = cell_type, dtype, word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self._null = word_to_idx['<NULL>']
        self._start = word_to_idx.get('<START>')
        self._end = word_to_idx.get('<END>')
        V, k = len(word_to_idx), {'rnn': 1, 'lstm': 4}[cell_type]
        shapes = {
            'W_embed': ((V, wordvec_dim), 100.0), 'W_proj': ((input_dim, hidden_dim), np.sqrt(input_dim)),
            'b_proj': ((hidden_dim,), None), 'Wx': ((wordvec_dim, k * hidden_dim), np.sqrt(wordvec_dim)),
            'Wh': ((hidden_dim, k * hidden_dim), np.sqrt(hidden_dim)), 'b': ((k * hidden_dim,), None),
            'W_vocab': ((hidden_dim, V), np.sqrt(hidden_dim)), 'b_vocab': ((V,), None),
        }
        self.params = {name: (np.zeros(shape) if scale is None else np.random.randn(*shape) / scale).astype(dtype)
                       for name, (shape, scale) in shapes.items()}

    def _sequence(self):
        return (rnn_forward, rnn_backward) if self.cell_type == 'rnn' else (lstm_forward, lstm_backward)

    def loss(self, features, captions):
        p = self.params
        words_in, words_out = captions[:, :-1], captions[:, 1:]
        forward, backward = self._sequence()
        h0 = np.einsum('nd,dh->nh', features, p['W_proj']) + p['b_proj']
        x, embed_cache = word_embedding_forward(words_in, p['W_embed'])
        h, seq_cache = forward(x, h0, p['Wx'], p['Wh'], p['b'])
        scores, scores_cache = temporal_affine_forward(h, p['W_vocab'], p['b_vocab'])
        loss, dscores = temporal_softmax_loss(scores, words_out, words_out != self._null)
        dh, dW_vocab, db_vocab = temporal_affine_backward(dscores, scores_cache)
        dx, dh0, dWx, dWh, db = backward(dh, seq_cache)
        grads = {'W_embed': word_embedding_backward(dx, embed_cache),
                 'W_proj': np.einsum('nd,nh->dh', features, dh0), 'b_proj': np.einsum('nh->h', dh0),
                 'Wx': dWx, 'Wh': dWh, 'b': db, 'W_vocab': dW_vocab, 'b_vocab': db_vocab}
        return loss, grads

    def sample(self, features, max_length=30):
        p = self.params
        N = features.shape[0]
        captions = np.full((N, max_length), self._null, dtype=np.int32)
        h = np.einsum('nd,dh->nh', features, p['W_proj']) + p['b_proj']
        c = np.zeros_like(h)
        word = np.full(N, self._start)
        for t in range(max_length):  # every step is sampled, also after <END>
            x = p['W_embed'][word]
            if self.cell_type == 'rnn':
                h, _ = rnn_step_forward(x, h, p['Wx'], p['Wh'], p['b'])
            else:
                h, c, _ = lstm_step_forward(x, h, c, p['Wx'], p['Wh'], p['b'])
            word = np.argmax(np.einsum('nh,hv->nv', h, p['W_vocab']) + p['b_vocab'], axis=1)
            captions[:, t] = word
        return captions
