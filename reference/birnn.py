"""Bidirectional tanh RNN, in the torch.nn.RNN(bidirectional=True) output layout.

Two independent RNNs with their own parameters read the same sequence:

    forward direction:   h_f[t] from x[0], …, x[t]          (starts from h0_f at t = 0)
    backward direction:  h_b[t] from x[T-1], …, x[t]        (starts from h0_b at t = T-1)

The backward direction is an ordinary RNN run on the time-reversed sequence, whose
outputs are reversed again so that h_b[t] is aligned with input step t:

    h = concat(h_f, flip_t(rnn(flip_t(x))), axis=-1)        shape (N, T, 2H)

Backward: the upstream gradient splits along the last axis; the backward direction's
half is time-reversed before its BPTT and its dx is reversed back. x feeds both
directions, so dx is the sum of the two.
"""

from __future__ import annotations

import numpy as np

from .rnn import SequenceCache, rnn_backward, rnn_forward

BiCache = tuple[int, SequenceCache, SequenceCache]


def flip_time(a: np.ndarray) -> np.ndarray:
    """Reverse the time axis (axis 1) of an (N, T, …) array (a view, not a copy)."""
    return a[:, ::-1]


def birnn_forward(
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


def birnn_backward(
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
