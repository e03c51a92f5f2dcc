"""Self-tests of reference/embedding.py: the word embedding, the temporal affine layer
and the temporal softmax loss, forward semantics and backward against two independent
oracles (autograd_embedding's reverse mode, sympy_temporal's symbolic derivatives).

The embedding's problems always contain a repeated word (one position is copied onto
another), so that a backward that writes ``dW[x] += dout`` (which keeps one gradient
per repeated row) disagrees with both oracles; the last section shows that it, and
other realistic single bugs, fail the very comparisons the reference passes.

Cost: SymPy derives 3 formulas per shape of the small tables below, each well under a
second, cached on disk (sympy_rnn's directory) for later runs; the whole file runs in a
few seconds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reference.embedding import (
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from reference.oracles import sympy_temporal
from reference.oracles.autograd_embedding import (
    autograd_embedding_gradient,
    autograd_temporal_affine_gradients,
    autograd_temporal_softmax_loss,
)
from reference.oracles.sympy_temporal import (
    sympy_embedding_gradient,
    sympy_temporal_affine_gradients,
    sympy_temporal_softmax_loss,
)

# Reference vs either oracle, on O(1) inputs: every gradient entry is a short sum of
# O(1) products (or a softmax probability), exact up to float64 rounding on both sides
# (~1e-16 observed). rtol 1e-12 with an absolute floor of 1e-12 leaves a margin of 1e3
# and flags any wrong formula, whose errors here are O(1e-2) or larger.
RTOL = 1e-12
# Scores in the thousands: the loss is O(1e3) and the shifted scores lose the low bits
# of the shift, so relative agreement is ~1e-13 of the largest score.
RTOL_LARGE = 1e-10

SEEDS = st.integers(0, 2**32 - 1)


# --------------------------------------------------------------------------- problems


class EmbeddingProblem(NamedTuple):
    x: np.ndarray  # int (N, T), with at least one index repeated
    W: np.ndarray  # (V, D)
    dout: np.ndarray  # (N, T, D)


class AffineProblem(NamedTuple):
    x: np.ndarray  # (N, T, D)
    w: np.ndarray  # (D, M)
    b: np.ndarray  # (M,)
    dout: np.ndarray  # (N, T, M)


class SoftmaxProblem(NamedTuple):
    x: np.ndarray  # (N, T, V)
    y: np.ndarray  # int (N, T)
    mask: np.ndarray  # bool (N, T)


def embedding_problem(N: int, T: int, V: int, D: int, seed: int) -> EmbeddingProblem:
    """Random problem whose x repeats a word: position j copies position i (N·T >= 2)."""
    assert N * T >= 2
    rng = np.random.default_rng(seed)
    x = rng.integers(0, V, size=(N, T))
    i, j = rng.choice(N * T, size=2, replace=False)
    x.flat[j] = x.flat[i]
    return EmbeddingProblem(x, rng.uniform(-1, 1, (V, D)), rng.uniform(-1, 1, (N, T, D)))


def affine_problem(N: int, T: int, D: int, M: int, seed: int) -> AffineProblem:
    rng = np.random.default_rng(seed)
    return AffineProblem(rng.uniform(-1, 1, (N, T, D)), rng.uniform(-1, 1, (D, M)),
                         rng.uniform(-1, 1, (M,)), rng.uniform(-1, 1, (N, T, M)))


def softmax_problem(N: int, T: int, V: int, seed: int, scale: float = 3.0) -> SoftmaxProblem:
    """Scores uniform in [-scale, scale); the mask keeps position (0, 0) and drops
    (N-1, T-1) whenever they differ, so both kinds of positions occur."""
    rng = np.random.default_rng(seed)
    mask = rng.random((N, T)) < 0.6
    mask[0, 0] = True
    if N * T > 1:
        mask[-1, -1] = False
    return SoftmaxProblem(rng.uniform(-scale, scale, (N, T, V)), rng.integers(0, V, (N, T)), mask)


@st.composite
def embedding_problems(draw) -> EmbeddingProblem:
    N, T = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    if N * T < 2:
        T = 2
    return embedding_problem(N, T, draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(SEEDS))


@st.composite
def affine_problems(draw) -> AffineProblem:
    dims = [draw(st.integers(1, 4)) for _ in range(4)]
    return affine_problem(*dims, seed=draw(SEEDS))


@st.composite
def softmax_problems(draw, scales=st.sampled_from([1.0, 10.0])) -> SoftmaxProblem:
    N, T, V = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 6))
    return softmax_problem(N, T, V, draw(SEEDS), draw(scales))


# Shapes for SymPy: tiny, with both D = M and D != M (a transposed w is invisible when
# D = M), V = 1 (every index repeated), and N > 1 (the normalisation by N).
SYMPY_EMBEDDING_SHAPES = [(1, 2, 1, 1), (2, 2, 3, 2), (2, 3, 2, 3)]  # (N, T, V, D)
SYMPY_AFFINE_SHAPES = [(1, 1, 1, 1), (2, 2, 3, 2), (2, 3, 2, 2)]  # (N, T, D, M)
SYMPY_SOFTMAX_SHAPES = [(1, 1, 2), (2, 2, 3), (3, 2, 2)]  # (N, T, V)
SYMPY_SEEDS = [0, 1, 2]


def read_only(*arrays: np.ndarray) -> list[np.ndarray]:
    """Read-only copies: any in-place write by the code under test raises ValueError."""
    copies = [np.array(a) for a in arrays]
    for a in copies:
        a.flags.writeable = False
    return copies


# --------------------------------------------------------------------------- embedding


def reference_embedding_gradient(p: EmbeddingProblem) -> np.ndarray:
    _, cache = word_embedding_forward(p.x, p.W)
    return word_embedding_backward(p.dout, cache)


@given(p=embedding_problems())
def test_embedding_forward_looks_up_each_row(p):
    out, _ = word_embedding_forward(*read_only(p.x, p.W))
    N, T = p.x.shape
    assert out.shape == (N, T, p.W.shape[1]) and out.dtype == np.float64
    for n in range(N):
        for t in range(T):
            np.testing.assert_array_equal(out[n, t], p.W[p.x[n, t]])
    assert not np.shares_memory(out, p.W)


@given(p=embedding_problems())
@example(p=embedding_problem(1, 2, 1, 1, seed=0))
def test_embedding_backward_matches_autograd(p, assert_close):
    assert len(np.unique(p.x)) < p.x.size  # the problem repeats a word
    dW = reference_embedding_gradient(p)
    assert_close(dW, autograd_embedding_gradient(*p), rtol=RTOL, floor=1.0, err_msg="dW")


@pytest.mark.parametrize("seed", SYMPY_SEEDS)
@pytest.mark.parametrize("shape", SYMPY_EMBEDDING_SHAPES)
def test_embedding_backward_matches_sympy(shape, seed, assert_close):
    p = embedding_problem(*shape, seed=seed)
    dW = reference_embedding_gradient(p)
    assert_close(dW, sympy_embedding_gradient(*p), rtol=RTOL, floor=1.0, err_msg="dW")


@given(p=embedding_problems())
def test_embedding_backward_reads_only_its_inputs(p):
    x, W, dout = read_only(*p)
    _, cache = word_embedding_forward(x, W)
    first = word_embedding_backward(dout, cache)
    np.testing.assert_array_equal(word_embedding_backward(dout, cache), first)
    assert first.shape == p.W.shape and first.dtype == np.float64


# --------------------------------------------------------------------------- temporal affine


def reference_affine_gradients(p: AffineProblem) -> dict[str, np.ndarray]:
    _, cache = temporal_affine_forward(p.x, p.w, p.b)
    return dict(zip("xwb", temporal_affine_backward(p.dout, cache)))


@given(p=affine_problems())
def test_temporal_affine_forward_is_the_affine_map_at_every_step(p, assert_close):
    out, _ = temporal_affine_forward(*read_only(p.x, p.w, p.b))
    N, T, _ = p.x.shape
    assert out.shape == (N, T, p.w.shape[1]) and out.dtype == np.float64
    for t in range(T):
        assert_close(out[:, t], p.x[:, t] @ p.w + p.b, rtol=RTOL, floor=1.0)


@given(p=affine_problems())
def test_temporal_affine_backward_matches_autograd(p, assert_close):
    actual = reference_affine_gradients(p)
    expected = autograd_temporal_affine_gradients(*p)
    for name in "xwb":
        assert_close(actual[name], expected[name], rtol=RTOL, floor=1.0, err_msg=name)


@pytest.mark.parametrize("seed", SYMPY_SEEDS)
@pytest.mark.parametrize("shape", SYMPY_AFFINE_SHAPES)
def test_temporal_affine_backward_matches_sympy(shape, seed, assert_close):
    p = affine_problem(*shape, seed=seed)
    actual = reference_affine_gradients(p)
    expected = sympy_temporal_affine_gradients(*p)
    for name in "xwb":
        assert_close(actual[name], expected[name], rtol=RTOL, floor=1.0, err_msg=name)


@given(p=affine_problems())
def test_temporal_affine_backward_reads_only_its_inputs(p):
    x, w, b, dout = read_only(*p)
    _, cache = temporal_affine_forward(x, w, b)
    first = temporal_affine_backward(dout, cache)
    for a, again in zip(first, temporal_affine_backward(dout, cache)):
        np.testing.assert_array_equal(a, again)


# --------------------------------------------------------------------------- softmax loss


@given(p=softmax_problems())
@example(p=softmax_problem(1, 1, 1, seed=0))
def test_softmax_loss_matches_autograd(p, assert_close):
    loss, dx = temporal_softmax_loss(*read_only(*p))
    expected_loss, expected_dx = autograd_temporal_softmax_loss(*p)
    assert isinstance(loss, float)
    assert_close(np.float64(loss), np.float64(expected_loss), rtol=RTOL, floor=1.0, err_msg="loss")
    assert_close(dx, expected_dx, rtol=RTOL, floor=1.0, err_msg="dx")


@pytest.mark.parametrize("seed", SYMPY_SEEDS)
@pytest.mark.parametrize("shape", SYMPY_SOFTMAX_SHAPES)
def test_softmax_loss_matches_sympy(shape, seed, assert_close):
    p = softmax_problem(*shape, seed=seed)
    loss, dx = temporal_softmax_loss(*p)
    # Unshifted evaluation (valid at these scores) too: it checks the oracle's own
    # shift-invariance argument against the plain formula.
    for shift in (True, False):
        expected_loss, expected_dx = sympy_temporal_softmax_loss(*p, shift=shift)
        assert_close(np.float64(loss), np.float64(expected_loss), rtol=RTOL, floor=1.0,
                     err_msg=f"loss, shift={shift}")
        assert_close(dx, expected_dx, rtol=RTOL, floor=1.0, err_msg=f"dx, shift={shift}")


@given(p=softmax_problems(), seed=SEEDS)
def test_masked_positions_change_neither_loss_nor_dx(p, seed):
    loss, dx = temporal_softmax_loss(*p)
    assert np.all(dx[~p.mask] == 0)
    rng = np.random.default_rng(seed)
    x = p.x.copy()
    x[~p.mask] = rng.uniform(-1e4, 1e4, x[~p.mask].shape)  # anything, thousands included
    y = p.y.copy()
    y[~p.mask] = rng.integers(0, p.x.shape[2], y[~p.mask].shape)
    other_loss, other_dx = temporal_softmax_loss(x, y, p.mask)
    assert other_loss == loss
    np.testing.assert_array_equal(other_dx, dx)


@given(p=softmax_problems())
def test_loss_is_normalised_by_the_batch_size(p, assert_close):
    # A fully masked extra sequence adds nothing to the sum but one to N: dividing by
    # N scales loss and dx by N/(N+1); dividing by the unmasked count would not.
    N, T, V = p.x.shape
    loss, dx = temporal_softmax_loss(*p)
    x = np.concatenate([p.x, np.zeros((1, T, V))])
    y = np.concatenate([p.y, np.zeros((1, T), dtype=p.y.dtype)])
    mask = np.concatenate([p.mask, np.zeros((1, T), dtype=bool)])
    more_loss, more_dx = temporal_softmax_loss(x, y, mask)
    assert_close(np.float64(more_loss), np.float64(loss * N / (N + 1)), rtol=RTOL, floor=1.0)
    assert_close(more_dx[:N], dx * N / (N + 1), rtol=RTOL, floor=1.0)
    # And the sum itself: one -log p per unmasked position.
    log_p = p.x - np.log(np.sum(np.exp(p.x), axis=-1, keepdims=True))  # scores are O(10)
    nll = -np.take_along_axis(log_p, p.y[..., None], axis=-1)[..., 0]
    assert_close(np.float64(loss), np.float64(nll[p.mask].sum() / N), rtol=RTOL, floor=1.0)


@given(p=softmax_problems(scales=st.sampled_from([1e3, 5e3, 1e4])))
def test_logits_in_the_thousands_stay_finite_and_exact(p, assert_close):
    # No overflow, no log(0), no 0·inf; exp underflowing to 0 is expected and harmless.
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        loss, dx = temporal_softmax_loss(*p)
    assert np.isfinite(loss) and np.all(np.isfinite(dx))
    expected_loss, expected_dx = autograd_temporal_softmax_loss(*p)
    assert_close(np.float64(loss), np.float64(expected_loss), rtol=RTOL_LARGE, floor=1.0)
    assert_close(dx, expected_dx, rtol=RTOL_LARGE, floor=1.0)


@pytest.mark.parametrize("shape", SYMPY_SOFTMAX_SHAPES)
def test_logits_in_the_thousands_match_sympy(shape, assert_close):
    p = softmax_problem(*shape, seed=7, scale=3e3)
    loss, dx = temporal_softmax_loss(*p)
    expected_loss, expected_dx = sympy_temporal_softmax_loss(*p)
    assert_close(np.float64(loss), np.float64(expected_loss), rtol=RTOL_LARGE, floor=1.0)
    assert_close(dx, expected_dx, rtol=RTOL_LARGE, floor=1.0)


@given(p=softmax_problems(), shift=st.sampled_from([-2e3, 1e3, 7e3]))
def test_adding_a_constant_to_the_scores_changes_nothing(p, shift, assert_close):
    loss, dx = temporal_softmax_loss(*p)
    shifted_loss, shifted_dx = temporal_softmax_loss(p.x + shift, p.y, p.mask)
    # The shift's rounding (ulp of 7e3 ≈ 1e-12) perturbs each score.
    assert_close(np.float64(shifted_loss), np.float64(loss), rtol=1e-9, floor=1.0)
    assert_close(shifted_dx, dx, rtol=1e-9, floor=1.0)


def test_verbose_prints_the_gradient_shape(capsys):
    temporal_softmax_loss(*softmax_problem(2, 3, 4, seed=0), verbose=True)
    assert "(6, 4)" in capsys.readouterr().out


def test_sympy_formulas_are_cached_per_shape():
    sympy_temporal_softmax_loss(*softmax_problem(2, 2, 3, seed=0))
    before = sympy_temporal.cache_stats()
    sympy_temporal_softmax_loss(*softmax_problem(2, 2, 3, seed=1))
    assert sympy_temporal.cache_stats() == before  # neither derived nor read again


# --------------------------------------------------------------------------- the tests bite


def overwriting_embedding_backward(dout, cache):
    x, W_shape = cache
    dW = np.zeros(W_shape)
    dW[x] += dout  # buffered: a repeated word keeps one of its gradients
    return dW


def per_count_softmax_loss(x, y, mask):
    loss, dx = temporal_softmax_loss(x, y, mask)
    N = x.shape[0]
    return loss * N / mask.sum(), dx * N / mask.sum()  # normalised by unmasked entries


def unmasked_dx_softmax_loss(x, y, mask):
    loss, _ = temporal_softmax_loss(x, y, mask)
    _, dx = temporal_softmax_loss(x, y, np.ones_like(mask))  # mask forgotten in dx
    return loss, dx


def naive_softmax_loss(x, y, mask):
    """CS231n's formula without the max shift: exp overflows for large scores."""
    N, T, V = x.shape
    probs = np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)
    picked = np.take_along_axis(probs, y[..., None], axis=-1)[..., 0]
    loss = -np.sum(mask * np.log(picked)) / N
    dx = probs.copy()
    np.put_along_axis(dx, y[..., None], np.take_along_axis(dx, y[..., None], -1) - 1, -1)
    return loss, dx * mask[..., None] / N


