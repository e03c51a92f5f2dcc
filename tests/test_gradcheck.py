"""checks/gradcheck.py: ≤ 4 forward evaluations per passing verdict, and a 1% error in one entry still fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import reference
from checks.examples import LONG
from checks.gradcheck import assert_gradients_match_finite_differences, weighted_sum
from checks.registry import load_checks
from checks.strategies import Dims, rnn_problem_from_seed
from checks.verdicts import PartialFailure

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("forward_evaluations", ROOT / "bench" / "forward_evaluations.py")
forward_evaluations = importlib.util.module_from_spec(spec)
spec.loader.exec_module(forward_evaluations)

LARGEST = rnn_problem_from_seed(Dims(N=4, T=12, D=6, H=6), seed=3)


def judge(p, seed, gradients=None):
    inputs = {"x": p.x, "h0": p.h0, "Wx": p.Wx, "Wh": p.Wh, "b": p.b}
    _, cache = reference.rnn_forward(*inputs.values())
    gradients = gradients or dict(zip(inputs, reference.rnn_backward(p.dh, cache)))
    evaluate_many = lambda calls: [reference.rnn_forward(*c.values())[0] for c in calls]  # noqa: E731
    assert_gradients_match_finite_differences(evaluate_many, inputs, gradients, lambda h: weighted_sum(h, p.dh),
                                              seed, dict(zip(inputs, ("dx", "dh0", "dWx", "dWh", "db"))))
    return gradients


@pytest.mark.parametrize("p", [LARGEST, LONG], ids=["largest default sizes", "LONG"])
def test_a_one_percent_error_in_any_single_entry_of_dWh_fails(p):
    right = judge(p, seed=0)
    H = p.Wh.shape[0]
    for i, j in np.ndindex(H, H):
        wrong = dict(right, Wh=right["Wh"].copy())
        wrong["Wh"][i, j] *= 1.01
        with pytest.raises(PartialFailure) as failure:
            judge(p, seed=0, gradients=wrong)
        assert "1 gradient of 5 is wrong" in str(failure.value) and "dWh" in str(failure.value)
        assert "correct: dx, dh0, dWx, db" in str(failure.value) and failure.value.credit == 4 / 5


def test_entries_are_named_and_listed_as_discrepancies_on_small_problems():
    p = rnn_problem_from_seed(Dims(N=1, T=2, D=1, H=2), seed=4)
    right = judge(p, seed=1)
    wrong = dict(right, Wh=right["Wh"].copy())
    wrong["Wh"][1, 0] += 0.5
    with pytest.raises(PartialFailure) as failure:
        judge(p, seed=1, gradients=wrong)
    assert "dWh[1, 0]: backprop gives" in str(failure.value)
    worst = failure.value.discrepancies[0]
    assert (worst.name, worst.index) == ("dWh", (1, 0))
    assert worst.got == pytest.approx(worst.expected + 0.5, abs=1e-6)


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    from checks.engine.run.runner import grade_submission

    path = forward_evaluations.write_counting_submission(tmp_path_factory.mktemp("counting"))
    return grade_submission(path, forward_evaluations.finite_difference_checks(load_checks(points_table=None)))


def test_every_finite_difference_check_is_counted(counted):
    assert {r.check.name for r in counted.results} == {
        "step_backward_matches_finite_differences", "sequence_backward_matches_finite_differences",
        "birnn_backward_matches_finite_differences", "classifier_gradients_match_finite_differences",
        "lstm_step_backward_matches_finite_differences", "lstm_backward_matches_finite_differences",
        "gru_step_backward_matches_finite_differences", "gru_sequence_backward_matches_finite_differences",
        "embedding_backward_matches_finite_differences", "temporal_affine_backward_matches_finite_differences",
        "softmax_loss_dx_matches_finite_differences", "rnn_captioning_gradients_match_finite_differences",
        "lstm_captioning_gradients_match_finite_differences"}


def test_a_passing_verdict_costs_at_most_4_forward_evaluations(counted):
    for result in counted.results:
        assert result.passed, result.message
        verdicts = forward_evaluations.counts(result.output)
        assert len(verdicts) >= 10, result.output
        assert sum(f for _, f in verdicts) / len(verdicts) <= 4, (result.check.name, result.output)
        assert max(f for _, f in verdicts) <= 4, (result.check.name, result.output)
