"""Gradient oracle: the GRU forward pass written with ``autograd.numpy`` and
differentiated by reverse-mode automatic differentiation (``autograd.grad``).

Only the *forward* math of reference/gru.py is restated here (torch.nn.GRU's
equations, row-vector, gate blocks r, z, n); autograd derives the gradients, so
nothing is shared with the hand-written backward passes. Upstream gradients dh are
turned into a scalar the usual way,

    L = Σ_t ⟨h_t, dh_t⟩     (sum over batch, time and hidden units),

whose gradient with respect to every input is exactly what gru_backward(dh, cache)
must return. One step from prev_h is the sequence of length T = 1 starting at
h0 = prev_h, so ``autograd_gru_step_gradients`` is that special case.

Numerics: σ is written as (1 + tanh(a/2)) / 2, which never overflows and which
autograd differentiates through tanh (as g / cosh², not as σ(1 - σ)). It agrees with
the reference's σ to rounding; for saturated units both derivatives are ≈ 0 but may
differ by ~1e-16 absolute, and cosh overflows (to inf, giving an exact 0) for
|a| > 1420, which is silenced here. Compare with an absolute tolerance scaled to the
gradient's magnitude.

All functions accept float64 NumPy arrays of any shapes consistent with the contract
and return dicts of new float64 arrays.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad

GRU_ARGS = ("x", "h0", "Wx", "Wh", "bx", "bh")
GRU_STEP_ARGS = ("x", "prev_h", "Wx", "Wh", "bx", "bh")


def _sigmoid(a):
    return 0.5 * (1.0 + anp.tanh(0.5 * a))


def _gru_states(x, h0, Wx, Wh, bx, bh):
    """h_1 … h_T stacked to (N, T, H); autograd cannot differentiate item assignment,
    so the states are collected in a list."""
    H = h0.shape[1]
    states = []
    h = h0
    for t in range(x.shape[1]):
        gx = anp.dot(x[:, t, :], Wx) + bx
        gh = anp.dot(h, Wh) + bh
        r = _sigmoid(gx[:, :H] + gh[:, :H])
        z = _sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        n = anp.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        states.append(h)
    if not states:
        return anp.zeros((x.shape[0], 0, H))
    return anp.stack(states, axis=1)


def autograd_gru_forward(x, h0, Wx, Wh, bx, bh) -> np.ndarray:
    """The oracle's own forward pass, h of shape (N, T, H), as plain NumPy."""
    with np.errstate(over="ignore"):
        return np.asarray(_gru_states(*[np.asarray(a, dtype=np.float64)
                                        for a in (x, h0, Wx, Wh, bx, bh)]))


def _gradients(loss, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gradient of loss(params) with respect to every entry of the dict params."""
    params = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    with np.errstate(over="ignore"):  # cosh overflow in tanh' of saturated units
        grads = grad(loss)(params)
    return {name: np.asarray(grads[name], dtype=np.float64) for name in params}


def autograd_gru_gradients(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    bx: np.ndarray, bh: np.ndarray, dh: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = Σ_t ⟨h_t, dh_t⟩ for h = gru_forward(x, h0, Wx, Wh, bx, bh):
    what gru_backward(dh, cache) must return.

    Inputs:
    - x (N, T, D), h0 (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,): as gru_forward
    - dh: Upstream gradient of h, of shape (N, T, H)

    Returns:
    - dict with keys x, h0, Wx, Wh, bx, bh, each of the shape of that argument
    """
    dh = np.asarray(dh, dtype=np.float64)

    def loss(p):
        return anp.sum(_gru_states(p["x"], p["h0"], p["Wx"], p["Wh"], p["bx"], p["bh"]) * dh)

    return _gradients(loss, dict(x=x, h0=h0, Wx=Wx, Wh=Wh, bx=bx, bh=bh))


def autograd_gru_step_gradients(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    bx: np.ndarray, bh: np.ndarray, dnext_h: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = ⟨next_h, dnext_h⟩ for next_h = gru_step_forward(x, prev_h, …):
    what gru_step_backward(dnext_h, cache) must return.

    Inputs:
    - x (N, D), prev_h (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,): as
      gru_step_forward
    - dnext_h: Upstream gradient of next_h, of shape (N, H)

    Returns:
    - dict with keys x, prev_h, Wx, Wh, bx, bh, each of the shape of that argument
    """
    x = np.asarray(x, dtype=np.float64)
    dnext_h = np.asarray(dnext_h, dtype=np.float64)
    grads = autograd_gru_gradients(x[:, None, :], prev_h, Wx, Wh, bx, bh, dnext_h[:, None, :])
    return dict(x=grads["x"][:, 0, :], prev_h=grads["h0"], Wx=grads["Wx"], Wh=grads["Wh"],
                bx=grads["bx"], bh=grads["bh"])
