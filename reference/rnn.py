"""Vanilla tanh RNN: one step and the full sequence, forward and backward.

Row-vector convention, as in CS231n's ``rnn_layers.py``:

    a_t = x_t·Wx + h_{t-1}·Wh + b        (pre-activation, shape (N, H))
    h_t = tanh(a_t)

Backward through one step, with ``dnext_h`` = dL/dh_t:

    da      = dnext_h * (1 - h_t**2)     (tanh' written with the *output* h_t)
    dx_t    = da·Wxᵀ          dprev_h = da·Whᵀ
    dWx    += x_tᵀ·da         dWh    += h_{t-1}ᵀ·da         db += Σ_n da

Backpropagation through time walks t = T-1 … 0: h_t receives gradient both from the
loss (``dh[:, t]``) and from the next step (``dprev_h`` of step t+1), and the
parameter gradients are *summed* over time because the same weights are used at
every step.

No function here modifies its inputs, and the backward functions only read their
cache, so a cache can be back-propagated more than once.
"""

from __future__ import annotations

import numpy as np

StepCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
SequenceCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[StepCache]]


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
