"""Gated recurrent unit (GRU): one step and the full sequence, forward and backward.

torch.nn.GRU's equations, in CS231n's row-vector convention (docs: ../shared/assignments.md,
"GRU, as rnn-grade defines it"). Every weight and bias is three blocks of H columns,
in the order r, z, n; ``W_r`` below means ``W[:, :H]``, ``W_z`` ``W[:, H:2H]`` and
``W_n`` ``W[:, 2H:]``:

    r       = σ(x·Wx_r + bx_r + prev_h·Wh_r + bh_r)          reset gate
    z       = σ(x·Wx_z + bx_z + prev_h·Wh_z + bh_z)          update gate
    hh_n    = prev_h·Wh_n + bh_n                              (kept: r multiplies it)
    n       = tanh(x·Wx_n + bx_n + r ⊙ hh_n)                  candidate state
    next_h  = (1 - z) ⊙ n + z ⊙ prev_h

With these weights, torch's ``weight_ih_l0`` is ``Wx.T``, ``weight_hh_l0`` is ``Wh.T``,
``bias_ih_l0`` is ``bx`` and ``bias_hh_l0`` is ``bh``. Unlike CS231n's LSTM, the input
and hidden sides have separate biases, and the reset gate multiplies ``hh_n`` *after*
its bias bh_n has been added: so the n block of the input-side and hidden-side
pre-activation gradients differ (see ``gru_step_backward``).

Backward through one step, with ``dnext_h`` = dL/dnext_h (σ' = σ(1 - σ) and
tanh' = 1 - tanh², both written with the gate *outputs*):

    dn      = dnext_h ⊙ (1 - z)          dz = dnext_h ⊙ (prev_h - n)
    da_n    = dn ⊙ (1 - n²)              pre-activation of n
    dr      = da_n ⊙ hh_n                dhh_n = da_n ⊙ r
    da_z    = dz ⊙ z ⊙ (1 - z)           da_r  = dr ⊙ r ⊙ (1 - r)

    input side:   dax = [da_r, da_z, da_n]      dx = dax·Wxᵀ   dWx = xᵀ·dax        dbx = Σ_n dax
    hidden side:  dah = [da_r, da_z, dhh_n]     dWh = prev_hᵀ·dah                  dbh = Σ_n dah
                  dprev_h = dnext_h ⊙ z + dah·Whᵀ    (the direct path, plus through the gates)

Backpropagation through time is the vanilla RNN's (reference/rnn.py): h_t receives
gradient from the loss and from step t+1, and the parameter gradients are summed over
time.

Exactness: with the update gate saturated, σ rounds to exactly 1.0 (for a
pre-activation above about 37), 1 - z is exactly 0 and next_h = 0·n + 1·prev_h is
prev_h bit for bit. That is why next_h is computed as written above and not as
n + z ⊙ (prev_h - n), which is equal in exact arithmetic but not in floating point.

No function here modifies its inputs, and the backward functions only read their
cache, so a cache can be back-propagated more than once.
"""

from __future__ import annotations

import numpy as np

