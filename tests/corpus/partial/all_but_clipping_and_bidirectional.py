"""Partial submission: everything but clip_grad_norm, birnn_forward and birnn_backward,
which still raise NotImplementedError.

Built from the reference solution (reference/), standalone; the stubs are the starter's.
"""
from __future__ import annotations

import numpy as np

STUBBED = ('clip_grad_norm', 'birnn_forward', 'birnn_backward')

StepCache = tuple  # (x, prev_h, Wx, Wh, next_h)
SequenceCache = tuple  # (x, h0, Wx, Wh, step caches)
BiCache = tuple  # (H, forward cache, backward cache)


def rnn_step_forward(
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


def rnn_step_backward(
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


def rnn_forward(
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


def rnn_backward(
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


def rnn_backward_truncated(
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


def clip_grad_norm(grads, max_norm):
    """
    Clip gradients by their global norm (as torch.nn.utils.clip_grad_norm_ does).

    total_norm is the L2 norm of all the arrays in `grads` taken together, i.e.
    sqrt(sum over all arrays of the sum of their squared entries), computed before clipping.
    If total_norm > max_norm, every array is multiplied by max_norm / total_norm (so the
    clipped gradients have global norm max_norm and the same direction as before);
    otherwise every array is returned unchanged. A zero gradient stays zero (and never
    becomes NaN).

    Inputs:
    - grads: Dictionary mapping names to gradient arrays (float64, any shapes). Do not
      modify the dictionary or its arrays.
    - max_norm: Maximum allowed global norm, a float

    Returns a tuple of:
    - clipped: A new dictionary with the same keys, whose values are NEW float64 arrays
      with the same shapes as the inputs (never the input arrays themselves, also when
      nothing is clipped)
    - total_norm: The global norm before clipping, a float
    """
    raise NotImplementedError("clip_grad_norm")


def birnn_forward(x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b):
    """
    Forward pass of a bidirectional vanilla RNN: two independent RNNs with the same hidden
    size H, one reading the sequence forward in time (parameters *_f) and one reading it
    backward in time, from x[:, T-1] to x[:, 0] (parameters *_b, starting from h0_b).

    The output uses the torch.nn.RNN(bidirectional=True) layout: both directions are aligned
    to input time. h[:, t, :H] is the forward direction's state after reading
    x[:, 0..t]; h[:, t, H:] is the backward direction's state after reading x[:, T-1..t].

    Inputs:
    - x: Input data, of shape (N, T, D)
    - h0_f, Wx_f, Wh_f, b_f: Initial state (N, H) and parameters (D, H), (H, H), (H,) of the
      forward direction
    - h0_b, Wx_b, Wh_b, b_b: The same for the backward direction

    Returns a tuple of:
    - h: Hidden states of both directions, of shape (N, T, 2H)
    - cache: Values needed in the backward pass
    """
    raise NotImplementedError("birnn_forward")


def birnn_backward(dh, cache):
    """
    Backward pass of a bidirectional vanilla RNN (full backpropagation through time in
    both directions).

    Inputs:
    - dh: Upstream gradients of h from birnn_forward, of shape (N, T, 2H), in the same
      layout as h (dh[..., :H] forward direction, dh[..., H:] backward direction, both
      aligned to input time)
    - cache: Cache object from birnn_forward

    Returns a tuple of:
    - dx: Gradient of the input, of shape (N, T, D) (both directions read x)
    - dh0_f, dWx_f, dWh_f, db_f: Gradients of the forward direction's initial state and
      parameters, of shapes (N, H), (D, H), (H, H), (H,)
    - dh0_b, dWx_b, dWh_b, db_b: The same for the backward direction
    """
    raise NotImplementedError("birnn_backward")


def softplus(u: np.ndarray) -> np.ndarray:
    """log(1 + exp(u)), elementwise, without overflow for any float u."""
    return np.logaddexp(0.0, u)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), elementwise, written as exp(-softplus(-z)) to avoid overflow."""
    return np.exp(-softplus(-z))


def rnn_classifier_loss(
    x: np.ndarray,
    y: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of a many-to-one RNN binary classifier.

    Inputs:
    - x: Input data, of shape (N, T, D) with T >= 1
    - y: Labels in {0, 1}, of shape (N,)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, H)
    - Wh: Hidden-to-hidden weights, of shape (H, H)
    - b: Biases, of shape (H,)
    - W2: Output weights, of shape (H,)
    - b2: Output bias, of shape (1,)

    Returns a tuple of:
    - loss: Mean binary cross-entropy over the batch, a float
    - grads: dict with keys x, h0, Wx, Wh, b, W2, b2; each gradient has the shape of
      the argument of the same name
    """
    N, T, _ = x.shape
    if T < 1:
        raise ValueError("the classifier reads h_T, so it needs T >= 1")
    y = np.asarray(y, dtype=np.float64)

    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    h_T = h[:, -1, :]  # (N, H)
    z = h_T @ W2 + b2  # (N,); b2 of shape (1,) broadcasts over the batch
    loss = float(np.mean(y * softplus(-z) + (1 - y) * softplus(z)))

    dz = (sigmoid(z) - y) / N  # (N,)
    dW2 = h_T.T @ dz  # (H,)
    db2 = np.array([dz.sum()])  # (1,), the shape of b2
    dh = np.zeros(h.shape)
    dh[:, -1, :] = np.outer(dz, W2)  # only the last state feeds the head
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)

    grads = {"x": dx, "h0": dh0, "Wx": dWx, "Wh": dWh, "b": db, "W2": dW2, "b2": db2}
    return loss, grads


def tbptt_batches(series: np.ndarray, batch_size: int, window: int) -> np.ndarray:
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
