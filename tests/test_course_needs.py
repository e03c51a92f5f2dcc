"""An assignment table's [course] section: the packages its submissions import and its helper folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from checks.engine.run.assignments import course_needs
from checks.engine.inputs.usage import UsageError
from checks.registry import CheckDefinitionError, CourseNeeds, read_points

TABLE = """{course}
[forward]
step_forward_matches_reference = 4
"""

# Uses the course's helper module and a package only the [course] section allows (pygments stands in for torch: it has no dependencies).
SUBMISSION = """import numpy as np
import pygments
from course_helpers import affine


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(affine(x, prev_h, Wx, Wh, b))
    return next_h, None
"""


def table(folder: Path, course: str) -> Path:
    path = folder / "course.toml"
    path.write_text(TABLE.format(course=course))
    return path


def helpers(folder: Path) -> None:
    (folder / "helpers").mkdir()
    (folder / "helpers" / "course_helpers.py").write_text(
        "def affine(x, prev_h, Wx, Wh, b):\n    return x @ Wx + prev_h @ Wh + b\n")


def test_a_table_without_a_course_section_needs_nothing(tmp_path):
    assert read_points(table(tmp_path, "")).course == CourseNeeds()
    assert course_needs(None) == CourseNeeds()


def test_paths_are_relative_to_the_table_and_packages_kept_in_order(tmp_path):
    helpers(tmp_path)
    needs = read_points(table(tmp_path, '[course]\nrequires = ["sympy", "sympy"]\npaths = ["helpers"]\n')).course
    assert needs == CourseNeeds(("sympy",), (tmp_path / "helpers",))


@pytest.mark.parametrize("course, problem", [
    ('[course]\nrequires = "torch"\n', "requires must list top-level package names"),
    ('[course]\nrequires = ["torch.nn"]\n', "requires must list top-level package names"),
    ('[course]\npaths = ["nowhere"]\n', "no such folder"),
    ('[course]\npaths = [3]\n', "paths must list folders"),
    ('[course]\npreload = ["torch"]\n', "has no setting 'preload'"),
    ('course = 3\n', "must be a table"),
])
def test_a_wrong_course_section_is_named_with_its_line(tmp_path, course, problem):
    with pytest.raises(CheckDefinitionError, match=problem) as error:
        read_points(table(tmp_path, course))
    assert "course.toml, line 1" in str(error.value)


def test_a_required_package_that_is_not_installed_says_what_to_install(tmp_path):
    with pytest.raises(UsageError, match=r"uses no_such_package, which is not installed .* pip install no_such_package"):
        course_needs(table(tmp_path, '[course]\nrequires = ["no_such_package"]\n'))


def test_torch_missing_names_the_extra(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(UsageError, match=r"pip install 'rnn-grade\[torch\]'"):
        course_needs(table(tmp_path, '[course]\nrequires = ["torch"]\n'))


def grade(tmp_path: Path, course: str) -> subprocess.CompletedProcess:
    (tmp_path / "sub.py").write_text(SUBMISSION)
    return subprocess.run([sys.executable, "-m", "checks.engine.cli", str(tmp_path / "sub.py"), "--assignment",
                           str(table(tmp_path, course)), "--results", str(tmp_path / "results.json"), "--quiet"],
                          capture_output=True, text=True, timeout=300)


def test_the_course_section_lets_the_submission_import_its_package_and_helpers(tmp_path):
    helpers(tmp_path)
    run = grade(tmp_path, '[course]\nrequires = ["pygments"]\npaths = ["helpers"]\n')
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 4


def test_without_the_course_section_the_same_submission_cannot_import_them(tmp_path):
    helpers(tmp_path)
    run = grade(tmp_path, "")
    assert run.returncode == 1, run.stderr  # a grade that lost points; not a grader error (2)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == 0 and "pygments" in json.dumps(results)