# (x, prev_h, Wx, Wh, r, z, n, hh_n)
StepCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                  np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# (x, h0, Wx, Wh, step_caches)
SequenceCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[StepCache]]


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function σ(a) = 1 / (1 + exp(-a)), elementwise.

    exp is only ever taken of a non-positive number, so nothing overflows: for
    a >= 0 it is 1 / (1 + exp(-a)), for a < 0 the equal exp(a) / (1 + exp(a)).

    Inputs:
    - a: Array of any shape

    Returns:
    - σ(a), a new float array of the shape of a, with values in [0, 1]
    """
    a = np.asarray(a, dtype=np.float64)
    e = np.exp(-np.abs(a))  # in (0, 1]
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def gru_step_forward(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    bx: np.ndarray, bh: np.ndarray,
) -> tuple[np.ndarray, StepCache]:
    """One timestep of a GRU (torch.nn.GRU's equations, gate order r, z, n).

    Inputs:
    - x: Input data for this timestep, of shape (N, D)
    - prev_h: Hidden state from the previous timestep, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 3H), blocks r, z, n
    - Wh: Hidden-to-hidden weights, of shape (H, 3H), blocks r, z, n
    - bx: Input-side biases, of shape (3H,), blocks r, z, n
    - bh: Hidden-side biases, of shape (3H,), blocks r, z, n

    Returns a tuple of:
    - next_h: Next hidden state (1 - z) ⊙ n + z ⊙ prev_h, of shape (N, H)
    - cache: (x, prev_h, Wx, Wh, r, z, n, hh_n), what the backward pass needs
    """
    H = prev_h.shape[1]
    ax = x @ Wx + bx  # input side of every pre-activation, (N, 3H)
    ah = prev_h @ Wh + bh  # hidden side, (N, 3H)
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    hh_n = ah[:, 2 * H:]  # prev_h·Wh_n + bh_n: the reset gate scales it, bias included
    n = np.tanh(ax[:, 2 * H:] + r * hh_n)
    next_h = (1 - z) * n + z * prev_h
    # The gate outputs (not their pre-activations) are kept: σ' = σ(1 - σ) and
    # tanh' = 1 - tanh² need only them. hh_n is kept because dr = da_n ⊙ hh_n.
    cache = (x, prev_h, Wx, Wh, r, z, n, hh_n)
    return next_h, cache


def gru_step_backward(
    dnext_h: np.ndarray, cache: StepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass for one timestep of a GRU.

    Inputs:
    - dnext_h: Gradient of the loss with respect to next_h, of shape (N, H)
    - cache: Cache from gru_step_forward (only read, never modified)

    Returns a tuple of:
    - dx: Gradient of the input data, of shape (N, D)
    - dprev_h: Gradient of the previous hidden state, of shape (N, H)
    - dWx: Gradient of the input-to-hidden weights, of shape (D, 3H)
    - dWh: Gradient of the hidden-to-hidden weights, of shape (H, 3H)
    - dbx: Gradient of the input-side biases, of shape (3H,)
    - dbh: Gradient of the hidden-side biases, of shape (3H,)
    """
    x, prev_h, Wx, Wh, r, z, n, hh_n = cache

    # next_h = (1 - z) ⊙ n + z ⊙ prev_h
    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    dprev_h_direct = dnext_h * z  # the path that skips every weight

    # n = tanh(a_n),  a_n = x·Wx_n + bx_n + r ⊙ hh_n
    da_n = dn * (1 - n**2)
    dr = da_n * hh_n
    dhh_n = da_n * r

    # r = σ(a_r), z = σ(a_z)
    da_r = dr * r * (1 - r)
    da_z = dz * z * (1 - z)

    # The r and z pre-activations are plain sums of their input and hidden sides, so
    # both sides get the same gradient; n's input side gets da_n, its hidden side
    # (hh_n, before r multiplies it) gets da_n ⊙ r.
    dax = np.concatenate([da_r, da_z, da_n], axis=1)  # (N, 3H)
    dah = np.concatenate([da_r, da_z, dhh_n], axis=1)  # (N, 3H)

    dx = dax @ Wx.T
    dWx = x.T @ dax
    dbx = dax.sum(axis=0)  # broadcast over the batch, so the gradient sums over it
    dprev_h = dprev_h_direct + dah @ Wh.T
    dWh = prev_h.T @ dah  # the weight multiplies h_{t-1}, the state *entering* the step
    dbh = dah.sum(axis=0)
    return dx, dprev_h, dWx, dWh, dbx, dbh


def gru_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    bx: np.ndarray, bh: np.ndarray,
) -> tuple[np.ndarray, SequenceCache]:
    """Run a GRU over a whole sequence of T timesteps.

    Inputs:
    - x: Input data for the entire sequence, of shape (N, T, D)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 3H), blocks r, z, n
    - Wh: Hidden-to-hidden weights, of shape (H, 3H), blocks r, z, n
    - bx: Input-side biases, of shape (3H,)
    - bh: Hidden-side biases, of shape (3H,)

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
        next_h, step_cache = gru_step_forward(x[:, t, :], prev_h, Wx, Wh, bx, bh)
        h[:, t, :] = next_h
        step_caches.append(step_cache)
        prev_h = next_h
    # x, h0 and the weights are kept so that the backward pass knows every shape,
    # even for T = 0.
    cache = (x, h0, Wx, Wh, step_caches)
    return h, cache


def gru_backward(
    dh: np.ndarray, cache: SequenceCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time over the whole sequence.

    Inputs:
    - dh: Upstream gradients of every hidden state h_1 … h_T, of shape (N, T, H)
    - cache: Cache from gru_forward (only read, never modified)

    Returns a tuple of:
    - dx: Gradient of the inputs, of shape (N, T, D)
    - dh0: Gradient of the initial hidden state, of shape (N, H)
    - dWx: Gradient of the input-to-hidden weights, of shape (D, 3H)
    - dWh: Gradient of the hidden-to-hidden weights, of shape (H, 3H)
    - dbx: Gradient of the input-side biases, of shape (3H,)
    - dbh: Gradient of the hidden-side biases, of shape (3H,)
    """
    x, h0, Wx, Wh, step_caches = cache
    T = x.shape[1]
    dx = np.zeros(x.shape)
    dWx = np.zeros(Wx.shape)
    dWh = np.zeros(Wh.shape)
    dbx = np.zeros(Wx.shape[1])
    dbh = np.zeros(Wh.shape[1])

    dprev_h = np.zeros(h0.shape)  # nothing comes back from beyond the last step
    for t in reversed(range(T)):
        # h_t feeds both the loss and step t+1, so its gradient is the sum of the two.
        dnext_h = dh[:, t, :] + dprev_h
        dx[:, t, :], dprev_h, dWx_t, dWh_t, dbx_t, dbh_t = gru_step_backward(
            dnext_h, step_caches[t])
        # The weights are shared across time: their gradients accumulate.
        dWx += dWx_t
        dWh += dWh_t
        dbx += dbx_t
        dbh += dbh_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, dbx, dbh
