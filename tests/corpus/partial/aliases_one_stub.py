"""Partial submission: every function written under a name of its own and given its contract
name by an alias (rnn_backward = bptt, ...); classifier_loss, behind rnn_classifier_loss, still
raises NotImplementedError.

Built from the reference solution (reference/), standalone; the stubs are the starter's.
"""
from __future__ import annotations

import numpy as np

STUBBED = ('rnn_classifier_loss',)

StepCache = tuple  # (x, prev_h, Wx, Wh, next_h)
SequenceCache = tuple  # (x, h0, Wx, Wh, step caches)
BiCache = tuple  # (H, forward cache, backward cache)


def tanh_step(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, StepCache]:
    """One timestep of a tanh RNN.

    Inputs:
    - x: Input data for this timestep, of shape (N, D)
    - prev_h: Hidden state from the previous timestep, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, H)
    - Wh: Hidden-to-hidden weights, of shape (H, H)
    - b: Biases, of shape (H,)

    Returns a tuple of:
    - next_h: Next hidden state, tanh(x·Wx + prev_h·Wh + b), of shape (N, H)
    - cache: (x, prev_h, Wx, Wh, next_h), what the backward pass needs
    """
    a = x @ Wx + prev_h @ Wh + b
    next_h = np.tanh(a)
    # next_h (not a) is kept: tanh'(a) = 1 - tanh(a)**2 = 1 - next_h**2.
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def tanh_step_backward(
    dnext_h: np.ndarray, cache: StepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass for one timestep of a tanh RNN.

    Inputs:
    - dnext_h: Gradient of the loss with respect to next_h, of shape (N, H)
    - cache: Cache from rnn_step_forward (only read, never modified)

    Returns a tuple of:
    - dx: Gradient of the input data, of shape (N, D)
    - dprev_h: Gradient of the previous hidden state, of shape (N, H)
    - dWx: Gradient of the input-to-hidden weights, of shape (D, H)
    - dWh: Gradient of the hidden-to-hidden weights, of shape (H, H)
    - db: Gradient of the biases, of shape (H,)
    """
    x, prev_h, Wx, Wh, next_h = cache
    dtanh = 1 - next_h**2
    da = dnext_h * dtanh  # pre-activation gradient, (N, H)

    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da  # the weight multiplies h_{t-1}, the state *entering* the step
    db = da.sum(axis=0)  # b is broadcast over the batch, so its gradient sums over it
    return dx, dprev_h, dWx, dWh, db


def run_sequence(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, SequenceCache]:
    """Run a tanh RNN over a whole sequence of T timesteps.

    Inputs:
    - x: Input data for the entire sequence, of shape (N, T, D)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, H)
    - Wh: Hidden-to-hidden weights, of shape (H, H)
    - b: Biases, of shape (H,)

    Returns a tuple of:
    - h: Hidden states h_1 … h_T for the entire sequence (h0 excluded), of shape (N, T, H)
    - cache: (x, h0, Wx, Wh, step_caches), what the backward pass needs
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.empty((N, T, H))
    step_caches = []
    prev_h = h0
    for t in range(T):
        next_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = next_h
        step_caches.append(step_cache)
        prev_h = next_h
    # x, h0 and the weights are kept so that the backward pass knows every shape,
    # even for T = 0.
    cache = (x, h0, Wx, Wh, step_caches)
    return h, cache


