"""The student package: ``rnn-grade bundle student`` builds a wheel without the reference solution, and
installed alone into a fresh venv, ``rnn-grade --self-check`` grades with it.

About two minutes (a venv, its dependencies from pip's cache or index, a few grades): slow, but
it is the one test that the package students get really has no reference and really works, with
the repro scripts its report tells students to write and run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import importlib.metadata

import pytest

from checks.engine.bundles.student_package import NOT_FOR_STUDENTS, grader_distribution
from tiny_grading import REPO, clean_environment

CORPUS = REPO / "tests" / "corpus"
CORRECT = CORPUS / "correct" / "einsum_dict_cache.py"
TANH_BUG = CORPUS / "buggy" / "tanh_derivative_from_preactivation.py"
BIAS_BUG = CORPUS / "buggy" / "step_forward_forgets_bias.py"
# The default assignment's self-check: 124 of its 160 points, the forward pass's stand-ins included; 18 checks
# (36 points) compare with the reference and are left out (tests/test_self_check.py).
SELF_CHECK_POINTS, LEFT_OUT_COUNT, LEFT_OUT_POINTS = 124, 18, 36
RNN_SELF_CHECK_POINTS = 77  # the same under --assignment rnn, the vanilla RNN alone (out of 100)
# Nothing of the reference solution or its oracles may be in the student's installation.
SOLUTION_PARTS = ("reference", "oracles", "sympy_rnn", "autograd_rnn", "identities")
FINDS = "import importlib.util, sys; print([n for n in sys.argv[1:] if importlib.util.find_spec(n)])"


def run(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=clean_environment(), timeout=timeout)


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the bin folder of a fresh venv that has only it and its dependencies installed)."""
    folder = tmp_path_factory.mktemp("student")
    built = run([sys.executable, "-m", "checks.engine.cli", "bundle", "student", "--out", str(folder / "dist")], REPO)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel, = (folder / "dist").glob("rnn_grade_student-*.whl")
    made = run([sys.executable, "-m", "venv", str(folder / "venv")], folder)
    assert made.returncode == 0, made.stderr
    bin_folder = folder / "venv" / "bin"
    installed = run([str(bin_folder / "pip"), "install", "--quiet", str(wheel)], folder)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return wheel, bin_folder


