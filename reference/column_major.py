"""deeplearning.ai's RNN and LSTM (Sequence Models, week 1), column-major: the reference of ``--assignment dlai-c5w1``.

Column-major convention, as the course writes it: features × batch, time last. Shapes: n_x input features,
n_a hidden units, n_y outputs, m examples, T_x steps; x (n_x, m, T_x), a (n_a, m, T_x). Parameters and
gradients are dicts; every bias is a column (n, 1) and its gradient keeps that shape (keepdims).

The tanh RNN, forward beside backward (one step, with da_next = dL/da_next):

    a_next  = tanh(Wax·xt + Waa·a_prev + ba)          dz = da_next ⊙ (1 − a_next²)
    yt_pred = softmax(Wya·a_next + by)                dxt = Waxᵀ·dz   da_prev = Waaᵀ·dz
                                                      dWax = dz·xtᵀ   dWaa = dz·a_prevᵀ   dba = Σ_m dz

The LSTM, every gate acting on the concatenation [a_prev; xt] ((n_a + n_x, m)) with its own matrix:

    ft  = σ(Wf·[a_prev; xt] + bf)   it = σ(Wi·[…] + bi)   ot = σ(Wo·[…] + bo)   cct = tanh(Wc·[…] + bc)
    c_next = ft ⊙ c_prev + it ⊙ cct   a_next = ot ⊙ tanh(c_next)   yt_pred = softmax(Wy·a_next + by)

    dc   = dc_next + da_next ⊙ ot ⊙ (1 − tanh²(c_next))     (c_next reaches the loss through a_next too)
    dzf = dc ⊙ c_prev ⊙ ft(1 − ft)   dzi = dc ⊙ cct ⊙ it(1 − it)   dzc = dc ⊙ it ⊙ (1 − cct²)
    dzo = da_next ⊙ tanh(c_next) ⊙ ot(1 − ot)                  dc_prev = dc ⊙ ft
    dW_k = dz_k·[a_prev; xt]ᵀ   db_k = Σ_m dz_k   [da_prev; dxt] = Σ_k W_kᵀ·dz_k

The outputs y are not differentiated: the course's backward functions take da (the gradient of every a_t)
only, and return no dWya, dby, dWy. Through time, a_t's gradient is da[:, :, t] plus what step t + 1 sends
back (da_prev), and the LSTM also carries dc_prev; both are zero beyond the last step. c0 = 0 is not an
argument, so there is no dc0.

The caches are the course's tuples: ``(a_next, a_prev, xt, parameters)`` and ``(a_next, c_next, a_prev, c_prev,
ft, it, cct, ot, xt, parameters)`` for one step, ``(list of step caches, x)`` for a sequence. No function here
modifies its inputs, and the backward functions only read their cache.
"""

from __future__ import annotations

import numpy as np

Parameters = dict[str, np.ndarray]
Gradients = dict[str, np.ndarray]

