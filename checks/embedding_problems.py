"""Hypothesis strategies for the word embedding and the temporal layers (groups embedding, temporal).

In the style of ``checks.strategies``: each strategy validates its arguments when it is built
(``hypothesis.errors.InvalidArgument`` naming the bad value), Hypothesis draws the sizes and one
seed, and every value is made from ``numpy.random.default_rng(seed)``, so Hypothesis shrinks
sizes. In simple-value mode (``checks.strategies.simple_values``) every value is drawn through
Hypothesis instead: floats from the halves {-1, -0.5, 0, 0.5, 1} (times the scale), indices
entry by entry, shrinking towards word 0 and an unmasked position.

What makes bugs show:

- **Repeated words.** Every ``embedding_problems`` example with N·T >= 2 positions repeats a
  word: position j is made a copy of position i ≠ j, both drawn, after x is drawn. A backward
  written ``dW[x] += dout`` (buffered fancy indexing keeps one gradient per repeated row) is then
  wrong on every example whose upstream rows at i and j are not both zero. V is also small
  (at most 8) next to N·T (up to 24), so most examples repeat several words.
- **Masks.** Every ``softmax_problems`` example with two or more positions masks at least one and
  unmasks at least one; on about one example in three with N >= 2 a whole sequence is masked, as
  a short caption padded with <NULL> is. So a mask forgotten anywhere shows, and the number of
  unmasked positions is never simply N·T (nor 0).
- **Scores.** O(1) scores by default (``scale`` 3: softmax is far from one-hot, every gradient
  entry matters); scale 3e3 for stability, where exp of an unshifted score overflows: one score
  of an unmasked position is always +scale, so it overflows on every example.

Shapes, CS231n-style: N sequences, T steps, V words, D word-vector (input) features, M outputs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

# Private helpers of checks.strategies, reused rather than copied (to be made public there).
from checks.strategies import Dims, _capped, _check_bool, _check_int, _check_order, _check_scale, _Values, dims

SOFTMAX_SCALE = 3.0  # default scores in [-3, 3): probabilities spread, none saturated
HUGE_SCALE = 3e3  # scores in the thousands: exp(709.8) is float64's largest finite exponential
WHOLE_SEQUENCE_MASKED = 3  # 1 in this many examples with N >= 2 masks a whole sequence


# --------------------------------------------------------------------------- word embedding


class EmbeddingProblem(NamedTuple):
    """Inputs of word_embedding_forward and an upstream gradient.

    x (N, T) int64 word indices in [0, V), W (V, D) word vectors, dout (N, T, D) the gradient of out.
    """

    x: np.ndarray
    W: np.ndarray
    dout: np.ndarray

    @property
    def V(self) -> int:
        return self.W.shape[0]


def embedding_problems(
    max_n: int = 4,
    max_t: int = 6,
    max_v: int = 8,
    max_d: int = 5,
    repeated: bool = True,
) -> st.SearchStrategy[EmbeddingProblem]:
    """An EmbeddingProblem with 1 <= N <= max_n, 1 <= T <= max_t, 1 <= V <= max_v, 1 <= D <= max_d:
    x uniform over the V words, W and dout uniform in [-1, 1).

    ``repeated=True`` (default): N·T >= 2 (T is drawn from 2 when N = 1), and x always repeats a
    word: after x is drawn, a drawn position j is set to the word at a drawn position i ≠ j.

    Raises InvalidArgument unless every size is an int >= 1 and repeated a bool, and, with
    repeated=True, max_n·max_t >= 2 (one position cannot repeat a word).
    """
    for name, value in dict(max_n=max_n, max_t=max_t, max_v=max_v, max_d=max_d).items():
        _check_int(value, name, minimum=1)
    _check_bool(repeated, "repeated")
    if repeated and max_n * max_t < 2:
        raise InvalidArgument(f"repeated=True needs room for two positions, but got max_n={max_n!r} and "
                              f"max_t={max_t!r}")
    return _embedding_problems(max_n, max_t, max_v, max_d, repeated)


@st.composite
def _embedding_problems(draw: st.DrawFn, max_n: int, max_t: int, max_v: int, max_d: int,
                        repeated: bool) -> EmbeddingProblem:
    N = draw(st.integers(1, _capped(max_n)))
    min_t = 2 if repeated and N == 1 else 1
    T = draw(st.integers(min_t, _capped(max_t, min_t)))
    V, D = draw(st.integers(1, _capped(max_v))), draw(st.integers(1, _capped(max_d)))
    values = _Values(draw)
    x = word_indices(draw, values, (N, T), V)
    if repeated:
        i, j = distinct_positions(draw, values, N * T)
        x.flat[j] = x.flat[i]
    return EmbeddingProblem(x, values.uniform((V, D)), values.uniform((N, T, D)))


def word_indices(draw: st.DrawFn, values: _Values, shape: tuple[int, ...], V: int) -> np.ndarray:
    """int64 indices in [0, V) of ``shape``: from the seed, or drawn entry by entry (simple mode)."""
    if values.rng is not None:
        return values.rng.integers(0, V, size=shape, dtype=np.int64)
    return draw(hnp.arrays(np.int64, shape, elements=st.integers(0, V - 1), fill=st.nothing()))


def distinct_positions(draw: st.DrawFn, values: _Values, count: int) -> tuple[int, int]:
    """Two different flat positions i ≠ j in [0, count), count >= 2."""
    if values.rng is not None:
        i, j = values.rng.choice(count, size=2, replace=False)
        return int(i), int(j)
    i = draw(st.integers(0, count - 1))
    j = draw(st.integers(0, count - 2))
    return i, j + (j >= i)


# --------------------------------------------------------------------------- temporal affine


class AffineProblem(NamedTuple):
    """Inputs of temporal_affine_forward and an upstream gradient.

    x (N, T, D), w (D, M), b (M,), dout (N, T, M) the gradient of out.
    """

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    dout: np.ndarray


def affine_problems(max_n: int = 4, max_t: int = 6, max_d: int = 5, max_m: int = 5) -> st.SearchStrategy[AffineProblem]:
    """An AffineProblem with sizes from ``dims(max_n, max_t, max_d, max_m)`` (its H is M, so D = M
    and D ≠ M both occur: a transposed w shows): x and dout in [-1, 1), w in [-1, 1)/sqrt(D),
    b in [-0.5, 0.5).

    Raises InvalidArgument for sizes that ``dims`` refuses."""
    return _affine_problems(dims(max_n, max_t, max_d, max_m))


@st.composite
def _affine_problems(draw: st.DrawFn, sizes: st.SearchStrategy[Dims]) -> AffineProblem:
    N, T, D, M = draw(sizes)
    values = _Values(draw)
    return AffineProblem(values.uniform((N, T, D)), values.uniform((D, M), 1 / math.sqrt(D)),
                         values.bias((M,), 0.5), values.uniform((N, T, M)))


# --------------------------------------------------------------------------- softmax loss


class SoftmaxProblem(NamedTuple):
    """Inputs of temporal_softmax_loss: scores x (N, T, V), labels y (N, T) int64 in [0, V),
    mask (N, T) bool (True: the position counts)."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray


