"""Gradient oracle: the LSTM forward passes written with ``autograd.numpy`` and
differentiated by reverse-mode automatic differentiation (``autograd.grad``).

As in autograd_rnn, only the *forward* math is restated (gate order i, f, o, g of
CS231n; c0 = 0 over a sequence) and autograd derives every gradient; nothing is shared
with reference/lstm.py. Upstream gradients become one scalar,

    step:      L = ⟨next_h, dnext_h⟩ + ⟨next_c, dnext_c⟩
    sequence:  L = Σ_t ⟨h_t, dh_t⟩

whose gradient with respect to every input is what the matching backward pass must
return.

σ is written as exp(-logaddexp(0, -a)) = 1 / (1 + e^{-a}): finite for every float a,
and a different route from the reference's sigmoid. The numerical caveats of tanh'
(autograd's 1/cosh² against 1 - tanh²) are those described in autograd_rnn.

All functions accept float64 NumPy arrays of any shapes consistent with the contract
and return dicts of new float64 arrays.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from reference.oracles.autograd_rnn import _gradients

LSTM_STEP_ARGS = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
LSTM_ARGS = ("x", "h0", "Wx", "Wh", "b")


def _sigmoid(a):
    return anp.exp(-anp.logaddexp(0.0, -a))


def _lstm_step(x, prev_h, prev_c, Wx, Wh, b):
    """(next_h, next_c) of one LSTM step, gate blocks i, f, o, g of width H."""
    H = prev_h.shape[1]
    a = anp.dot(x, Wx) + anp.dot(prev_h, Wh) + b
    i = _sigmoid(a[:, 0:H])
    f = _sigmoid(a[:, H:2 * H])
    o = _sigmoid(a[:, 2 * H:3 * H])
    g = anp.tanh(a[:, 3 * H:4 * H])
    next_c = f * prev_c + i * g
    next_h = o * anp.tanh(next_c)
    return next_h, next_c


def _lstm_states(x, h0, Wx, Wh, b):
    """h_1 … h_T stacked to (N, T, H), from c0 = 0 (states collected in a list:
    autograd cannot differentiate item assignment)."""
    N, T = x.shape[0], x.shape[1]
    H = h0.shape[1]
    h, c = h0, anp.zeros((N, H))
    states = []
    for t in range(T):
        h, c = _lstm_step(x[:, t, :], h, c, Wx, Wh, b)
        states.append(h)
    if not states:
        return anp.zeros((N, 0, H))
    return anp.stack(states, axis=1)


def autograd_lstm_step_gradients(
    x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray,
    Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    dnext_h: np.ndarray, dnext_c: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = ⟨next_h, dnext_h⟩ + ⟨next_c, dnext_c⟩ for
    next_h, next_c = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b).

    Inputs:
    - x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,): as
      lstm_step_forward
    - dnext_h: Upstream gradient of next_h, of shape (N, H)
    - dnext_c: Upstream gradient of next_c, of shape (N, H)

    Returns:
    - dict with keys x, prev_h, prev_c, Wx, Wh, b, each of the shape of that argument
    """
    dnext_h = np.asarray(dnext_h, dtype=np.float64)
    dnext_c = np.asarray(dnext_c, dtype=np.float64)

    def loss(p):
        next_h, next_c = _lstm_step(p["x"], p["prev_h"], p["prev_c"], p["Wx"], p["Wh"], p["b"])
        return anp.sum(next_h * dnext_h) + anp.sum(next_c * dnext_c)

    return _gradients(loss, dict(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b))


def autograd_lstm_gradients(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    dh: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = Σ_t ⟨h_t, dh_t⟩ for h = lstm_forward(x, h0, Wx, Wh, b).

    Inputs:
    - x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,): as lstm_forward
    - dh: Upstream gradient of h, of shape (N, T, H)

    Returns:
    - dict with keys x, h0, Wx, Wh, b, each of the shape of that argument (no c0:
      it is the constant 0)
    """
    dh = np.asarray(dh, dtype=np.float64)

    def loss(p):
        return anp.sum(_lstm_states(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"]) * dh)

    return _gradients(loss, dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b))
