"""The captioning check group: correct CaptioningRNNs keep full points (a sampler that stops at <END>
and one that goes on to max_length alike), each realistic bug fails exactly the checks it should,
removing the bug restores full points, and the strategies draw what the checks rely on.

Each property is a pair of checks, rnn_captioning_* and lstm_captioning_*: a bug in code both cell types
run fails both checks of its properties, a bug in one cell type's path only that cell type's, and a model
whose LSTM raises NotImplementedError loses exactly the lstm_captioning_* checks.

Buggy files (tests/corpus/buggy/captioning_*.py) define CaptioningRNN and the layers it calls, so each
is graded here with the captioning checks alone.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from checks import captioning
from checks.captioning_problems import (CaptioningSizes, captioning_problem_from_seed, captioning_problems,
                                        captioning_sizes, vocabulary)
from checks.engine.run.runner import grade_submission
from checks.registry import ASSIGNMENTS_FOLDER, load_checks
from checks.strategies import simple_values

ROOT = Path(__file__).resolve().parent.parent
BUGGY = ROOT / "tests" / "corpus" / "buggy"
CORRECT = [ROOT / "reference", *(ROOT / "tests" / "corpus" / "correct" / f"{name}.py"
                                 for name in ("cs231n_style", "einsum_dict_cache", "consuming_cache"))]

FD, SHIFT, MASK = ("gradients_match_finite_differences", "loss_predicts_each_word_from_the_words_before_it",
                   "loss_ignores_null_targets")
REFERENCE, GREEDY, HYGIENE = "loss_matches_reference", "sample_is_greedy_from_start", "leaves_inputs_unchanged"
PROPERTIES = (FD, SHIFT, MASK, REFERENCE, GREEDY, HYGIENE)
CELL_TYPES = ("rnn", "lstm")
# The split of the 20 points: (rnn, lstm) for each property, the RNN 12 and the LSTM 8.
POINTS = {FD: (3, 2), SHIFT: (2, 1), MASK: (2, 1), REFERENCE: (2, 1), GREEDY: (2, 2), HYGIENE: (1, 1)}


def named(properties, cell_types=CELL_TYPES) -> set[str]:
    """The checks of ``properties`` for ``cell_types``: e.g. rnn_captioning_loss_ignores_null_targets."""
    return {f"{cell}_captioning_{prop}" for prop in properties for cell in cell_types}


RNN_CHECKS, LSTM_CHECKS = named(PROPERTIES, ("rnn",)), named(PROPERTIES, ("lstm",))
ALL = RNN_CHECKS | LSTM_CHECKS

# Each buggy file: the checks it must fail (all the others keep full points), and the edit that removes
# its bug (buggy line(s) -> correct line(s)), after which it must score full points. A bug in code both cell
# types run fails the checks of both; one in the LSTM's path (captioning_lstm_runs_rnn) the LSTM's only.
BUGS = {
    "captioning_loss_not_shifted": (
        named({SHIFT, MASK, REFERENCE}),
        [("        captions_out = captions[:, :-1]\n", "        captions_out = captions[:, 1:]\n")]),
    "captioning_mask_forgotten": (
        named({MASK, REFERENCE}),
        [("        mask = np.ones_like(captions_out, dtype=bool)\n", "        mask = captions_out != self._null\n")]),
    "captioning_null_hard_coded_zero": (
        named({SHIFT, MASK, REFERENCE}),
        [("        mask = captions_out != 0\n", "        mask = captions_out != self._null\n")]),
    "captioning_b_proj_gradient_mean_over_batch": (
        named({FD, REFERENCE}),
        [('grads["b_proj"] = dh0.mean(axis=0)', 'grads["b_proj"] = dh0.sum(axis=0)')]),
    "captioning_loss_overwrites_null_targets": (
        named({HYGIENE}),
        [("        captions_out[~mask] = 0  # ignored by the mask anyway\n", "")]),
    "captioning_sample_starts_from_null": (
        named({GREEDY}),
        [("word = self._null * np.ones(N, dtype=np.int32)", "word = self._start * np.ones(N, dtype=np.int32)")]),
    "captioning_sample_start_in_column_zero": (
        named({GREEDY}),
        [("        captions[:, 0] = self._start\n        for t in range(1, max_length):\n",
          "        for t in range(max_length):\n")]),
    # The LSTM model raises (the RNN functions on its 4H weights): every LSTM check fails, every RNN one passes.
    "captioning_lstm_runs_rnn": (LSTM_CHECKS, None),  # the fix is the LSTM layers the file lacks
}


@pytest.fixture(scope="module")
def checks():
    """At their decorators' points (the default table leaves the group out: only checks/assignments/cs231n.toml
    grades the captioning model)."""
    return [c for c in load_checks(points_table=None) if c.group == "captioning"]


def failed(grade) -> set[str]:
    return {r.check.name for r in grade.results if not r.passed}


def report(grade) -> str:
    return "\n".join(f"{r.check.name}: {r.score:g}/{r.check.points:g} {r.message[:400]}"
                     for r in grade.results if not r.passed)


# --------------------------------------------------------------------------- the group


def test_group_is_six_pairs_of_checks_worth_20_points(checks):
    """Six properties, each an RNN check and an LSTM check (12 points and 8), with the same needs."""
    assert {c.name for c in checks} == ALL and len(checks) == 12
    assert {c.name: c.points for c in checks} == {
        f"{cell}_captioning_{prop}": points[i] for prop, points in POINTS.items() for i, cell in enumerate(CELL_TYPES)}
    assert sum(c.points for c in checks) == 20 and sum(c.points for c in checks if c.name in LSTM_CHECKS) == 8
    assert {c.name for c in checks if c.reference} == named({REFERENCE, GREEDY})
    by_name = {c.name: c for c in checks}
    for prop in PROPERTIES:
        rnn, lstm = (by_name[f"{cell}_captioning_{prop}"] for cell in CELL_TYPES)
        assert (rnn.needs, rnn.needs_any, rnn.parts) == (lstm.needs, lstm.needs_any, lstm.parts)
        assert set(rnn.needs) <= {"CaptioningRNN.loss", "CaptioningRNN.sample"}


def test_the_cs231n_assignment_gives_the_pairs_the_decorators_points(checks):
    """checks/assignments/cs231n.toml weights the group as the decorators do (20: the RNN 12, the LSTM 8),
    and the default table leaves every captioning check out."""
    weighted = {c.name: c.points for c in load_checks(points_table=ASSIGNMENTS_FOLDER / "cs231n.toml", assignment=True)
                if c.group == "captioning"}
    assert weighted == {c.name: c.points for c in checks}
    assert not [c for c in load_checks() if c.group == "captioning"]


@pytest.mark.parametrize("path", CORRECT, ids=lambda p: p.stem)
def test_correct_captioning_models_score_full_points(path, checks):
    """The reference (samples to max_length), cs231n_style (stops each caption at its <END>) and the other
    correct corpus files, each written differently."""
    grade = grade_submission(path, checks)
    assert grade.score == grade.max_score == 20, report(grade)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_bug_fails_exactly_its_checks(bug, checks):
    path = BUGGY / f"{bug}.py"
    expected, _ = BUGS[bug]
    declared = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(path.read_text()).body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    assert declared["BUG_GROUP"] == "captioning" and declared["MISCONCEPTION"] is None
    grade = grade_submission(path, checks, simplify=False)  # the same verdicts, without the search for simple examples
    assert failed(grade) == expected, report(grade)
    # A check that calls none of the AFFECTED methods keeps its points (the corpus rule).
    for result in grade.results:
        if not set(result.check.needs) & set(declared["AFFECTED"]):
            assert result.passed, result.message


@pytest.mark.parametrize("bug", sorted(name for name, (_, fix) in BUGS.items() if fix))
def test_removing_the_bug_restores_full_points(bug, checks, tmp_path):
    """Each file's one bug is all that is wrong with it: undone, the file scores 20."""
    text = (BUGGY / f"{bug}.py").read_text()
    for buggy, correct in BUGS[bug][1]:
        assert text.count(buggy) == 1, buggy
        text = text.replace(buggy, correct)
    fixed = tmp_path / f"{bug}_fixed.py"
    fixed.write_text(text)
    grade = grade_submission(fixed, checks)
    assert grade.score == grade.max_score == 20, report(grade)


