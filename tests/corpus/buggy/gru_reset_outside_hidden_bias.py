"""Deliberately buggy submission for the harness tests (bug group: gru).

The reset gate multiplies prev_h·Wh_n but not its bias: n = tanh(x·Wx_n + bx_n +
r ⊙ (prev_h·Wh_n) + bh_n), bh_n added after r as if it were on the input side; torch.nn.GRU (this
contract) puts it inside, r ⊙ (prev_h·Wh_n + bh_n). Consistent in the backward (dr = da_n ⊙
(prev_h·Wh_n), and bh_n's gradient Σ da_n, without r). Backprop matches finite differences of the
student's own forward; the reference and the gate chain (which names the reset gate r and the
hidden side of n) catch it.

Only the four GRU functions (and the starter's sigmoid), student-style: per-gate slices, a
dict cache, the sequence as a loop over the step functions. Otherwise identical to the other
tests/corpus/buggy/gru_*.py files: one correct GRU, of which tests/test_checks_gru.py grades
a copy (gru_dWh_overwritten.py with its bug undone).
"""
import numpy as np

BUG_GROUP = "gru"
AFFECTED = ('gru_step_forward', 'gru_step_backward', 'gru_forward', 'gru_backward')
MISCONCEPTION = "gru-reset-outside"


def sigmoid(x):
    """A numerically stable version of the logistic sigmoid function (CS231n's starter)."""
    pos_mask = x >= 0
    neg_mask = x < 0
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    """One timestep of a GRU (torch.nn.GRU's equations, gates r, z, n).

    Inputs: x (N, D), prev_h (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,).
    Returns next_h (N, H) and a cache for the backward pass.
    """
    H = prev_h.shape[1]
    Wx_r, Wx_z, Wx_n = Wx[:, :H], Wx[:, H:2 * H], Wx[:, 2 * H:]
    Wh_r, Wh_z, Wh_n = Wh[:, :H], Wh[:, H:2 * H], Wh[:, 2 * H:]
    bx_r, bx_z, bx_n = bx[:H], bx[H:2 * H], bx[2 * H:]
    bh_r, bh_z, bh_n = bh[:H], bh[H:2 * H], bh[2 * H:]

    r = sigmoid(x.dot(Wx_r) + bx_r + prev_h.dot(Wh_r) + bh_r)
    z = sigmoid(x.dot(Wx_z) + bx_z + prev_h.dot(Wh_z) + bh_z)
    hn = prev_h.dot(Wh_n)
    n = np.tanh(x.dot(Wx_n) + bx_n + r * hn + bh_n)
    next_h = (1 - z) * n + z * prev_h
    cache = {"x": x, "prev_h": prev_h, "Wx": Wx, "Wh": Wh, "r": r, "z": z, "n": n, "hn": hn}
    return next_h, cache


def gru_step_backward(dnext_h, cache):
    """Backward pass of one GRU timestep. Returns dx, dprev_h, dWx, dWh, dbx, dbh."""
    x, prev_h, Wx, Wh = cache["x"], cache["prev_h"], cache["Wx"], cache["Wh"]
    r, z, n, hn = cache["r"], cache["z"], cache["n"], cache["hn"]
    H = prev_h.shape[1]

    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    da_n = dn * (1 - n ** 2)
    dhn = da_n * r
    dr = da_n * hn
    da_z = dz * z * (1 - z)
    da_r = dr * r * (1 - r)

    dax = np.hstack((da_r, da_z, da_n))
    dah = np.hstack((da_r, da_z, dhn))
    dx = dax.dot(Wx.T)
    dWx = x.T.dot(dax)
    dbx = np.sum(dax, axis=0)
    dprev_h = dnext_h * z + dah.dot(Wh.T)
    dWh = prev_h.T.dot(dah)
    dbh = np.sum(dah, axis=0)
    dbh[2 * H:] = np.sum(da_n, axis=0)  # bh_n is added outside r
    return dx, dprev_h, dWx, dWh, dbx, dbh


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Run a GRU over a sequence: x (N, T, D), h0 (N, H). Returns h (N, T, H) and a cache."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    prev_h = h0
    for t in range(T):
        prev_h, step_cache = gru_step_forward(x[:, t, :], prev_h, Wx, Wh, bx, bh)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def gru_backward(dh, cache):
    """Backpropagation through time. Returns dx, dh0, dWx, dWh, dbx, dbh."""
    N, T, H = dh.shape
    D = cache[0]["x"].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 3 * H))
    dWh = np.zeros((H, 3 * H))
    dbx = np.zeros(3 * H)
    dbh = np.zeros(3 * H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, dbx_t, dbh_t = gru_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        dbx += dbx_t
        dbh += dbh_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, dbx, dbh
