"""Gradient oracle: the RNN forward passes written with ``autograd.numpy`` and
differentiated by reverse-mode automatic differentiation (``autograd.grad``).

Nothing here shares code with the hand-written backward passes of the reference:
only the *forward* math is restated, and autograd derives the gradients. Upstream
gradients dh are turned into a scalar the usual way,

    L = Σ_t ⟨h_t, dh_t⟩     (sum over batch, time and hidden units),

whose gradient with respect to every input is exactly what a backward pass given dh
must return.

Numerics: autograd differentiates tanh as g / cosh(a)², the reference as
g·(1 - tanh(a)²). They agree to rounding for moderate |a|; for saturated units
(|a| ≳ 20) both are ≈ 0 but differ by ~1e-16 absolute, and cosh overflows (to inf,
giving an exact 0) for |a| > 710, which is silenced here. Compare with an absolute
tolerance scaled to the gradient's magnitude.

All functions accept float64 NumPy arrays of any shapes consistent with the contract
and return dicts of new float64 arrays.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad

RNN_ARGS = ("x", "h0", "Wx", "Wh", "b")
CLASSIFIER_ARGS = ("x", "h0", "Wx", "Wh", "b", "W2", "b2")


def _rnn_states(x, h0, Wx, Wh, b):
    """h_1 … h_T stacked to (N, T, H); autograd cannot differentiate item assignment,
    so the states are collected in a list."""
    states = []
    h = h0
    for t in range(x.shape[1]):
        h = anp.tanh(anp.dot(x[:, t, :], Wx) + anp.dot(h, Wh) + b)
        states.append(h)
    if not states:
        return anp.zeros((x.shape[0], 0, h0.shape[1]))
    return anp.stack(states, axis=1)


def _gradients(loss, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gradient of loss(params) with respect to every entry of the dict params."""
    params = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    with np.errstate(over="ignore"):  # cosh overflow in tanh' of saturated units
        grads = grad(loss)(params)
    return {name: np.asarray(grads[name], dtype=np.float64) for name in params}


def autograd_rnn_gradients(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    dh: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = Σ_t ⟨h_t, dh_t⟩ for h = rnn_forward(x, h0, Wx, Wh, b).

    Inputs:
    - x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,): as rnn_forward
    - dh: Upstream gradient of h, of shape (N, T, H)

    Returns:
    - dict with keys x, h0, Wx, Wh, b, each of the shape of that argument
    """

    def loss(p):
        return anp.sum(_rnn_states(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"]) * dh)

    return _gradients(loss, dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b))


def _entering_states(x, h0, Wx, Wh, b, window: int) -> list[np.ndarray]:
    """Hidden state entering each window, h0, h_w, h_2w, …, as plain NumPy arrays.

    autograd has no stop_gradient; a value computed outside the traced function is a
    constant to it. Called with plain arrays, the autograd.numpy forward returns plain
    arrays.
    """
    h = _rnn_states(x, h0, Wx, Wh, b)
    return [h0 if start == 0 else h[:, start - 1, :] for start in range(0, x.shape[1], window)]


def autograd_truncated_gradients(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    dh: np.ndarray, window: int,
) -> dict[str, np.ndarray]:
    """Gradients of L = Σ_t ⟨h_t, dh_t⟩ under chunked truncated BPTT.

    The sequence is cut into windows [0, w), [w, 2w), …; the state entering every
    window after the first is the (constant) value from a plain forward pass, the
    first window starts from the differentiated h0.

    Inputs:
    - x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,): as rnn_forward
    - dh: Upstream gradient of h, of shape (N, T, H)
    - window: Timesteps per window, an int >= 1

    Returns:
    - dict with keys x, h0, Wx, Wh, b, each of the shape of that argument
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    T = x.shape[1]
    entering = _entering_states(x, h0, Wx, Wh, b, window)

    def loss(p):
        total = 0.0
        for k, start in enumerate(range(0, T, window)):
            stop = min(start + window, T)
            h_enter = p["h0"] if start == 0 else entering[k]
            h = _rnn_states(p["x"][:, start:stop, :], h_enter, p["Wx"], p["Wh"], p["b"])
            total = total + anp.sum(h * dh[:, start:stop, :])
        return total

    return _gradients(loss, dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b))


def _birnn_states(p):
    """(N, T, 2H): forward direction, then the backward direction aligned to input time."""
    h_f = _rnn_states(p["x"], p["h0_f"], p["Wx_f"], p["Wh_f"], p["b_f"])
    h_b = _rnn_states(p["x"][:, ::-1, :], p["h0_b"], p["Wx_b"], p["Wh_b"], p["b_b"])
    return anp.concatenate([h_f, h_b[:, ::-1, :]], axis=2)


def autograd_birnn_gradients(
    x: np.ndarray,
    h0_f: np.ndarray, Wx_f: np.ndarray, Wh_f: np.ndarray, b_f: np.ndarray,
    h0_b: np.ndarray, Wx_b: np.ndarray, Wh_b: np.ndarray, b_b: np.ndarray,
    dh: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = Σ_t ⟨h_t, dh_t⟩ for h = birnn_forward(...).

    Inputs:
    - x (N, T, D); h0_f, Wx_f, Wh_f, b_f and h0_b, Wx_b, Wh_b, b_b: as birnn_forward
    - dh: Upstream gradient of h, of shape (N, T, 2H)

    Returns:
    - dict keyed by the argument names x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b
    """
    params = dict(x=x, h0_f=h0_f, Wx_f=Wx_f, Wh_f=Wh_f, b_f=b_f,
                  h0_b=h0_b, Wx_b=Wx_b, Wh_b=Wh_b, b_b=b_b)

    def loss(p):
        return anp.sum(_birnn_states(p) * dh)

    return _gradients(loss, params)


def _classifier_loss(p, y):
    """Mean BCE of sigmoid(z), z = h_T·W2 + b2, with -log σ(z) = logaddexp(0, -z)."""
    h = _rnn_states(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"])
    z = anp.dot(h[:, -1, :], p["W2"]) + p["b2"]
    return anp.mean(y * anp.logaddexp(0.0, -z) + (1 - y) * anp.logaddexp(0.0, z))


def autograd_classifier_gradients(
    x: np.ndarray, y: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    b: np.ndarray, W2: np.ndarray, b2: np.ndarray,
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of the many-to-one classifier of rnn_classifier_loss.

    Inputs:
    - x (N, T, D) with T >= 1, y (N,) in {0, 1}, h0 (N, H), Wx (D, H), Wh (H, H),
      b (H,), W2 (H,), b2 (1,)

    Returns a tuple of:
    - loss: Mean binary cross-entropy, a float
    - grads: dict with keys x, h0, Wx, Wh, b, W2, b2, each of the shape of that argument
    """
    y = np.asarray(y, dtype=np.float64)
    params = dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b, W2=W2, b2=b2)
    grads = _gradients(lambda p: _classifier_loss(p, y), params)
    with np.errstate(over="ignore"):
        loss = float(_classifier_loss(params, y))
    return loss, grads
