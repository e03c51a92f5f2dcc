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
from checks.verdicts import assert_all_close, assert_close, digits_to_tell_apart, labelled

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


def applied_factors(grads: dict, clipped: dict) -> dict[str, float]:
    """Per tensor, the factor the submission applied: ⟨clipped, g⟩ / ⟨g, g⟩, which is s exactly when
    clipped = s·g (all-zero tensors, which have no factor, left out)."""
    return {name: float(np.sum(clipped[name] * g) / np.sum(g * g)) for name, g in grads.items()
            if name in clipped and np.shape(clipped[name]) == np.shape(g) and np.any(g)}


def factor_note(before: dict, after: dict, due: float, formula: str, operands: tuple[float, ...] = (),
                what: str = "the factor applied (clipped / grads)") -> str:
    """"the factor applied (clipped / grads): 0.4999964 for every tensor; expected max_norm / total_norm =
    0.07 / 0.14 = 0.5": the factor ``after`` / ``before`` of each tensor (one number if they agree) against
    ``due`` = ``formula`` of ``operands``, with digits enough to see the difference."""
    factors = applied_factors(before, after)
    digits = digits_to_tell_apart([*factors.values()], due, at_least=7)
    shown = {name: f"{factor:.{digits}g}" for name, factor in factors.items()}
    if len(set(shown.values())) == 1:
        applied = f"{next(iter(shown.values()))} for every tensor"
    else:
        applied = ", ".join(f"{name} {factor}" for name, factor in shown.items())
    steps = [formula, " / ".join(f"{value:.{digits}g}" for value in operands), f"{due:.{digits}g}"]
    return f"{what}: {applied}; expected " + " = ".join(step for step in steps if step)


@check(group="clipping", points=4, needs=NEEDS)
@given(problem=clipping_problems(clipped=True))
def clipping_preserves_direction_and_sets_global_norm(sub, problem):
    """Above max_norm every tensor is scaled by max_norm / total_norm: same direction, norm max_norm."""
    grads, max_norm = problem
    clipped, _ = sub.clip_grad_norm(grads, max_norm)
    scale = max_norm / global_norm(grads)
    note = lambda: factor_note(grads, clipped, scale, "max_norm / total_norm",  # noqa: E731 - only on failure
                               (max_norm, global_norm(grads)))
    assert_all_close(labelled("clipped", clipped), labelled("clipped", {name: g * scale for name, g in grads.items()}),
                     "grads · max_norm / total_norm (one factor for all tensors)", note=note)
    assert_close(np.array(global_norm(clipped)), np.array(max_norm), "global norm after clipping", "max_norm", note=note)


@check(group="clipping", points=2, needs=NEEDS)
@given(problem=clipping_problems(clipped=False))
def clipping_below_max_norm_is_identity(sub, problem):
    """When total_norm ≤ max_norm the gradients come back unchanged."""
    grads, max_norm = problem
    clipped, _ = sub.clip_grad_norm(grads, max_norm)
    assert_all_close(labelled("clipped", clipped), labelled("clipped", grads),
                     "the unchanged gradients (total_norm ≤ max_norm)")


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
    calls = [("clip_grad_norm", (zeros, max_norm)), ("clip_grad_norm", (grads, max_norm))]
    with sub.batched(calls) as results:
        (clipped_zeros, zero_norm), = results.take(1)
        assert_all_close(labelled("clipped", clipped_zeros), labelled("clipped", zeros), "zero gradients")
        assert zero_norm == 0.0, f"wrong total_norm of all-zero gradients: expected 0, got {zero_norm}"
        (once, _), = results.take(1)
    twice, _ = sub.clip_grad_norm(once, max_norm)
    assert_all_close(labelled("clipped", twice), labelled("clipped", once),
                     "the once-clipped gradients (clipping twice must change nothing)",
                     note=lambda: factor_note(once, twice, 1.0, "", what="the factor applied when clipping again "
                                                                        "(twice / once)"))