def softmax_problems(
    max_n: int = 4,
    max_t: int = 6,
    max_v: int = 8,
    min_v: int = 2,
    scale: float = SOFTMAX_SCALE,
) -> st.SearchStrategy[SoftmaxProblem]:
    """A SoftmaxProblem with 1 <= N <= max_n, 1 <= T <= max_t, min_v <= V <= max_v: scores uniform in
    [-scale, scale) (halves times scale in simple mode), labels uniform over the V words.

    The mask keeps each position with probability 0.6, then, when N·T >= 2, always masks one drawn
    position and unmasks another; with N >= 2, one example in WHOLE_SEQUENCE_MASKED (3) also masks
    a whole sequence other than the unmasked position's. So every example with two or more
    positions has both a masked and an unmasked one (never all masked: the number of unmasked
    positions is >= 1 and never simply N·T); at N = T = 1 the one position is unmasked. min_v = 2
    by default: with one word every probability is 1 and the loss is identically 0.

    One score at a position the mask keeps, for a drawn word, is then set to +scale, the largest a
    score can be: with scale 3e3, exp of an unshifted score overflows at a position that counts in
    every example.

    Raises InvalidArgument unless the sizes are ints >= 1 with min_v <= max_v, and scale is finite
    and > 0.
    """
    for name, value in dict(max_n=max_n, max_t=max_t, max_v=max_v, min_v=min_v).items():
        _check_int(value, name, minimum=1)
    _check_order(min_v, max_v, "min_v", "max_v")
    _check_scale(scale, "scale")
    return _softmax_problems(max_n, max_t, max_v, min_v, float(scale))


@st.composite
def _softmax_problems(draw: st.DrawFn, max_n: int, max_t: int, max_v: int, min_v: int,
                      scale: float) -> SoftmaxProblem:
    N, T = draw(st.integers(1, _capped(max_n))), draw(st.integers(1, _capped(max_t)))
    V = draw(st.integers(min_v, _capped(max_v, min_v)))
    values = _Values(draw)
    x = values.uniform((N, T, V), scale, simple_scale=scale)
    y = word_indices(draw, values, (N, T), V)
    mask, kept = drawn_mask(draw, values, N, T)
    n, t = divmod(kept, T)
    x[n, t, drawn_below(draw, values, V)] = scale  # the peak, at a position that counts
    return SoftmaxProblem(x, y, mask)


def drawn_mask(draw: st.DrawFn, values: _Values, N: int, T: int) -> tuple[np.ndarray, int]:
    """A bool (N, T) mask as ``softmax_problems`` describes, and the flat position it always keeps
    (simple mode: shrinks towards all kept but the one forced masked position)."""
    if values.rng is not None:
        mask = values.rng.random((N, T)) < 0.6
        whole = N >= 2 and values.rng.integers(WHOLE_SEQUENCE_MASKED) == 0
    else:
        mask = ~draw(hnp.arrays(np.bool_, (N, T), elements=st.booleans(), fill=st.nothing()))
        whole = N >= 2 and draw(st.integers(0, WHOLE_SEQUENCE_MASKED - 1)) == WHOLE_SEQUENCE_MASKED - 1
    if N * T == 1:  # the one position counts: a loss that is 0 by construction would test nothing
        mask[0, 0] = True
        return mask, 0
    kept, dropped = distinct_positions(draw, values, N * T)
    mask.flat[kept], mask.flat[dropped] = True, False
    if whole:
        kept_row = kept // T
        row = (kept_row + 1 + drawn_below(draw, values, N - 1)) % N  # any sequence but the kept one's
        mask[row] = False
    return mask, kept


def drawn_below(draw: st.DrawFn, values: _Values, count: int) -> int:
    """An int in [0, count), count >= 1."""
    if values.rng is not None:
        return int(values.rng.integers(count))
    return draw(st.integers(0, count - 1))
