"""The embedding and temporal check groups: the reference and a correct alternative keep full points,
each realistic bug fails exactly the checks it should, and the strategies draw what the checks rely on.

Buggy files (tests/corpus/buggy/embedding_*.py, temporal_*.py) define only their group's functions,
so each is graded with its group's checks alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import reference
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from checks.embedding_problems import affine_problems, embedding_problems, softmax_problems
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks
from checks.strategies import simple_values
from checks.temporal import nonzero_at_masked, with_masked_sequence

ROOT = Path(__file__).resolve().parent.parent
BUGGY = ROOT / "tests" / "corpus" / "buggy"
CORRECT_DIR = ROOT / "tests" / "corpus" / "correct"
GROUPS = ("embedding", "temporal")

# Each buggy file, and the checks of its group it must fail (all the others keep full points).
EXPECTED_FAILURES = {
    "embedding_dW_fancy_index_assignment": {
        "embedding_backward_matches_finite_differences", "repeated_words_add_their_gradients",
        "embedding_backward_matches_reference"},
    "temporal_affine_db_overwritten_over_time": {
        "temporal_affine_backward_matches_finite_differences", "temporal_affine_matches_reference"},
    "temporal_dx_mask_forgotten": {
        "softmax_loss_dx_matches_finite_differences", "masked_positions_change_nothing",
        "softmax_loss_is_stable_for_huge_scores", "softmax_loss_matches_reference"},
    "temporal_loss_divided_by_unmasked_count": {
        "softmax_loss_is_divided_by_the_batch_size", "softmax_loss_is_stable_for_huge_scores",
        "softmax_loss_matches_reference"},
    "temporal_softmax_without_max_shift": {"softmax_loss_is_stable_for_huge_scores"},
}

# A correct embedding written differently: the lookup as a one-hot matrix product (exact: one 1 and
# zeros per row), the backward as its transpose (the one-hot matrix adds repeated words up).
ONE_HOT = '''
import numpy as np


def word_embedding_forward(x, W):
    one_hot = np.eye(W.shape[0])[x]  # (N, T, V)
    return one_hot @ W, (one_hot, W.shape)


def word_embedding_backward(dout, cache):
    one_hot, _ = cache
    N, T, V = one_hot.shape
    return one_hot.reshape(N * T, V).T @ dout.reshape(N * T, -1)
'''

# The lookup in the wrong order: x flattened column by column, then reshaped row by row (right only
# when N = 1 or T = 1). The backward is right (np.add.at).
TRANSPOSED_LOOKUP = '''
import numpy as np


def word_embedding_forward(x, W):
    N, T = x.shape
    return W[x.T.reshape(-1)].reshape(N, T, W.shape[1]), (x, W.shape)


def word_embedding_backward(dout, cache):
    x, shape = cache
    dW = np.zeros(shape)
    np.add.at(dW, x, dout)
    return dW
'''


@pytest.fixture(scope="module")
def checks():
    return {group: [c for c in load_checks() if c.group == group] for group in GROUPS}


def failed(grade) -> dict[str, str]:
    return {r.check.name: r.message for r in grade.results if not r.passed}


def declared(path: Path) -> dict:
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}


def test_each_group_has_eight_points(checks):
    for group in GROUPS:
        assert sum(c.points for c in checks[group]) == 8, group


def defines(path: Path, functions: set[str]) -> bool:
    """Whether the file defines every one of ``functions`` at top level (read without importing it)."""
    return functions <= {node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}


GROUP_FUNCTIONS = {"embedding": {"word_embedding_forward", "word_embedding_backward"},
                   "temporal": {"temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss"}}
CORRECT = [(group, path) for group in GROUPS for path in [ROOT / "reference", *sorted((CORRECT_DIR).glob("*.py"))]
           if path.is_dir() or defines(path, GROUP_FUNCTIONS[group])]


@pytest.mark.parametrize("group, path", CORRECT, ids=lambda x: x if isinstance(x, str) else x.stem)
def test_correct_implementations_score_full_points(checks, group, path):
    """The reference, and each correct corpus submission that implements the group (in styles of their own)."""
    grade = grade_submission(path, checks[group])
    assert failed(grade) == {}
    assert grade.score == grade.max_score == 8


def test_one_hot_embedding_is_a_correct_alternative(checks, tmp_path):
    path = tmp_path / "one_hot.py"
    path.write_text(ONE_HOT)
    grade = grade_submission(path, checks["embedding"])
    assert failed(grade) == {}
    assert grade.score == 8


def test_lookup_in_the_wrong_order_fails_the_forward_check(checks, tmp_path):
    path = tmp_path / "transposed_lookup.py"
    path.write_text(TRANSPOSED_LOOKUP)
    failures = failed(grade_submission(path, checks["embedding"]))
    # The right backward no longer matches finite differences of this forward; the checks that
    # compare the backward with the definition or the reference keep their points.
    assert set(failures) == {"embedding_forward_is_a_lookup", "embedding_backward_matches_finite_differences"}
    assert "exactly" in failures["embedding_forward_is_a_lookup"]


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_buggy_file_fails_exactly_its_checks(checks, name):
    path = BUGGY / f"{name}.py"
    bug = declared(path)
    assert bug["BUG_GROUP"] in GROUPS and bug["AFFECTED"] and "MISCONCEPTION" in bug
    group = checks[bug["BUG_GROUP"]]
    grade = grade_submission(path, group)
    assert set(failed(grade)) == EXPECTED_FAILURES[name], failed(grade)
    for result in grade.results:  # a check that calls no affected function keeps its points
        if not set(result.check.needs) & set(bug["AFFECTED"]):
            assert result.passed, result.check.name


def test_every_buggy_file_of_these_groups_is_listed():
    files = {p.stem for group in GROUPS for p in BUGGY.glob(f"{group}_*.py")}
    assert files == set(EXPECTED_FAILURES)


def test_repeats_message_names_the_repeated_word(checks):
    grade = grade_submission(BUGGY / "embedding_dW_fancy_index_assignment.py", checks["embedding"])
    message = failed(grade)["repeated_words_add_their_gradients"]
    assert "occurs 2 times in x" in message and "np.add.at" in message


def test_normalisation_message_names_the_batch_size(checks):
    grade = grade_submission(BUGGY / "temporal_loss_divided_by_unmasked_count.py", checks["temporal"])
    assert "N/(N+1)" in failed(grade)["softmax_loss_is_divided_by_the_batch_size"]


# --------------------------------------------------------------------------- the strategies


def overwriting_backward(x: np.ndarray, dout: np.ndarray, V: int) -> np.ndarray:
    dW = np.zeros((V, dout.shape[2]))
    dW[x] += dout  # buffered: a repeated word keeps one gradient
    return dW


def accumulating_backward(x: np.ndarray, dout: np.ndarray, V: int) -> np.ndarray:
    dW = np.zeros((V, dout.shape[2]))
    np.add.at(dW, x, dout)
    return dW


@settings(max_examples=200)
@given(p=embedding_problems())
def test_every_embedding_problem_repeats_a_word(p):
    assert p.x.dtype == np.int64 and np.all((0 <= p.x) & (p.x < p.V))
    assert len(np.unique(p.x)) < p.x.size


@settings(max_examples=200)
@given(p=embedding_problems())
def test_overwriting_dW_is_wrong_on_every_embedding_problem(p):
    """With values from a seed, the upstream rows of a repeated word are never equal: `dW[x] += dout`
    is wrong on every example, not only on some."""
    assert not np.allclose(overwriting_backward(p.x, p.dout, p.V), accumulating_backward(p.x, p.dout, p.V))


@settings(max_examples=100)
@given(data=st.data())
def test_simple_values_repeat_a_word_too(data):
    with simple_values():
        p = data.draw(embedding_problems())
    assert len(np.unique(p.x)) < p.x.size


def per_count_loss(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """The reference's loss and dx divided by the number of unmasked positions instead of N."""
    loss, dx = reference.temporal_softmax_loss(x, y, mask)
    N, count = x.shape[0], mask.sum()
    return loss * N / count, dx * N / count


