"""Points files as assignment profiles: what they leave out, course groups, visibility, the
grading policy, extra credit, and the shipped assignments (``cs231n``, ``cs231n-rnn``, ``rnn``).

- A table given as the assignment runs only the checks it lists, at its points; 0 points leaves a
  check out. A table listing no check (policy only, or empty) leaves the decorators' points.
- Without one, the built-in table weights the built-in checks, and --checks-dir checks keep
  their decorators' points.
- The policy: all-or-nothing turns partial credit into 0; a keepdims db (values right, shape
  (1, H)) is charged once, less than a genuinely wrong dWh, unless shape_mistakes = "every_check".
- ``--assignment cs231n-rnn`` gives a correct CS231n-style file 100 and one with a missing transpose less.
- ``--assignment cs231n`` grades the whole RNN part out of 100 (40 RNN, 10 embedding, 30 LSTM, 20
  captioning, temporal layers 0): a correct CS231n package scores 100, rnn_layers.py alone loses exactly
  the captioning model's 20, and a real LSTM bug costs LSTM points only.
- An extra-credit check adds to the score, not to the total.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from checks.engine.isolation.contract_functions import CONTRACT_FUNCTIONS
from checks.engine.isolation.boundary import WorkerOptions
from checks.engine.inputs.usage import UsageError
from checks.engine.run.assignments import assignment_table, resolve_checks
from checks.engine.run.runner import grade_submission
from checks.engine.isolation.validation import ContractViolation, differs_by_unit_axes, expect_array
from checks.registry import ASSIGNMENTS_FOLDER, GROUPS, CheckDefinitionError, load_checks
from test_cli import rnn_grade
from tiny_grading import TINY, write_submission, write_tiny_checks

ROOT = Path(__file__).resolve().parent.parent
CS231N = Path(__file__).resolve().parent / "cs231n"
BUGGY = Path(__file__).resolve().parent / "corpus" / "buggy"
# A real CS231n bug: the missing transpose in rnn_step_backward's dprev_h.
DPREV_H_BUG = ("    dprev_h = da.dot(Wh.T)\n", "    dprev_h = da.dot(Wh)\n")
RNN_FUNCTIONS = {"rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"}

ATTENTION_CHECK = '''
from checks.registry import check


@check(group="attention", points=3, needs=("rnn_forward",))
def attends(sub):
    """a course check of a course group"""
'''


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_checks(tmp_path_factory.mktemp("tiny"))[0]


def table(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "points.toml"
    path.write_text(text)
    return path


def points_of(checks) -> dict[str, float]:
    return {c.name: c.points for c in checks}


def test_a_given_table_runs_only_the_checks_it_lists(tmp_path, tiny):
    points = table(tmp_path, "[forward]\ntiny_step_forward = 5\n[backward]\ntiny_step_backward = 0\n")
    assert points_of(load_checks([tiny], points, builtin=False, assignment=True)) == {"tiny_step_forward": 5}


def test_a_table_that_lists_no_check_keeps_the_decorators_points(tmp_path, tiny):
    points = table(tmp_path, '[policy]\npartial_credit = "all_or_nothing"\n')
    checks = load_checks([tiny], points, builtin=False, assignment=True)
    assert points_of(checks) == {name: points for name, (_, points) in TINY.items()}
    assert all(c.policy.partial_credit == "all_or_nothing" for c in checks)


def test_without_a_table_course_checks_keep_their_points_beside_the_built_in_table(tiny):
    checks = resolve_checks([tiny], None, builtin=True)
    builtin = [c for c in checks if c.name not in TINY]
    assert sum(c.points for c in builtin) == 160 and {c.group for c in builtin} == set(GROUPS) - {"captioning"}
    assert {name: points for name, points in points_of(checks).items() if name in TINY} == \
        {name: points for name, (_, points) in TINY.items()}


def test_visibility_is_read_from_the_inline_form(tmp_path, tiny):
    points = table(tmp_path, '[forward]\ntiny_step_forward = { points = 3, visibility = "after_due_date" }\n'
                             "[hygiene]\ntiny_size_one = 1\n")
    checks = {c.name: c for c in load_checks([tiny], points, builtin=False, assignment=True)}
    assert (checks["tiny_step_forward"].points, checks["tiny_step_forward"].visibility) == (3, "after_due_date")
    assert checks["tiny_size_one"].visibility == "visible"


def test_a_course_group_is_valid_once_the_table_declares_it(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "attention.py").write_text(ATTENTION_CHECK)
    with pytest.raises(CheckDefinitionError, match=r"attention\.py, line 5: unknown group 'attention'.*course_groups"):
        load_checks([course], table(tmp_path, ""), builtin=False)
    points = table(tmp_path, 'course_groups = ["attention"]\n\n[attention]\nattends = 7\n')
    [attends] = load_checks([course], points, builtin=False, assignment=True)
    assert (attends.group, attends.points) == ("attention", 7)


def test_all_or_nothing_gives_no_partial_credit(tmp_path, tiny):
    wrong_db = write_submission(tmp_path / "subs", "wrong_db")  # 4 of 5 gradients right
    per_output = {r.check.name: r.score for r in grade_submission(wrong_db, load_checks([tiny], None, builtin=False))
                  .results}
    strict = load_checks([tiny], table(tmp_path, '[policy]\npartial_credit = "all_or_nothing"\n'), builtin=False)
    all_or_nothing = {r.check.name: r.score for r in grade_submission(wrong_db, strict).results}
    assert per_output["tiny_step_backward"] == pytest.approx(3 * 4 / 5)
    assert all_or_nothing["tiny_step_backward"] == 0
    assert all_or_nothing["tiny_step_forward"] == per_output["tiny_step_forward"] == 2


def lost(path: Path, checks) -> tuple[float, list[str]]:
    grade = grade_submission(path, checks)
    return grade.max_score - grade.score, [r.check.name for r in grade.results if not r.passed]


def vanilla(checks: list) -> list:
    """The checks of the vanilla RNN's groups: what the corpus's vanilla bugs are graded with."""
    return [c for c in checks if c.group not in ("lstm", "gru", "embedding", "temporal", "captioning")]


def test_a_keepdims_db_costs_less_than_a_wrong_dWh_and_is_charged_once(tmp_path):
    checks = vanilla(load_checks())
    keepdims, failed = lost(BUGGY / "db_keepdims.py", checks)
    assert failed == ["shapes_and_dtypes_are_exact_at_size_one"]
    assert keepdims == pytest.approx(2 / 7)  # rnn_step_backward's part of the check, one of seven
    wrong_dWh, _ = lost(BUGGY / "dWh_overwritten.py", checks)
    assert keepdims < wrong_dWh
    # The old behaviour, on request: every check that receives the (1, H) db fails.
    every_check = vanilla(load_checks(points_table=table(tmp_path, '[policy]\nshape_mistakes = "every_check"\n'),
                                      assignment=True))
    keepdims_everywhere, failed = lost(BUGGY / "db_keepdims.py", every_check)
    assert keepdims_everywhere >= 18 and len(failed) == 5


def test_only_axes_of_length_one_are_forgiven_and_only_when_allowed():
    assert differs_by_unit_axes((1, 3), (3,)) and differs_by_unit_axes((3, 1, 2), (3, 2))
    assert not differs_by_unit_axes((2, 3), (3, 2)) and not differs_by_unit_axes((3,), (4,))
    db = np.arange(3.0).reshape(1, 3)
    assert expect_array(db, (3,), "db", "(H,)", allow_unit_axes=True).shape == (3,)
    with pytest.raises(ContractViolation, match=r"has shape \(1, 3\)"):
        expect_array(db, (3,), "db", "(H,)")
    with pytest.raises(ContractViolation, match="dtype float32"):
        expect_array(db.astype(np.float32), (3,), "db", "(H,)", allow_unit_axes=True)


def test_hygiene_judges_each_implemented_function_on_its_own(tmp_path):
    hygiene = [c for c in load_checks() if c.group == "hygiene"]
    step_only = tmp_path / "step_only.py"
    step_only.write_text((ROOT / "tests" / "cs231n" / "rnn_layers.py").read_text()
                         .replace("from cs231n.layers import *", "import numpy as np")
                         .split("def rnn_forward")[0])
    scores = {r.check.name: (r.score, r.message) for r in grade_submission(step_only, hygiene).results}
    # The step functions' parts: 2 of the 4 looks at rnn functions, 2 of the 7 at shapes.
    assert scores["rnn_functions_leave_inputs_unchanged"] == (1, "not implemented: rnn_forward, rnn_backward")
    assert scores["shapes_and_dtypes_are_exact_at_size_one"] == (pytest.approx(2 * 2 / 7), "not implemented: " + ", ".join(
        ("rnn_forward", "rnn_backward", "rnn_backward_truncated", "birnn_forward", "birnn_backward")))
    assert scores["other_functions_leave_inputs_unchanged"] == (0, "not implemented: " + ", ".join(
        ("clip_grad_norm", "birnn_forward", "birnn_backward", "rnn_classifier_loss")))
    # rnn_step_backward alone cannot be examined (its cache comes from rnn_step_forward): 0, said so.
    backward_only = tmp_path / "backward_only.py"
    backward_only.write_text("import numpy as np\n\n\ndef rnn_step_backward(dnext_h, cache):\n    return cache\n")
    result = next(r for r in grade_submission(backward_only, hygiene).results
                  if r.check.name == "rnn_functions_leave_inputs_unchanged")
    assert (result.score, result.message) == (0, "not implemented: rnn_step_forward, rnn_forward, rnn_backward")


def test_the_cs231n_rnn_profile_grades_exactly_the_four_rnn_functions_out_of_100():
    checks = load_checks(points_table=assignment_table(None, "cs231n-rnn"), assignment=True)
    assert sum(c.points for c in checks) == 100
    # Every check that calls only those functions, and the hygiene checks that look at them.
    every_such_check = {c.name for c in load_checks()
                        if set(c.needs) <= RNN_FUNCTIONS or (c.needs_any and set(c.needs) & RNN_FUNCTIONS)}
    assert {c.name for c in checks} == every_such_check
    assert set(CONTRACT_FUNCTIONS) - RNN_FUNCTIONS  # the other contract functions are not asked for


def test_assignment_names_a_shipped_profile_or_a_file_and_excludes_points(tmp_path):
    assert assignment_table(None, "cs231n") == ASSIGNMENTS_FOLDER / "cs231n.toml"
    own = table(tmp_path, "")
    assert assignment_table(None, str(own)) == own
    with pytest.raises(UsageError, match="not both"):
        assignment_table(own, "cs231n")
    shipped = ", ".join(sorted(path.stem for path in ASSIGNMENTS_FOLDER.glob("*.toml")))
    assert {"cs231n", "cs231n-lstm-extra-credit", "cs231n-rnn", "rnn"} <= set(shipped.split(", "))
    with pytest.raises(UsageError, match=rf"no shipped assignment of that name \(shipped: {shipped}\)"):
        assignment_table(None, "cs999")


@pytest.mark.parametrize("full_marks", [True, False], ids=["correct", "dprev_h-untransposed"])
def test_assignment_cs231n_rnn_gives_a_correct_solution_100_and_a_real_bug_less(tmp_path, full_marks):
    source = (CS231N / "rnn_layers.py").read_text()
    submission = tmp_path / "rnn_layers.py"
    submission.write_text(source if full_marks else source.replace(*DPREV_H_BUG))
    assert submission.read_text() != source or full_marks
    results = tmp_path / "results.json"
    run = rnn_grade(str(submission), "--assignment", "cs231n-rnn", "--path", str(CS231N / "course"),
                    "--results", str(results))
    report = json.loads(results.read_text())
    assert run.returncode == (0 if full_marks else 1), run.stderr
    assert sum(test["max_score"] for test in report["tests"]) == 100
    if full_marks:
        assert report["score"] == 100, run.stdout
    else:
        assert report["score"] < 100
        assert {test["extra_data"]["check"] for test in report["tests"] if test["score"] < test["max_score"]} >= \
            {"step_backward_matches_reference", "sequence_backward_matches_reference"}


def test_the_cs231n_files_need_their_course_package():
    grade = grade_submission(CS231N / "rnn_layers.py", load_checks(), options=WorkerOptions())
    assert grade.import_error and "cs231n" in grade.import_error


PACKAGE = Path(__file__).resolve().parent / "corpus" / "cs231n_package" / "cs231n"
CS231N_SPLIT = {"forward": 11, "backward": 17, "tanh": 8, "hygiene": 4, "embedding": 10, "lstm": 30, "captioning": 20}


def cs231n_checks() -> list:
    return load_checks(points_table=assignment_table(None, "cs231n"), assignment=True)


def test_the_cs231n_profile_is_the_whole_rnn_part_out_of_100_with_the_stated_split():
    checks = cs231n_checks()
    split = {group: sum(c.points for c in checks if c.group == group) for group in {c.group for c in checks}}
    assert split == CS231N_SPLIT and sum(split.values()) == 100
    assert not any(c.group in ("temporal", "gru") for c in checks)  # provided by the course / not in CS231n


def test_assignment_cs231n_gives_a_correct_package_100(tmp_path):
    results = tmp_path / "results.json"
    run = rnn_grade(str(PACKAGE), "--assignment", "cs231n", "--results", str(results))
    report = json.loads(results.read_text())
    assert run.returncode == 0, run.stdout + run.stderr
    assert report["score"] == 100 == sum(test["max_score"] for test in report["tests"])


def test_under_cs231n_rnn_layers_alone_loses_exactly_the_captioning_model(tmp_path):
    grade = grade_submission(PACKAGE / "rnn_layers.py", cs231n_checks())
    lost = {r.check.group for r in grade.results if not r.passed}
    assert lost == {"captioning"} and grade.score == 80
    assert all(r.message.startswith("not implemented: CaptioningRNN") for r in grade.results if not r.passed)


def test_under_cs231n_a_real_lstm_bug_costs_lstm_points_only(tmp_path):
    layers = (PACKAGE / "rnn_layers.py").read_text()
    forgets_forget_gate = layers.replace("dprev_c = dnext_c * f", "dprev_c = dnext_c")
    assert forgets_forget_gate != layers
    submission = tmp_path / "rnn_layers.py"
    submission.write_text(forgets_forget_gate)
    checks = [c for c in cs231n_checks() if c.group != "captioning"]
    grade = grade_submission(submission, checks)
    assert {r.check.group for r in grade.results if not r.passed} == {"lstm"}


def test_an_extra_credit_check_adds_to_the_score_but_not_to_the_total(tmp_path, tiny):
    points = table(tmp_path, "[forward]\ntiny_step_forward = 5\n[backward]\n"
                             "tiny_step_backward = { points = 2, extra_credit = true }\n")
    checks = load_checks([tiny], points, builtin=False, assignment=True)
    grade = grade_submission(write_submission(tmp_path, "correct"), checks)
    assert (grade.score, grade.max_score) == (7, 5)
    with pytest.raises(CheckDefinitionError, match="extra_credit = 'yes'; give true or false"):
        load_checks([tiny], table(tmp_path, "[forward]\ntiny_step_forward = { points = 1, extra_credit = 'yes' }\n"),
                    builtin=False, assignment=True)


LSTM_STUBS = "".join(f"\n\ndef {name}(*args):\n    raise NotImplementedError\n" for name in
                     ("lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"))


def test_with_the_lstm_as_extra_credit_a_package_without_it_still_scores_100_and_one_with_it_more(tmp_path):
    checks = load_checks(points_table=assignment_table(None, "cs231n-lstm-extra-credit"), assignment=True)
    assert sum(c.points for c in checks if not c.extra_credit) == 100
    assert {c.group for c in checks if c.extra_credit} == {"lstm", "captioning"}
    assert all(c.name.startswith("lstm_") for c in checks if c.extra_credit)
    whole = grade_submission(PACKAGE, checks)
    assert (whole.score, whole.max_score) == (110, 100)
    package = tmp_path / "cs231n"
    shutil.copytree(PACKAGE, package)
    (package / "rnn_layers.py").write_text((PACKAGE / "rnn_layers.py").read_text() + LSTM_STUBS)
    without = grade_submission(package, checks)
    assert (without.score, without.max_score) == (100, 100)
    assert all(r.check.extra_credit for r in without.results if not r.passed)
