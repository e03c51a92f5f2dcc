"""The student package: ``rnn-grade bundle student`` builds a wheel without the reference solution, and
installed alone into a fresh venv, ``rnn-grade --self-check`` grades with it.

About a minute (a venv, numpy and hypothesis from pip's cache or index, three grades): slow, but
it is the one test that the package students get really has no reference and really works.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tiny_grading import REPO, clean_environment

CORPUS = REPO / "tests" / "corpus"
CORRECT = CORPUS / "correct" / "einsum_dict_cache.py"
TANH_BUG = CORPUS / "buggy" / "tanh_derivative_from_preactivation.py"
SELF_CHECK_POINTS = 65
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
    assert sorted(r.split(">")[0] for r in requirements) == ["hypothesis", "numpy"]


def test_the_reference_is_neither_importable_nor_on_disk_in_the_student_venv(student):
    _, bin_folder = student
    found = run([str(bin_folder / "python"), "-c", FINDS, "reference", "sympy", "autograd", "checks"],
                bin_folder.parent.parent)
    assert found.stdout.strip() == "['checks']", found.stdout + found.stderr
    on_disk = [path for path in bin_folder.parent.rglob("*") if path.stem in SOLUTION_PARTS]
    assert not on_disk


def test_a_correct_submission_gets_full_marks_of_the_self_check(student):
    _, bin_folder = student
    graded, results = self_check(bin_folder, CORRECT)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert results["score"] == results["extra_data"]["max_score"] == SELF_CHECK_POINTS
    assert "left out: 9 checks (35 points) compare with the reference solution" in " ".join(graded.stdout.split())


def test_a_buggy_submission_loses_points_in_its_group(student):
    _, bin_folder = student
    graded, results = self_check(bin_folder, TANH_BUG)
    assert graded.returncode == 1, graded.stdout + graded.stderr
    tanh = [test for test in results["tests"] if test["tags"] == ["tanh"]]
    assert tanh and all(test["score"] == 0 for test in tanh)
    assert all("d/dz tanh(z) = 1 - tanh(z)**2" in test["output"] for test in tanh)
    assert not [test for test in results["tests"] if test["extra_data"]["status"] == "error"]
    assert results["score"] < SELF_CHECK_POINTS


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
