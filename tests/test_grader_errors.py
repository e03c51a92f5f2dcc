"""Grader errors are not verdicts: a broken check scores 0 for everyone with status "error" and
exit 2, naming the check's file and line for the staff and blaming no student; a broken check
module or points table stops grading before it starts, naming the course's file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.engine.isolation.contract import SubmissionRaised
from checks.engine.run.runner import GRADER_ERROR_MESSAGE, is_grader_fault
from checks.engine.isolation.validation import ContractViolation
from checks.verdicts import PartialFailure
from test_cli import rnn_grade
from tiny_grading import REPO, TINY_CHECKS, write_submission

# A course module with one sound check and two broken ones: a typo in the check's code, and a
# strategy whose bounds are the wrong way round (Hypothesis finds out only when drawing).
COURSE_CHECKS = '''
import numpy as np
from hypothesis import given, strategies as st

from checks.registry import check


@check(group="forward", points=1, needs=("rnn_step_forward",), examples=0.1)
@given(seed=st.integers(0, 10))
def sound_check(sub, seed):
    """rnn_step_forward returns an (N, H) array"""
    x, h = np.ones((2, 3)), np.zeros((2, 4))
    next_h, _ = sub.rnn_step_forward(x, h, np.ones((3, 4)), np.ones((4, 4)), np.zeros(4))
    assert next_h.shape == (2, 4)


@check(group="forward", points=2, needs=("rnn_step_forward",), examples=0.1)
@given(seed=st.integers(0, 10))
def typo_check(sub, seed):
    """a check with a typo in its own code"""
    x = np.ones((2, 3))
    next_h, _ = sub.rnn_step_forward(x, np.zeros((2, 4)), np.ones((3, 4)), np.ones((4, 4)), np.zeros(4))
    assert next_h.shpe == (2, 4)


@check(group="backward", points=3, needs=("rnn_step_forward",), examples=0.1)
@given(n=st.integers(5, 1))
def misused_strategy_check(sub, n):
    """a check whose strategy cannot draw anything"""
'''


def course_folder(tmp_path: Path, name: str, source: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "course.py").write_text(source)
    return folder


def empty_points(tmp_path: Path) -> Path:
    points = tmp_path / "empty.toml"
    points.write_text("")
    return points


def test_a_broken_check_scores_0_for_everyone_exits_2_and_names_its_file_and_line(tmp_path):
    course = course_folder(tmp_path, "course", COURSE_CHECKS)
    results = tmp_path / "results.json"
    run = rnn_grade(str(REPO / "reference"), "--checks-dir", str(course), "--no-builtin-checks",
                    "--points", str(empty_points(tmp_path)), "--results", str(results))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    report = json.loads(results.read_text())
    tests = {test["extra_data"]["check"]: test for test in report["tests"]}
    assert list(tests) == ["sound_check", "typo_check", "misused_strategy_check"]  # every check listed
    assert tests["sound_check"]["score"] == 1 and tests["sound_check"]["extra_data"]["status"] == "passed"
    for name in ("typo_check", "misused_strategy_check"):
        test = tests[name]
        assert test["score"] == 0 and test["status"] == "failed" and test["extra_data"]["status"] == "error"
        # The student reads that the check is broken, not that their code is.
        assert GRADER_ERROR_MESSAGE in test["output"]
        assert "course.py" not in test["output"]
        # The staff read where.
        assert f"{course / 'course.py'}, line" in test["extra_data"]["grader_error"]
        assert f"grader error, scored 0 for everyone: check {name}" in run.stderr
    assert "AttributeError" in tests["typo_check"]["extra_data"]["grader_error"]
    assert "next_h.shpe" in tests["typo_check"]["extra_data"]["grader_error"]
    typo_line = 1 + next(i for i, line in enumerate(COURSE_CHECKS.splitlines()) if "next_h.shpe" in line)
    assert f"course.py, line {typo_line}, in typo_check" in tests["typo_check"]["extra_data"]["grader_error"]
    assert "InvalidArgument" in tests["misused_strategy_check"]["extra_data"]["grader_error"]
    assert "could not be run because of a fault in the grader" in report["output"]
    assert "ERROR  forward/typo_check" in run.stdout
    assert "Reproduce:" not in run.stdout  # a broken check has nothing of the student's to reproduce


def test_in_pytest_a_broken_check_fails_as_a_grader_error(tmp_path):
    import subprocess
    import sys

    from tiny_grading import clean_environment

    course = course_folder(tmp_path, "course", COURSE_CHECKS)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "checks", "--submission", str(REPO / "reference"),
         "--checks-dir", str(course), "--no-builtin-checks", "--points", str(empty_points(tmp_path))],
        capture_output=True, text=True, cwd=REPO, env=clean_environment(), timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2 failed, 1 passed" in run.stdout
    assert "GRADER ERROR in forward: typo_check (the check is broken, not the submission)" in run.stdout


@pytest.mark.parametrize(
    ("source", "line", "says"),
    [
        ('@check(group="fowrard", points=1, needs=())\ndef c(sub):\n    pass\n', 4, "unknown group 'fowrard'"),
        ('@check(group="forward", points=1, needs=("rnn_fwd",))\ndef c(sub):\n    pass\n', 4,
         "needs names functions outside the contract: rnn_fwd"),
        ('@check(group="forward", points=-1, needs=())\ndef c(sub):\n    pass\n', 4, "points must be a finite number >= 0"),
        ('@check(group="forward", points="2", needs=())\ndef c(sub):\n    pass\n', 4, "points must be a number"),
        ('@check(group="forward", points=1, needs=(), reference="yes")\ndef c(sub):\n    pass\n', 4,
         "reference='yes': give True if the check uses the reference solution"),
        ('@check(group="forward", points=1, needs=())\ndef c(sub):\n    pass\n\n\n'
         '@check(group="backward", points=1, needs=())\ndef c(sub):\n    pass\n', 9, "a second check is named 'c' in this module"),
        ("x = 1\nundefined_name\n", 5, "NameError"),
        ("def broken(:\n", 4, "SyntaxError"),
        ('from hypothesis import given\nfrom checks.strategies import rnn_problems\n\n\n'
         '@check(group="forward", points=1, needs=())\n@given(p=rnn_problems(max_n=0))\ndef c(sub, p):\n    pass\n',
         9, "InvalidArgument: max_n must be at least 1, but got max_n=0"),
    ],
    ids=["unknown-group", "bad-needs", "negative-points", "non-number-points", "non-bool-reference", "duplicate-name",
         "name-error",
         "syntax-error", "misused-strategy"],
)
def test_a_broken_check_module_exits_2_naming_its_file_and_line(tmp_path, source, line, says):
    header = "import numpy as np\nfrom checks.registry import check\n\n"
    course = course_folder(tmp_path, "course", header + source)
    run = rnn_grade(str(write_submission(tmp_path / "subs", "correct")), "--checks-dir", str(course),
                    "--no-builtin-checks", "--points", str(empty_points(tmp_path)))
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"{course / 'course.py'}, line {line}" in run.stderr, run.stderr
    assert says in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("table", "line", "says"),
    [
        ("[forward]\ntiny_step_forward = -2\n", 2, "tiny_step_forward = -2: points must be a finite number >= 0"),
        ('[forward]\ntiny_step_forward = "two"\n', 2, "points must be a number"),
        ("[forward]\ntiny_step_forward = 2\n[backward]\ntiny_size_one = 1\n", 4,
         "lists tiny_size_one under [backward], but it is a check of group hygiene"),
        ("[fwd]\ntiny_step_forward = 2\n", 1, "[fwd] is not a group"),
        ("[forward]\ntiny_step_forward = 2\n[hygiene]\ntiny_step_forward = 1\n", 4, "listed twice"),
        ("[forward\n", None, "not valid TOML"),
        ("[forward]\ntiny_step_fwd = 2\n", 2, "tiny_step_fwd is not a check"),
        ('[forward]\ntiny_step_forward = { points = 2, visibility = "secret" }\n', 2,
         "visibility 'secret'; use one of visible, hidden, after_due_date, after_published"),
        ('[forward]\ntiny_step_forward = { visibility = "hidden" }\n', 2, "give its points"),
        ('[forward]\ntiny_step_forward = { points = 2, weight = 1 }\n', 2, "unknown setting 'weight'"),
        ('[forward]\ntiny_step_forward = 2\n\n[policy]\npartial_credit = "some"\n', 5,
         "partial_credit = 'some': use one of 'per_output', 'all_or_nothing'"),
        ('[policy]\nshape_mistake = "charged_once"\n', 2, "unknown policy setting 'shape_mistake'"),
        ('course_groups = "attention"\n', 1, "course_groups must be a list of names"),
        ('course_groups = ["forward"]\n', 1, "'forward' is already a group"),
        ("[attention]\nattends = 1\n", 1, "[attention] is not a group"),
    ],
    ids=["negative", "not-a-number", "wrong-group", "unknown-group", "twice", "bad-toml", "no-such-check",
         "bad-visibility", "no-points", "unknown-setting", "bad-policy-value", "bad-policy-key",
         "course-groups-not-a-list", "course-group-clash", "undeclared-course-group"],
)
def test_a_broken_points_table_exits_2_naming_its_line(tmp_path, table, line, says):
    course = course_folder(tmp_path, "course", TINY_CHECKS)
    points = tmp_path / "points.toml"
    points.write_text(table)
    run = rnn_grade(str(write_submission(tmp_path / "subs", "correct")), "--checks-dir", str(course),
                    "--no-builtin-checks", "--points", str(points))
    assert run.returncode == 2, run.stdout + run.stderr
    assert says in run.stderr, run.stderr
    assert str(points) in run.stderr or "points table" in run.stderr
    if line:
        assert f"{points}, line {line}" in run.stderr, run.stderr


def test_only_what_the_check_itself_raises_is_a_grader_fault():
    assert not is_grader_fault(AssertionError("dWh differs"))
    assert not is_grader_fault(ContractViolation("db has shape (1, 3)"))
    assert not is_grader_fault(PartialFailure("2 of 5 differ", credit=0.6))
    assert not is_grader_fault(SubmissionRaised("rnn_backward raised IndexError"))
    assert is_grader_fault(AttributeError("'ndarray' object has no attribute 'shpe'"))
    assert is_grader_fault(TypeError("unsupported operand"))
    # Hypothesis's FlakyFailure is an exception group of what it saw.
    assert not is_grader_fault(ExceptionGroup("flaky", [AssertionError("differs"), TypeError("x")]))
    assert is_grader_fault(ExceptionGroup("flaky", [TypeError("x")]))


def test_two_course_modules_may_not_define_checks_of_one_name(tmp_path):
    check = 'from checks.registry import check\n\n\n@check(group="forward", points=1, needs=())\ndef same(sub):\n    pass\n'
    course = course_folder(tmp_path, "course", check)
    (course / "second.py").write_text(check)
    run = rnn_grade(str(write_submission(tmp_path / "subs", "correct")), "--checks-dir", str(course),
                    "--no-builtin-checks", "--points", str(empty_points(tmp_path)))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "a second check is named 'same'" in run.stderr
    assert str(course / "course.py") in run.stderr and str(course / "second.py") in run.stderr
