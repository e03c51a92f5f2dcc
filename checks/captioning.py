"""captioning: CS231n's CaptioningRNN, its training loss and its greedy sampler, for 'rnn' and 'lstm'.

The loss is teacher forcing shifted by one, with <NULL> padding masked out. For captions (N, T + 1):

    captions_in  = captions[:, :-1]     captions_out = captions[:, 1:]     mask = captions_out != <NULL>
    h0     = features·W_proj + b_proj                       (N, H)
    h      = RNN or LSTM (c0 = 0) over W_embed[captions_in]  (N, T, H)
    scores = h·W_vocab + b_vocab                            (N, T, V)
    loss   = −(1/N) Σ_{n,t} mask[n, t] · log softmax(scores[n, t])[captions_out[n, t]]

so the step that predicts word t + 1 has read words 0 … t only, and a <NULL> target costs nothing.
``sample`` is greedy: from h0 and the input <START>, each step stores the highest-scoring word and
feeds it back; column 0 is the first sampled word. After <END> a caption may go on or hold <NULL>.

Each property is a pair of checks, one per cell type: ``rnn_captioning_…`` draws RNN models only and
``lstm_captioning_…`` LSTM models only, each running its cell type's explicit example (the special words
away from indices 0, 1, 2) on every grade. So a course can weight the LSTM apart (2021-2024 made it extra
credit), and a model whose LSTM is missing, or raises NotImplementedError, loses only the LSTM's checks:

- every gradient of the loss (all eight params) equals central differences of the same loss;
- shifted by one: with <NULL>'s score pushed to −1000, the probabilities exp(−Δloss) that the loss
  gives every possible last word of a caption sum to one, i.e. they are one softmax, computed
  before the step sees the word it predicts (a loss that feeds in the word it predicts fails);
- masked: appending a <NULL> column changes nothing, and an extra caption with nothing to predict
  changes only the 1/N;
- the loss and gradients equal the reference's; sample is greedy from <START> (the reference's
  scores, on the student's own words);
- neither method modifies its arguments.

The grader calls the methods through the worker: ``CaptioningRNN(**model, dtype=np.float64)``, its
params replaced by the drawn ones (``checks.captioning_problems``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from checks.captioning_problems import (CaptioningProblem, CaptioningSizes, captioning_problem_from_seed,
                                        captioning_problems, with_captions)
from checks.gradcheck import Probe, assert_gradients_match_finite_differences, joint_direction, perturbed_arguments, \
    probe_seeds
from checks.hygiene import examine, unchanged
from checks.registry import check
from checks.verdicts import assert_all_close, assert_close, labelled

LOSS, SAMPLE = "CaptioningRNN.loss", "CaptioningRNN.sample"
LOSS_ARGUMENTS = ("model", "params", "features", "captions")
SAMPLE_ARGUMENTS = ("model", "params", "features", "max_length")
MAX_LENGTHS = st.integers(1, 8)
RNN, LSTM = ("rnn",), ("lstm",)  # the cell types each check of a pair draws

# <NULL>'s score offset in the shift check: exp(−1000) underflows to 0, so <NULL>, whose probability
# the masked loss cannot show, has none, and the other words' probabilities must sum to exactly one.
NULL_SCORE = -1e3
# |Σ p − 1| allowed: each loss is ~10 computed to ~1e-14, so each p = exp(Δloss) to ~1e-13 relative;
# a loss that sees the word it predicts is off by O(0.1) (its "probabilities" come from V − 1 softmaxes).
SUM_TOLERANCE = 1e-8
# Scores within this of the maximum count as a greedy choice: two correct float64 implementations
# differ by ~1e-15 in the scores (a few steps of O(1) values), a wrong word by the score gap, O(0.1) at
# these scales. Drawn params are continuous, so an exact tie has probability zero; a near tie within
# this (or in simple values, where halves do tie) accepts either word rather than fail a correct sampler.
TIE_TOLERANCE = 1e-8

# Every grade runs the RNN checks on RNN_EXAMPLE and the LSTM checks on LSTM_EXAMPLE, each with a vocabulary
# whose <NULL> is not 0. Seeds chosen so that in both the greedy captions (max_length 8) hold an <END>
# followed by other words (a sampler that stops there fills <NULL> instead: both must pass) and differ
# between images and from a sampler started from <NULL>.
RNN_EXAMPLE = captioning_problem_from_seed(CaptioningSizes(N=2, T=4, D=3, W=2, H=3, V=6), seed=0, cell_type="rnn",
                                           shuffled=True)
LSTM_EXAMPLE = captioning_problem_from_seed(CaptioningSizes(N=3, T=3, D=2, W=3, H=2, V=7), seed=44,
                                            cell_type="lstm", shuffled=True)


def loss_call(p: CaptioningProblem, params: dict | None = None) -> tuple:
    """The arguments of ``CaptioningRNN.loss`` for ``p`` (with other params if given)."""
    return p.model, p.params if params is None else params, p.features, p.captions


# Each property below is a function of the problem, and two thin checks run it: one draws RNN models and
# one LSTM models, each with half the examples the property had for both, so the group's cost is unchanged.


@check(group="captioning", points=3, needs=(LOSS,), examples=0.25)
@given(p=captioning_problems(cell_types=RNN), seed=probe_seeds())
@example(p=RNN_EXAMPLE, seed=0)
def rnn_captioning_gradients_match_finite_differences(sub, p, seed):
    """With cell_type='rnn', every gradient CaptioningRNN.loss returns, for all eight params, equals central
    differences of your own loss."""
    gradients_match_finite_differences(sub, p, seed)


@check(group="captioning", points=2, needs=(LOSS,), examples=0.25)
@given(p=captioning_problems(cell_types=LSTM), seed=probe_seeds())
@example(p=LSTM_EXAMPLE, seed=0)
def lstm_captioning_gradients_match_finite_differences(sub, p, seed):
    """With cell_type='lstm', every gradient CaptioningRNN.loss returns, for all eight params, equals central
    differences of your own loss."""
    gradients_match_finite_differences(sub, p, seed)


def gradients_match_finite_differences(sub, p: CaptioningProblem, seed: int) -> None:
    """Every gradient ``loss`` returns for ``p``'s params equals central differences of the same loss."""
    # The loss and the joint ± pair in one round trip; the localising probes only if they disagree. The
    # tolerance is checks.gradcheck's, with Σ|terms of L| = loss (every term −log p ≥ 0); on the reference
    # |fd − bp| stays below 2% of it (300 examples, both cells, every localising probe too).
    plus, minus = perturbed_arguments(p.params, [Probe(joint_direction(p.params, seed))])
    (_, grads), (loss_plus, _), (loss_minus, _) = sub.batch([(LOSS, loss_call(p, params))
                                                             for params in (p.params, plus, minus)])
    assert_gradients_match_finite_differences(
        lambda dicts: sub.outputs_of_many(LOSS, [loss_call(p, params) for params in dicts]),
        # In params' order: the joint direction is drawn input by input in the order of these gradients.
        p.params, {name: grads[name] for name in p.params}, lambda loss: (loss, abs(loss)), seed,
        gradient_names={name: f"grads[{name!r}]" for name in p.params}, joint_outputs=(loss_plus, loss_minus))


