"""Self-tests of reference/rnn.py: step and sequence forward semantics, and BPTT
against two independent oracles (autograd's reverse mode, central differences)."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings

from checks.strategies import (
    Dims,
    RNNProblem,
    long_rnn_problems,
    rnn_problem_from_seed,
    rnn_problems,
)
from checks.finite_differences import numerical_gradient
from reference.oracles.autograd_rnn import autograd_rnn_gradients
from reference.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

GRAD_NAMES = ("x", "h0", "Wx", "Wh", "b")

# Reference vs autograd. Both are exact up to float64 rounding; with O(1) inputs and
# T <= 12 (or long sequences, where gradients decay) they differ by ~1e-15. rtol 1e-10
# (plus 1e-10 · max(1, max|expected|) absolute) leaves a 1e5 margin for rounding and
# still flags any real error, which on these inputs is O(1e-3) or larger.
RTOL_AUTOGRAD = 1e-10
# Saturated problems: gradients through 1e3-scaled weights reach ~1e3^T, and autograd's
# tanh' = 1/cosh² differs from 1 - h² by ~1e-16 absolute, amplified by those weights.
RTOL_SATURATED = 1e-8
# Reference vs central differences (eps = 1e-6): error ~ eps²·|f'''| + u·|f|/eps ≈ 1e-10.
RTOL_FD = 1e-6

DEGENERATE = rnn_problem_from_seed(Dims(N=1, T=1, D=1, H=1), seed=0)
ONE_STEP = rnn_problem_from_seed(Dims(N=3, T=1, D=2, H=4), seed=1)


def reference_gradients(p: RNNProblem) -> dict[str, np.ndarray]:
    _, cache = rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    return dict(zip(GRAD_NAMES, rnn_backward(p.dh, cache)))


def read_only(arrays) -> list[np.ndarray]:
    """Read-only copies: any in-place write by the code under test raises ValueError."""
    copies = [np.array(a) for a in arrays]
    for a in copies:
        a.flags.writeable = False
    return copies


# --------------------------------------------------------------------------- forward


@given(p=rnn_problems(max_t=1))
@example(p=DEGENERATE)
def test_step_forward_is_tanh_of_the_affine_map(p):
    x, prev_h = p.x[:, 0, :], p.h0
    next_h, _ = rnn_step_forward(x, prev_h, p.Wx, p.Wh, p.b)
    np.testing.assert_array_equal(next_h, np.tanh(x @ p.Wx + prev_h @ p.Wh + p.b), strict=True)


@given(p=rnn_problems())
def test_forward_is_the_step_applied_over_time(p):
    h, _ = rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    N, T, _, H = p.dims
    assert h.shape == (N, T, H) and h.dtype == np.float64
    prev_h = p.h0  # h excludes h0: h[:, 0] is already the first step's output
    for t in range(T):
        prev_h, _ = rnn_step_forward(p.x[:, t, :], prev_h, p.Wx, p.Wh, p.b)
        np.testing.assert_array_equal(h[:, t, :], prev_h)


# --------------------------------------------------------------------------- backward


@given(p=rnn_problems(max_t=1))
@example(p=DEGENERATE)
@example(p=ONE_STEP)
def test_step_backward_matches_autograd(p, assert_close):
    # One step from prev_h is a T = 1 sequence starting from h0 = prev_h.
    _, cache = rnn_step_forward(p.x[:, 0, :], p.h0, p.Wx, p.Wh, p.b)
    dx, dprev_h, dWx, dWh, db = rnn_step_backward(p.dh[:, 0, :], cache)
    expected = autograd_rnn_gradients(*p)
    assert_close(dx, expected["x"][:, 0, :], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg="dx")
    assert_close(dprev_h, expected["h0"], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg="dprev_h")
    assert_close(dWx, expected["Wx"], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg="dWx")
    assert_close(dWh, expected["Wh"], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg="dWh")
    assert_close(db, expected["b"], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg="db")


@given(p=rnn_problems())
@example(p=DEGENERATE)
def test_backward_matches_autograd(p, assert_close):
    actual = reference_gradients(p)
    expected = autograd_rnn_gradients(*p)
    for name in GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg=name)


@settings(max_examples=5)
@given(p=long_rnn_problems())
def test_backward_matches_autograd_on_long_sequences(p, assert_close):
    actual = reference_gradients(p)
    expected = autograd_rnn_gradients(*p)
    for name in GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg=name)


@given(p=rnn_problems(saturated=True))
def test_saturated_backward_is_finite_and_matches_autograd(p, assert_close):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        actual = reference_gradients(p)
    expected = autograd_rnn_gradients(*p)
    for name in GRAD_NAMES:
        assert np.all(np.isfinite(actual[name])), name
        assert_close(actual[name], expected[name], rtol=RTOL_SATURATED, floor=1.0, err_msg=name)


def loss_of(p: RNNProblem, name: str):
    """θ -> Σ_t ⟨h_t, dh_t⟩ with argument `name` of rnn_forward replaced by θ."""

    def f(theta: np.ndarray) -> float:
        args = p._replace(**{name: theta})
        h, _ = rnn_forward(args.x, args.h0, args.Wx, args.Wh, args.b)
        return float(np.sum(h * p.dh))

    return f


@given(p=rnn_problems(max_n=2, max_t=4, max_d=3, max_h=3))
@example(p=DEGENERATE)
def test_backward_matches_central_differences(p, assert_close):
    actual = reference_gradients(p)
    for name in GRAD_NAMES:
        expected = numerical_gradient(loss_of(p, name), getattr(p, name))
        assert_close(actual[name], expected, rtol=RTOL_FD, floor=1.0, err_msg=name)


# --------------------------------------------------------------------------- purity


@given(p=rnn_problems())
def test_backward_only_reads_its_cache(p):
    _, cache = rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    first = rnn_backward(p.dh, cache)
    second = rnn_backward(p.dh, cache)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@given(p=rnn_problems(max_t=1))
def test_step_functions_do_not_modify_inputs(p):
    # Read-only inputs: any in-place write raises ValueError.
    x, prev_h, Wx, Wh, b, dnext_h = read_only([p.x[:, 0, :], p.h0, p.Wx, p.Wh, p.b, p.dh[:, 0, :]])
    _, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
    rnn_step_backward(dnext_h, cache)


@given(p=rnn_problems())
def test_sequence_functions_do_not_modify_inputs(p):
    x, h0, Wx, Wh, b, dh = read_only(p)
    _, cache = rnn_forward(x, h0, Wx, Wh, b)
    rnn_backward(dh, cache)