def self_check(bin_folder: Path, submission: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    results = bin_folder.parent.parent / f"{submission.stem}.json"
    graded = run([str(bin_folder / "rnn-grade"), "--self-check", str(submission), "--results", str(results), *extra],
                 bin_folder.parent.parent)
    assert "Traceback" not in graded.stdout + graded.stderr
    return graded, json.loads(results.read_text())


def test_the_wheel_holds_the_checks_and_nothing_of_the_solution(student):
    wheel, _ = student
    names = zipfile.ZipFile(wheel).namelist()
    assert "checks/points.toml" in names and "checks/engine/cli.py" in names and "checks/finite_differences.py" in names
    assert not [name for name in names if any(part in name for part in SOLUTION_PARTS)]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requirements = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist")]
    grader = [r for r in importlib.metadata.requires(grader_distribution()) if "extra ==" not in r]
    assert sorted(requirements) == sorted(r for r in grader if r.split(">")[0] not in NOT_FOR_STUDENTS)
    assert {"numpy", "hypothesis"} <= {r.split(">")[0] for r in requirements}
    assert not {"sympy", "autograd"} & {r.split(">")[0] for r in requirements}
    packages = {name.rsplit("/", 1)[0] for name in names if name.startswith("checks/") and name.endswith("__init__.py")}
    assert packages == {str(init.parent.relative_to(REPO)) for init in (REPO / "checks").rglob("__init__.py")}
    assert "checks/assignments/cs231n.toml" in names


def test_the_reference_is_neither_importable_nor_on_disk_in_the_student_venv(student):
    _, bin_folder = student
    found = run([str(bin_folder / "python"), "-c", FINDS, "reference", "sympy", "autograd", "checks"],
                bin_folder.parent.parent)
    assert found.stdout.strip() == "['checks']", found.stdout + found.stderr
    # Top-level packages and modules, and anything inside the grader (another library may have a
    # module of its own called reference.py: rich's markdown_it does).
    site, = bin_folder.parent.glob("lib/python*/site-packages")
    on_disk = [path for path in [*site.iterdir(), *(site / "checks").rglob("*")] if path.stem in SOLUTION_PARTS]
    assert not on_disk


def test_a_correct_submission_gets_full_marks_of_the_self_check(student):
    _, bin_folder = student
    graded, results = self_check(bin_folder, CORRECT)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert results["score"] == results["extra_data"]["max_score"] == SELF_CHECK_POINTS
    assert f"left out: {LEFT_OUT_COUNT} checks ({LEFT_OUT_POINTS} points) compare with the reference solution" \
        in " ".join(graded.stdout.split())


def test_a_buggy_submission_loses_points_in_its_group(student):
    """The file implements the vanilla RNN only: graded as that assignment, its losses are the bug's."""
    _, bin_folder = student
    graded, results = self_check(bin_folder, TANH_BUG, "--assignment", "rnn")
    assert graded.returncode == 1, graded.stdout + graded.stderr
    tanh = [test for test in results["tests"] if test["tags"] == ["tanh"]]
    assert tanh and all(test["score"] == 0 for test in tanh)
    assert all("d/dz tanh(z) = 1 - tanh(z)**2" in test["output"] for test in tanh)
    assert not [test for test in results["tests"] if test["extra_data"]["status"] == "error"]
    assert results["score"] < results["extra_data"]["max_score"] == RNN_SELF_CHECK_POINTS


def test_a_full_grade_in_the_student_package_says_it_needs_the_reference(student):
    _, bin_folder = student
    graded = run([str(bin_folder / "rnn-grade"), str(CORRECT)], bin_folder.parent.parent)
    assert graded.returncode == 2 and "Traceback" not in graded.stderr, graded.stdout + graded.stderr
    assert "the full grade needs the course's reference solution" in graded.stderr
    assert "--self-check" in graded.stderr


def test_building_again_into_the_same_folder_never_overwrites_the_wheel(student):
    wheel, _ = student
    before = wheel.read_bytes()
    again = run([sys.executable, "-m", "checks.engine.cli", "bundle", "student", "--out", str(wheel.parent)], REPO)
    assert again.returncode == 2 and "already exists" in again.stderr, again.stdout + again.stderr
    assert wheel.read_bytes() == before


def test_the_forward_pass_is_self_checked_and_a_forgotten_bias_costs_its_points(student):
    _, bin_folder = student
    graded, results = self_check(bin_folder, BIAS_BUG)
    assert graded.returncode == 1, graded.stdout + graded.stderr
    forward = {test["extra_data"]["check"]: test["score"] for test in results["tests"] if test["tags"] == ["forward"]}
    # as in the full grade: the step loses its 4 points, the (right) rnn_forward keeps its 8
    assert forward == {"step_forward_is_the_lecture_step": 0, "sequence_forward_is_the_lecture_step_over_time": 5,
                       "saturated_forward_follows_the_lecture_step": 3}


def test_repro_dir_writes_scripts_that_reproduce_the_failures(student, tmp_path):
    """What the report tells a student: rnn-grade FILE --self-check --repro-dir repro, then python repro/<check>.py FILE."""
    _, bin_folder = student
    submission = tmp_path / "rnn_layers.py"
    submission.write_text(BIAS_BUG.read_text())
    graded = run([str(bin_folder / "rnn-grade"), "rnn_layers.py", "--self-check", "--repro-dir", "repro"], tmp_path)
    assert graded.returncode == 1 and "Traceback" not in graded.stdout + graded.stderr, graded.stdout + graded.stderr
    assert "no reproduction script" not in graded.stderr, graded.stderr
    scripts = sorted((tmp_path / "repro").glob("*.py"))
    assert {script.stem for script in scripts} >= {"step_forward_is_the_lecture_step"}
    for script in scripts:
        assert f"python repro/{script.name} rnn_layers.py" in " ".join(graded.stdout.replace("\\\n", " ").split())
        on_bug = run([str(bin_folder / "python"), f"repro/{script.name}", "rnn_layers.py"], tmp_path)
        assert on_bug.returncode == 1 and "FAILS on this example" in on_bug.stdout, on_bug.stdout + on_bug.stderr
        on_correct = run([str(bin_folder / "python"), f"repro/{script.name}", str(CORRECT)], tmp_path)
        assert on_correct.returncode == 0 and "passes on this example" in on_correct.stdout, \
            on_correct.stdout + on_correct.stderr