# The four functions of each cell type, as a student leaves them undone: each raises NotImplementedError.
STUBS = {cell: "".join(f"\n\ndef {cell}_{name}(*args):\n    raise NotImplementedError\n"
                       for name in ("step_forward", "step_backward", "forward", "backward"))
         for cell in CELL_TYPES}


@pytest.mark.parametrize("undone", CELL_TYPES)
def test_a_model_without_one_cell_type_loses_exactly_that_cell_types_checks(undone, checks, tmp_path):
    """A correct CaptioningRNN whose LSTM layers (or RNN layers) raise NotImplementedError, as the starter code's
    do, loses every check of that cell type as "not implemented" and keeps every check of the other: 8 points
    lost without an LSTM (the LSTM as extra credit), 12 without an RNN. So each check draws its own cell type
    only, and the other's functions are never called."""
    path = tmp_path / f"no_{undone}.py"
    path.write_text((ROOT / "tests" / "corpus" / "correct" / "cs231n_style.py").read_text() + STUBS[undone])
    grade = grade_submission(path, checks, simplify=False)
    lost = named(PROPERTIES, (undone,))
    assert failed(grade) == lost, report(grade)
    for result in grade.results:
        if result.check.name in lost:
            assert result.score == 0 and "not implemented" in result.message, (result.check.name, result.message)
    assert grade.score == 20 - sum(points[CELL_TYPES.index(undone)] for points in POINTS.values())


