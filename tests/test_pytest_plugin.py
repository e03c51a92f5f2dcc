"""``pytest checks --submission PATH``: one pytest test per check, run as a nested pytest.

Uses the three tiny checks of ``tiny_grading``, so each nested run is mostly pytest start-up.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from checks.engine.isolation.boundary import probe_confinement
from tiny_grading import CORRECT, REPO, TINY, clean_environment, write_submission, write_tiny_checks


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    checks, points = write_tiny_checks(tmp_path_factory.mktemp("tiny"))
    return ["--checks-dir", str(checks), "--no-builtin-checks", "--points", str(points)]


def pytest_run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True, text=True, cwd=cwd, env=clean_environment(), timeout=300,
    )


def case_ids(submission: str) -> list[str]:
    return [f"test_check[{submission}-{group}-{name}]" for name, (group, _) in TINY.items()]


def test_one_junit_testcase_per_check_with_partial_credit_in_the_message(tmp_path, tiny):
    junit = tmp_path / "junit.xml"
    submission = write_submission(tmp_path, "wrong_db")
    run = pytest_run("checks", "--submission", str(submission), "--junitxml", str(junit), *tiny)
    assert run.returncode == 1, run.stdout + run.stderr
    cases = list(ElementTree.parse(junit).iter("testcase"))
    assert [case.get("name") for case in cases] == case_ids("wrong_db.py")
    failures = [(case.get("name"), failure) for case in cases for failure in case.iter("failure")]
    assert [name for name, _ in failures] == ["test_check[wrong_db.py-backward-tiny_step_backward]"]
    message = failures[0][1].get("message") + (failures[0][1].text or "")
    assert "db: off by up to" in message and "Points: 2.4 / 3" in message
    scores = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")} for case in cases}
    assert float(scores["test_check[wrong_db.py-backward-tiny_step_backward]"]["rnn_grade_score"]) == pytest.approx(2.4)
    assert "wrong_db.py: 5.4 / 6 points" in run.stdout and "profile default, seed 0" in run.stdout
    assert "Traceback" not in run.stdout and "checks/conftest.py:" not in run.stdout


def test_k_selects_checks_and_xdist_runs_them(tmp_path, tiny):
    submission = write_submission(tmp_path, "correct")
    run = pytest_run("checks", "--submission", str(submission), "-k", "forward or size_one", "-n", "2", *tiny)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout and "correct.py: 3 / 3 points" in run.stdout


def test_one_worker_per_submission_for_the_whole_session(tmp_path, tiny):
    """Every check fails on purpose, printing the worker's pid: one pid for the three of them."""
    submission = tmp_path / "shows_its_pid.py"
    submission.write_text(
        "import os\nimport numpy as np\n\n\n"
        "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
        "    print(f'worker pid {os.getpid()}')\n"
        "    return np.tanh(x @ Wx + prev_h @ Wh + b) + 1.0, None\n\n\n"
        "def rnn_step_backward(dnext_h, cache):\n"
        "    print(f'worker pid {os.getpid()}')\n"
        "    raise ValueError('wrong on purpose')\n"
    )
    run = pytest_run("checks", "--submission", str(submission), *tiny)
    assert run.returncode == 1, run.stdout
    assert "3 failed" in run.stdout
    pids = re.findall(r"worker pid (\d+)", run.stdout)
    assert len(pids) >= 3 and len(set(pids)) == 1, pids


def test_ids_name_each_submission_file_or_package(tmp_path, tiny):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(CORRECT)
    submission = write_submission(tmp_path, "correct")
    run = pytest_run("checks", "--submission", str(submission), "--submission", str(package),
                     "--collect-only", "-q", *tiny)
    assert run.returncode == 0, run.stdout + run.stderr
    collected = [line.split("::")[-1] for line in run.stdout.splitlines() if "::" in line]
    assert collected == case_ids("correct.py") + case_ids("pkg")