@check(group="captioning", points=2, needs=(LOSS,), examples=0.15)
@given(p=captioning_problems(cell_types=RNN, min_t=2))
@example(p=RNN_EXAMPLE)
def rnn_captioning_loss_predicts_each_word_from_the_words_before_it(sub, p):
    """With cell_type='rnn', the loss is shifted by one: the step that predicts a word has read only the words
    before it."""
    loss_predicts_each_word_from_the_words_before_it(sub, p)


@check(group="captioning", points=1, needs=(LOSS,), examples=0.15)
@given(p=captioning_problems(cell_types=LSTM, min_t=2))
@example(p=LSTM_EXAMPLE)
def lstm_captioning_loss_predicts_each_word_from_the_words_before_it(sub, p):
    """With cell_type='lstm', the loss is shifted by one: the step that predicts a word has read only the words
    before it."""
    loss_predicts_each_word_from_the_words_before_it(sub, p)


def loss_predicts_each_word_from_the_words_before_it(sub, p: CaptioningProblem) -> None:
    """The loss is shifted by one: the step that predicts a word has read only the words before it.

    One caption c of the batch without <NULL> (T ≥ 2), b_vocab[<NULL>] lowered by 1000 so that <NULL> has
    probability 0. Shifted by one, loss(c) − loss(c without its last word) = −log p(last word | the words
    before it), so Σ_v exp(loss(c[:-1]) − loss(c[:-1] + [v])) over every word v ≠ <NULL> is Σ_v p(v) = 1.
    """
    n = int(np.flatnonzero(p.captions[:, -1] != p.null)[0])  # a caption that fills every column
    prefix, features = p.captions[n, :-1], p.features[n:n + 1]
    params = {**p.params, "b_vocab": p.params["b_vocab"] + NULL_SCORE * (np.arange(p.V) == p.null)}
    words = [v for v in range(p.V) if v != p.null]
    captions = [prefix, *(np.append(prefix, v) for v in words)]
    prefix_loss, *losses = sub.outputs_of_many(LOSS, [(p.model, params, features, c[None]) for c in captions])
    with np.errstate(over="ignore"):
        probabilities = np.exp(prefix_loss - np.array(losses))
    total = float(np.sum(probabilities))
    if not abs(total - 1) <= SUM_TOLERANCE:
        raise AssertionError(shift_message(p, prefix, words, probabilities, total))