def bptt(
    dh: np.ndarray, cache: SequenceCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time over the whole sequence.

    Inputs:
    - dh: Upstream gradients of every hidden state h_1 … h_T, of shape (N, T, H)
    - cache: Cache from rnn_forward (only read, never modified)

    Returns a tuple of:
    - dx: Gradient of the inputs, of shape (N, T, D)
    - dh0: Gradient of the initial hidden state, of shape (N, H)
    - dWx: Gradient of the input-to-hidden weights, of shape (D, H)
    - dWh: Gradient of the hidden-to-hidden weights, of shape (H, H)
    - db: Gradient of the biases, of shape (H,)
    """
    x, h0, Wx, Wh, step_caches = cache
    T = x.shape[1]
    dx = np.zeros(x.shape)
    dWx = np.zeros(Wx.shape)
    dWh = np.zeros(Wh.shape)
    db = np.zeros(Wh.shape[0])

    dprev_h = np.zeros(h0.shape)  # nothing comes back from beyond the last step
    for t in reversed(range(T)):
        # h_t feeds both the loss and step t+1, so its gradient is the sum of the two.
        dnext_h = dh[:, t, :] + dprev_h
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, step_caches[t])
        # The weights are shared across time: their gradients accumulate.
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db


def truncated_bptt(
    dh: np.ndarray, cache: SequenceCache, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Chunked truncated BPTT.

    Inputs:
    - dh: Upstream gradients of every hidden state h_1 … h_T, of shape (N, T, H)
    - cache: Cache from rnn_forward over the whole sequence (only read, never modified)
    - window: Number of timesteps per window, an int >= 1

    Returns a tuple of:
    - dx: Gradient of the inputs, of shape (N, T, D)
    - dh0: Gradient of the initial hidden state through the first window, of shape (N, H)
    - dWx: Gradient of the input-to-hidden weights summed over windows, of shape (D, H)
    - dWh: Gradient of the hidden-to-hidden weights summed over windows, of shape (H, H)
    - db: Gradient of the biases summed over windows, of shape (H,)
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    x, h0, Wx, Wh, step_caches = cache
    T = x.shape[1]
    dx = np.zeros(x.shape)
    dh0 = np.zeros(h0.shape)
    dWx = np.zeros(Wx.shape)
    dWh = np.zeros(Wh.shape)
    db = np.zeros(Wh.shape[0])

    for start in range(0, T, window):
        stop = min(start + window, T)
        # Ordinary BPTT inside the window: nothing arrives from the window after it,
        # because that window's entering state (our last h) is a constant there.
        dprev_h = np.zeros(h0.shape)
        for t in reversed(range(start, stop)):
            dnext_h = dh[:, t, :] + dprev_h
            dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, step_caches[t])
            dWx += dWx_t
            dWh += dWh_t
            db += db_t
        # dprev_h is now the gradient of this window's entering state. It is only
        # kept for the first window, whose entering state is h0.
        if start == 0:
            dh0 = dprev_h
    return dx, dh0, dWx, dWh, db


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """L2 norm of all arrays of ``grads`` taken together, as one long vector.

    Inputs:
    - grads: dict of name -> array of any shape

    Returns:
    - total_norm: a float >= 0 (0.0 for an empty dict)
    """
    # Plain sum of squares: float64 holds it without overflow for gradient entries
    # up to ~1e150, far beyond anything a training run survives.
    sum_of_squares = sum(float(np.sum(np.square(g))) for g in grads.values())
    return float(np.sqrt(sum_of_squares))


def clip_by_global_norm(
    grads: Mapping[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Rescale a dict of gradients so that their global L2 norm is at most max_norm.

    Inputs:
    - grads: dict of name -> gradient array, any shapes (not modified)
    - max_norm: maximum allowed global norm, a float > 0

    Returns a tuple of:
    - clipped: a new dict with the same keys (same order); each value is a new float64
      array of the same shape, multiplied by max_norm / total_norm if
      total_norm > max_norm and an unchanged copy otherwise
    - total_norm: the global norm of ``grads`` *before* clipping, a float
    """
    total_norm = global_norm(grads)
    # Scaling only when strictly above the threshold keeps a zero gradient zero
    # (no 0/0) and leaves gradients that are already small enough untouched.
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    clipped = {}
    for name, g in grads.items():
        new_g = np.array(g, dtype=np.float64)  # a copy, so the input is never touched
        new_g *= scale  # in place on the copy: a 0-d array stays an array
        clipped[name] = new_g
    return clipped, total_norm


def flip_time(a: np.ndarray) -> np.ndarray:
    """Reverse the time axis (axis 1) of an (N, T, …) array (a view, not a copy)."""
    return a[:, ::-1]


def bidirectional_forward(
    x: np.ndarray,
    h0_f: np.ndarray,
    Wx_f: np.ndarray,
    Wh_f: np.ndarray,
    b_f: np.ndarray,
    h0_b: np.ndarray,
    Wx_b: np.ndarray,
    Wh_b: np.ndarray,
    b_b: np.ndarray,
) -> tuple[np.ndarray, BiCache]:
    """Run a bidirectional tanh RNN over a whole sequence.

    Inputs:
    - x: Input data for the entire sequence, of shape (N, T, D)
    - h0_f, Wx_f, Wh_f, b_f: forward-direction initial state (N, H) and parameters
      (D, H), (H, H), (H,)
    - h0_b, Wx_b, Wh_b, b_b: backward-direction initial state (N, H) and parameters
      (D, H), (H, H), (H,); h0_b is the state *before* the last input step x[:, T-1]

    Returns a tuple of:
    - h: Hidden states of shape (N, T, 2H); h[..., :H] is the forward direction and
      h[..., H:] the backward direction, both aligned to input time
    - cache: (H, forward cache, backward cache), what the backward pass needs
    """
    h_f, cache_f = rnn_forward(x, h0_f, Wx_f, Wh_f, b_f)
    h_b_reversed, cache_b = rnn_forward(flip_time(x), h0_b, Wx_b, Wh_b, b_b)
    h = np.concatenate([h_f, flip_time(h_b_reversed)], axis=2)
    H = h0_f.shape[1]
    return h, (H, cache_f, cache_b)


def bidirectional_backward(
    dh: np.ndarray, cache: BiCache
) -> tuple[np.ndarray, ...]:
    """Backward pass of a bidirectional tanh RNN (full BPTT in both directions).

    Inputs:
    - dh: Upstream gradient of h, of shape (N, T, 2H)
    - cache: Cache from birnn_forward (only read, never modified)

    Returns a tuple of:
    - dx: Gradient of the inputs, of shape (N, T, D)
    - dh0_f, dWx_f, dWh_f, db_f: forward-direction gradients, of shapes
      (N, H), (D, H), (H, H), (H,)
    - dh0_b, dWx_b, dWh_b, db_b: backward-direction gradients, of shapes
      (N, H), (D, H), (H, H), (H,)
    """
    H, cache_f, cache_b = cache
    dh_f, dh_b = dh[..., :H], dh[..., H:]

    dx_f, dh0_f, dWx_f, dWh_f, db_f = rnn_backward(dh_f, cache_f)
    # The backward direction ran on flip_t(x) and its output was flipped, so its
    # upstream gradient is flipped in, and its input gradient flipped out.
    dx_b_reversed, dh0_b, dWx_b, dWh_b, db_b = rnn_backward(flip_time(dh_b), cache_b)

    dx = dx_f + flip_time(dx_b_reversed)  # x feeds both directions
    return dx, dh0_f, dWx_f, dWh_f, db_f, dh0_b, dWx_b, dWh_b, db_b


def classifier_loss(x, y, h0, Wx, Wh, b, W2, b2):
    """
    Loss and gradients of a many-to-one binary classifier: a vanilla RNN reads the whole
    sequence and its last hidden state h_T = h[:, -1] is mapped to one logit per sequence,

        z = h_T.dot(W2) + b2,            of shape (N,)
        loss = mean over the minibatch of the binary cross-entropy of sigmoid(z):
             = mean_n -[y_n log sigmoid(z_n) + (1 - y_n) log(1 - sigmoid(z_n))]

    The loss must be computed stably: it must be finite (and correct) for logits with |z|
    in the thousands. Hint: -log sigmoid(z) = log(1 + exp(-z)); see np.logaddexp.

    Inputs:
    - x: Input data, of shape (N, T, D)
    - y: Labels in {0, 1}, of shape (N,)
    - h0, Wx, Wh, b: Initial state and parameters of the RNN, as in rnn_forward
    - W2: Output weights, of shape (H,)
    - b2: Output bias, of shape (1,)

    Returns a tuple of:
    - loss: Scalar loss, a float
    - grads: Dictionary with the gradients of the loss, keyed by argument name:
      'x', 'h0', 'Wx', 'Wh', 'b', 'W2', 'b2', each of the same shape as that argument
    """
    raise NotImplementedError("rnn_classifier_loss")


def minibatches(series: np.ndarray, batch_size: int, window: int) -> np.ndarray:
    """Lay a series out as consecutive truncated-BPTT minibatches.

    Inputs:
    - series: Array of shape (L, *features); the first axis is time
    - batch_size: Number of parallel rows, an int >= 1
    - window: Timesteps per window, an int >= 1

    Returns:
    - batches: New float64 array of shape (num_windows, batch_size, window, *features)
      with batches[k, i] = series[i·(L//batch_size) + k·window : … + window] and
      num_windows = (L // batch_size) // window (possibly 0)
    """
    if batch_size < 1 or window < 1:
        raise ValueError(f"batch_size and window must be >= 1, got {batch_size}, {window}")
    series = np.asarray(series, dtype=np.float64)
    L, features = series.shape[0], series.shape[1:]
    row_length = L // batch_size
    num_windows = row_length // window
    used = num_windows * window  # steps of each row that fit into whole windows

    rows = np.stack(
        [series[i * row_length : i * row_length + used] for i in range(batch_size)]
    )  # (batch_size, used, *features)
    windows = rows.reshape(batch_size, num_windows, window, *features)
    # Window index first: batches[k] is the k-th minibatch.
    return np.ascontiguousarray(windows.swapaxes(0, 1))


# The contract's names, given to the functions above.
rnn_step_forward = tanh_step
rnn_step_backward = tanh_step_backward
rnn_forward = run_sequence
rnn_backward = bptt
rnn_backward_truncated = truncated_bptt
clip_grad_norm = clip_by_global_norm
birnn_forward = bidirectional_forward
birnn_backward = bidirectional_backward
rnn_classifier_loss = classifier_loss
tbptt_batches = minibatches
