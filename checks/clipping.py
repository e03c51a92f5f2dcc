"""clipping: global-norm gradient clipping.

With total_norm = ‖(g_1, …, g_k)‖₂, the norm of all gradients as one vector:

    if total_norm > max_norm:  g_i ← g_i · max_norm / total_norm   (every tensor, same factor)
    else:                      g_i unchanged

So the clipped global vector is a positive multiple of the original (direction preserved), its
norm is min(total_norm, max_norm), and clipping twice changes nothing.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from checks.registry import check
from checks.strategies import gradient_dicts, max_norms
from checks.verdicts import assert_all_close, assert_close

NEEDS = ("clip_grad_norm",)


def global_norm(grads: dict) -> float:
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


class ClippingProblem(NamedTuple):
    """Gradients and a max_norm (so a failing example names both)."""

    grads: dict
    max_norm: float


@st.composite
def clipping_problems(draw, clipped: bool):
    """Gradients and a max_norm below (clipped=True) or above (False) their global norm."""
    grads = draw(gradient_dicts())
    norm = global_norm(grads)
    if norm == 0.0:
        grads = {name: g + 1.0 for name, g in grads.items()}
        norm = global_norm(grads)
    factor = draw(st.floats(0.01, 0.99) if clipped else st.floats(1.01, 100.0))
    return ClippingProblem(grads, factor * norm)


@check(group="clipping", points=4, needs=NEEDS)
@given(problem=clipping_problems(clipped=True))
def clipping_preserves_direction_and_sets_global_norm(sub, problem):
    """Above max_norm every tensor is scaled by max_norm / total_norm: same direction, norm max_norm."""
    grads, max_norm = problem
    clipped, _ = sub.clip_grad_norm(grads, max_norm)
    scale = max_norm / global_norm(grads)
    assert_all_close(clipped, {name: g * scale for name, g in grads.items()},
                     f"grads · max_norm / total_norm (one factor, {scale:.6g}, for all tensors)")
    assert_close(np.array(global_norm(clipped)), np.array(max_norm), "the global norm after clipping", "max_norm")


@check(group="clipping", points=2, needs=NEEDS)
@given(problem=clipping_problems(clipped=False))
def clipping_below_max_norm_is_identity(sub, problem):
    """When total_norm ≤ max_norm the gradients come back unchanged."""
    grads, max_norm = problem
    clipped, _ = sub.clip_grad_norm(grads, max_norm)
    assert_all_close(clipped, grads, "the unchanged gradients (total_norm ≤ max_norm)")


@check(group="clipping", points=2, needs=NEEDS)
@given(grads=gradient_dicts(), max_norm=max_norms())
def clipping_returns_pre_clip_global_norm(sub, grads, max_norm):
    """total_norm is the L2 norm of all tensors together, measured before clipping."""
    _, total_norm = sub.clip_grad_norm(grads, max_norm)
    assert_close(np.array(total_norm), np.array(global_norm(grads)), "total_norm",
                 "√(Σ_i ‖g_i‖²) of the gradients before clipping")


@check(group="clipping", points=2, needs=NEEDS)
@given(grads=gradient_dicts(), max_norm=max_norms())
def zero_stays_zero_and_clipping_is_idempotent(sub, grads, max_norm):
    """Zero gradients stay zero (no 0/0 NaN), and clipping a clipped set changes nothing."""
    zeros = {name: np.zeros_like(g) for name, g in grads.items()}
    clipped_zeros, zero_norm = sub.clip_grad_norm(zeros, max_norm)
    assert_all_close(clipped_zeros, zeros, "zero gradients")
    assert zero_norm == 0.0, f"total_norm of all-zero gradients is {zero_norm}, expected 0"
    once, _ = sub.clip_grad_norm(grads, max_norm)
    twice, _ = sub.clip_grad_norm(once, max_norm)
    assert_all_close(twice, once, "the once-clipped gradients (clipping twice must change nothing)")
