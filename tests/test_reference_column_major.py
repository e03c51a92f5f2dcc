"""The column-major reference (reference/column_major.py) proved by two independent oracles.

- autograd (HIPS) differentiates the column-major forward restated here with ``autograd.numpy``: every gradient
  of the eight functions' backward equals it, for L = Σ⟨a, da⟩ (+ ⟨c_next, dc_next⟩ for the LSTM step);
- the row-vector reference (reference/rnn.py, reference/lstm.py), transposed: a = hᵀ, Wax = Wxᵀ, and the LSTM's
  per-gate matrices on [a_prev; xt] split into CS231n's stacked blocks i, f, o, g. Its gradients are themselves
  proved by SymPy and autograd (tests/test_reference_rnn.py, tests/test_reference_lstm.py).

Also: y_pred is a softmax over axis 0, the course's caches are its tuples, and nothing modifies its inputs.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

import reference
from reference import column_major as cm

SIZES = [(1, 1, 1, 1, 1), (3, 2, 4, 5, 3), (2, 4, 3, 2, 6)]  # n_x, n_a, n_y, m, T_x
TOL = dict(rtol=1e-10, atol=1e-12)  # two float64 computations of the same sums: rounding only


def rnn_parameters(rng, n_x, n_a, n_y):
    return {"Wax": rng.standard_normal((n_a, n_x)), "Waa": rng.standard_normal((n_a, n_a)) / 2,
            "Wya": rng.standard_normal((n_y, n_a)), "ba": rng.standard_normal((n_a, 1)),
            "by": rng.standard_normal((n_y, 1))}


def lstm_parameters(rng, n_x, n_a, n_y):
    p = {}
    for k in cm.GATES:
        p[f"W{k}"] = rng.standard_normal((n_a, n_a + n_x)) / 2
        p[f"b{k}"] = rng.standard_normal((n_a, 1))
    return {**p, "Wy": rng.standard_normal((n_y, n_a)), "by": rng.standard_normal((n_y, 1))}


# -- oracle 1: autograd of the column-major forward ---------------------------------------------------------------


def _sigmoid(z):
    return 1 / (1 + anp.exp(-z))


def _rnn_states(x, a0, Wax, Waa, ba):
    a, states = a0, []
    for t in range(x.shape[2]):
        a = anp.tanh(anp.dot(Wax, x[:, :, t]) + anp.dot(Waa, a) + ba)
        states.append(a)
    return states


def _lstm_step(xt, a_prev, c_prev, Wf, bf, Wi, bi, Wc, bc, Wo, bo):
    concat = anp.concatenate([a_prev, xt], axis=0)
    c = _sigmoid(anp.dot(Wf, concat) + bf) * c_prev + _sigmoid(anp.dot(Wi, concat) + bi) * anp.tanh(
        anp.dot(Wc, concat) + bc)
    return _sigmoid(anp.dot(Wo, concat) + bo) * anp.tanh(c), c


def _lstm_states(x, a0, *weights):
    a, c, states = a0, anp.zeros(a0.shape), []
    for t in range(x.shape[2]):
        a, c = _lstm_step(x[:, :, t], a, c, *weights)
        states.append(a)
    return states


def autograd_gradients(loss, args: dict, names: tuple[str, ...]) -> dict:
    """{"d" + name: dL/d(arg)} for every argument, by reverse-mode autodiff of ``loss(*args)``."""
    values = list(args.values())
    return {name: grad(loss, k)(*values) for k, name in enumerate(names)}


@pytest.mark.parametrize("sizes", SIZES)
def test_rnn_gradients_equal_autograd(sizes):
    n_x, n_a, n_y, m, T = sizes
    rng = np.random.default_rng(1)
    p, x, a0, da = rnn_parameters(rng, n_x, n_a, n_y), *(rng.standard_normal(s) for s in
                                                          ((n_x, m, T), (n_a, m), (n_a, m, T)))
    args = {"x": x, "a0": a0, "Wax": p["Wax"], "Waa": p["Waa"], "ba": p["ba"]}

    def loss(x, a0, Wax, Waa, ba):
        return sum(anp.sum(a * da[:, :, t]) for t, a in enumerate(_rnn_states(x, a0, Wax, Waa, ba)))

    expected = autograd_gradients(loss, args, cm.RNN_GRADIENTS)
    _, _, caches = cm.rnn_forward(x, a0, p)
    got = cm.rnn_backward(da, caches)
    assert set(got) == set(cm.RNN_GRADIENTS)
    for name in cm.RNN_GRADIENTS:
        np.testing.assert_allclose(got[name], expected[name], **TOL, err_msg=name)
    # One step is the sequence of one step.
    _, _, cache = cm.rnn_cell_forward(x[:, :, 0], a0, p)
    step = cm.rnn_cell_backward(da[:, :, 0], cache)
    _, _, caches_1 = cm.rnn_forward(x[:, :, :1], a0, p)
    whole = cm.rnn_backward(da[:, :, :1], caches_1)
    for cell_name, name in zip(cm.RNN_CELL_GRADIENTS, cm.RNN_GRADIENTS):
        np.testing.assert_allclose(step[cell_name], whole[name].reshape(step[cell_name].shape), **TOL)


@pytest.mark.parametrize("sizes", SIZES)
def test_lstm_gradients_equal_autograd(sizes):
    n_x, n_a, n_y, m, T = sizes
    rng = np.random.default_rng(2)
    p = lstm_parameters(rng, n_x, n_a, n_y)
    x, a0, c_prev, da, dc_next = (rng.standard_normal(s) for s in
                                  ((n_x, m, T), (n_a, m), (n_a, m), (n_a, m, T), (n_a, m)))
    weights = {name: p[name] for name in ("Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo")}

    def sequence_loss(x, a0, *w):
        return sum(anp.sum(a * da[:, :, t]) for t, a in enumerate(_lstm_states(x, a0, *w)))

    expected = autograd_gradients(sequence_loss, {"x": x, "a0": a0, **weights}, cm.LSTM_GRADIENTS)
    *_, caches = cm.lstm_forward(x, a0, p)
    got = cm.lstm_backward(da, caches)
    assert set(got) == set(cm.LSTM_GRADIENTS)
    for name in cm.LSTM_GRADIENTS:
        np.testing.assert_allclose(got[name], expected[name], **TOL, err_msg=name)

    def step_loss(xt, a_prev, c_prev, *w):
        a, c = _lstm_step(xt, a_prev, c_prev, *w)
        return anp.sum(a * da[:, :, 0]) + anp.sum(c * dc_next)

    expected = autograd_gradients(step_loss, {"xt": x[:, :, 0], "a_prev": a0, "c_prev": c_prev, **weights},
                                  cm.LSTM_CELL_GRADIENTS)
    *_, cache = cm.lstm_cell_forward(x[:, :, 0], a0, c_prev, p)
    got = cm.lstm_cell_backward(da[:, :, 0], dc_next, cache)
    assert list(got) == list(cm.LSTM_CELL_GRADIENTS)
    for name in cm.LSTM_CELL_GRADIENTS:
        np.testing.assert_allclose(got[name], expected[name], **TOL, err_msg=name)


# -- oracle 2: the row-vector reference, transposed ---------------------------------------------------------------


def stacked(p: dict, n_a: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CS231n's (Wx (D, 4H), Wh (H, 4H), b (4H,)) in blocks i, f, o, g from the per-gate W_k on [a_prev; xt]."""
    order = ("i", "f", "o", "c")  # CS231n's g is the course's candidate c̃
    Wx = np.concatenate([p[f"W{k}"][:, n_a:].T for k in order], axis=1)
    Wh = np.concatenate([p[f"W{k}"][:, :n_a].T for k in order], axis=1)
    return Wx, Wh, np.concatenate([p[f"b{k}"][:, 0] for k in order])