def test_a_loss_divided_by_the_number_of_words_fails_the_padding_caption_identity(checks, tmp_path):
    """The mask check's second identity bites: a temporal_softmax_loss normalised by the unmasked words
    instead of N (loss and dx alike, so its gradients match its own loss) is unchanged by a <NULL> column
    but not by an extra caption with nothing to predict. (Its loss differences are no longer log-probabilities
    either, so the shift check fails too.)"""
    text = (BUGGY / "captioning_mask_forgotten.py").read_text()
    for buggy, correct in [*BUGS["captioning_mask_forgotten"][1],
                           ("    loss = -np.sum(mask_flat * log_probs[np.arange(N * T), y_flat]) / N\n",
                            "    loss = -np.sum(mask_flat * log_probs[np.arange(N * T), y_flat]) / np.sum(mask_flat)\n"),
                           ("    dx_flat /= N\n", "    dx_flat /= np.sum(mask_flat)\n")]:
        assert text.count(buggy) == 1, buggy
        text = text.replace(buggy, correct)
    path = tmp_path / "per_word_normalisation.py"
    path.write_text(text)
    grade = grade_submission(path, checks, simplify=False)
    assert failed(grade) == named({SHIFT, MASK, REFERENCE}), report(grade)
    for mask_check in named({MASK}):
        mask_message = next(r.message for r in grade.results if r.check.name == mask_check)
        assert "extra caption" in mask_message and "after appending a column" not in mask_message


def test_group_grade_time_on_the_reference(checks):
    """Measured, and bounded loosely (the machine may be loaded): about 3 s on a busy 2-core machine."""
    start = time.perf_counter()
    grade = grade_submission(ROOT / "reference", checks)
    elapsed = time.perf_counter() - start
    assert grade.score == 20
    assert elapsed < 30, f"the captioning group took {elapsed:.1f} s on the reference"


# --------------------------------------------------------------------------- what the checks rely on


def test_explicit_examples_are_an_rnn_and_an_lstm_with_null_away_from_zero():
    examples = (captioning.RNN_EXAMPLE, captioning.LSTM_EXAMPLE)
    assert [p.cell_type for p in examples] == ["rnn", "lstm"]
    assert all(p.null != 0 for p in examples)


@pytest.mark.parametrize("p", [captioning.RNN_EXAMPLE, captioning.LSTM_EXAMPLE], ids=["rnn", "lstm"])
def test_explicit_examples_sample_an_end_with_words_after_it(p):
    """So every grade tells a sampler that stops at <END> (then <NULL>) from one that goes on: both pass."""
    sample = captioning.reference_model(p).sample(p.features, 8)
    assert any((row == p.end).any() and (row[np.argmax(row == p.end) + 1:] != p.null).any() for row in sample)


def greedy_scores(V: int, best: list[int]) -> np.ndarray:
    """(L, V) scores whose argmax at step t is best[t], by a margin of 1."""
    scores = np.zeros((len(best), V))
    scores[np.arange(len(best)), best] = 1.0
    return scores


def test_first_non_greedy_accepts_stopping_at_end_and_going_on():
    null, end = 3, 2
    scores = greedy_scores(5, [1, 2, 0, 4])
    assert captioning.first_non_greedy(np.array([1, 2, 0, 4]), scores, null, end) is None  # went on
    assert captioning.first_non_greedy(np.array([1, 2, 3, 3]), scores, null, end) is None  # stopped at <END>
    assert captioning.first_non_greedy(np.array([1, 2, 0, 3]), scores, null, end) is None  # stopped a bit later


def test_first_non_greedy_rejects_other_words_and_early_null():
    null, end = 3, 2
    scores = greedy_scores(5, [1, 2, 0, 4])
    assert captioning.first_non_greedy(np.array([0, 2, 0, 4]), scores, null, end) == 0  # not the argmax
    assert captioning.first_non_greedy(np.array([1, 3, 3, 3]), scores, null, end) == 1  # <NULL> before any <END>
    assert captioning.first_non_greedy(np.array([1, 2, 3, 4]), scores, null, end) == 2  # words after the <NULL>


