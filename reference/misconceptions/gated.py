"""Mistakes of the gated cells: the LSTM's gate blocks and cell-state gradient, the GRU's gates.

Each function is the reference's (reference/lstm.py, reference/gru.py) with one line changed,
marked "mistake"; a mistake made in a forward pass is made in its backward pass too, consistently
(a student's backward differentiates their own forward). The sequence functions are the
reference's: through ``composition`` they call these steps, so a step mistake shows in
lstm_forward / lstm_backward (gru_*) exactly as it does in a student's file.

Gate blocks of the reference's LSTM are i, f, o, g (CS231n); a cache keeps the gate values:
(x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh(next_c)). The GRU's are r, z, n (torch), cache
(x, prev_h, Wx, Wh, r, z, n, hh_n).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from reference.gru import gru_step_backward, gru_step_forward
from reference.lstm import lstm_step_backward, lstm_step_forward, sigmoid

CORRECT_ORDER = "ifog"


def sigmoid_prime(s: np.ndarray) -> np.ndarray:
    """σ' from the gate's value s = σ(a): σ(1 - σ)."""
    return s * (1 - s)


def sigmoid_prime_squared(s: np.ndarray) -> np.ndarray:
    return 1 - s**2  # mistake: tanh's rule 1 - s², where σ' = σ(1 - σ)


# -- the LSTM ----------------------------------------------------------------------------------------

def lstm_step_forward_in_order(order: str) -> Callable:
    """lstm_step_forward reading the four gate blocks of Wx, Wh and b in ``order`` (e.g. "ifgo", torch's)."""

    def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
        H = prev_h.shape[1]
        a = x @ Wx + prev_h @ Wh + b
        block = {gate: a[:, k * H:(k + 1) * H] for k, gate in enumerate(order)}  # mistake: blocks in this order
        i, f, o, g = sigmoid(block["i"]), sigmoid(block["f"]), sigmoid(block["o"]), np.tanh(block["g"])
        next_c = f * prev_c + i * g
        tanh_next_c = np.tanh(next_c)
        next_h = o * tanh_next_c
        return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_next_c)

    return lstm_step_forward


def lstm_gradients(da: dict[str, np.ndarray], dprev_c: np.ndarray, cache, order: str = CORRECT_ORDER) -> tuple:
    """The step's six gradients once every gate's pre-activation gradient ``da`` (by gate) is known;
    the blocks of dWx, dWh and db are stacked in ``order``."""
    x, prev_h, _, Wx, Wh = cache[:5]
    stacked = np.concatenate([da[gate] for gate in order], axis=1)  # (N, 4H)
    return stacked @ Wx.T, stacked @ Wh.T, dprev_c, x.T @ stacked, prev_h.T @ stacked, stacked.sum(axis=0)


def lstm_step_backward_in_order(order: str) -> Callable:
    """lstm_step_backward stacking the gate gradients in ``order``, as lstm_step_forward_in_order reads them."""

    def lstm_step_backward(dnext_h, dnext_c, cache):
        _, _, prev_c, _, _, i, f, o, g, tanh_next_c = cache
        dc = dnext_c + dnext_h * o * (1 - tanh_next_c**2)
        da = {"i": dc * g * sigmoid_prime(i), "f": dc * prev_c * sigmoid_prime(f),
              "o": dnext_h * tanh_next_c * sigmoid_prime(o), "g": dc * i * (1 - g**2)}
        return lstm_gradients(da, dc * f, cache, order)  # mistake: blocks stacked in this order

    return lstm_step_backward


def lstm_step_backward_sigmoid_prime_squared(gates: str) -> Callable:
    """lstm_step_backward taking σ' as 1 - σ² for the sigmoid gates in ``gates`` (some of "ifo")."""

    def lstm_step_backward(dnext_h, dnext_c, cache):
        _, _, prev_c, _, _, i, f, o, g, tanh_next_c = cache
        prime = {gate: sigmoid_prime_squared if gate in gates else sigmoid_prime for gate in "ifo"}  # mistake
        dc = dnext_c + dnext_h * o * (1 - tanh_next_c**2)
        da = {"i": dc * g * prime["i"](i), "f": dc * prev_c * prime["f"](f),
              "o": dnext_h * tanh_next_c * prime["o"](o), "g": dc * i * (1 - g**2)}
        return lstm_gradients(da, dc * f, cache)

    return lstm_step_backward


def lstm_step_backward_dprev_c_without_forget_gate(dnext_h, dnext_c, cache):
    _, _, prev_c, _, _, i, f, o, g, tanh_next_c = cache
    dc = dnext_c + dnext_h * o * (1 - tanh_next_c**2)
    da = {"i": dc * g * sigmoid_prime(i), "f": dc * prev_c * sigmoid_prime(f),
          "o": dnext_h * tanh_next_c * sigmoid_prime(o), "g": dc * i * (1 - g**2)}
    return lstm_gradients(da, dc, cache)  # mistake: dprev_c = dc, where dc ⊙ f is due


