"""Self-tests of reference/classifier.py: many-to-one classifier loss and gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from checks.strategies import ClassifierProblem, classifier_problems
from reference.classifier import rnn_classifier_loss
from checks.finite_differences import numerical_gradient
from reference.oracles.autograd_rnn import autograd_classifier_gradients

GRAD_NAMES = ("x", "h0", "Wx", "Wh", "b", "W2", "b2")
RTOL_AUTOGRAD = 1e-10  # see test_reference_rnn.py
# Logits in the thousands: the loss is a sum of terms of size |z| ~ 1e3 in which the
# oracle and the reference may round differently; still far below any real error.
RTOL_LARGE_LOGITS = 1e-8
RTOL_FD = 1e-6


@given(p=classifier_problems())
def test_loss_and_gradients_match_autograd(p, assert_close):
    loss, grads = rnn_classifier_loss(*p)
    expected_loss, expected = autograd_classifier_gradients(*p)
    assert isinstance(loss, float)
    assert set(grads) == set(GRAD_NAMES)
    assert_close(np.float64(loss), np.float64(expected_loss), rtol=RTOL_AUTOGRAD, floor=1.0)
    for name in GRAD_NAMES:
        assert_close(grads[name], expected[name], rtol=RTOL_AUTOGRAD, floor=1.0, err_msg=name)


def loss_of(p: ClassifierProblem, name: str):
    """θ -> loss with argument `name` replaced by θ."""
    return lambda theta: rnn_classifier_loss(*p._replace(**{name: theta}))[0]


@given(p=classifier_problems(max_n=2, max_t=3, max_d=3, max_h=3))
def test_gradients_match_central_differences(p, assert_close):
    _, grads = rnn_classifier_loss(*p)
    for name in GRAD_NAMES:
        expected = numerical_gradient(loss_of(p, name), getattr(p, name))
        assert_close(grads[name], expected, rtol=RTOL_FD, floor=1.0, err_msg=name)


@given(p=classifier_problems(logit_scale=1e3))
def test_logits_in_the_thousands_give_finite_loss_and_gradients(p, assert_close):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grads = rnn_classifier_loss(*p)
    assert np.isfinite(loss)
    expected_loss, expected = autograd_classifier_gradients(*p)
    assert_close(np.float64(loss), np.float64(expected_loss), rtol=RTOL_LARGE_LOGITS, floor=1.0)
    for name in GRAD_NAMES:
        assert np.all(np.isfinite(grads[name])), name
        assert_close(grads[name], expected[name], rtol=RTOL_LARGE_LOGITS, floor=1.0, err_msg=name)


@pytest.mark.parametrize("z", [3000.0, -3000.0, 800.0, -800.0])
def test_extreme_logits_by_hand(z):
    # x, h0, weights all zero: h_T = 0, so z = b2 for both examples, with labels 0 and 1.
    # BCE = y·softplus(-z) + (1-y)·softplus(z): one example costs |z|, the other ~0.
    N, T, D, H = 2, 1, 1, 1
    y = np.array([0.0, 1.0])
    loss, grads = rnn_classifier_loss(
        np.zeros((N, T, D)), y, np.zeros((N, H)), np.zeros((D, H)), np.zeros((H, H)),
        np.zeros(H), np.zeros(H), np.array([z]),
    )
    assert loss == pytest.approx(abs(z) / N, rel=1e-15)
    # dloss/dz = (sigmoid(z) - y) / N; sigmoid(±3000) is exactly 1 or 0 in float64.
    sigmoid = 1.0 if z > 0 else 0.0
    np.testing.assert_allclose(grads["b2"], [np.sum(sigmoid - y) / N], rtol=1e-15, atol=1e-300)
    assert grads["b2"].shape == (1,) and grads["W2"].shape == (H,)


@given(p=classifier_problems())
def test_no_input_is_modified(p):
    frozen = [np.array(a) for a in p]
    for a in frozen:
        a.flags.writeable = False  # an in-place write raises ValueError
    rnn_classifier_loss(*frozen)
