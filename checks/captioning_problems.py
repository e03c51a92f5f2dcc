"""Hypothesis strategies for CS231n's CaptioningRNN: a model, its eight params, features and captions.

A ``CaptioningProblem`` is what the grader hands the worker for ``CaptioningRNN.loss``: the
constructor keywords ``model`` (plain data), the ``params`` that replace the object's own
initialisation, image ``features`` and ``captions``. Sizes (CS231n's letters): N captions, T + 1
words per caption (T steps), D image features (``input_dim``), W word-vector size (``wordvec_dim``),
H hidden units, V words, and k = 1 (RNN) or 4 (LSTM) stacked gates:

    W_embed (V, W)   W_proj (D, H)   b_proj (H,)   Wx (W, kH)   Wh (H, kH)   b (kH,)
    W_vocab (H, V)   b_vocab (V,)    features (N, D)   captions (N, T + 1), int

The vocabulary is "<NULL>", "<START>", "<END>" and the words "w3", …, "w{V-1}". In half the examples
the three special words have the indices 0, 1, 2 (the order of CS231n's COCO vocabulary); in the
other half every word's index is a random permutation, so a submission that writes 0 where it means
``word_to_idx["<NULL>"]`` is caught.

Captions look like a padded COCO batch: each is <START>, 0 … T − 1 ordinary words, <END>, then
<NULL> up to T + 1 words; the longest caption of the batch has exactly T − 1 words, so its <END>
is the last column (a batch is padded to its longest caption, and the last column is then a real
target, never only padding).

Values, chosen so that nothing saturates and every bug shows: features and W_embed in [-1, 1];
W_proj in [-1, 1]/sqrt(D), Wx in [-1, 1]/sqrt(W), Wh in [-1, 1]/sqrt(H), b_proj and b in
[-0.5, 0.5]; W_vocab in [-1, 1]·3/sqrt(H) and b_vocab in [-0.5, 0.5], so that the scores spread
over a few units and depend on the hidden state more than on b_vocab: the softmax is far from uniform,
and greedy captions depend on the image and on the first input word (a sampler started from <NULL>
instead of <START> gives another caption in about 55% of examples; 38% with W_vocab at 2/sqrt(H)
and b_vocab in [-1, 1]). Every value is made from one drawn seed with NumPy's ``default_rng``, so Hypothesis shrinks the sizes, the cell type and the vocabulary order; in
simple-value mode (``checks.strategies.simple_values``) the values are halves drawn through
Hypothesis, the 1/sqrt scales left out, as everywhere in ``checks.strategies``.

Every strategy validates its arguments when it is built and raises
``hypothesis.errors.InvalidArgument`` naming the bad value.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

# Private helpers of checks.strategies, imported until they are made public.
from checks.strategies import SEEDS, _capped, _check_int, _check_order, _uniform, _Values, in_simple_mode

SPECIAL_WORDS = ("<NULL>", "<START>", "<END>")
CELL_TYPES = ("rnn", "lstm")
GATES = {"rnn": 1, "lstm": 4}
PARAM_NAMES = ("W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab", "b_vocab")
MIN_WORDS = len(SPECIAL_WORDS) + 1  # at least one ordinary word to write captions with


class CaptioningSizes(NamedTuple):
    """N captions, T steps (captions have T + 1 words), D features, W word-vector size, H hidden, V words."""

    N: int
    T: int
    D: int
    W: int
    H: int
    V: int


class CaptioningProblem(NamedTuple):
    """The arguments of ``CaptioningRNN.loss``: model (constructor keywords), params, features (N, D),
    captions (N, T + 1)."""

    model: dict
    params: dict[str, np.ndarray]
    features: np.ndarray
    captions: np.ndarray

    @property
    def word_to_idx(self) -> dict[str, int]:
        return self.model["word_to_idx"]

    @property
    def null(self) -> int:
        return self.word_to_idx["<NULL>"]

    @property
    def start(self) -> int:
        return self.word_to_idx["<START>"]

    @property
    def end(self) -> int:
        return self.word_to_idx["<END>"]

    @property
    def cell_type(self) -> str:
        return self.model["cell_type"]

    @property
    def V(self) -> int:
        return len(self.word_to_idx)


def vocabulary(V: int, order: Sequence[int] | None = None) -> dict[str, int]:
    """word_to_idx for "<NULL>", "<START>", "<END>", "w3", …, "w{V-1}": word i has index order[i]
    (index i if order is None)."""
    names = [*SPECIAL_WORDS, *(f"w{i}" for i in range(len(SPECIAL_WORDS), V))]
    order = range(V) if order is None else order
    return {name: int(index) for name, index in zip(names, order)}


def captioning_sizes(
    max_n: int = 3, max_t: int = 5, max_d: int = 4, max_w: int = 4, max_h: int = 4, max_v: int = 8,
    min_t: int = 1, min_v: int = MIN_WORDS,
) -> st.SearchStrategy[CaptioningSizes]:
    """CaptioningSizes with 1 <= N <= max_n, min_t <= T <= max_t, 1 <= D <= max_d, 1 <= W <= max_w,
    1 <= H <= max_h and min_v <= V <= max_v.

    Raises InvalidArgument unless every argument is an int >= 1, min_v >= 4 (three special words and
    one ordinary word), min_t <= max_t and min_v <= max_v."""
    for name, value in dict(max_n=max_n, max_t=max_t, max_d=max_d, max_w=max_w, max_h=max_h, min_t=min_t).items():
        _check_int(value, name, minimum=1)
    _check_int(min_v, "min_v", minimum=MIN_WORDS)
    _check_int(max_v, "max_v", minimum=MIN_WORDS)
    _check_order(min_t, max_t, "min_t", "max_t")
    _check_order(min_v, max_v, "min_v", "max_v")
    return _captioning_sizes(max_n, max_t, max_d, max_w, max_h, max_v, min_t, min_v)


@st.composite
def _captioning_sizes(draw: st.DrawFn, max_n: int, max_t: int, max_d: int, max_w: int, max_h: int, max_v: int,
                      min_t: int, min_v: int) -> CaptioningSizes:
    return CaptioningSizes(N=draw(st.integers(1, _capped(max_n))), T=draw(st.integers(min_t, _capped(max_t, min_t))),
                           D=draw(st.integers(1, _capped(max_d))), W=draw(st.integers(1, _capped(max_w))),
                           H=draw(st.integers(1, _capped(max_h))), V=draw(st.integers(min_v, max_v)))


def captioning_problems(
    cell_types: Sequence[str] = CELL_TYPES, max_n: int = 3, max_t: int = 5, max_d: int = 4, max_w: int = 4,
    max_h: int = 4, max_v: int = 8, min_t: int = 1,
) -> st.SearchStrategy[CaptioningProblem]:
    """A CaptioningProblem (see the module docstring) with sizes from ``captioning_sizes(max_n, max_t,
    max_d, max_w, max_h, max_v, min_t)``, a cell type drawn from ``cell_types`` (shrinking towards the
    first) and the special words at 0, 1, 2 or at permuted indices (shrinking towards 0, 1, 2).

    Raises InvalidArgument for sizes that ``captioning_sizes`` refuses, or cell_types that is not a
    non-empty sequence of "rnn" and "lstm"."""
    if isinstance(cell_types, str) or not isinstance(cell_types, Sequence) or not cell_types \
            or any(cell not in CELL_TYPES for cell in cell_types):
        raise InvalidArgument(f"cell_types must be a non-empty sequence of 'rnn' and 'lstm', "
                              f"but got cell_types={cell_types!r}")
    return _captioning_problems(captioning_sizes(max_n, max_t, max_d, max_w, max_h, max_v, min_t), tuple(cell_types))


@st.composite
def _captioning_problems(draw: st.DrawFn, sizes: st.SearchStrategy[CaptioningSizes],
                         cell_types: tuple[str, ...]) -> CaptioningProblem:
    chosen, cell_type, shuffled = draw(sizes), draw(st.sampled_from(cell_types)), draw(st.booleans())
    if not in_simple_mode():
        return captioning_problem_from_seed(chosen, draw(SEEDS), cell_type, shuffled)
    return _problem(_Source(draw, None), chosen, cell_type, shuffled)


def captioning_problem_from_seed(sizes: CaptioningSizes, seed: int, cell_type: str = "rnn",
                                 shuffled: bool = False) -> CaptioningProblem:
    """The distribution of ``captioning_problems`` for fixed sizes, cell type and vocabulary order
    (``shuffled``: permuted indices), made by ``np.random.default_rng(seed)``: the same seed gives the
    same problem. For explicit examples (@example), which every grade runs whatever Hypothesis draws."""
    if cell_type not in CELL_TYPES:
        raise InvalidArgument(f"cell_type must be 'rnn' or 'lstm', but got cell_type={cell_type!r}")
    return _problem(_Source(None, np.random.default_rng(seed)), sizes, cell_type, shuffled)


class _Source(_Values):
    """``_Values`` (a seeded generator, or Hypothesis in simple-value mode) with integers as well."""

    def __init__(self, draw: st.DrawFn | None, rng: np.random.Generator | None) -> None:  # no seed drawn here
        self.draw, self.rng = draw, rng

    def integers(self, low: int, high: int, size: int) -> np.ndarray:
        """``size`` ints in [low, high); drawn one by one (shrinking towards low) in simple mode."""
        if self.rng is not None:
            return self.rng.integers(low, high, size=size)
        return self.draw(hnp.arrays(np.int64, (size,), elements=st.integers(low, high - 1), fill=st.nothing()))

    def permutation(self, n: int) -> np.ndarray:
        if self.rng is not None:
            return self.rng.permutation(n)
        return np.array(self.draw(st.permutations(range(n))))


def _problem(source: _Source, sizes: CaptioningSizes, cell_type: str, shuffled: bool) -> CaptioningProblem:
    N, T, D, W, H, V = sizes
    word_to_idx = vocabulary(V, source.permutation(V) if shuffled else None)
    model = {"word_to_idx": word_to_idx, "input_dim": D, "wordvec_dim": W, "hidden_dim": H, "cell_type": cell_type}
    kH = GATES[cell_type] * H
    params = {
        "W_embed": source.uniform((V, W)),
        "W_proj": source.uniform((D, H), 1 / math.sqrt(D)),
        "b_proj": source.bias((H,), 0.5),
        "Wx": source.uniform((W, kH), 1 / math.sqrt(W)),
        "Wh": source.uniform((H, kH), 1 / math.sqrt(H)),
        "b": source.bias((kH,), 0.5),
        "W_vocab": source.uniform((H, V), 3 / math.sqrt(H)),
        "b_vocab": source.bias((V,), 0.5),
    }
    features = source.uniform((N, D))
    return CaptioningProblem(model, params, features, _captions(source, word_to_idx, N, T))


def _captions(source: _Source, word_to_idx: dict[str, int], N: int, T: int) -> np.ndarray:
    """(N, T + 1): <START>, ℓ_n ordinary words, <END>, <NULL>…; max ℓ_n = T − 1 (the last column is a word)."""
    null, start, end = (word_to_idx[name] for name in SPECIAL_WORDS)
    ordinary = np.array([index for name, index in word_to_idx.items() if name not in SPECIAL_WORDS])
    lengths = source.integers(0, T, N)
    lengths[int(np.argmax(lengths)) if source.rng is None else int(source.rng.integers(N))] = T - 1
    words = ordinary[source.integers(0, len(ordinary), N * T).reshape(N, T)]
    captions = np.full((N, T + 1), null, dtype=np.int64)
    for n, length in enumerate(lengths):
        captions[n, :length + 2] = [start, *words[n, :length], end]
    return captions


def with_captions(problem: CaptioningProblem, captions: np.ndarray, features: np.ndarray | None = None
                  ) -> CaptioningProblem:
    """The problem with other captions (and features, for another batch size)."""
    return problem._replace(captions=np.asarray(captions, dtype=np.int64),
                            features=problem.features if features is None else features)

