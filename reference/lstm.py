"""LSTM: one step and the full sequence, forward and backward.

Row-vector convention and gate order of CS231n's ``rnn_layers.py``: the affine map
produces one (N, 4H) block, split into four blocks of H in the order i, f, o, g:

    a      = x_t·Wx + h_{t-1}·Wh + b              (pre-activations, shape (N, 4H))
    a_i, a_f, a_o, a_g = a[:, :H], a[:, H:2H], a[:, 2H:3H], a[:, 3H:]
    i = σ(a_i)   f = σ(a_f)   o = σ(a_o)   g = tanh(a_g)
    c_t    = f ⊙ c_{t-1} + i ⊙ g                   (cell state)
    h_t    = o ⊙ tanh(c_t)                         (hidden state)

Backward through one step, given ``dnext_h`` = dL/dh_t and ``dnext_c`` = dL/dc_t
(the gradient reaching c_t from the *next* step):

    dc      = dnext_c + dnext_h ⊙ o ⊙ (1 - tanh²(c_t))   (c_t feeds h_t and c_{t+1})
    do      = dnext_h ⊙ tanh(c_t)
    di      = dc ⊙ g        df = dc ⊙ c_{t-1}        dg = dc ⊙ i
    dprev_c = dc ⊙ f
    da_i = di ⊙ i(1 - i)   da_f = df ⊙ f(1 - f)   da_o = do ⊙ o(1 - o)   da_g = dg ⊙ (1 - g²)
    dx_t    = da·Wxᵀ          dprev_h = da·Whᵀ
    dWx    += x_tᵀ·da         dWh    += h_{t-1}ᵀ·da         db += Σ_n da

σ' = σ(1 - σ) and tanh' = 1 - tanh² are written with the gate *values*, as the
vanilla RNN writes tanh' with h_t.

Over a sequence the initial cell state c0 is zero and is not an argument, so there is
no dc0; the cell states are not returned. BPTT walks t = T-1 … 0 carrying two
gradients back, dprev_h and dprev_c.

No function here modifies its inputs (``dnext_c`` in particular is never added to in
place), and the backward functions only read their cache, so a cache can be
back-propagated more than once.
"""

from __future__ import annotations

import numpy as np