def shift_message(p: CaptioningProblem, prefix: np.ndarray, words: Sequence[int], probabilities: np.ndarray,
                  total: float) -> str:
    names = {index: name for name, index in p.word_to_idx.items()}
    shown = ", ".join(f"{names[v]} {q:.3g}" for v, q in zip(words, probabilities))
    return (f"Your loss does not predict each word from the words before it ({p.cell_type}). For the caption "
            f"{' '.join(names[int(w)] for w in prefix)} followed by each possible word v (b_vocab[<NULL>] lowered by "
            f"1000, so <NULL> has probability 0), p(v) = exp(loss without v − loss with v) should sum to 1 over "
            f"the {len(words)} words, but gives {shown}: sum {total:.6g}. The words fed in must be "
            "captions[:, :-1] and the words predicted captions[:, 1:], each masked where it is <NULL>, and the "
            "loss their cross-entropies summed and divided by N.")


@check(group="captioning", points=2, needs=(LOSS,), examples=0.15)
@given(p=captioning_problems(cell_types=RNN))
@example(p=RNN_EXAMPLE)
def rnn_captioning_loss_ignores_null_targets(sub, p):
    """With cell_type='rnn', <NULL> targets cost nothing: appending a <NULL> column to the captions, or adding a
    caption with nothing to predict, leaves N·loss unchanged."""
    loss_ignores_null_targets(sub, p)


@check(group="captioning", points=1, needs=(LOSS,), examples=0.15)
@given(p=captioning_problems(cell_types=LSTM))
@example(p=LSTM_EXAMPLE)
def lstm_captioning_loss_ignores_null_targets(sub, p):
    """With cell_type='lstm', <NULL> targets cost nothing: appending a <NULL> column to the captions, or adding
    a caption with nothing to predict, leaves N·loss unchanged."""
    loss_ignores_null_targets(sub, p)


