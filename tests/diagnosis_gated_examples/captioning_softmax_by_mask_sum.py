"""tests/corpus/correct/cs231n_style.py (a whole correct assignment, CaptioningRNN included) with one mistake:
temporal_softmax_loss divides the loss and dx by mask.sum() instead of N. CaptioningRNN.loss calls it, so
the captioning checks see it: diagnosis replays CaptioningRNN.loss on the model's layers.
Model: "softmax-normalised-by-unmasked"."""
import numpy as np


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


# ----------------------------------------------------------------------------------------------
# LSTM, GRU, word embedding, temporal layers and the captioning model, as the CS231n solutions
# write them: the sequence functions loop over the step functions, caches are tuples and lists
# of step caches.


def sigmoid(x):
    """A numerically stable version of the logistic sigmoid function (CS231n's, as provided)."""
    pos_mask = x >= 0
    neg_mask = x < 0
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One timestep of an LSTM (gates i, f, o, g). Returns next_h, next_c (N, H) and a cache."""
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    ai, af, ao, ag = np.split(a, 4, axis=1)
    i = sigmoid(ai)
    f = sigmoid(af)
    o = sigmoid(ao)
    g = np.tanh(ag)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of one LSTM timestep. Returns dx, dprev_h, dprev_c, dWx, dWh, db."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)  # a new array: dnext_c is the caller's
    dprev_c = dc * f
    dai = dc * g * i * (1 - i)
    daf = dc * prev_c * f * (1 - f)
    dao = dnext_h * tanh_c * o * (1 - o)
    dag = dc * i * (1 - g ** 2)
    da = np.hstack((dai, daf, dao, dag))
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM over a sequence x (N, T, D) from h0 and c0 = 0; returns h (N, T, H)."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    prev_h = h0
    prev_c = np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def lstm_backward(dh, cache):
    """Backward pass of an LSTM over a whole sequence. Returns dx, dh0, dWx, dWh, db."""
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 4 * H))
    dWh = np.zeros((H, 4 * H))
    db = np.zeros(4 * H)
    dprev_h = np.zeros((N, H))
    dprev_c = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    """One timestep of a GRU (torch.nn.GRU's equations, gates r, z, n). Returns next_h (N, H) and a cache."""
    H = prev_h.shape[1]
    gx = x.dot(Wx) + bx
    gh = prev_h.dot(Wh) + bh
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    next_h = (1 - z) * n + z * prev_h
    cache = (x, prev_h, Wx, Wh, r, z, n, gh[:, 2 * H:])
    return next_h, cache


def gru_step_backward(dnext_h, cache):
    """Backward pass of one GRU timestep. Returns dx, dprev_h, dWx, dWh, dbx, dbh."""
    x, prev_h, Wx, Wh, r, z, n, hn = cache
    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    dan = dn * (1 - n ** 2)
    dar = dan * hn * r * (1 - r)
    daz = dz * z * (1 - z)
    dgx = np.hstack((dar, daz, dan))
    dgh = np.hstack((dar, daz, dan * r))
    dx = dgx.dot(Wx.T)
    dprev_h = dnext_h * z + dgh.dot(Wh.T)
    dWx = x.T.dot(dgx)
    dWh = prev_h.T.dot(dgh)
    dbx = np.sum(dgx, axis=0)
    dbh = np.sum(dgh, axis=0)
    return dx, dprev_h, dWx, dWh, dbx, dbh


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Run a GRU over a sequence x (N, T, D) from h0; returns h (N, T, H)."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    prev_h = h0
    for t in range(T):
        prev_h, step_cache = gru_step_forward(x[:, t, :], prev_h, Wx, Wh, bx, bh)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def gru_backward(dh, cache):
    """Backward pass of a GRU over a whole sequence. Returns dx, dh0, dWx, dWh, dbx, dbh."""
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 3 * H))
    dWh = np.zeros((H, 3 * H))
    dbx = np.zeros(3 * H)
    dbh = np.zeros(3 * H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, dbx_t, dbh_t = gru_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        dbx += dbx_t
        dbh += dbh_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, dbx, dbh


def word_embedding_forward(x, W):
    """Word vectors out[n, t] = W[x[n, t]] of shape (N, T, D), and a cache."""
    out = W[x]
    cache = (x, W)
    return out, cache


def word_embedding_backward(dout, cache):
    """Gradient dW (V, D) of the word vectors; repeated words accumulate (np.add.at)."""
    x, W = cache
    dW = np.zeros_like(W)
    np.add.at(dW, x, dout)
    return dW


def temporal_affine_forward(x, w, b):
    """The affine layer out[n, t] = x[n, t].dot(w) + b at every timestep; out (N, T, M)."""
    N, T, D = x.shape
    M = b.shape[0]
    out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b
    cache = x, w, b, out
    return out, cache


def temporal_affine_backward(dout, cache):
    """Backward pass of the temporal affine layer. Returns dx, dw, db."""
    x, w, b, out = cache
    N, T, D = x.shape
    M = b.shape[0]
    dx = dout.reshape(N * T, M).dot(w.T).reshape(N, T, D)
    dw = dout.reshape(N * T, M).T.dot(x.reshape(N * T, D)).T
    db = dout.sum(axis=(0, 1))
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Masked softmax loss summed over time and divided by N. Returns loss and dx (N, T, V)."""
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)
    shifted = x_flat - np.max(x_flat, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))  # no log(0)
    probs = np.exp(log_probs)
    loss = -np.sum(mask_flat * log_probs[np.arange(N * T), y_flat]) / np.sum(mask_flat)
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= np.sum(mask_flat)
    dx_flat *= mask_flat[:, None]
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    dx = dx_flat.reshape(N, T, V)
    return loss, dx


class CaptioningRNN:
    """CS231n's image-captioning model: image features give h0, an RNN or LSTM reads the caption."""

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type="rnn",
                 dtype=np.float32):
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError('Invalid cell_type "%s"' % cell_type)
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.params = {}
        vocab_size = len(word_to_idx)
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        self.params["W_embed"] = np.random.randn(vocab_size, wordvec_dim) / 100
        self.params["W_proj"] = np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim)
        self.params["b_proj"] = np.zeros(hidden_dim)
        dim_mul = {"lstm": 4, "rnn": 1}[cell_type]
        self.params["Wx"] = np.random.randn(wordvec_dim, dim_mul * hidden_dim) / np.sqrt(wordvec_dim)
        self.params["Wh"] = np.random.randn(hidden_dim, dim_mul * hidden_dim) / np.sqrt(hidden_dim)
        self.params["b"] = np.zeros(dim_mul * hidden_dim)
        self.params["W_vocab"] = np.random.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim)
        self.params["b_vocab"] = np.zeros(vocab_size)
        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    def loss(self, features, captions):
        """Training loss and gradients: captions (N, T + 1) are fed in shifted by one, <NULL> ignored."""
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self._null
        W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
        W_embed = self.params["W_embed"]
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]

        h0 = features.dot(W_proj) + b_proj
        x, cache_embed = word_embedding_forward(captions_in, W_embed)
        if self.cell_type == "rnn":
            h, cache_rnn = rnn_forward(x, h0, Wx, Wh, b)
        else:
            h, cache_rnn = lstm_forward(x, h0, Wx, Wh, b)
        scores, cache_scores = temporal_affine_forward(h, W_vocab, b_vocab)
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, cache_scores)
        if self.cell_type == "rnn":
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dh, cache_rnn)
        else:
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = lstm_backward(dh, cache_rnn)
        grads["W_embed"] = word_embedding_backward(dx, cache_embed)
        grads["W_proj"] = features.T.dot(dh0)
        grads["b_proj"] = dh0.sum(axis=0)
        return loss, grads

    def sample(self, features, max_length=30):
        """Greedy sampling from <START>; a caption stops at its <END>, <NULL> fills the rest."""
        N = features.shape[0]
        captions = self._null * np.ones((N, max_length), dtype=np.int32)
        W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
        W_embed = self.params["W_embed"]
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]

        prev_h = features.dot(W_proj) + b_proj
        prev_c = np.zeros_like(prev_h)
        word = self._start * np.ones(N, dtype=np.int32)
        finished = np.zeros(N, dtype=bool)
        for t in range(max_length):
            x = W_embed[word]
            if self.cell_type == "rnn":
                prev_h, _ = rnn_step_forward(x, prev_h, Wx, Wh, b)
            else:
                prev_h, prev_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
            scores = prev_h.dot(W_vocab) + b_vocab
            word = np.argmax(scores, axis=1)
            captions[~finished, t] = word[~finished]
            finished = finished | (word == self._end)
            if finished.all():
                break
        return captions