@settings(max_examples=200)
@given(p=softmax_problems())
def test_dividing_by_the_unmasked_count_breaks_the_batch_size_property_on_every_problem(p):
    """The added sequence, masked everywhere, leaves a per-count loss as it was, where N/(N+1) times it is
    due; every problem has an unmasked position and V >= 2, so the loss is never 0."""
    N = p.x.shape[0]
    loss, _ = per_count_loss(*p)
    more_loss, _ = per_count_loss(*with_masked_sequence(p))
    assert loss > 0 and not np.isclose(more_loss, loss * N / (N + 1), rtol=1e-6, atol=0)


@settings(max_examples=200)
@given(p=softmax_problems())
def test_a_dx_without_the_mask_is_nonzero_at_a_masked_position_of_every_problem(p):
    """What masked_positions_change_nothing looks at first: (softmax − onehot)/N has a nonzero entry in
    every row, and every problem of two or more positions masks one."""
    _, dx = reference.temporal_softmax_loss(p.x, p.y, np.ones_like(p.mask))  # the mask forgotten
    assert (nonzero_at_masked(dx, p.mask, "dx") is not None) == (p.mask.size > 1)


@settings(max_examples=200)
@given(p=softmax_problems())
def test_softmax_problems_mask_some_but_not_all_positions(p):
    N, T, V = p.x.shape
    assert p.y.dtype == np.int64 and np.all((0 <= p.y) & (p.y < V)) and p.mask.dtype == np.bool_
    if N * T == 1:
        assert p.mask.all()
    else:
        assert p.mask.any() and not p.mask.all()


def test_softmax_problems_sometimes_mask_a_whole_sequence():
    seen = []

    @settings(max_examples=100, database=None)
    @given(p=softmax_problems(min_v=2))
    def collect(p):
        seen.append(bool(np.any(~p.mask.any(axis=1))))

    collect()
    assert any(seen) and not all(seen)


@settings(max_examples=100)
@given(p=softmax_problems(scale=3e3))
def test_huge_scores_overflow_an_unshifted_exp_at_a_kept_position_of_every_problem(p):
    with np.errstate(over="ignore"):
        total = np.exp(p.x).sum(axis=-1)  # (N, T)
    assert np.any(np.isinf(total) & p.mask)


@pytest.mark.parametrize("build", [
    lambda: embedding_problems(max_n=0),
    lambda: embedding_problems(max_v=1.5),
    lambda: embedding_problems(repeated="yes"),
    lambda: embedding_problems(max_n=1, max_t=1),
    lambda: affine_problems(max_m=0),
    lambda: softmax_problems(min_v=3, max_v=2),
    lambda: softmax_problems(scale=0.0),
    lambda: softmax_problems(scale=float("inf")),
    lambda: softmax_problems(max_t=True),
])
def test_strategies_reject_bad_arguments_when_built(build):
    with pytest.raises(InvalidArgument):
        build()


@settings(max_examples=20)
@given(p=embedding_problems(max_n=1, max_t=1, max_v=2, max_d=1, repeated=False),
       q=softmax_problems(max_n=1, max_t=1, max_v=2, min_v=1))
def test_size_one_problems_for_the_hygiene_checks(p, q):
    assert p.x.shape == (1, 1) and p.W.shape[1] == 1 and p.V in (1, 2)
    assert q.x.shape[:2] == (1, 1) and q.mask.all()