def loss_ignores_null_targets(sub, p: CaptioningProblem) -> None:
    """<NULL> targets cost nothing: appending a <NULL> column to the captions, or adding a caption with nothing
    to predict, leaves N·loss unchanged."""
    N, columns = p.captions.shape
    with_column = np.hstack([p.captions, np.full((N, 1), p.null)])
    empty = np.array([[p.start] + [p.null] * (columns - 1)])  # <START>, <NULL>, …: every target masked
    with_row = with_captions(p, np.vstack([p.captions, empty]), np.vstack([p.features, p.features[:1]]))
    loss, loss_with_column, loss_with_row = sub.outputs_of_many(
        LOSS, [loss_call(p), loss_call(with_captions(p, with_column)), loss_call(with_row)])
    assert_close(np.array(loss_with_column), np.array(loss), f"loss ({p.cell_type}) after appending a column of "
                 "<NULL> to every caption", "your loss without it (a <NULL> target must be masked out)")
    assert_close(np.array((N + 1) * loss_with_row), np.array(N * loss),
                 f"(N + 1)·loss ({p.cell_type}) with an extra caption <START> <NULL> … <NULL>",
                 "N·loss without it (a caption with nothing to predict adds nothing to the sum, which is divided "
                 "by the number of captions N)")


@check(group="captioning", points=2, needs=(LOSS,), reference=True, examples=0.25)
@given(p=captioning_problems(cell_types=RNN))
@example(p=RNN_EXAMPLE)
def rnn_captioning_loss_matches_reference(sub, p):
    """With cell_type='rnn', CaptioningRNN.loss's loss and all eight gradients equal the reference's."""
    loss_matches_reference(sub, p)


@check(group="captioning", points=1, needs=(LOSS,), reference=True, examples=0.25)
@given(p=captioning_problems(cell_types=LSTM))
@example(p=LSTM_EXAMPLE)
def lstm_captioning_loss_matches_reference(sub, p):
    """With cell_type='lstm', CaptioningRNN.loss's loss and all eight gradients equal the reference's."""
    loss_matches_reference(sub, p)


def loss_matches_reference(sub, p: CaptioningProblem) -> None:
    """``loss``'s loss and all eight gradients for ``p`` equal the reference's."""
    loss, grads = sub.captioning_loss(*p)
    expected_loss, expected_grads = reference_model(p).loss(p.features, p.captions)
    assert_close(np.array(loss), np.array(expected_loss), f"loss ({p.cell_type})",
                 "the reference (masked cross-entropy of captions[:, 1:] given captions[:, :-1], divided by N)")
    assert_all_close(labelled("grads", grads), labelled("grads", expected_grads), f"the reference ({p.cell_type})")


def reference_model(p: CaptioningProblem):
    """The reference's CaptioningRNN with ``p``'s params, built as the worker builds the student's."""
    import reference

    state = np.random.get_state()  # the constructor draws an initialisation from np.random: leave no trace
    try:
        model = reference.CaptioningRNN(**p.model, dtype=np.float64)
    finally:
        np.random.set_state(state)
    model.params.update({name: value.copy() for name, value in p.params.items()})
    return model


@check(group="captioning", points=2, needs=(SAMPLE,), reference=True, examples=0.25)
@given(p=captioning_problems(cell_types=RNN), max_length=MAX_LENGTHS)
@example(p=RNN_EXAMPLE, max_length=8)
def rnn_captioning_sample_is_greedy_from_start(sub, p, max_length):
    """With cell_type='rnn', sample feeds <START> first and then each sampled word back, and stores the
    highest-scoring word of every step (column 0 is the first sampled word); after <END> a caption may go on
    or hold <NULL>."""
    sample_is_greedy_from_start(sub, p, max_length)


@check(group="captioning", points=2, needs=(SAMPLE,), reference=True, examples=0.25)
@given(p=captioning_problems(cell_types=LSTM), max_length=MAX_LENGTHS)
@example(p=LSTM_EXAMPLE, max_length=8)
def lstm_captioning_sample_is_greedy_from_start(sub, p, max_length):
    """With cell_type='lstm', sample feeds <START> first and then each sampled word back, and stores the
    highest-scoring word of every step (column 0 is the first sampled word); after <END> a caption may go on
    or hold <NULL>."""
    sample_is_greedy_from_start(sub, p, max_length)


def sample_is_greedy_from_start(sub, p: CaptioningProblem, max_length: int) -> None:
    """``sample`` from ``p``'s features is greedy from <START> under the reference's scores (``first_non_greedy``)."""
    (captions,) = sub.captioning_sample(p.model, p.params, p.features, max_length)
    scores = teacher_forced_scores(p, captions)
    for n in range(len(captions)):
        t = first_non_greedy(captions[n], scores[n], p.null, p.end)
        if t is not None:
            raise AssertionError(greedy_message(p, captions, scores, n, t))


