"""temporal: the temporal affine layer and the masked temporal softmax loss of CS231n's captioning model.

Row-vector convention: N sequences of T steps. The temporal affine layer applies one affine map
at every step, w (D, M) and b (M,) shared by all (n, t):

    out[n, t] = x[n, t]·w + b          dx[n, t] = dout[n, t]·wᵀ
    dw = Σ_{n,t} x[n, t]ᵀ·dout[n, t]   db = Σ_{n,t} dout[n, t]          (sums over batch AND time)

The temporal softmax loss scores V words at every step, y (N, T) the right words, mask (N, T)
False at the <NULL> padding after a caption's end:

    loss    = −(1/N) Σ_{n,t} mask[n, t] · log softmax(x[n, t])[y[n, t]]
    dx[n,t] = (1/N) · mask[n, t] · (softmax(x[n, t]) − onehot(y[n, t]))

divided by N, the batch size, not by the number of unmasked positions. A masked position
changes neither the loss nor dx, and dx is exactly 0 there. Stable: scores in the thousands give
a finite loss (subtract each row's maximum before exp).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given

from checks.embedding_problems import HUGE_SCALE, SoftmaxProblem, affine_problems, softmax_problems
from checks.engine.isolation.batch_calls import Call, forward_then_backward
from checks.gradcheck import (Probe as Direction, assert_backprop_matches_own_forward,
                              assert_gradients_match_finite_differences, joint_direction, perturbed_arguments,
                              probe_seeds)
from checks.hygiene import Probe, examine, unchanged, unchanged_by_backward
from checks.registry import check
from checks.strategies import SEEDS
from checks.verdicts import assert_all_close, assert_close

AFFINE_FORWARD, AFFINE_BACKWARD, LOSS = "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss"
AFFINE = (AFFINE_FORWARD, AFFINE_BACKWARD)
AFFINE_ARGUMENTS, AFFINE_GRADIENTS = ("x", "w", "b"), ("dx", "dw", "db")
LOSS_ARGUMENTS = ("x", "y", "mask")
# Fractions of the profile's examples (default 50). Every bug these checks target shows on almost every
# example (every problem of two or more positions masks one and keeps one, and its peak score overflows an
# unshifted exp; most have T >= 2 for a sum over time; finite differences along a random direction; values
# off by O(1)), so a few examples lose no power and keep the group's grade fast; finite differences, the
# most informative, keep the most.
FEW, FEWEST = 0.4, 0.2
# The hygiene check's parts, in the order of its probes: inputs unchanged, then exact shapes at size one.
HYGIENE_PARTS = ((AFFINE_FORWARD,), AFFINE, (LOSS,)) * 2


def affine_inputs(p) -> dict:
    return {"x": p.x, "w": p.w, "b": p.b}


@check(group="temporal", points=1, needs=AFFINE, examples=FEW)
@given(p=affine_problems(), seed=probe_seeds())
def temporal_affine_backward_matches_finite_differences(sub, p, seed):
    """temporal_affine_backward's (dx, dw, db) equal central differences of your own temporal_affine_forward
    (L = Σ out·dout)."""
    assert_backprop_matches_own_forward(sub, AFFINE_FORWARD, AFFINE_BACKWARD, affine_inputs(p), p.dout, seed,
                                        AFFINE_GRADIENTS)


@check(group="temporal", points=1, needs=AFFINE, reference=True, examples=FEWEST)
@given(p=affine_problems())
def temporal_affine_matches_reference(sub, p):
    """temporal_affine_forward's out and temporal_affine_backward's (dx, dw, db) equal the reference's
    (w and b are shared by every step: dw and db sum over batch and time)."""
    import reference

    (out, _), gradients = sub.forward_and_backward(AFFINE_FORWARD, (p.x, p.w, p.b), AFFINE_BACKWARD, p.dout)
    expected_out, reference_cache = reference.temporal_affine_forward(p.x, p.w, p.b)
    expected = reference.temporal_affine_backward(p.dout, reference_cache)
    assert_all_close({"out": out, **dict(zip(AFFINE_GRADIENTS, gradients))},
                     {"out": expected_out, **dict(zip(AFFINE_GRADIENTS, expected))}, "the reference")


@check(group="temporal", points=1, needs=(LOSS,), examples=FEW)
@given(p=softmax_problems(), seed=probe_seeds())
def softmax_loss_dx_matches_finite_differences(sub, p, seed):
    """temporal_softmax_loss's dx equals central differences of your own loss (y and mask held fixed)."""
    arguments = dict(zip(LOSS_ARGUMENTS, p))
    joint = Direction(joint_direction({"x": p.x}, seed))
    plus, minus = perturbed_arguments(arguments, [joint])
    (_, dx), (loss_plus, _), (loss_minus, _) = sub.batch([(LOSS, tuple(a.values())) for a in (arguments, plus, minus)])
    size = loss_rounding_scale(p.x)
    assert_gradients_match_finite_differences(sub.evaluator(LOSS), arguments, {"x": dx}, lambda loss: (loss, size),
                                              seed, gradient_names={"x": "dx"}, joint_outputs=(loss_plus, loss_minus))