def per_gate(dWx: np.ndarray, dWh: np.ndarray, db: np.ndarray, n_a: int) -> dict:
    """The inverse of ``stacked`` for gradients: {dWf, dbf, …} of shapes (n_a, n_a + n_x) and (n_a, 1)."""
    out = {}
    for block, k in enumerate(("i", "f", "o", "c")):
        cols = slice(block * n_a, (block + 1) * n_a)
        out[f"dW{k}"] = np.concatenate([dWh[:, cols].T, dWx[:, cols].T], axis=1)
        out[f"db{k}"] = db[cols][:, None]
    return out


@pytest.mark.parametrize("sizes", SIZES)
def test_rnn_equals_the_row_vector_reference_transposed(sizes):
    n_x, n_a, n_y, m, T = sizes
    rng = np.random.default_rng(3)
    p = rnn_parameters(rng, n_x, n_a, n_y)
    x, a0, da = (rng.standard_normal(s) for s in ((n_x, m, T), (n_a, m), (n_a, m, T)))
    a, y_pred, caches = cm.rnn_forward(x, a0, p)
    row_x, row_dh = x.transpose(1, 2, 0), da.transpose(1, 2, 0)  # (N, T, D): N = m, D = n_x
    h, row_cache = reference.rnn_forward(row_x, a0.T, p["Wax"].T, p["Waa"].T, p["ba"][:, 0])
    np.testing.assert_allclose(a, h.transpose(2, 0, 1), **TOL)
    dx, dh0, dWx, dWh, db = reference.rnn_backward(row_dh, row_cache)
    got = cm.rnn_backward(da, caches)
    expected = {"dx": dx.transpose(2, 0, 1), "da0": dh0.T, "dWax": dWx.T, "dWaa": dWh.T, "dba": db[:, None]}
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, **TOL, err_msg=name)
    # y_pred: softmax(Wya·a_t + by), each column a distribution.
    scores = np.einsum("ya,amt->ymt", p["Wya"], a) + p["by"][:, :, None]
    np.testing.assert_allclose(y_pred, np.exp(scores) / np.exp(scores).sum(axis=0), **TOL)
    np.testing.assert_allclose(y_pred.sum(axis=0), 1.0, rtol=1e-14)


