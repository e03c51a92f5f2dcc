"""Self-tests of reference/clipping.py: global-norm gradient clipping."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from checks.strategies import gradient_dicts, max_norms
from reference.clipping import clip_grad_norm

# A handful of float64 operations per entry: errors ~1e-16 relative.
RTOL = 1e-12


def flat(grads: dict[str, np.ndarray]) -> np.ndarray:
    """All entries of all arrays as one vector (the 'global' vector)."""
    return np.concatenate([np.ravel(g) for g in grads.values()]) if grads else np.zeros(0)


def read_only(grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    copies = {name: np.array(g) for name, g in grads.items()}
    for g in copies.values():
        g.flags.writeable = False  # an in-place write raises ValueError
    return copies


@given(grads=gradient_dicts(), max_norm=max_norms())
def test_total_norm_is_the_global_norm_before_clipping(grads, max_norm, assert_close):
    _, total_norm = clip_grad_norm(grads, max_norm)
    assert isinstance(total_norm, float)
    assert_close(np.float64(total_norm), np.linalg.norm(flat(grads)), rtol=RTOL)


@given(grads=gradient_dicts(), max_norm=max_norms())
def test_clipping_rule(grads, max_norm, assert_close):
    clipped, total_norm = clip_grad_norm(grads, max_norm)
    assert list(clipped) == list(grads)  # same names, same order
    for name, g in grads.items():
        assert isinstance(clipped[name], np.ndarray) and clipped[name].dtype == np.float64
        assert clipped[name].shape == g.shape, name
    if total_norm > max_norm:
        # Same direction (one common positive factor), global norm max_norm.
        scale = max_norm / total_norm
        for name, g in grads.items():
            assert_close(clipped[name], g * scale, rtol=RTOL, err_msg=name)
        assert_close(np.linalg.norm(flat(clipped)), np.float64(max_norm), rtol=RTOL)
    else:
        for name, g in grads.items():
            np.testing.assert_array_equal(clipped[name], g, err_msg=name)


@given(grads=gradient_dicts(), fraction=st.floats(1e-6, 0.999))
def test_gradient_above_max_norm_lands_on_it_in_the_same_direction(grads, fraction, assert_close):
    total = float(np.linalg.norm(flat(grads)))
    assume(total > 0)
    max_norm = fraction * total  # always clipped
    clipped, _ = clip_grad_norm(grads, max_norm)
    before, after = flat(grads), flat(clipped)
    assert_close(np.linalg.norm(after), np.float64(max_norm), rtol=RTOL)
    cosine = before @ after / (np.linalg.norm(before) * np.linalg.norm(after))
    assert abs(cosine - 1) < 1e-12


@given(grads=gradient_dicts(), factor=st.floats(1.001, 1e6))
def test_gradient_within_max_norm_is_unchanged(grads, factor):
    # factor > 1 by more than rounding: np.linalg.norm and the reference's sum of squares may
    # differ in the last bit, and at exactly factor = 1 that bit decides whether clipping happens.
    max_norm = factor * float(np.linalg.norm(flat(grads))) + 1e-300  # never clipped
    clipped, _ = clip_grad_norm(grads, max_norm)
    for name, g in grads.items():
        np.testing.assert_array_equal(clipped[name], g, err_msg=name)


@given(grads=gradient_dicts(), max_norm=max_norms())
def test_zero_gradient_stays_zero(grads, max_norm):
    zeros = {name: np.zeros_like(g) for name, g in grads.items()}
    with np.errstate(all="raise"):  # 0/0 would raise instead of giving NaN
        clipped, total_norm = clip_grad_norm(zeros, max_norm)
    assert total_norm == 0.0
    for name, g in clipped.items():
        np.testing.assert_array_equal(g, zeros[name], err_msg=name)


@given(grads=gradient_dicts(), max_norm=max_norms())
def test_clipping_is_idempotent(grads, max_norm, assert_close):
    once, _ = clip_grad_norm(grads, max_norm)
    twice, _ = clip_grad_norm(once, max_norm)
    for name in grads:
        assert_close(twice[name], once[name], rtol=RTOL, err_msg=name)


@given(grads=gradient_dicts(), max_norm=max_norms())
def test_inputs_are_not_modified_and_outputs_are_new_arrays(grads, max_norm):
    frozen = read_only(grads)
    clipped, _ = clip_grad_norm(frozen, max_norm)
    for name, g in frozen.items():
        np.testing.assert_array_equal(g, grads[name])
        assert not np.shares_memory(clipped[name], g), name


def test_norm_exactly_at_max_norm_is_not_clipped():
    grads = {"W0": np.array([[3.0, 0.0]]), "b1": np.array([4.0])}  # global norm 5
    clipped, total_norm = clip_grad_norm(grads, 5.0)
    assert total_norm == 5.0
    np.testing.assert_array_equal(clipped["W0"], grads["W0"])
    np.testing.assert_array_equal(clipped["b1"], grads["b1"])


def test_scalar_gradients_stay_arrays():
    clipped, total_norm = clip_grad_norm({"b0": np.array(-10.0)}, 2.0)
    assert total_norm == 10.0
    assert isinstance(clipped["b0"], np.ndarray) and clipped["b0"].shape == ()
    assert clipped["b0"] == -2.0