@settings(max_examples=20)
@given(p=embedding_problems())
def test_overwriting_embedding_backward_fails_against_both_oracles(p, assert_close):
    _, cache = word_embedding_forward(p.x, p.W)
    wrong = overwriting_embedding_backward(p.dout, cache)
    for oracle in (autograd_embedding_gradient, sympy_embedding_gradient):
        if oracle is sympy_embedding_gradient and p.x.size * p.W.size > 24:
            continue  # keep SymPy on tiny shapes
        with pytest.raises(AssertionError):
            assert_close(wrong, oracle(*p), rtol=RTOL, floor=1.0)


@pytest.mark.parametrize("buggy", [per_count_softmax_loss, unmasked_dx_softmax_loss])
def test_softmax_bugs_fail_against_both_oracles(buggy, assert_close):
    # (3, 2, 2) with seed 0 masks some but not all positions.
    p = softmax_problem(3, 2, 2, seed=0)
    assert 0 < p.mask.sum() < p.mask.size
    loss, dx = buggy(*p)
    for oracle in (autograd_temporal_softmax_loss, sympy_temporal_softmax_loss):
        expected_loss, expected_dx = oracle(*p)
        with pytest.raises(AssertionError):
            assert_close(np.float64(loss), np.float64(expected_loss), rtol=RTOL, floor=1.0)
            assert_close(dx, expected_dx, rtol=RTOL, floor=1.0)


def test_unshifted_softmax_loss_fails_for_logits_in_the_thousands():
    p = softmax_problem(2, 2, 3, seed=0, scale=3e3)
    with np.errstate(all="ignore"):
        loss, dx = naive_softmax_loss(*p)
    assert not (np.isfinite(loss) and np.all(np.isfinite(dx)))