def test_first_non_greedy_accepts_either_word_of_a_tie():
    scores = np.array([[0.5, 0.5 - 1e-12, 0.0]])
    assert captioning.first_non_greedy(np.array([1]), scores, null=2, end=2) is None
    assert captioning.first_non_greedy(np.array([2]), scores, null=1, end=1) == 0


# --------------------------------------------------------------------------- strategies


def assert_well_formed(p) -> None:
    """What captioning_problems' docstring promises."""
    N, columns = p.captions.shape
    T, V = columns - 1, p.V
    H, k = p.model["hidden_dim"], {"rnn": 1, "lstm": 4}[p.cell_type]
    assert sorted(p.word_to_idx.values()) == list(range(V))
    assert {"<NULL>", "<START>", "<END>"} <= set(p.word_to_idx)
    shapes = {"W_embed": (V, p.model["wordvec_dim"]), "W_proj": (p.model["input_dim"], H), "b_proj": (H,),
              "Wx": (p.model["wordvec_dim"], k * H), "Wh": (H, k * H), "b": (k * H,), "W_vocab": (H, V), "b_vocab": (V,)}
    assert {name: a.shape for name, a in p.params.items()} == shapes
    assert all(a.dtype == np.float64 for a in p.params.values())
    assert p.features.shape == (N, p.model["input_dim"]) and p.captions.dtype.kind == "i"
    special = {p.null, p.start, p.end}
    for row in p.captions:
        assert row[0] == p.start
        end = int(np.flatnonzero(row == p.end)[0])
        assert not special & set(row[1:end].tolist())
        assert (row[end + 1:] == p.null).all()
    assert (p.captions[:, -1] != p.null).any(), "the longest caption fills the last column"


@settings(max_examples=200, database=None, deadline=None)
@given(p=captioning_problems())
def test_captioning_problems_are_well_formed(p):
    assert_well_formed(p)


@settings(max_examples=50, database=None, deadline=None)
@given(st.data())
def test_simple_value_problems_are_well_formed_halves(data):
    with simple_values():
        p = data.draw(captioning_problems())
    assert_well_formed(p)
    for a in (p.features, *p.params.values()):
        assert set(np.unique(a * 2)) <= {-2.0, -1.0, 0.0, 1.0, 2.0}


def test_both_cell_types_and_both_vocabulary_orders_occur():
    seen = set()

    @settings(max_examples=100, database=None, deadline=None)
    @given(p=captioning_problems())
    def collect(p):
        seen.add((p.cell_type, p.null == 0 and p.start == 1 and p.end == 2))

    collect()
    assert seen == {("rnn", True), ("rnn", False), ("lstm", True), ("lstm", False)}


def test_problem_from_seed_is_deterministic():
    sizes = CaptioningSizes(N=2, T=3, D=2, W=2, H=2, V=5)
    a, b = (captioning_problem_from_seed(sizes, 7, "lstm", shuffled=True) for _ in range(2))
    assert a.model == b.model and (a.captions == b.captions).all()
    assert all((a.params[name] == b.params[name]).all() for name in a.params)


def test_vocabulary_puts_special_words_first_unless_permuted():
    assert vocabulary(5) == {"<NULL>": 0, "<START>": 1, "<END>": 2, "w3": 3, "w4": 4}
    assert vocabulary(4, [3, 2, 1, 0]) == {"<NULL>": 3, "<START>": 2, "<END>": 1, "w3": 0}


@pytest.mark.parametrize("build, bad", [
    (lambda: captioning_sizes(max_v=3), "max_v=3"),
    (lambda: captioning_sizes(min_t=4, max_t=2), "min_t=4"),
    (lambda: captioning_sizes(max_n=0), "max_n=0"),
    (lambda: captioning_sizes(max_h=2.5), "max_h=2.5"),
    (lambda: captioning_problems(cell_types=("gru",)), "cell_types=('gru',)"),
    (lambda: captioning_problems(cell_types="rnn"), "cell_types='rnn'"),
    (lambda: captioning_problems(cell_types=()), "cell_types=()"),
    (lambda: captioning_problem_from_seed(CaptioningSizes(1, 1, 1, 1, 1, 4), 0, "gru"), "cell_type='gru'"),
])
def test_strategies_validate_their_arguments_when_built(build, bad):
    with pytest.raises(InvalidArgument, match=bad.replace("(", r"\(").replace(")", r"\)")):
        build()