def lstm_step_backward_dc_from_dnext_c_only(dnext_h, dnext_c, cache):
    _, _, prev_c, _, _, i, f, o, g, tanh_next_c = cache
    dc = dnext_c  # mistake: the path through next_h, dnext_h ⊙ o ⊙ (1 - tanh²(next_c)), is left out
    da = {"i": dc * g * sigmoid_prime(i), "f": dc * prev_c * sigmoid_prime(f),
          "o": dnext_h * tanh_next_c * sigmoid_prime(o), "g": dc * i * (1 - g**2)}
    return lstm_gradients(da, dc * f, cache)


# -- the GRU -----------------------------------------------------------------------------------------

def gru_gradients(da_r, da_z, da_n, dhh_n, dprev_h_direct, cache, dbh_n=None) -> tuple:
    """The step's six gradients from the pre-activation gradients: the input side gets [da_r, da_z, da_n],
    the hidden side [da_r, da_z, dhh_n] (its bias's n block ``dbh_n`` if given, else dhh_n)."""
    x, prev_h, Wx, Wh = cache[:4]
    dax = np.concatenate([da_r, da_z, da_n], axis=1)
    dah = np.concatenate([da_r, da_z, dhh_n], axis=1)
    dbh = dah.sum(axis=0) if dbh_n is None else np.concatenate([da_r, da_z, dbh_n], axis=1).sum(axis=0)
    return dax @ Wx.T, dprev_h_direct + dah @ Wh.T, x.T @ dax, prev_h.T @ dah, dax.sum(axis=0), dbh


def gru_step_backward_sigmoid_prime_squared(gates: str) -> Callable:
    """gru_step_backward taking σ' as 1 - σ² for the sigmoid gates in ``gates`` (some of "rz")."""

    def gru_step_backward(dnext_h, cache):
        _, prev_h, _, _, r, z, n, hh_n = cache
        prime = {gate: sigmoid_prime_squared if gate in gates else sigmoid_prime for gate in "rz"}  # mistake
        da_n = dnext_h * (1 - z) * (1 - n**2)
        da_r = da_n * hh_n * prime["r"](r)
        da_z = dnext_h * (prev_h - n) * prime["z"](z)
        return gru_gradients(da_r, da_z, da_n, da_n * r, dnext_h * z, cache)

    return gru_step_backward


