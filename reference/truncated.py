"""Truncated backpropagation through time, chunked into windows.

The forward pass has already run over the whole sequence (``rnn_forward``). The time
axis is cut into consecutive windows of ``window`` steps starting at t = 0, the last
one possibly shorter:

    [0, w), [w, 2w), …, [kw, T)

The hidden state entering every window after the first is treated as a constant
(PyTorch: ``h = h.detach()`` between chunks). So, inside each window this is ordinary
BPTT, but the gradient that reaches the window's entering state is thrown away instead
of being passed to the previous window. The weights still receive the contribution
``h_enterᵀ·da`` of the window's first step: a constant input is still multiplied by Wh.

For the first window the entering state is h0, a real input, and the gradient reaching
it is dh0. With window ≥ T there is a single window and the result is full BPTT.
"""

from __future__ import annotations

import numpy as np

from .rnn import SequenceCache, rnn_step_backward


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