def test_without_submission_submissions_is_graded_as_a_class_folder(tmp_path, tiny):
    folder = tmp_path / "submissions"
    for name in ("a.py", "_private.py", "notes.txt", "pkg/__init__.py", "not_a_package/helper.py"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(CORRECT)
    (tmp_path / "pytest.ini").write_text("")
    run = pytest_run(str(REPO / "checks"), "-c", "pytest.ini", "--rootdir", str(tmp_path),
                     "--collect-only", "-q", *tiny, cwd=tmp_path)
    collected = [line.split("::")[-1] for line in run.stdout.splitlines() if "::" in line]
    assert collected == case_ids("a.py") + case_ids("not_a_package/helper.py") + case_ids("pkg"), run.stdout + run.stderr


def test_no_submissions_is_one_skipped_test_saying_what_to_do(tmp_path, tiny):
    (tmp_path / "pytest.ini").write_text("")
    run = pytest_run(str(REPO / "checks"), "-c", "pytest.ini", "--rootdir", str(tmp_path), "-rs", *tiny, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout and "pass one with --submission PATH" in run.stdout


def test_a_bad_submission_path_is_a_usage_error_not_a_traceback(tmp_path, tiny):
    run = pytest_run("checks", "--submission", str(tmp_path / "missing.py"), *tiny)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    assert "rnn-grade: submission" in run.stderr and "no such file or folder" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_plain_pytest_at_the_root_collects_only_tests():
    run = pytest_run("--collect-only", "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    collected = [line for line in run.stdout.splitlines() if "::" in line]
    assert collected and all(line.startswith("tests/") for line in collected)


def test_require_sandbox_is_a_usage_error_where_a_layer_is_missing(tmp_path, tiny):
    """On this machine: a usage error naming every missing layer, or a normal session if none is."""
    missing = probe_confinement().missing
    run = pytest_run("checks", "--submission", str(write_submission(tmp_path, "correct")), "--require-sandbox", *tiny)
    if missing:
        assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
        assert "refusing to grade" in run.stderr
        assert all(layer.title in run.stderr for layer in missing)
    else:
        assert run.returncode == 0, run.stdout + run.stderr


def test_the_summary_notes_each_missing_protection_and_an_unknown_package_is_a_usage_error(tmp_path, tiny):
    submission = write_submission(tmp_path, "correct")
    run = pytest_run("checks", "--submission", str(submission), *tiny)
    assert run.returncode == 0, run.stdout + run.stderr
    for layer in probe_confinement().missing:
        assert f"note: missing protection: {layer.title} ({layer.detail})" in run.stdout
    run = pytest_run("checks", "--submission", str(submission), "--allow-package", "no_such_package", *tiny)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR and "--allow-package no_such_package" in run.stderr


def test_two_students_rnn_layers_files_get_distinct_ids_properties_and_totals(tmp_path, tiny):
    for student, name in (("a", "correct"), ("b", "wrong_db")):
        (tmp_path / "class" / student).mkdir(parents=True)
        write_submission(tmp_path / "class" / student, name).rename(tmp_path / "class" / student / "rnn_layers.py")
    junit = tmp_path / "junit.xml"
    files = [str(tmp_path / "class" / student / "rnn_layers.py") for student in ("a", "b")]
    run = pytest_run("checks", "--submission", files[0], "--submission", files[1], "--junitxml", str(junit), *tiny)
    assert run.returncode == 1, run.stdout + run.stderr
    cases = list(ElementTree.parse(junit).iter("testcase"))
    assert [case.get("name") for case in cases] == case_ids("a/rnn_layers.py") + case_ids("b/rnn_layers.py")
    labels = [p.get("value") for case in cases for p in case.iter("property") if p.get("name") == "rnn_grade_submission"]
    assert labels == ["a/rnn_layers.py"] * 3 + ["b/rnn_layers.py"] * 3
    assert "a/rnn_layers.py: 6 / 6 points" in run.stdout and "b/rnn_layers.py: 5.4 / 6 points" in run.stdout
    run = pytest_run("checks", "--submission", str(tmp_path / "class"), "--collect-only", "-q", *tiny)
    collected = [line.split("::")[-1] for line in run.stdout.splitlines() if "::" in line]
    assert collected == case_ids("a/rnn_layers.py") + case_ids("b/rnn_layers.py"), run.stdout + run.stderr