def gru_step_forward_update_swapped(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    ax, ah = x @ Wx + bx, prev_h @ Wh + bh
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    hh_n = ah[:, 2 * H:]
    n = np.tanh(ax[:, 2 * H:] + r * hh_n)
    next_h = z * n + (1 - z) * prev_h  # mistake: z and 1 - z swapped
    return next_h, (x, prev_h, Wx, Wh, r, z, n, hh_n)


def gru_step_backward_update_swapped(dnext_h, cache):
    _, prev_h, _, _, r, z, n, hh_n = cache
    da_n = dnext_h * z * (1 - n**2)  # the swapped forward's own gradients: dn = dnext_h ⊙ z, ...
    da_r = da_n * hh_n * sigmoid_prime(r)
    da_z = dnext_h * (n - prev_h) * sigmoid_prime(z)
    return gru_gradients(da_r, da_z, da_n, da_n * r, dnext_h * (1 - z), cache)


def gru_step_forward_reset_outside(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    ax = x @ Wx + bx
    a_rz = ax[:, :2 * H] + prev_h @ Wh[:, :2 * H] + bh[:2 * H]
    r, z = sigmoid(a_rz[:, :H]), sigmoid(a_rz[:, H:])
    hh_n = prev_h @ Wh[:, 2 * H:]
    n = np.tanh(ax[:, 2 * H:] + r * hh_n + bh[2 * H:])  # mistake: bh_n added outside r ⊙ (...)
    next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, r, z, n, hh_n)


def gru_step_backward_reset_outside(dnext_h, cache):
    _, prev_h, _, _, r, z, n, hh_n = cache
    da_n = dnext_h * (1 - z) * (1 - n**2)
    da_r = da_n * hh_n * sigmoid_prime(r)  # hh_n without bh_n, as the forward kept it
    da_z = dnext_h * (prev_h - n) * sigmoid_prime(z)
    return gru_gradients(da_r, da_z, da_n, da_n * r, dnext_h * z, cache, dbh_n=da_n)  # bh_n outside r


def gru_step_forward_reset_before_matmul(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    ax = x @ Wx + bx
    a_rz = ax[:, :2 * H] + prev_h @ Wh[:, :2 * H] + bh[:2 * H]
    r, z = sigmoid(a_rz[:, :H]), sigmoid(a_rz[:, H:])
    n = np.tanh(ax[:, 2 * H:] + (r * prev_h) @ Wh[:, 2 * H:] + bh[2 * H:])  # mistake: r ⊙ prev_h before Wh_n
    next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, r, z, n, r * prev_h)


def gru_step_backward_reset_before_matmul(dnext_h, cache):
    x, prev_h, Wx, Wh, r, z, n, reset_h = cache
    H = prev_h.shape[1]
    da_n = dnext_h * (1 - z) * (1 - n**2)
    dreset_h = da_n @ Wh[:, 2 * H:].T  # the forward's own chain: (r ⊙ prev_h)·Wh_n
    da_r = dreset_h * prev_h * sigmoid_prime(r)
    da_z = dnext_h * (prev_h - n) * sigmoid_prime(z)
    da_rz = np.concatenate([da_r, da_z], axis=1)
    dax = np.concatenate([da_rz, da_n], axis=1)
    dprev_h = dnext_h * z + da_rz @ Wh[:, :2 * H].T + dreset_h * r
    dWh = np.concatenate([prev_h.T @ da_rz, reset_h.T @ da_n], axis=1)
    return dax @ Wx.T, dprev_h, x.T @ dax, dWh, dax.sum(axis=0), dax.sum(axis=0)


# -- over the sequence (the vanilla RNN's mistakes, made in the gated cells' loops) ---------------------

def lstm_forward_from(start: str) -> Callable:
    """lstm_forward whose first states are ``start``: "zeros" (h0 ignored) or "h0 as c0" (c0 = h0)."""

    def lstm_forward(x, h0, Wx, Wh, b):
        N, T, _ = x.shape
        h, step_caches = np.empty((N, T, h0.shape[1])), []
        if start == "zeros":
            prev_h, prev_c = np.zeros(h0.shape), np.zeros(h0.shape)  # mistake: h0 is not where it starts
        else:
            prev_h, prev_c = h0, h0  # mistake: the cell state starts from h0, where c0 = 0
        for t in range(T):
            prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
            h[:, t, :] = prev_h
            step_caches.append(step_cache)
        return h, (x, h0, Wx, Wh, step_caches)

    return lstm_forward


def gru_forward_from_zeros(x, h0, Wx, Wh, bx, bh):
    N, T, _ = x.shape
    h, step_caches = np.empty((N, T, h0.shape[1])), []
    prev_h = np.zeros(h0.shape)  # mistake: starts from zeros, not h0
    for t in range(T):
        prev_h, step_cache = gru_step_forward(x[:, t, :], prev_h, Wx, Wh, bx, bh)
        h[:, t, :] = prev_h
        step_caches.append(step_cache)
    return h, (x, h0, Wx, Wh, step_caches)


def lstm_backward_overwriting(weight: int) -> Callable:
    """lstm_backward where the gradient of parameter number ``weight`` (0 dWx, 1 dWh, 2 db) is assigned per step."""

    def lstm_backward(dh, cache):
        x, h0, Wx, Wh, step_caches = cache
        dx = np.zeros(x.shape)
        sums = [np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[1])]
        dprev_h, dprev_c = np.zeros(h0.shape), np.zeros(h0.shape)
        for t in reversed(range(x.shape[1])):
            dx[:, t, :], dprev_h, dprev_c, *grads_t = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, step_caches[t])
            # mistake: one parameter's gradient is overwritten (=) instead of summed (+=)
            sums = [grad_t if i == weight else total + grad_t for i, (total, grad_t) in enumerate(zip(sums, grads_t))]
        return dx, dprev_h, *sums

    return lstm_backward


def gru_backward_overwriting(weight: int) -> Callable:
    """gru_backward where the gradient of parameter number ``weight`` (0 dWx, 1 dWh, 2 dbx, 3 dbh) is assigned per step."""

    def gru_backward(dh, cache):
        x, h0, Wx, Wh, step_caches = cache
        dx = np.zeros(x.shape)
        sums = [np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wx.shape[1]), np.zeros(Wh.shape[1])]
        dprev_h = np.zeros(h0.shape)
        for t in reversed(range(x.shape[1])):
            dx[:, t, :], dprev_h, *grads_t = gru_step_backward(dh[:, t, :] + dprev_h, step_caches[t])
            # mistake: one parameter's gradient is overwritten (=) instead of summed (+=)
            sums = [grad_t if i == weight else total + grad_t for i, (total, grad_t) in enumerate(zip(sums, grads_t))]
        return dx, dprev_h, *sums

    return gru_backward


OVERWRITTEN = "your {outputs} {equal} what you get when {name} is assigned at each step instead of summed " \
              "over time (the same weights are used at every step)"

# -- the library's entries ---------------------------------------------------------------------------

GATE_ORDERS = {"ifgo": "torch's and Keras's i, f, g, o", "igfo": "TensorFlow's i, j, f, o"}