def teacher_forced_scores(p: CaptioningProblem, captions: np.ndarray) -> np.ndarray:
    """(N, L, V): the reference's scores at step t after the inputs <START>, captions[:, 0], …, captions[:, t − 1]."""
    import reference

    inputs = np.hstack([np.full((len(captions), 1), p.start), captions[:, :-1]])  # (N, L)
    params = p.params
    h0 = p.features @ params["W_proj"] + params["b_proj"]
    sequence_forward = {"rnn": reference.rnn_forward, "lstm": reference.lstm_forward}[p.cell_type]
    h, _ = sequence_forward(params["W_embed"][inputs], h0, params["Wx"], params["Wh"], params["b"])
    return h @ params["W_vocab"] + params["b_vocab"]


def first_non_greedy(caption: np.ndarray, scores: np.ndarray, null: int, end: int) -> int | None:
    """The first step t at which ``caption`` (L,) is not greedy for its ``scores`` (L, V), or None.

    Greedy: caption[t] scores within TIE_TOLERANCE of the best word of step t. Once an <END> was chosen,
    the caption may instead hold <NULL> to the end (the sampler stopped)."""
    ended = False
    for t, word in enumerate(caption):
        best = float(np.max(scores[t]))
        if scores[t, word] >= best - TIE_TOLERANCE * (1 + abs(best)):
            ended = ended or word == end
            continue
        if ended and np.all(caption[t:] == null):
            return None
        return t
    return None


def greedy_message(p: CaptioningProblem, captions: np.ndarray, scores: np.ndarray, n: int, t: int) -> str:
    names = {index: name for name, index in p.word_to_idx.items()}
    word, best = int(captions[n, t]), int(np.argmax(scores[n, t]))
    before = " ".join(["<START>", *(names[int(w)] for w in captions[n, :t])])
    return (f"sample is not greedy ({p.cell_type}): captions[{n}, {t}] is {names[word]} (index {word}), but after the "
            f"inputs {before} the highest-scoring word is {names[best]} (index {best}, score "
            f"{scores[n, t, best]:.6g}; {names[word]} scores {scores[n, t, word]:.6g}). Feed <START> first, then each "
            "sampled word, and store the argmax of every step: column 0 is the first sampled word, not <START>.")


@check(group="captioning", points=1, needs=(LOSS, SAMPLE), needs_any=True, parts=((LOSS,), (SAMPLE,)),
       examples=0.1)
@given(p=captioning_problems(cell_types=RNN), max_length=MAX_LENGTHS)
@example(p=RNN_EXAMPLE, max_length=3)
def rnn_captioning_leaves_inputs_unchanged(sub, p, max_length):
    """With cell_type='rnn', CaptioningRNN.loss and sample (those you implemented) never modify features,
    captions, params or word_to_idx."""
    leaves_inputs_unchanged(sub, p, max_length)


@check(group="captioning", points=1, needs=(LOSS, SAMPLE), needs_any=True, parts=((LOSS,), (SAMPLE,)),
       examples=0.1)
@given(p=captioning_problems(cell_types=LSTM), max_length=MAX_LENGTHS)
@example(p=LSTM_EXAMPLE, max_length=3)
def lstm_captioning_leaves_inputs_unchanged(sub, p, max_length):
    """With cell_type='lstm', CaptioningRNN.loss and sample (those you implemented) never modify features,
    captions, params or word_to_idx."""
    leaves_inputs_unchanged(sub, p, max_length)


def leaves_inputs_unchanged(sub, p: CaptioningProblem, max_length: int) -> None:
    """Neither method (of those implemented) modifies its arguments for ``p``."""
    examine(sub, [unchanged(LOSS, LOSS_ARGUMENTS, loss_call(p)),
                  unchanged(SAMPLE, SAMPLE_ARGUMENTS, (p.model, p.params, p.features, max_length))])
