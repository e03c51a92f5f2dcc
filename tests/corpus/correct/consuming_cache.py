"""Correct submission whose backward passes consume their cache.

Caches are plain lists used as stacks: every backward pass pops what it needs, so a cache
works exactly once and a second backward call on the same cache fails. That is correct under
the contract (the cache belongs to the submission and the grader never reuses one). Small
helper classes hold one step's tape and the running sums of the weight gradients.
"""
import numpy as np


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
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache.pop())
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


# ----------------------------------------------------------------------------------------------
# LSTM, GRU, word embedding, temporal layers and the captioning model, written the same way:
# each step keeps a tape object, every cache is a list the backward pass pops, so it works once.


def _sigmoid(a):
    """Stable logistic function: exp is only taken of -|a|, as 1/(1 + e^-a) or e^a/(1 + e^a)."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0, e) / (1.0 + e)


class _LSTMStepTape:
    """What one LSTM step needs for its backward pass (gates i, f, o, g)."""

    def __init__(self, x, prev_h, prev_c, Wx, Wh, b):
        H = prev_h.shape[1]
        a = x @ Wx + prev_h @ Wh + b
        self.x, self.prev_h, self.prev_c, self.Wx, self.Wh = x, prev_h, prev_c, Wx, Wh
        self.i = _sigmoid(a[:, :H])
        self.f = _sigmoid(a[:, H:2 * H])
        self.o = _sigmoid(a[:, 2 * H:3 * H])
        self.g = np.tanh(a[:, 3 * H:])
        self.next_c = self.f * prev_c + self.i * self.g
        self.tanh_c = np.tanh(self.next_c)
        self.next_h = self.o * self.tanh_c

    def backward(self, dnext_h, dnext_c):
        total_dc = dnext_c + dnext_h * self.o * (1.0 - self.tanh_c * self.tanh_c)
        da = np.concatenate([
            total_dc * self.g * self.i * (1.0 - self.i),
            total_dc * self.prev_c * self.f * (1.0 - self.f),
            dnext_h * self.tanh_c * self.o * (1.0 - self.o),
            total_dc * self.i * (1.0 - self.g * self.g),
        ], axis=1)
        return (da @ self.Wx.T, da @ self.Wh.T, total_dc * self.f,
                self.x.T @ da, self.prev_h.T @ da, da.sum(axis=0))


class _GRUStepTape:
    """What one GRU step needs for its backward pass (torch.nn.GRU's gates r, z, n)."""

    def __init__(self, x, prev_h, Wx, Wh, bx, bh):
        H = prev_h.shape[1]
        from_x = x @ Wx + bx
        from_h = prev_h @ Wh + bh
        self.x, self.prev_h, self.Wx, self.Wh = x, prev_h, Wx, Wh
        self.r = _sigmoid(from_x[:, :H] + from_h[:, :H])
        self.z = _sigmoid(from_x[:, H:2 * H] + from_h[:, H:2 * H])
        self.h_n = from_h[:, 2 * H:]  # the reset gate scales it, bias bh_n included
        self.n = np.tanh(from_x[:, 2 * H:] + self.r * self.h_n)
        self.next_h = (1.0 - self.z) * self.n + self.z * prev_h

    def backward(self, dnext_h):
        da_n = dnext_h * (1.0 - self.z) * (1.0 - self.n * self.n)
        da_r = da_n * self.h_n * self.r * (1.0 - self.r)
        da_z = dnext_h * (self.prev_h - self.n) * self.z * (1.0 - self.z)
        d_from_x = np.concatenate([da_r, da_z, da_n], axis=1)
        d_from_h = np.concatenate([da_r, da_z, da_n * self.r], axis=1)
        dprev_h = dnext_h * self.z + d_from_h @ self.Wh.T
        return (d_from_x @ self.Wx.T, dprev_h, self.x.T @ d_from_x, self.prev_h.T @ d_from_h,
                d_from_x.sum(axis=0), d_from_h.sum(axis=0))


class _Sums:
    """Running sums of the gradients of the weights shared by all timesteps."""

    def __init__(self):
        self.totals = None

    def add(self, *grads):
        self.totals = list(grads) if self.totals is None else [s + g for s, g in zip(self.totals, grads)]


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    tape = _LSTMStepTape(x, prev_h, prev_c, Wx, Wh, b)
    return tape.next_h, tape.next_c, [tape]


def lstm_step_backward(dnext_h, dnext_c, cache):
    return cache.pop().backward(dnext_h, dnext_c)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    hs = []
    cache = []  # a stack of step caches: the backward pass pops the last step first
    h, c = h0, np.zeros_like(h0)
    for t in range(T):
        h, c, step_cache = lstm_step_forward(x[:, t, :], h, c, Wx, Wh, b)
        hs.append(h)
        cache.append(step_cache)
    return np.stack(hs, axis=1), cache


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    sums = _Sums()
    dxs = []
    dprev_h = np.zeros((N, H))
    dprev_c = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache.pop())
        dxs.append(dx_t)
        sums.add(dWx_t, dWh_t, db_t)
    dWx, dWh, db = sums.totals
    return np.stack(dxs[::-1], axis=1), dprev_h, dWx, dWh, db


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    tape = _GRUStepTape(x, prev_h, Wx, Wh, bx, bh)
    return tape.next_h, [tape]


def gru_step_backward(dnext_h, cache):
    return cache.pop().backward(dnext_h)


def gru_forward(x, h0, Wx, Wh, bx, bh):
    N, T, D = x.shape
    hs = []
    cache = []
    h = h0
    for t in range(T):
        h, step_cache = gru_step_forward(x[:, t, :], h, Wx, Wh, bx, bh)
        hs.append(h)
        cache.append(step_cache)
    return np.stack(hs, axis=1), cache


