"""Self-tests of reference/lstm.py: the step's forward semantics, lstm_forward as the
step composed from c0 = 0, and both backward passes (step, and BPTT with dh0)
against two independent oracles: autograd's reverse mode (autograd_lstm) and SymPy's
symbolic derivatives of the unrolled formulas (sympy_lstm).

SymPy cache: as in test_sympy_oracle, the oracle's default disk cache is used and
the shapes come from small fixed sets (STEP_DIMS, SEQUENCE_DIMS), so a cold run
derives 3 step and 4 sequence formulas once (about 9 s of CPU, see
sympy_lstm_affordable) and a warm run loads them in milliseconds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from checks.strategies import float_arrays
from reference.lstm import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    sigmoid,
)
from reference.oracles.autograd_lstm import (
    autograd_lstm_gradients,
    autograd_lstm_step_gradients,
)
from reference.oracles.sympy_lstm import (
    LSTM_ARGS,
    LSTM_STEP_ARGS,
    sympy_lstm_affordable,
    sympy_lstm_gradients,
    sympy_lstm_step_gradients,
)

# Reference vs autograd, and vs SymPy: all are exact formulas evaluated in float64 on
# O(1) inputs, and differ by ~1e-16 (largest seen: 4e-16). rtol 1e-10 (plus
# 1e-10 · max(1, max|expected|) absolute, see conftest) leaves a wide margin for
# rounding; any wrong derivative errs by 1e-3 or more on these inputs.
RTOL = 1e-10

# (N, D, H) of the step, and (N, T, D, H) of the sequence, for SymPy: D ≠ H and
# N > 1 appear, and every sequence shape is sympy_lstm_affordable.
STEP_DIMS = ((1, 1, 1), (2, 1, 2), (2, 2, 2))
SEQUENCE_DIMS = ((1, 1, 1, 1), (2, 1, 2, 2), (2, 2, 2, 1), (1, 2, 1, 2))
assert all(sympy_lstm_affordable(*dims) for dims in SEQUENCE_DIMS)

FEW = settings(max_examples=25)


class StepProblem(NamedTuple):
    x: np.ndarray        # (N, D)
    prev_h: np.ndarray   # (N, H)
    prev_c: np.ndarray   # (N, H)
    Wx: np.ndarray       # (D, 4H)
    Wh: np.ndarray       # (H, 4H)
    b: np.ndarray        # (4H,)
    dnext_h: np.ndarray  # (N, H)
    dnext_c: np.ndarray  # (N, H)


class SequenceProblem(NamedTuple):
    x: np.ndarray   # (N, T, D)
    h0: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    b: np.ndarray   # (4H,)
    dh: np.ndarray  # (N, T, H)


# Gate pre-activations of O(1) (weights ~1/sqrt(fan-in) times 2, biases in [-1, 1]),
# so that σ, tanh and their derivatives all vary; cell states up to 2 in magnitude.
def _weights(draw, D: int, H: int):
    Wx = draw(float_arrays((D, 4 * H), 2 / np.sqrt(D)))
    Wh = draw(float_arrays((H, 4 * H), 2 / np.sqrt(H)))
    b = draw(float_arrays((4 * H,)))
    return Wx, Wh, b


@st.composite
def step_problems(draw, dims=None) -> StepProblem:
    if dims is None:
        N, D, H = (draw(st.integers(1, 3)) for _ in range(3))
    else:
        N, D, H = draw(st.sampled_from(dims))
        event(f"dims {(N, D, H)}")
    x, prev_h = draw(float_arrays((N, D))), draw(float_arrays((N, H)))
    prev_c = draw(float_arrays((N, H), 2.0))
    Wx, Wh, b = _weights(draw, D, H)
    dnext_h, dnext_c = draw(float_arrays((N, H))), draw(float_arrays((N, H)))
    return StepProblem(x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c)


@st.composite
def sequence_problems(draw, dims=None) -> SequenceProblem:
    if dims is None:
        N, T, D, H = (draw(st.integers(1, 3)), draw(st.integers(1, 6)),
                      draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    else:
        N, T, D, H = draw(st.sampled_from(dims))
        event(f"dims {(N, T, D, H)}")
    x, h0 = draw(float_arrays((N, T, D))), draw(float_arrays((N, H)))
    Wx, Wh, b = _weights(draw, D, H)
    dh = draw(float_arrays((N, T, H)))
    return SequenceProblem(x, h0, Wx, Wh, b, dh)


def step_problem_from_seed(N: int, D: int, H: int, seed: int) -> StepProblem:
    rng = np.random.default_rng(seed)
    u = lambda shape, scale=1.0: rng.uniform(-scale, scale, shape)  # noqa: E731
    return StepProblem(u((N, D)), u((N, H)), u((N, H), 2.0), u((D, 4 * H), 2 / np.sqrt(D)),
                       u((H, 4 * H), 2 / np.sqrt(H)), u(4 * H), u((N, H)), u((N, H)))


def sequence_problem_from_seed(N: int, T: int, D: int, H: int, seed: int) -> SequenceProblem:
    rng = np.random.default_rng(seed)
    u = lambda shape, scale=1.0: rng.uniform(-scale, scale, shape)  # noqa: E731
    return SequenceProblem(u((N, T, D)), u((N, H)), u((D, 4 * H), 2 / np.sqrt(D)),
                           u((H, 4 * H), 2 / np.sqrt(H)), u(4 * H), u((N, T, H)))


# Always tried: the degenerate shape and the largest SymPy shapes, with values that
# are not Hypothesis's shrunk zeros.
STEP_SEEDED = step_problem_from_seed(2, 2, 2, seed=0)
STEP_DEGENERATE = step_problem_from_seed(1, 1, 1, seed=1)
SEQUENCE_SEEDED = sequence_problem_from_seed(1, 2, 1, 2, seed=0)
SEQUENCE_WIDE = sequence_problem_from_seed(2, 2, 2, 1, seed=1)


def step_gradients(p: StepProblem) -> dict[str, np.ndarray]:
    _, _, cache = lstm_step_forward(p.x, p.prev_h, p.prev_c, p.Wx, p.Wh, p.b)
    return dict(zip(LSTM_STEP_ARGS, lstm_step_backward(p.dnext_h, p.dnext_c, cache)))


def sequence_gradients(p: SequenceProblem) -> dict[str, np.ndarray]:
    _, cache = lstm_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    return dict(zip(LSTM_ARGS, lstm_backward(p.dh, cache)))


def read_only(arrays) -> list[np.ndarray]:
    """Read-only copies: any in-place write by the code under test raises ValueError."""
    copies = [np.array(a) for a in arrays]
    for a in copies:
        a.flags.writeable = False
    return copies


# --------------------------------------------------------------------------- forward


@given(p=step_problems())
@example(p=STEP_SEEDED)
def test_step_forward_is_the_gated_update_in_order_i_f_o_g(p):
    H = p.prev_h.shape[1]
    next_h, next_c, _ = lstm_step_forward(p.x, p.prev_h, p.prev_c, p.Wx, p.Wh, p.b)
    a = p.x @ p.Wx + p.prev_h @ p.Wh + p.b
    i, f, o, g = (a[:, k * H:(k + 1) * H] for k in range(4))
    i, f, o = (1 / (1 + np.exp(-u)) for u in (i, f, o))
    expected_c = f * p.prev_c + i * np.tanh(g)
    np.testing.assert_allclose(next_c, expected_c, rtol=1e-14, atol=1e-15, strict=True)
    np.testing.assert_allclose(next_h, o * np.tanh(expected_c), rtol=1e-14, atol=1e-15,
                               strict=True)


def test_sigmoid_is_stable_and_exact_at_the_extremes():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        s = sigmoid(np.array([-1e4, -800.0, -1.0, 0.0, 1.0, 800.0, 1e4]))
    np.testing.assert_allclose(s[2:5], [1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1))], rtol=1e-15)
    assert s[0] == 0.0 and s[-1] == 1.0 and np.all(np.isfinite(s))


@given(p=sequence_problems())
@example(p=SEQUENCE_SEEDED)
def test_forward_is_the_step_composed_from_zero_cell_state(p):
    h, _ = lstm_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    N, T, _ = p.x.shape
    H = p.h0.shape[1]
    assert h.shape == (N, T, H) and h.dtype == np.float64
    prev_h, prev_c = p.h0, np.zeros((N, H))  # c0 = 0; h excludes h0
    for t in range(T):
        prev_h, prev_c, _ = lstm_step_forward(p.x[:, t, :], prev_h, prev_c, p.Wx, p.Wh, p.b)
        np.testing.assert_array_equal(h[:, t, :], prev_h)


def test_forward_of_an_empty_sequence_and_its_backward():
    x, h0 = np.zeros((2, 0, 3)), np.ones((2, 4))
    Wx, Wh, b = np.ones((3, 16)), np.ones((4, 16)), np.ones(16)
    h, cache = lstm_forward(x, h0, Wx, Wh, b)
    assert h.shape == (2, 0, 4)
    dx, dh0, dWx, dWh, db = lstm_backward(np.zeros((2, 0, 4)), cache)
    assert dx.shape == (2, 0, 3) and dh0.shape == (2, 4)
    assert not (dh0.any() or dWx.any() or dWh.any() or db.any())


# --------------------------------------------------------------------------- backward


def _assert_all_close(assert_close, actual, expected, names):
    for name in names:
        assert_close(actual[name], expected[name], rtol=RTOL, floor=1.0, err_msg=name)


@given(p=step_problems())
@example(p=STEP_SEEDED)
@example(p=STEP_DEGENERATE)
def test_step_backward_matches_autograd(p, assert_close):
    _assert_all_close(assert_close, step_gradients(p), autograd_lstm_step_gradients(*p),
                      LSTM_STEP_ARGS)


@FEW
@given(p=step_problems(dims=STEP_DIMS))
@example(p=STEP_SEEDED)
@example(p=STEP_DEGENERATE)
def test_step_backward_matches_sympy(p, assert_close):
    _assert_all_close(assert_close, step_gradients(p), sympy_lstm_step_gradients(*p),
                      LSTM_STEP_ARGS)


@given(p=sequence_problems())
@example(p=SEQUENCE_SEEDED)
@example(p=SEQUENCE_WIDE)
def test_backward_matches_autograd(p, assert_close):
    _assert_all_close(assert_close, sequence_gradients(p), autograd_lstm_gradients(*p),
                      LSTM_ARGS)


@FEW
@given(p=sequence_problems(dims=SEQUENCE_DIMS))
@example(p=SEQUENCE_SEEDED)
@example(p=SEQUENCE_WIDE)
def test_backward_matches_sympy(p, assert_close):
    _assert_all_close(assert_close, sequence_gradients(p), sympy_lstm_gradients(*p),
                      LSTM_ARGS)


def test_the_oracles_agree_with_each_other(assert_close):
    # Independent of the reference: if both oracles restated the forward the same
    # wrong way they would still agree, but the forward tests above pin that down.
    _assert_all_close(assert_close, sympy_lstm_step_gradients(*STEP_SEEDED),
                      autograd_lstm_step_gradients(*STEP_SEEDED), LSTM_STEP_ARGS)
    _assert_all_close(assert_close, sympy_lstm_gradients(*SEQUENCE_SEEDED),
                      autograd_lstm_gradients(*SEQUENCE_SEEDED), LSTM_ARGS)


# --------------------------------------------------------------------------- purity


@FEW
@given(p=step_problems())
def test_step_functions_modify_no_input(p):
    # Read-only inputs: `dnext_c += …` (a classic student mistake) would raise here.
    x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c = read_only(p)
    _, _, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    first = lstm_step_backward(dnext_h, dnext_c, cache)
    second = lstm_step_backward(dnext_h, dnext_c, cache)  # the cache is only read
    for a, b_ in zip(first, second):
        np.testing.assert_array_equal(a, b_)


@FEW
@given(p=sequence_problems())
def test_sequence_functions_modify_no_input(p):
    x, h0, Wx, Wh, b, dh = read_only(p)
    _, cache = lstm_forward(x, h0, Wx, Wh, b)
    first = lstm_backward(dh, cache)
    second = lstm_backward(dh, cache)
    for a, b_ in zip(first, second):
        np.testing.assert_array_equal(a, b_)
