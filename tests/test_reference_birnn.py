"""Self-tests of reference/birnn.py: the bidirectional layout and its gradients."""

from __future__ import annotations

import numpy as np
from hypothesis import given

from checks.strategies import BiRNNProblem, birnn_problems
from reference.birnn import birnn_backward, birnn_forward
from checks.finite_differences import numerical_gradient
from reference.oracles.autograd_rnn import autograd_birnn_gradients
from reference.rnn import rnn_forward

GRAD_NAMES = ("x", "h0_f", "Wx_f", "Wh_f", "b_f", "h0_b", "Wx_b", "Wh_b", "b_b")
RTOL_AUTOGRAD = 1e-10  # see test_reference_rnn.py
RTOL_FD = 1e-6


def forward_args(p: BiRNNProblem) -> tuple[np.ndarray, ...]:
    return tuple(p[:-1])  # everything but dh


def reference_gradients(p: BiRNNProblem) -> dict[str, np.ndarray]:
    _, cache = birnn_forward(*forward_args(p))
    return dict(zip(GRAD_NAMES, birnn_backward(p.dh, cache)))


def flip_t(a: np.ndarray) -> np.ndarray:
    return a[:, ::-1]


@given(p=birnn_problems())
def test_output_is_forward_rnn_and_time_reversed_backward_rnn(p):
    h, _ = birnn_forward(*forward_args(p))
    h_f, _ = rnn_forward(p.x, p.h0_f, p.Wx_f, p.Wh_f, p.b_f)
    h_b, _ = rnn_forward(flip_t(p.x), p.h0_b, p.Wx_b, p.Wh_b, p.b_b)
    expected = np.concatenate([h_f, flip_t(h_b)], axis=-1)
    np.testing.assert_array_equal(h, expected, strict=True)


@given(p=birnn_problems())
def test_backward_direction_starts_at_the_last_step(p):
    # torch layout: h[:, T-1, H:] is the backward direction's *first* step, from h0_b.
    h, _ = birnn_forward(*forward_args(p))
    H = p.dims.H
    first_backward_step = np.tanh(p.x[:, -1, :] @ p.Wx_b + p.h0_b @ p.Wh_b + p.b_b)
    np.testing.assert_array_equal(h[:, -1, H:], first_backward_step)


@given(p=birnn_problems())
def test_backward_matches_autograd(p, assert_close):
    actual = reference_gradients(p)
    expected = autograd_birnn_gradients(*p)
    for name in GRAD_NAMES:
        assert_close(actual[name], expected[name], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg=name)


def loss_of(p: BiRNNProblem, name: str):
    """θ -> Σ ⟨h, dh⟩ with argument `name` of birnn_forward replaced by θ."""

    def f(theta: np.ndarray) -> float:
        h, _ = birnn_forward(*forward_args(p._replace(**{name: theta})))
        return float(np.sum(h * p.dh))

    return f


@given(p=birnn_problems(max_n=2, max_t=3, max_d=2, max_h=2))
def test_backward_matches_central_differences(p, assert_close):
    actual = reference_gradients(p)
    for name in GRAD_NAMES:
        expected = numerical_gradient(loss_of(p, name), getattr(p, name))
        assert_close(actual[name], expected, rtol=RTOL_FD, floor=1.0, err_msg=name)


@given(p=birnn_problems())
def test_no_input_is_modified_and_the_cache_can_be_reused(p):
    frozen = [np.array(a) for a in p]
    for a in frozen:
        a.flags.writeable = False  # an in-place write raises ValueError
    *args, dh = frozen
    _, cache = birnn_forward(*args)
    first = birnn_backward(dh, cache)
    again = birnn_backward(dh, cache)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