def gru_backward(dh, cache):
    N, T, H = dh.shape
    sums = _Sums()
    dxs = []
    dprev_h = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dx_t, dprev_h, *weight_grads = gru_step_backward(dh[:, t, :] + dprev_h, cache.pop())
        dxs.append(dx_t)
        sums.add(*weight_grads)
    dWx, dWh, dbx, dbh = sums.totals
    return np.stack(dxs[::-1], axis=1), dprev_h, dWx, dWh, dbx, dbh


def word_embedding_forward(x, W):
    out = W[x]
    return out, [(x, W.shape)]


def word_embedding_backward(dout, cache):
    x, (V, D) = cache.pop()
    flat = x.ravel()
    rows = dout.reshape(-1, D)
    # bincount sums the weights of equal indices: every occurrence of a word counts
    return np.stack([np.bincount(flat, weights=rows[:, d], minlength=V) for d in range(D)], axis=1)


def temporal_affine_forward(x, w, b):
    N, T, D = x.shape
    out = x @ w + b  # matmul broadcasts over (N, T)
    return out, [(x, w)]


def temporal_affine_backward(dout, cache):
    x, w = cache.pop()
    D, M = w.shape
    dx = dout @ w.T
    dw = x.reshape(-1, D).T @ dout.reshape(-1, M)
    db = dout.reshape(-1, M).sum(axis=0)
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    log_norm = np.logaddexp.reduce(x, axis=2, keepdims=True)  # stable log Σ exp
    log_p = x - log_norm
    picked = np.take_along_axis(log_p, y[:, :, None], axis=2)[:, :, 0]
    loss = -np.sum(picked[mask]) / N
    dx = np.exp(log_p)
    np.put_along_axis(dx, y[:, :, None], np.take_along_axis(dx, y[:, :, None], axis=2) - 1.0, axis=2)
    dx[~mask] = 0.0
    dx /= N
    if verbose:
        print('dx', dx.shape)
    return float(loss), dx


class CaptioningRNN:
    """CS231n's captioning model. Its caches are consumed, so every loss call runs its own forward pass.
    sample stops each caption at its <END> and pads it with <NULL>."""

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type='rnn',
                 dtype=np.float32):
        if cell_type not in ('rnn', 'lstm'):
            raise ValueError('Invalid cell_type "%s"' % cell_type)
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self._null = word_to_idx['<NULL>']
        self._start = word_to_idx.get('<START>', None)
        self._end = word_to_idx.get('<END>', None)
        V = len(word_to_idx)
        k = 4 if cell_type == 'lstm' else 1
        self.params = {}
        self.params['W_embed'] = np.random.randn(V, wordvec_dim) / 100
        self.params['W_proj'] = np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim)
        self.params['b_proj'] = np.zeros(hidden_dim)
        self.params['Wx'] = np.random.randn(wordvec_dim, k * hidden_dim) / np.sqrt(wordvec_dim)
        self.params['Wh'] = np.random.randn(hidden_dim, k * hidden_dim) / np.sqrt(hidden_dim)
        self.params['b'] = np.zeros(k * hidden_dim)
        self.params['W_vocab'] = np.random.randn(hidden_dim, V) / np.sqrt(hidden_dim)
        self.params['b_vocab'] = np.zeros(V)
        for name in self.params:
            self.params[name] = self.params[name].astype(dtype)

    def loss(self, features, captions):
        P = self.params
        targets = captions[:, 1:]
        h0 = features @ P['W_proj'] + P['b_proj']
        x, tape_embed = word_embedding_forward(captions[:, :-1], P['W_embed'])
        if self.cell_type == 'lstm':
            h, tape_seq = lstm_forward(x, h0, P['Wx'], P['Wh'], P['b'])
        else:
            h, tape_seq = rnn_forward(x, h0, P['Wx'], P['Wh'], P['b'])
        scores, tape_vocab = temporal_affine_forward(h, P['W_vocab'], P['b_vocab'])
        loss, dscores = temporal_softmax_loss(scores, targets, targets != self._null)

        dh, dW_vocab, db_vocab = temporal_affine_backward(dscores, tape_vocab)
        backward = lstm_backward if self.cell_type == 'lstm' else rnn_backward
        dx, dh0, dWx, dWh, db = backward(dh, tape_seq)
        grads = dict(W_embed=word_embedding_backward(dx, tape_embed), W_proj=features.T @ dh0,
                     b_proj=dh0.sum(axis=0), Wx=dWx, Wh=dWh, b=db, W_vocab=dW_vocab, b_vocab=db_vocab)
        return loss, grads

    def sample(self, features, max_length=30):
        P = self.params
        N = features.shape[0]
        words = []
        h = features @ P['W_proj'] + P['b_proj']
        c = np.zeros_like(h)
        word = np.full(N, self._start)
        for _ in range(max_length):
            if self.cell_type == 'lstm':
                h, c, _ = lstm_step_forward(P['W_embed'][word], h, c, P['Wx'], P['Wh'], P['b'])
            else:
                h, _ = rnn_step_forward(P['W_embed'][word], h, P['Wx'], P['Wh'], P['b'])
            word = np.argmax(h @ P['W_vocab'] + P['b_vocab'], axis=1)
            words.append(word)
        captions = np.array(words, dtype=np.int32).T.reshape(N, max_length)
        # everything after a caption's first <END> becomes <NULL>
        ended_before = np.cumsum(captions == self._end, axis=1) - (captions == self._end) > 0
        captions[ended_before] = self._null
        return captions