@pytest.mark.parametrize("sizes", SIZES)
def test_lstm_equals_the_row_vector_reference_transposed(sizes):
    n_x, n_a, n_y, m, T = sizes
    rng = np.random.default_rng(4)
    p = lstm_parameters(rng, n_x, n_a, n_y)
    x, a0, c_prev, da, dc_next = (rng.standard_normal(s) for s in
                                  ((n_x, m, T), (n_a, m), (n_a, m), (n_a, m, T), (n_a, m)))
    Wx, Wh, b = stacked(p, n_a)
    a, y, c, caches = cm.lstm_forward(x, a0, p)
    h, row_cache = reference.lstm_forward(x.transpose(1, 2, 0), a0.T, Wx, Wh, b)
    np.testing.assert_allclose(a, h.transpose(2, 0, 1), **TOL)
    dx, dh0, dWx, dWh, db = reference.lstm_backward(da.transpose(1, 2, 0), row_cache)
    expected = {"dx": dx.transpose(2, 0, 1), "da0": dh0.T, **per_gate(dWx, dWh, db, n_a)}
    got = cm.lstm_backward(da, caches)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, **TOL, err_msg=name)
    np.testing.assert_allclose(y.sum(axis=0), 1.0, rtol=1e-14)
    # The step, with a nonzero c_prev and dc_next.
    a_next, c_next, _, cache = cm.lstm_cell_forward(x[:, :, 0], a0, c_prev, p)
    next_h, next_c, step_cache = reference.lstm_step_forward(x[:, :, 0].T, a0.T, c_prev.T, Wx, Wh, b)
    np.testing.assert_allclose(a_next, next_h.T, **TOL)
    np.testing.assert_allclose(c_next, next_c.T, **TOL)
    dxt, dprev_h, dprev_c, dWx, dWh, db = reference.lstm_step_backward(da[:, :, 0].T, dc_next.T, step_cache)
    got = cm.lstm_cell_backward(da[:, :, 0], dc_next, cache)
    expected = {"dxt": dxt.T, "da_prev": dprev_h.T, "dc_prev": dprev_c.T, **per_gate(dWx, dWh, db, n_a)}
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, **TOL, err_msg=name)
    # c holds the cell states, from c0 = 0.
    _, c_1, _ = reference.lstm_step_forward(x[:, :, 0].T, a0.T, np.zeros_like(a0.T), Wx, Wh, b)
    np.testing.assert_allclose(c[:, :, 0], c_1.T, **TOL)


def test_caches_are_the_course_tuples_and_inputs_are_untouched():
    rng = np.random.default_rng(5)
    p, q = rnn_parameters(rng, 2, 3, 2), lstm_parameters(rng, 2, 3, 2)
    x, a0, da = rng.standard_normal((2, 4, 3)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4, 3))
    before = [v.copy() for v in (x, a0, da, *p.values(), *q.values())]
    a_next, _, cache = cm.rnn_cell_forward(x[:, :, 0], a0, p)
    assert len(cache) == 4 and cache[0] is a_next and cache[1] is a0 and cache[3] is p
    *_, cache = cm.lstm_cell_forward(x[:, :, 0], a0, np.zeros_like(a0), q)
    assert len(cache) == 10 and cache[-1] is q
    for forward, backward, params in ((cm.rnn_forward, cm.rnn_backward, p), (cm.lstm_forward, cm.lstm_backward, q)):
        *_, caches = forward(x, a0, params)
        assert type(caches) is tuple and caches[1] is x and len(caches[0]) == 3
        backward(da, caches)
    for old, new in zip(before, (x, a0, da, *p.values(), *q.values())):
        np.testing.assert_array_equal(old, new)


def test_lstm_backward_carries_gradient_between_steps():
    """The course's printed expectation drops it; the reference must not: da_T alone reaches da0 (T = 2)."""
    rng = np.random.default_rng(6)
    p = lstm_parameters(rng, 2, 3, 2)
    x, a0 = rng.standard_normal((2, 4, 2)), rng.standard_normal((3, 4))
    da = np.zeros((3, 4, 2))
    da[:, :, 1] = 1.0
    *_, caches = cm.lstm_forward(x, a0, p)
    assert np.abs(cm.lstm_backward(da, caches)["da0"]).max() > 1e-3