RNN_PARAMETERS = ("Wax", "Waa", "Wya", "ba", "by")
LSTM_PARAMETERS = ("Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo", "Wy", "by")
RNN_CELL_GRADIENTS = ("dxt", "da_prev", "dWax", "dWaa", "dba")
RNN_GRADIENTS = ("dx", "da0", "dWax", "dWaa", "dba")
LSTM_CELL_GRADIENTS = ("dxt", "da_prev", "dc_prev", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo")
LSTM_GRADIENTS = ("dx", "da0", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo")
GATES = ("f", "i", "c", "o")  # the LSTM's per-gate matrices Wf, Wi, Wc, Wo and biases bf, bi, bc, bo


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + exp(−z)) elementwise, any shape; exp is only taken of −|z|, so it never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softmax(z: np.ndarray) -> np.ndarray:
    """The softmax of every column of z (n_y, m): over axis 0, as the course's ``rnn_utils.softmax``."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


# -- the tanh RNN ------------------------------------------------------------------------------------------------


def rnn_cell_forward(xt: np.ndarray, a_prev: np.ndarray, parameters: Parameters) -> tuple:
    """One step of the tanh RNN.

    Inputs:
    - xt: (n_x, m); a_prev: (n_a, m)
    - parameters: Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), ba (n_a, 1), by (n_y, 1)

    Returns (a_next (n_a, m), yt_pred (n_y, m), cache = (a_next, a_prev, xt, parameters)).
    """
    p = parameters
    a_next = np.tanh(p["Wax"] @ xt + p["Waa"] @ a_prev + p["ba"])
    yt_pred = softmax(p["Wya"] @ a_next + p["by"])
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)


def rnn_cell_backward(da_next: np.ndarray, cache: tuple) -> Gradients:
    """One step back: da_next (n_a, m), the gradient of a_next; cache from ``rnn_cell_forward``.

    Returns {dxt (n_x, m), da_prev (n_a, m), dWax (n_a, n_x), dWaa (n_a, n_a), dba (n_a, 1)}.
    """
    a_next, a_prev, xt, p = cache
    dz = da_next * (1 - a_next**2)  # tanh' = 1 − tanh², written with the output a_next
    return {"dxt": p["Wax"].T @ dz, "da_prev": p["Waa"].T @ dz, "dWax": dz @ xt.T, "dWaa": dz @ a_prev.T,
            "dba": dz.sum(axis=1, keepdims=True)}


def rnn_forward(x: np.ndarray, a0: np.ndarray, parameters: Parameters) -> tuple:
    """The tanh RNN over x (n_x, m, T_x) from a0 (n_a, m).

    Returns (a (n_a, m, T_x) holding a_1 … a_T, y_pred (n_y, m, T_x), caches = (list of step caches, x)).
    """
    steps, a_t = [], a0
    for t in range(x.shape[2]):
        a_t, y_t, cache = rnn_cell_forward(x[:, :, t], a_t, parameters)
        steps.append((a_t, y_t, cache))
    a = np.stack([s[0] for s in steps], axis=2)
    y_pred = np.stack([s[1] for s in steps], axis=2)
    return a, y_pred, ([s[2] for s in steps], x)


def rnn_backward(da: np.ndarray, caches: tuple) -> Gradients:
    """Backpropagation through time: da (n_a, m, T_x), the gradient of every a_t; caches from ``rnn_forward``.

    Returns {dx (n_x, m, T_x), da0 (n_a, m), dWax, dWaa, dba}, the weights' gradients summed over time.
    """
    steps, x = caches
    dx = np.zeros_like(x)
    total = {key: np.zeros_like(steps[0][3][name]) for key, name in (("dWax", "Wax"), ("dWaa", "Waa"), ("dba", "ba"))}
    da_prev = np.zeros_like(da[:, :, 0])
    for t in reversed(range(x.shape[2])):
        g = rnn_cell_backward(da[:, :, t] + da_prev, steps[t])  # from the loss, and from step t + 1
        dx[:, :, t], da_prev = g["dxt"], g["da_prev"]
        for key in total:
            total[key] = total[key] + g[key]
    return {"dx": dx, "da0": da_prev, **total}


# -- the LSTM --------------------------------------------------------------------------------------------------------


def lstm_cell_forward(xt: np.ndarray, a_prev: np.ndarray, c_prev: np.ndarray, parameters: Parameters) -> tuple:
    """One LSTM step.

    Inputs:
    - xt: (n_x, m); a_prev, c_prev: (n_a, m)
    - parameters: Wf, Wi, Wc, Wo (n_a, n_a + n_x), on [a_prev; xt]; bf, bi, bc, bo (n_a, 1); Wy (n_y, n_a), by (n_y, 1)

    Returns (a_next (n_a, m), c_next (n_a, m), yt_pred (n_y, m),
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)).
    """
    p = parameters
    concat = np.concatenate([a_prev, xt], axis=0)
    ft = sigmoid(p["Wf"] @ concat + p["bf"])
    it = sigmoid(p["Wi"] @ concat + p["bi"])
    cct = np.tanh(p["Wc"] @ concat + p["bc"])
    ot = sigmoid(p["Wo"] @ concat + p["bo"])
    c_next = ft * c_prev + it * cct
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax(p["Wy"] @ a_next + p["by"])
    return a_next, c_next, yt_pred, (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)


def lstm_cell_backward(da_next: np.ndarray, dc_next: np.ndarray, cache: tuple) -> Gradients:
    """One LSTM step back: da_next, dc_next (n_a, m), the gradients of a_next and c_next from outside the step.

    Returns {dxt (n_x, m), da_prev (n_a, m), dc_prev (n_a, m), dWf, dWi, dWc, dWo (n_a, n_a + n_x),
    dbf, dbi, dbc, dbo (n_a, 1)}.
    """
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p = cache
    tanh_c = np.tanh(c_next)
    dc = dc_next + da_next * ot * (1 - tanh_c**2)
    dz = {"f": dc * c_prev * ft * (1 - ft), "i": dc * cct * it * (1 - it), "c": dc * it * (1 - cct**2),
          "o": da_next * tanh_c * ot * (1 - ot)}
    concat = np.concatenate([a_prev, xt], axis=0)
    dconcat = sum(p[f"W{k}"].T @ dz[k] for k in GATES)
    n_a = a_prev.shape[0]
    gradients = {"dxt": dconcat[n_a:], "da_prev": dconcat[:n_a], "dc_prev": dc * ft}
    for k in GATES:
        gradients[f"dW{k}"] = dz[k] @ concat.T
        gradients[f"db{k}"] = dz[k].sum(axis=1, keepdims=True)
    return {key: gradients[key] for key in LSTM_CELL_GRADIENTS}


def lstm_forward(x: np.ndarray, a0: np.ndarray, parameters: Parameters) -> tuple:
    """The LSTM over x (n_x, m, T_x) from a0 (n_a, m) and c0 = 0.

    Returns (a (n_a, m, T_x), y (n_y, m, T_x), c (n_a, m, T_x), caches = (list of step caches, x)).
    """
    steps, a_t, c_t = [], a0, np.zeros_like(a0)
    for t in range(x.shape[2]):
        a_t, c_t, y_t, cache = lstm_cell_forward(x[:, :, t], a_t, c_t, parameters)
        steps.append((a_t, y_t, c_t, cache))
    a, y, c = (np.stack([s[k] for s in steps], axis=2) for k in range(3))
    return a, y, c, ([s[3] for s in steps], x)


def lstm_backward(da: np.ndarray, caches: tuple) -> Gradients:
    """Backpropagation through time: da (n_a, m, T_x), the gradient of every a_t; caches from ``lstm_forward``.

    Returns {dx (n_x, m, T_x), da0 (n_a, m), dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo}, summed over time.
    Two gradients go back from step to step, da_prev and dc_prev.
    """
    steps, x = caches
    dx = np.zeros_like(x)
    names = LSTM_GRADIENTS[2:]
    total = {key: np.zeros_like(steps[0][-1][key[1:]]) for key in names}
    da_prev = dc_prev = np.zeros_like(da[:, :, 0])
    for t in reversed(range(x.shape[2])):
        g = lstm_cell_backward(da[:, :, t] + da_prev, dc_prev, steps[t])
        dx[:, :, t], da_prev, dc_prev = g["dxt"], g["da_prev"], g["dc_prev"]
        for key in names:
            total[key] = total[key] + g[key]
    return {"dx": dx, "da0": da_prev, **total}