StepCache = tuple[np.ndarray, ...]
SequenceCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[StepCache]]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function σ(x) = 1 / (1 + exp(-x)), elementwise.

    exp is only ever taken of -|x|, so it cannot overflow, as in CS231n's starter.

    Inputs:
    - x: Array of any shape

    Returns:
    - σ(x): New float array of the same shape, values in [0, 1]
    """
    x = np.asarray(x, dtype=np.float64)
    z = np.exp(-np.abs(x))  # in (0, 1]
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def lstm_step_forward(
    x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray,
    Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, StepCache]:
    """One timestep of an LSTM.

    Inputs:
    - x: Input data for this timestep, of shape (N, D)
    - prev_h: Hidden state from the previous timestep, of shape (N, H)
    - prev_c: Cell state from the previous timestep, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 4H), gate blocks i, f, o, g
    - Wh: Hidden-to-hidden weights, of shape (H, 4H), gate blocks i, f, o, g
    - b: Biases, of shape (4H,), gate blocks i, f, o, g

    Returns a tuple of:
    - next_h: Next hidden state, o ⊙ tanh(next_c), of shape (N, H)
    - next_c: Next cell state, f ⊙ prev_c + i ⊙ g, of shape (N, H)
    - cache: (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_next_c), what the backward
      pass needs
    """
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_next_c = np.tanh(next_c)
    next_h = o * tanh_next_c
    # Gate values, not pre-activations, are kept: σ' = σ(1 - σ) and tanh' = 1 - tanh².
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_next_c)
    return next_h, next_c, cache


def lstm_step_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, cache: StepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass for one timestep of an LSTM.

    Inputs:
    - dnext_h: Gradient of the loss with respect to next_h, of shape (N, H)
    - dnext_c: Gradient of the loss with respect to next_c, of shape (N, H)
    - cache: Cache from lstm_step_forward (only read, never modified)

    Returns a tuple of:
    - dx: Gradient of the input data, of shape (N, D)
    - dprev_h: Gradient of the previous hidden state, of shape (N, H)
    - dprev_c: Gradient of the previous cell state, of shape (N, H)
    - dWx: Gradient of the input-to-hidden weights, of shape (D, 4H)
    - dWh: Gradient of the hidden-to-hidden weights, of shape (H, 4H)
    - db: Gradient of the biases, of shape (4H,)
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_next_c = cache
    # next_c reaches the loss through next_h and through the next step's cell state.
    # A new array: dnext_c belongs to the caller and is not added to in place.
    dc = dnext_c + dnext_h * o * (1 - tanh_next_c**2)
    do = dnext_h * tanh_next_c
    di = dc * g
    df = dc * prev_c
    dg = dc * i
    dprev_c = dc * f

    da_i = di * i * (1 - i)
    da_f = df * f * (1 - f)
    da_o = do * o * (1 - o)
    da_g = dg * (1 - g**2)
    da = np.concatenate([da_i, da_f, da_o, da_g], axis=1)  # (N, 4H), blocks i, f, o, g

    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, SequenceCache]:
    """Run an LSTM over a whole sequence of T timesteps, from c0 = 0.

    Inputs:
    - x: Input data for the entire sequence, of shape (N, T, D)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 4H)
    - Wh: Hidden-to-hidden weights, of shape (H, 4H)
    - b: Biases, of shape (4H,)

    Returns a tuple of:
    - h: Hidden states h_1 … h_T for the entire sequence (h0 excluded), of shape
      (N, T, H); the cell states are not returned
    - cache: (x, h0, Wx, Wh, step_caches), what the backward pass needs
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.empty((N, T, H))
    step_caches = []
    prev_h, prev_c = h0, np.zeros((N, H))  # the initial cell state is zero
    for t in range(T):
        next_h, next_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = next_h
        step_caches.append(step_cache)
        prev_h, prev_c = next_h, next_c
    # x, h0 and the weights are kept so that the backward pass knows every shape,
    # even for T = 0.
    cache = (x, h0, Wx, Wh, step_caches)
    return h, cache


def lstm_backward(
    dh: np.ndarray, cache: SequenceCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time over the whole sequence.

    Inputs:
    - dh: Upstream gradients of every hidden state h_1 … h_T, of shape (N, T, H)
    - cache: Cache from lstm_forward (only read, never modified)

    Returns a tuple of:
    - dx: Gradient of the inputs, of shape (N, T, D)
    - dh0: Gradient of the initial hidden state, of shape (N, H)
    - dWx: Gradient of the input-to-hidden weights, of shape (D, 4H)
    - dWh: Gradient of the hidden-to-hidden weights, of shape (H, 4H)
    - db: Gradient of the biases, of shape (4H,)

    There is no dc0: c0 = 0 is a constant, not an input.
    """
    x, h0, Wx, Wh, step_caches = cache
    T = x.shape[1]
    dx = np.zeros(x.shape)
    dWx = np.zeros(Wx.shape)
    dWh = np.zeros(Wh.shape)
    db = np.zeros(Wh.shape[1])

    # Nothing comes back from beyond the last step, through h or through c.
    dprev_h = np.zeros(h0.shape)
    dprev_c = np.zeros(h0.shape)
    for t in reversed(range(T)):
        # h_t feeds both the loss and step t+1; c_t feeds only step t+1 (and h_t,
        # which lstm_step_backward accounts for).
        dnext_h = dh[:, t, :] + dprev_h
        dnext_c = dprev_c
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dnext_h, dnext_c, step_caches[t])
        # The weights are shared across time: their gradients accumulate.
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
