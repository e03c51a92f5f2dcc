"""The points table and the cost of a missing function.

- checks/points.toml lists every built-in check, under its own group: the vanilla RNN's groups add up
  to 100, the gated cells, the embedding and the temporal layers to 60 more, and the captioning
  model's checks are at 0 (graded only where a profile names them).
- A function a submission lacks costs exactly the points of the checks that need it, each with
  the message "not implemented: <name>", and nothing else: a hygiene check judges each function on
  its own, and a missing function loses only its share (tests/test_partial_credit.py).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from checks.registry import DEFAULT_POINTS_TABLE, GROUPS, load_checks
from checks.engine.run.runner import grade_submission

STEP_FORWARD_ONLY = '''
import numpy as np

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)

def rnn_backward(dh, cache):
    raise NotImplementedError
'''


@pytest.fixture(scope="module")
def checks():
    return load_checks()


VANILLA_GROUPS = ("forward", "backward", "tanh", "truncated", "clipping", "bidirectional", "classifier", "batching",
                  "hygiene")


def test_points_table_lists_every_check_under_its_group_and_totals_160(checks):
    with open(DEFAULT_POINTS_TABLE, "rb") as stream:
        table = tomllib.load(stream)
    assert set(table) == set(GROUPS)
    listed = {name: group for group, section in table.items() for name in section}
    assert listed == {c.name: c.group for c in load_checks(points_table=None)}
    graded = {name: group for group, section in table.items() for name, points in section.items() if points}
    assert graded == {c.name: c.group for c in checks}
    assert sum(points for group in VANILLA_GROUPS for points in table[group].values()) == 100
    assert sum(c.points for c in checks) == 160
    assert not any(table["captioning"].values())


def test_every_group_has_checks(checks):
    assert {c.group for c in checks} == set(GROUPS) - {"captioning"}
    assert {c.group for c in load_checks(points_table=None)} == set(GROUPS)


def test_a_missing_function_costs_exactly_the_checks_that_need_it(tmp_path: Path, checks):
    submission = tmp_path / "step_forward_only.py"
    submission.write_text(STEP_FORWARD_ONLY)
    grade = grade_submission(submission, checks)
    implemented = {"rnn_step_forward"}
    runnable = [c for c in checks if set(c.needs) <= implemented]
    assert runnable, "some check must need only rnn_step_forward"
    # A hygiene check (needs_any) judges each function on its own: rnn_step_forward earns its parts' share.
    hygiene = [c for c in checks if c.group == "hygiene"]
    shares = {c.name: c.points * sum(part == ("rnn_step_forward",) for part in c.parts) / len(c.parts) for c in hygiene}
    assert shares == {"rnn_functions_leave_inputs_unchanged": 0.5, "other_functions_leave_inputs_unchanged": 0,
                      "shapes_and_dtypes_are_exact_at_size_one": 2 / 7}
    assert grade.score == pytest.approx(sum(c.points for c in runnable) + sum(shares.values()))
    for result in grade.results:
        if result.check in runnable:
            assert result.passed, result.message
        else:
            missing = sorted(set(result.check.needs) - {"rnn_step_forward"})
            assert result.score == pytest.approx(shares.get(result.check.name, 0))
            assert result.message.startswith("not implemented: "), result.message
            assert set(result.message.removeprefix("not implemented: ").split(", ")) <= set(missing)