def loss_rounding_scale(x: np.ndarray) -> float:
    """A bound on Σ|terms| of the loss for scores x (N, T, V), the scale of its rounding error.

    Each −log p = logsumexp(x[n, t]) − x[n, t, y] is a difference of two numbers of magnitude at most
    max|x[n, t]| + log V, each rounded: its error is relative to those, not to −log p itself (which
    is tiny when p ≈ 1). Summed over every position (masked ones too: an upper bound) and divided by N.
    """
    N, _, V = x.shape
    return float(np.sum(2 * np.abs(x).max(axis=-1) + np.log(V))) / N


def masked_changed(p: SoftmaxProblem, seed: int) -> SoftmaxProblem:
    """p with new scores (same range) and other labels at every masked position; the rest untouched."""
    rng = np.random.default_rng(seed)
    x, y = p.x.copy(), p.y.copy()
    scale = float(np.max(np.abs(p.x), initial=1.0))
    x[~p.mask] = rng.uniform(-scale, scale, size=x[~p.mask].shape)
    y[~p.mask] = (y[~p.mask] + 1) % p.x.shape[2]
    return SoftmaxProblem(x, y, p.mask)


def nonzero_at_masked(dx: np.ndarray, mask: np.ndarray, which: str) -> str | None:
    """Where dx (N, T, V) is not exactly 0 at a masked position, in words; None if it is 0 at all of them."""
    wrong = np.argwhere((dx != 0) & ~mask[..., None])
    if not len(wrong):
        return None
    n, t, v = (int(i) for i in wrong[0])
    return (f"{which}: dx[{n}, {t}, {v}] = {dx[n, t, v]:.6g} at a masked position (mask[{n}, {t}] is False); "
            "dx must be exactly 0 wherever the mask is False")


@check(group="temporal", points=1, needs=(LOSS,), examples=FEWEST)
@given(p=softmax_problems(), seed=SEEDS)
def masked_positions_change_nothing(sub, p, seed):
    """At masked positions dx is exactly 0, and changing the scores or labels there changes neither the loss
    nor dx."""
    changed = masked_changed(p, seed)
    (loss, dx), (changed_loss, changed_dx) = sub.batch([(LOSS, tuple(p)), (LOSS, tuple(changed))])
    problem = nonzero_at_masked(dx, p.mask, "temporal_softmax_loss")
    assert problem is None, problem
    assert_all_close({"loss": np.array(changed_loss), "dx": changed_dx}, {"loss": np.array(loss), "dx": dx},
                     "your own results before the scores and labels at the masked positions were changed "
                     "(loss and dx must not depend on them)")


def with_masked_sequence(p: SoftmaxProblem) -> SoftmaxProblem:
    """p with one more sequence, every position of it masked: scores 0, labels 0."""
    N, T, V = p.x.shape
    return SoftmaxProblem(np.concatenate([p.x, np.zeros((1, T, V))]),
                          np.concatenate([p.y, np.zeros((1, T), dtype=p.y.dtype)]),
                          np.concatenate([p.mask, np.zeros((1, T), dtype=bool)]))


