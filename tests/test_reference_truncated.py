"""Self-tests of reference/truncated.py: chunked truncated BPTT.

Three independent descriptions of the same gradient must agree:
1. the reference ``rnn_backward_truncated`` on the cache of one full forward pass;
2. the definition: for every window, an ordinary forward + full BPTT of that window
   alone, started from the (constant) state entering it, summed over windows;
3. autograd on a forward pass whose entering states are plain, undifferentiated values.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.strategies import RNNProblem, long_rnn_problems, rnn_problems, truncation_windows
from reference.oracles.autograd_rnn import autograd_truncated_gradients
from reference.rnn import rnn_backward, rnn_forward
from reference.truncated import rnn_backward_truncated

GRAD_NAMES = ("x", "h0", "Wx", "Wh", "b")
# Same numbers as in test_reference_rnn.py: exact up to float64 rounding (~1e-15),
# here with a different summation order over windows.
RTOL = 1e-10


@st.composite
def truncation_cases(draw, **problem_sizes) -> tuple[RNNProblem, int]:
    """(problem with T >= 2, window in 1..T-1 not dividing T when possible)."""
    p = draw(rnn_problems(min_t=2, **problem_sizes))
    return p, draw(truncation_windows(p.dims.T))


def truncated(p: RNNProblem, window: int) -> dict[str, np.ndarray]:
    _, cache = rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    return dict(zip(GRAD_NAMES, rnn_backward_truncated(p.dh, cache, window)))


def window_by_window(p: RNNProblem, window: int) -> dict[str, np.ndarray]:
    """The definition: full BPTT inside each window, from a constant entering state."""
    h, _ = rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    grads = {
        "x": np.zeros_like(p.x), "h0": None,
        "Wx": np.zeros_like(p.Wx), "Wh": np.zeros_like(p.Wh), "b": np.zeros_like(p.b),
    }
    T = p.dims.T
    for start in range(0, T, window):
        stop = min(start + window, T)
        h_enter = p.h0 if start == 0 else h[:, start - 1, :]
        _, cache = rnn_forward(p.x[:, start:stop, :], h_enter, p.Wx, p.Wh, p.b)
        dx, dh_enter, dWx, dWh, db = rnn_backward(p.dh[:, start:stop, :], cache)
        grads["x"][:, start:stop, :] = dx
        if start == 0:
            grads["h0"] = dh_enter  # later entering states are constants: dropped
        grads["Wx"] += dWx
        grads["Wh"] += dWh
        grads["b"] += db
    return grads


@given(p=rnn_problems(), extra=st.integers(0, 3))
def test_window_at_least_T_is_full_bptt(p, extra):
    _, cache = rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    full = rnn_backward(p.dh, cache)
    cut = rnn_backward_truncated(p.dh, cache, p.dims.T + extra)
    for name, a, b in zip(GRAD_NAMES, cut, full):
        np.testing.assert_array_equal(a, b, err_msg=name, strict=True)


@given(case=truncation_cases())
def test_truncated_is_the_sum_of_per_window_bptt(case, assert_close):
    p, window = case
    actual = truncated(p, window)
    expected = window_by_window(p, window)
    for name in GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL, floor=1.0, err_msg=name)


@given(case=truncation_cases())
def test_truncated_matches_autograd(case, assert_close):
    p, window = case
    actual = truncated(p, window)
    expected = autograd_truncated_gradients(*p, window=window)
    for name in GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL, floor=1.0, err_msg=name)


@settings(max_examples=5)
@given(p=long_rnn_problems(), window=st.integers(1, 50))
def test_truncated_matches_autograd_on_long_sequences(p, window, assert_close):
    actual = truncated(p, window)
    expected = autograd_truncated_gradients(*p, window=window)
    for name in GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL, floor=1.0, err_msg=name)


@given(case=truncation_cases())
def test_truncated_does_not_modify_inputs_or_cache(case):
    p, window = case
    dh = p.dh.copy()
    dh.flags.writeable = False  # an in-place write raises ValueError
    _, cache = rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    first = rnn_backward_truncated(dh, cache, window)
    again = rnn_backward_truncated(dh, cache, window)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("window", [0, -1])
def test_window_must_be_positive(window):
    x, h0 = np.zeros((1, 3, 2)), np.zeros((1, 2))
    _, cache = rnn_forward(x, h0, np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError):
        rnn_backward_truncated(np.zeros((1, 3, 2)), cache, window)
