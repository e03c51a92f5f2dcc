"""Self-tests of reference/gru.py: the forward against torch.nn.GRU's equations
(restated here, independently), gru_forward as the step composed, the saturated
update gate, and the step and sequence backward passes against two independent
oracles (SymPy's symbolic derivatives, autograd's reverse mode).

SymPy cache: like tests/test_sympy_oracle.py, these tests use the oracle's default disk
cache, and draw shapes from small fixed sets (SYMPY_STEP_DIMS, SYMPY_SEQUENCE_DIMS), so
that a warm run loads formulas in milliseconds. A cold run derives the 5 formulas
once, about 8 s of CPU in all (the T = 2 one alone 5 s; see
reference.oracles.sympy_gru.AffordableShapes).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from checks.strategies import Dims
from reference.gru import (
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
)
from reference.oracles.autograd_gru import (
    autograd_gru_forward,
    autograd_gru_gradients,
    autograd_gru_step_gradients,
)
from reference.oracles.sympy_gru import (
    GRU_SYMPY_AFFORDABLE,
    sympy_gru_gradients,
    sympy_gru_step_gradients,
)

GRAD_NAMES = ("x", "h0", "Wx", "Wh", "bx", "bh")
STEP_GRAD_NAMES = ("x", "prev_h", "Wx", "Wh", "bx", "bh")

# Reference vs SymPy: both exact formulas in float64 on O(1) inputs with T <= 2; the
# observed disagreement is ~1e-16. rtol 1e-12 (plus 1e-12 · max(1, max|expected|)
# absolute) leaves a 1e3 margin and still flags a wrong derivative (errors >= 1e-3).
RTOL_SYMPY = 1e-12
# Reference vs autograd: same, over up to 8 steps; autograd's σ' goes through
# tanh' = 1/cosh², the reference's through σ(1 - σ), which differ by rounding only.
RTOL_AUTOGRAD = 1e-10
# Reference forward vs torch's equations restated per sample: the same math with a
# different summation order, ~1e-16 apart.
RTOL_FORWARD = 1e-13

# Step shapes: D = H and D ≠ H (a transposed block is invisible when D = H), N = 1, 2.
SYMPY_STEP_DIMS = (
    Dims(N=1, T=1, D=1, H=1),
    Dims(N=2, T=1, D=1, H=2),
    Dims(N=1, T=1, D=2, H=1),
    Dims(N=2, T=1, D=2, H=2),
)
# Sequences: two steps, the most SymPy affords (H = 2 so gates mix across units).
SYMPY_SEQUENCE_DIMS = (Dims(N=1, T=2, D=1, H=2),)
assert all(GRU_SYMPY_AFFORDABLE(*d) for d in SYMPY_STEP_DIMS + SYMPY_SEQUENCE_DIMS)

FEW = settings(max_examples=20)


class GRUProblem(NamedTuple):
    """Inputs of gru_forward (x, h0, Wx, Wh, bx, bh) and an upstream gradient dh."""

    x: np.ndarray
    h0: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    bx: np.ndarray
    bh: np.ndarray
    dh: np.ndarray

    @property
    def inputs(self) -> tuple[np.ndarray, ...]:
        return self[:6]


def gru_problem_from_seed(dims: Dims, seed: int) -> GRUProblem:
    """x, h0, dh in [-1, 1]; Wx in [-1, 1]/sqrt(D), Wh in [-1, 1]/sqrt(H); biases in
    [-0.5, 0.5]. With these, every gate is far from saturation and every gradient
    entry is O(1)."""
    N, T, D, H = dims
    rng = np.random.default_rng(seed)

    def u(shape, scale=1.0):
        return rng.uniform(-scale, scale, shape)

    return GRUProblem(
        x=u((N, T, D)), h0=u((N, H)),
        Wx=u((D, 3 * H), 1 / math.sqrt(D)), Wh=u((H, 3 * H), 1 / math.sqrt(H)),
        bx=u((3 * H,), 0.5), bh=u((3 * H,), 0.5), dh=u((N, T, H)),
    )


@st.composite
def gru_problems(draw, max_n=3, max_t=8, max_d=4, max_h=4, min_t=1) -> GRUProblem:
    dims = Dims(N=draw(st.integers(1, max_n)), T=draw(st.integers(min_t, max_t)),
                D=draw(st.integers(1, max_d)), H=draw(st.integers(1, max_h)))
    return gru_problem_from_seed(dims, draw(st.integers(0, 2**32 - 1)))


def problems_of(dims_set) -> st.SearchStrategy[GRUProblem]:
    return st.builds(gru_problem_from_seed, st.sampled_from(dims_set), st.integers(0, 2**32 - 1))


DEGENERATE = gru_problem_from_seed(Dims(N=1, T=1, D=1, H=1), seed=0)
# D ≠ H and N > 1 in one step: a transposed weight or a bias gradient not summed over
# the batch has the wrong shape here.
ONE_STEP = gru_problem_from_seed(Dims(N=3, T=1, D=2, H=4), seed=1)


def step_of(p: GRUProblem, t: int = 0):
    """(x_t, prev_h = h0, Wx, Wh, bx, bh) and dnext_h = dh_t: one step of p."""
    return (p.x[:, t, :], p.h0, p.Wx, p.Wh, p.bx, p.bh), p.dh[:, t, :]


def reference_step_gradients(p: GRUProblem) -> dict[str, np.ndarray]:
    args, dnext_h = step_of(p)
    _, cache = gru_step_forward(*args)
    return dict(zip(STEP_GRAD_NAMES, gru_step_backward(dnext_h, cache)))


def reference_gradients(p: GRUProblem) -> dict[str, np.ndarray]:
    _, cache = gru_forward(*p.inputs)
    return dict(zip(GRAD_NAMES, gru_backward(p.dh, cache)))


def read_only(arrays) -> list[np.ndarray]:
    """Read-only copies: any in-place write by the code under test raises ValueError."""
    copies = [np.array(a) for a in arrays]
    for a in copies:
        a.flags.writeable = False
    return copies


# --------------------------------------------------------------------------- forward


def torch_gru_cell(x_n, h_n, weight_ih, weight_hh, bias_ih, bias_hh):
    """torch.nn.GRU's documented equations for one sample, column-vector form:

        r  = σ(W_ir x + b_ir + W_hr h + b_hr)
        z  = σ(W_iz x + b_iz + W_hz h + b_hz)
        n  = tanh(W_in x + b_in + r ∗ (W_hn h + b_hn))
        h' = (1 − z) ∗ n + z ∗ h

    with weight_ih = [W_ir | W_iz | W_in] stacked by rows (3H, D), weight_hh likewise
    (3H, H), and σ(a) = 1 / (1 + e^(−a)). x_n (D,), h_n (H,) -> h' (H,).
    """
    H = h_n.shape[0]
    W_ir, W_iz, W_in = weight_ih[:H], weight_ih[H:2 * H], weight_ih[2 * H:]
    W_hr, W_hz, W_hn = weight_hh[:H], weight_hh[H:2 * H], weight_hh[2 * H:]
    b_ir, b_iz, b_in = bias_ih[:H], bias_ih[H:2 * H], bias_ih[2 * H:]
    b_hr, b_hz, b_hn = bias_hh[:H], bias_hh[H:2 * H], bias_hh[2 * H:]

    def sigma(a):
        return 1 / (1 + np.exp(-a))

    r = sigma(W_ir @ x_n + b_ir + W_hr @ h_n + b_hr)
    z = sigma(W_iz @ x_n + b_iz + W_hz @ h_n + b_hz)
    n = np.tanh(W_in @ x_n + b_in + r * (W_hn @ h_n + b_hn))
    return (1 - z) * n + z * h_n


def torch_gru(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """torch.nn.GRU (batch_first=True, one layer) over x (N, T, D) from h0 (N, H),
    one sample and one step at a time: output (N, T, H)."""
    N, T, _ = x.shape
    out = np.empty((N, T, h0.shape[1]))
    for n_ in range(N):
        h = h0[n_]
        for t in range(T):
            h = torch_gru_cell(x[n_, t], h, weight_ih, weight_hh, bias_ih, bias_hh)
            out[n_, t] = h
    return out


@FEW
@given(p=gru_problems())
@example(p=DEGENERATE)
@example(p=ONE_STEP)
def test_forward_matches_torch_gru_equations(p, assert_close):
    # The contract's mapping: weight_ih_l0 = Wx.T, weight_hh_l0 = Wh.T, biases as they are.
    expected = torch_gru(p.x, p.h0, p.Wx.T, p.Wh.T, p.bx, p.bh)
    h, _ = gru_forward(*p.inputs)
    assert_close(h, expected, rtol=RTOL_FORWARD, floor=1.0, err_msg="h")
    next_h, _ = gru_step_forward(*step_of(p)[0])
    assert_close(next_h, expected[:, 0, :], rtol=RTOL_FORWARD, floor=1.0, err_msg="next_h")
    # The autograd oracle differentiates the same function the reference computes.
    assert_close(autograd_gru_forward(*p.inputs), expected, rtol=RTOL_FORWARD, floor=1.0,
                 err_msg="autograd oracle forward")


@FEW
@given(p=gru_problems(min_t=0))
def test_forward_is_the_step_composed(p):
    h, _ = gru_forward(*p.inputs)
    N, T, _ = p.x.shape
    H = p.h0.shape[1]
    assert h.shape == (N, T, H) and h.dtype == np.float64
    prev_h = p.h0  # h excludes h0: h[:, 0] is already the first step's output
    for t in range(T):
        prev_h, _ = gru_step_forward(p.x[:, t, :], prev_h, p.Wx, p.Wh, p.bx, p.bh)
        np.testing.assert_array_equal(h[:, t, :], prev_h, strict=True)


def saturate_update_gate(p: GRUProblem) -> GRUProblem:
    """p with bx_z = 100: z = σ(100 + O(1)) rounds to exactly 1.0 in float64."""
    H = p.h0.shape[1]
    bx = p.bx.copy()
    bx[H:2 * H] = 100.0
    return p._replace(bx=bx)


@FEW
@given(p=gru_problems())
@example(p=ONE_STEP)
def test_saturated_update_gate_copies_the_state_exactly(p):
    p = saturate_update_gate(p)
    args, dnext_h = step_of(p)
    next_h, cache = gru_step_forward(*args)
    np.testing.assert_array_equal(next_h, p.h0, strict=True)
    # Backward: the only path left is the skip connection, with weight exactly 1.
    _, dprev_h, *_ = gru_step_backward(dnext_h, cache)
    np.testing.assert_array_equal(dprev_h, dnext_h, strict=True)
    # Over a sequence, every state is h0.
    h, _ = gru_forward(*p.inputs)
    np.testing.assert_array_equal(h, np.broadcast_to(p.h0[:, None, :], h.shape))


# --------------------------------------------------------------------------- backward


@given(p=problems_of(SYMPY_STEP_DIMS))
@example(p=DEGENERATE)
def test_step_backward_matches_sympy(p, assert_close):
    actual = reference_step_gradients(p)
    args, dnext_h = step_of(p)
    expected = sympy_gru_step_gradients(*args, dnext_h)
    for name in STEP_GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL_SYMPY, floor=1.0, err_msg=name)


@FEW
@given(p=gru_problems(max_t=1))
@example(p=DEGENERATE)
@example(p=ONE_STEP)
def test_step_backward_matches_autograd(p, assert_close):
    actual = reference_step_gradients(p)
    args, dnext_h = step_of(p)
    expected = autograd_gru_step_gradients(*args, dnext_h)
    for name in STEP_GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg=name)


@given(p=problems_of(SYMPY_SEQUENCE_DIMS))
def test_backward_matches_sympy(p, assert_close):
    actual = reference_gradients(p)
    expected = sympy_gru_gradients(*p)
    for name in GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL_SYMPY, floor=1.0, err_msg=name)


@FEW
@given(p=gru_problems())
@example(p=DEGENERATE)
def test_backward_matches_autograd(p, assert_close):
    actual = reference_gradients(p)
    expected = autograd_gru_gradients(*p)
    for name in GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg=name)


def test_empty_sequence_has_zero_gradients():
    p = gru_problem_from_seed(Dims(N=2, T=1, D=3, H=2), seed=2)
    p = p._replace(x=p.x[:, :0, :], dh=p.dh[:, :0, :])
    h, cache = gru_forward(*p.inputs)
    assert h.shape == (2, 0, 2)
    grads = dict(zip(GRAD_NAMES, gru_backward(p.dh, cache)))
    for name in GRAD_NAMES:
        np.testing.assert_array_equal(grads[name], np.zeros_like(getattr(p, name)), strict=True)


# --------------------------------------------------------------------------- purity


@FEW
@given(p=gru_problems())
def test_backward_only_reads_its_cache(p):
    _, cache = gru_forward(*p.inputs)
    first = gru_backward(p.dh, cache)
    second = gru_backward(p.dh, cache)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@FEW
@given(p=gru_problems(max_t=1))
def test_step_functions_do_not_modify_inputs(p):
    args, dnext_h = step_of(p)
    *args, dnext_h = read_only([*args, dnext_h])
    _, cache = gru_step_forward(*args)
    gru_step_backward(dnext_h, cache)


@FEW
@given(p=gru_problems())
def test_sequence_functions_do_not_modify_inputs(p):
    x, h0, Wx, Wh, bx, bh, dh = read_only(p)
    _, cache = gru_forward(x, h0, Wx, Wh, bx, bh)
    gru_backward(dh, cache)