@check(group="temporal", points=1, needs=(LOSS,), examples=FEWEST)
@given(p=softmax_problems())
def softmax_loss_is_divided_by_the_batch_size(sub, p):
    """The loss and dx are divided by N, the batch size, not by the number of unmasked positions.

    Two consequences, both checked on your own function: (1) a batch's loss is the mean over its
    sequences of each sequence's loss alone (N = 1, where dividing by N divides by 1); (2) one more
    sequence that is masked everywhere adds nothing to the sum but 1 to N, so it scales the loss and
    the first N sequences' dx by N/(N+1). Dividing by the number of unmasked positions breaks (2)
    whenever the loss is not 0.
    """
    N = p.x.shape[0]
    singles = [SoftmaxProblem(p.x[n:n + 1], p.y[n:n + 1], p.mask[n:n + 1]) for n in range(N)]
    results = sub.batch([(LOSS, tuple(q)) for q in (p, with_masked_sequence(p), *singles)])
    (loss, dx), (more_loss, more_dx), single_losses = results[0], results[1], [r[0] for r in results[2:]]
    assert_close(np.array(loss), np.array(np.mean(single_losses)), "loss",
                 f"the mean of your own losses of its {N} sequences, each given alone (a loss divided by N)")
    assert_all_close({"loss": np.array(more_loss), "dx": more_dx[:N]},
                     {"loss": np.array(loss * N / (N + 1)), "dx": dx * N / (N + 1)},
                     f"N/(N+1) = {N}/{N + 1} times your own results without the sequence added "
                     "(a sequence masked everywhere adds nothing to the sum, and 1 to N)")


@check(group="temporal", points=1, needs=(LOSS,), reference=True, examples=FEWEST)
@given(p=softmax_problems(scale=HUGE_SCALE))
def softmax_loss_is_stable_for_huge_scores(sub, p):
    """For scores in the thousands the loss and dx stay finite and equal the reference (subtract each row's
    maximum before exp)."""
    import reference

    loss, dx = sub.temporal_softmax_loss(*p)  # validation rejects NaN and inf
    expected_loss, expected_dx = reference.temporal_softmax_loss(*p)
    assert_all_close({"loss": np.array(loss), "dx": dx}, {"loss": np.array(expected_loss), "dx": expected_dx},
                     "the reference (scores up to thousands)")


@check(group="temporal", points=1, needs=(LOSS,), reference=True, examples=FEWEST)
@given(p=softmax_problems())
def softmax_loss_matches_reference(sub, p):
    """temporal_softmax_loss returns the reference's loss and dx: −log softmax summed over the unmasked
    positions, divided by N."""
    import reference

    loss, dx = sub.temporal_softmax_loss(*p)
    expected_loss, expected_dx = reference.temporal_softmax_loss(*p)
    assert_all_close({"loss": np.array(loss), "dx": dx}, {"loss": np.array(expected_loss), "dx": expected_dx},
                     "the reference")


@check(group="temporal", points=1, needs=(*AFFINE, LOSS), needs_any=True, parts=HYGIENE_PARTS,
       examples=FEWEST)
@given(p=affine_problems(), q=softmax_problems(),
       one=affine_problems(max_n=1, max_t=1, max_d=1, max_m=1),
       one_loss=softmax_problems(max_n=1, max_t=1, max_v=2, min_v=1))
def temporal_layers_leave_inputs_unchanged_and_shapes_exact(sub, p, q, one, one_loss):
    """temporal_affine_forward/backward and temporal_softmax_loss never modify their arguments, and at
    N = T = D = M = 1 still return float64 arrays of their exact shapes (db is (M,), not (1, M))."""
    args, one_args = (p.x, p.w, p.b), (one.x, one.w, one.b)
    with sub.exact_shapes():  # validated on return with exact shapes: a (1, 1) db must not pass as (1,)
        examine(sub, [
            unchanged(AFFINE_FORWARD, AFFINE_ARGUMENTS, args),
            unchanged_by_backward(AFFINE_FORWARD, args, AFFINE_BACKWARD, p.dout, "dout"),
            unchanged(LOSS, LOSS_ARGUMENTS, tuple(q)),
            Probe((Call(AFFINE_FORWARD, one_args),)),
            Probe(tuple(forward_then_backward(AFFINE_FORWARD, one_args, AFFINE_BACKWARD, one.dout))),
            Probe((Call(LOSS, tuple(one_loss)),)),
        ])