MODELS = [
    *[("lstm-gate-order", f"gate blocks {order} ({where}) in forward and backward",
       "your {outputs} {equal} what you get when the four gate blocks of Wx, Wh and b are taken in another "
       "order than i, f, o, g (e.g. " + ", ".join(order) + ", as some libraries stack them)",
       {"lstm_step_forward": lstm_step_forward_in_order(order), "lstm_step_backward": lstm_step_backward_in_order(order)})
      for order, where in GATE_ORDERS.items()],
    *[("sigmoid-derivative-squared", f"LSTM σ' = 1 - σ² for {', '.join(gates)}",
       "your {outputs} {equal} what you get when a sigmoid gate's derivative is taken as 1 - σ² (tanh's rule) "
       "instead of σ(1 - σ)",
       {"lstm_step_backward": lstm_step_backward_sigmoid_prime_squared(gates)})
      for gates in ("ifo", "i", "f", "o")],
    *[("sigmoid-derivative-squared", f"GRU σ' = 1 - σ² for {', '.join(gates)}",
       "your {outputs} {equal} what you get when a sigmoid gate's derivative is taken as 1 - σ² (tanh's rule) "
       "instead of σ(1 - σ)",
       {"gru_step_backward": gru_step_backward_sigmoid_prime_squared(gates)})
      for gates in ("rz", "r", "z")],
    ("lstm-dprev-c-without-forget-gate", "dprev_c = dc",
     "your {outputs} {equal} what you get when dprev_c is taken as dc instead of dc ⊙ f (the previous cell "
     "state reaches next_c through the forget gate)",
     {"lstm_step_backward": lstm_step_backward_dprev_c_without_forget_gate}),
    ("lstm-dc-forgets-dnext-h", "dc = dnext_c",
     "your {outputs} {equal} what you get when dc is taken as dnext_c alone, leaving out the path through "
     "next_h, dnext_h ⊙ o ⊙ (1 - tanh²(next_c))",
     {"lstm_step_backward": lstm_step_backward_dc_from_dnext_c_only}),
    ("gru-update-gate-swapped", "next_h = z ⊙ n + (1 - z) ⊙ prev_h, forward and backward",
     "your {outputs} {equal} what you get when z and 1 - z are swapped: next_h = z ⊙ n + (1 - z) ⊙ prev_h "
     "instead of (1 - z) ⊙ n + z ⊙ prev_h",
     {"gru_step_forward": gru_step_forward_update_swapped, "gru_step_backward": gru_step_backward_update_swapped}),
    ("gru-reset-outside", "n = tanh(x·Wx_n + bx_n + r ⊙ (prev_h·Wh_n) + bh_n), forward and backward",
     "your {outputs} {equal} what you get when the reset gate multiplies prev_h·Wh_n alone, with bh_n added "
     "outside: r must multiply (prev_h·Wh_n + bh_n), bias included",
     {"gru_step_forward": gru_step_forward_reset_outside, "gru_step_backward": gru_step_backward_reset_outside}),
    ("gru-reset-before-matmul", "n = tanh(x·Wx_n + bx_n + (r ⊙ prev_h)·Wh_n + bh_n), forward and backward",
     "your {outputs} {equal} what you get when the reset gate multiplies prev_h before Wh_n, "
     "(r ⊙ prev_h)·Wh_n + bh_n (the original GRU paper's form), where r ⊙ (prev_h·Wh_n + bh_n) is due",
     {"gru_step_forward": gru_step_forward_reset_before_matmul,
      "gru_step_backward": gru_step_backward_reset_before_matmul}),
    ("ignores-h0", "lstm_forward starts from zeros",
     "your {outputs} {equal} what you get when the forward pass starts from zeros instead of h0",
     {"lstm_forward": lstm_forward_from("zeros")}),
    ("ignores-h0", "gru_forward starts from zeros",
     "your {outputs} {equal} what you get when the forward pass starts from zeros instead of h0",
     {"gru_forward": gru_forward_from_zeros}),
    ("lstm-c0-from-h0", "lstm_forward's cell state starts from h0",
     "your {outputs} {equal} what you get when the cell state starts from h0; it starts from zeros (c0 = 0)",
     {"lstm_forward": lstm_forward_from("h0 as c0")}),
    *[("weights-overwritten-not-summed", f"{name} assigned per step in lstm_backward", OVERWRITTEN.replace("{name}", name),
       {"lstm_backward": lstm_backward_overwriting(weight)}) for weight, name in enumerate(("dWx", "dWh", "db"))],
    *[("weights-overwritten-not-summed", f"{name} assigned per step in gru_backward", OVERWRITTEN.replace("{name}", name),
       {"gru_backward": gru_backward_overwriting(weight)}) for weight, name in enumerate(("dWx", "dWh", "dbx", "dbh"))],
]
