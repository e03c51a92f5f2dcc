"""classifier: a many-to-one binary classifier on the last hidden state.

    z = h_T·W2 + b2,   loss = mean_n [softplus(z_n) − y_n·z_n]   (BCE of sigmoid(z))
    dloss/dz_n = (sigmoid(z_n) − y_n) / N

and from dz, backprop through the head and the RNN. The loss must be computed stably: finite
for |z| in the thousands, where log(sigmoid(z)) naively is log(0).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given

from checks.gradcheck import assert_loss_gradients_match_finite_differences, probe_seeds
from checks.registry import check
from checks.strategies import classifier_problems
from checks.verdicts import assert_all_close, assert_close, labelled

PARAMETERS = ("x", "h0", "Wx", "Wh", "b", "W2", "b2")
NEEDS = ("rnn_classifier_loss",)


def bce_logit_identity() -> str:
    """SymPy's derivation of the logit gradient, as text for a failure message (SymPy imported lazily)."""
    from reference.oracles.identities import bce_logit_identity_text

    return bce_logit_identity_text()


def classifier_inputs(p) -> dict:
    return dict(p._asdict())


@check(group="classifier", points=4, needs=NEEDS)
@given(p=classifier_problems(), seed=probe_seeds())
def classifier_gradients_match_finite_differences(sub, p, seed):
    """Every gradient of rnn_classifier_loss equals central differences of your own loss."""
    assert_loss_gradients_match_finite_differences(sub, "rnn_classifier_loss", classifier_inputs(p), PARAMETERS, seed)


@check(group="classifier", points=4, needs=NEEDS, reference=True)
@given(p=classifier_problems())
def classifier_matches_reference(sub, p):
    """The loss and all seven gradients equal the reference (dz = (sigmoid(z) − y)/N)."""
    import reference

    loss, grads = sub.rnn_classifier_loss(*p)
    expected_loss, expected_grads = reference.rnn_classifier_loss(*p)
    assert_close(np.array(loss), np.array(expected_loss), "loss", "mean BCE of sigmoid(z) from the reference")
    assert_all_close(labelled("grads", grads), labelled("grads", expected_grads),
                     lambda: f"the reference, which uses SymPy's {bce_logit_identity()}")


@check(group="classifier", points=2, needs=NEEDS, reference=True)
@given(p=classifier_problems(logit_scale=1e3))
def classifier_is_stable_for_huge_logits(sub, p):
    """For |z| in the thousands the loss and gradients stay finite and equal the reference."""
    import reference

    loss, grads = sub.rnn_classifier_loss(*p)  # validation rejects NaN and inf
    expected_loss, expected_grads = reference.rnn_classifier_loss(*p)
    assert_close(np.array(loss), np.array(expected_loss), "loss (|z| up to thousands)",
                 "the reference's stable softplus(z) − y·z")
    assert_all_close(labelled("grads", grads), labelled("grads", expected_grads), "the reference (|z| up to thousands)")
