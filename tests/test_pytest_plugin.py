"""The pytest plugin (``checks/engine/plugin.py``, entry point ``rnn_grade``): one test per check.

Each test runs a nested pytest: ``pytest checks --submission PATH`` inside this repository, and
``pytest --pyargs checks --submission PATH`` in a folder outside it. Most use the three tiny checks
of ``tiny_grading``, so each nested run is mostly pytest start-up; one grades the shipped buggy
example and the reference on two real checks.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from checks.engine.course.classroom import discover
from checks.engine.isolation.boundary import probe_confinement
from checks.engine.options import PYTEST_PREFIX
from checks.engine.plugin import OPTION_PREFIX
from tiny_grading import CORRECT, REPO, TINY, clean_environment, write_submission, write_tiny_checks


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    checks, points = write_tiny_checks(tmp_path_factory.mktemp("tiny"))
    return ["--checks-dir", str(checks), "--no-builtin-checks", "--points", str(points)]


def pytest_run(*args: str, cwd: Path = REPO, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True, text=True, cwd=cwd, env=clean_environment(**environment), timeout=300,
    )


def case_ids(submission: str) -> list[str]:
    return [f"test_check[{submission}-{group}-{name}]" for name, (group, _) in TINY.items()]


def id_of(*paths: Path) -> str:
    """The id the grader gives the submission at ``paths`` (the last of them, told apart from the others)."""
    return discover(list(paths))[-1].id


def collected(run: subprocess.CompletedProcess) -> list[str]:
    return [line.split("::")[-1] for line in run.stdout.splitlines() if "::" in line]


def test_one_junit_testcase_per_check_with_partial_credit_in_the_message(tmp_path, tiny):
    """junit's default family (xunit2): no warning, no <properties> in a <testcase> (its schema has none
    there), each submission's total as <testsuite> properties, the partial credit in the message."""
    junit = tmp_path / "junit.xml"
    submission = write_submission(tmp_path, "wrong_db")
    name = id_of(submission)
    run = pytest_run("checks", "--submission", str(submission), "--junitxml", str(junit), *tiny)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "warning" not in run.stdout.lower(), run.stdout
    suite = ElementTree.parse(junit).find("testsuite")
    cases = list(suite.iter("testcase"))
    assert [case.get("name") for case in cases] == case_ids(name)
    failures = [(case.get("name"), failure) for case in cases for failure in case.iter("failure")]
    assert [failed for failed, _ in failures] == [f"test_check[{name}-backward-tiny_step_backward]"]
    message = failures[0][1].get("message") + (failures[0][1].text or "")
    assert "db: off by up to" in message and "Points: 2.4 / 3" in message
    assert [case.find("properties") for case in cases] == [None] * 3
    totals = {p.get("name"): p.get("value") for p in suite.find("properties").iter("property")}
    assert totals == {f"rnn_grade_score[{name}]": "5.4", f"rnn_grade_max_score[{name}]": "6"}
    assert f"{name}: 5.4 / 6 points" in run.stdout and "profile default, seed 0" in run.stdout
    assert "Traceback" not in run.stdout and "plugin.py:" not in run.stdout


def test_xunit1_junit_has_each_checks_points_in_its_testcase(tmp_path, tiny):
    junit = tmp_path / "junit.xml"
    submission = write_submission(tmp_path, "wrong_db")
    name = id_of(submission)
    run = pytest_run("checks", "--submission", str(submission), "--junitxml", str(junit),
                     "-o", "junit_family=xunit1", *tiny)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "warning" not in run.stdout.lower(), run.stdout
    cases = list(ElementTree.parse(junit).iter("testcase"))
    scores = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")} for case in cases}
    backward = scores[f"test_check[{name}-backward-tiny_step_backward]"]
    assert float(backward["rnn_grade_score"]) == pytest.approx(2.4) and backward["rnn_grade_max_score"] == "3.0"
    assert backward["rnn_grade_submission"] == name


def test_k_selects_checks_and_xdist_runs_them(tmp_path, tiny):
    submission = write_submission(tmp_path, "correct")
    run = pytest_run("checks", "--submission", str(submission), "-k", "forward or size_one", "-n", "2", *tiny)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout and f"{id_of(submission)}: 3 / 3 points" in run.stdout


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
    assert collected(run) == case_ids(id_of(submission)) + case_ids(id_of(package))


def test_without_submission_submissions_is_graded_as_a_class_folder(tmp_path, tiny):
    folder = tmp_path / "submissions"
    for name in ("a.py", "_private.py", "notes.txt", "pkg/__init__.py", "not_a_package/helper.py"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(CORRECT)
    (tmp_path / "pytest.ini").write_text("")
    run = pytest_run(str(REPO / "checks"), "-c", "pytest.ini", "--rootdir", str(tmp_path),
                     "--collect-only", "-q", *tiny, cwd=tmp_path)
    expected = [case for entry in discover([folder]) for case in case_ids(entry.id)]
    assert len(expected) == 9 and collected(run) == expected, run.stdout + run.stderr


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
    files = [tmp_path / "class" / student / "rnn_layers.py" for student in ("a", "b")]
    a, b = (entry.id for entry in discover(files))
    assert a != b
    run = pytest_run("checks", "--submission", str(files[0]), "--submission", str(files[1]),
                     "--junitxml", str(junit), "-o", "junit_family=xunit1", *tiny)
    assert run.returncode == 1, run.stdout + run.stderr
    cases = list(ElementTree.parse(junit).iter("testcase"))
    assert [case.get("name") for case in cases] == case_ids(a) + case_ids(b)
    labels = [p.get("value") for case in cases for p in case.iter("property") if p.get("name") == "rnn_grade_submission"]
    assert labels == [a] * 3 + [b] * 3
    assert f"{a}: 6 / 6 points" in run.stdout and f"{b}: 5.4 / 6 points" in run.stdout
    run = pytest_run("checks", "--submission", str(tmp_path / "class"), "--collect-only", "-q", *tiny)
    in_class = [entry.id for entry in discover([tmp_path / "class"])]
    assert collected(run) == case_ids(in_class[0]) + case_ids(in_class[1]), run.stdout + run.stderr


# -- in any folder: the plugin comes from the entry point, not from a conftest of this repository --


def test_pyargs_checks_grades_a_submission_in_a_folder_outside_the_repository(tmp_path, tiny):
    right, wrong = write_submission(tmp_path, "correct"), write_submission(tmp_path, "wrong_db")
    run = pytest_run("--pyargs", "checks", "--submission", str(right), "--submission", str(wrong), "-rf", *tiny,
                     cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 5 passed" in run.stdout, run.stdout
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and f"test_check[{id_of(right, wrong)}-backward-tiny_step_backward]" in failed[0]
    assert f"{id_of(right, wrong)}: 5.4 / 6 points" in run.stdout and f"{id_of(right)}: 6 / 6 points" in run.stdout


def test_x_stops_at_the_first_check_that_loses_points_and_k_selects(tmp_path, tiny):
    wrong = write_submission(tmp_path, "wrong_db")
    run = pytest_run("--pyargs", "checks.test_grade", "--submission", str(wrong), "-x", *tiny, cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout and "stopping after 1 failures" in run.stdout, run.stdout
    run = pytest_run("--pyargs", "checks", "--submission", str(wrong), "-k", "not backward", "-x", *tiny, cwd=tmp_path)
    assert run.returncode == 0 and "2 passed, 1 deselected" in run.stdout, run.stdout + run.stderr


def test_junitxml_in_a_folder_outside_the_repository_has_no_warning(tmp_path, tiny):
    wrong = write_submission(tmp_path, "wrong_db")
    run = pytest_run("--pyargs", "checks", "--submission", str(wrong), "--junitxml", "grade.xml",
                     "-W", "error::pytest.PytestWarning", *tiny, cwd=tmp_path)
    assert run.returncode == 1 and "1 failed, 2 passed" in run.stdout, run.stdout + run.stderr
    assert "warning" not in run.stdout.lower()
    assert len(list(ElementTree.parse(tmp_path / "grade.xml").iter("failure"))) == 1


def test_the_buggy_example_fails_the_tanh_check_the_reference_passes_under_n_2(tmp_path):
    """The real checks: the shipped example computes tanh' from the pre-activation, the reference does not."""
    buggy = tmp_path / "example_buggy.py"
    buggy.write_text((REPO / "submissions" / "example_buggy.py").read_text())
    run = pytest_run("--pyargs", "checks", "--submission", str(buggy), "--submission", str(REPO / "reference"),
                     # group-name ids: exactly the tanh check and the vanilla step's reference check (the bare
                     # names are also substrings of lstm_step_forward_matches_reference and its gru twin)
                     "-k", "tanh-step_backward_uses_one_minus_h_squared or forward-step_forward_matches_reference",
                     "-n", "2", "-rf", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 3 passed" in run.stdout, run.stdout
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
    buggy_id, reference_id = (entry.id for entry in discover([buggy, REPO / "reference"]))
    assert len(failed) == 1 and f"[{buggy_id}-tanh-step_backward_uses_one_minus_h_squared]" in failed[0]
    assert f"{reference_id}: " in run.stdout


def test_n_2_grades_a_class_across_two_xdist_workers(tmp_path, tiny):
    """Each xdist worker opens the submissions it is sent; the totals still add up on the controller."""
    right, wrong = write_submission(tmp_path, "correct"), write_submission(tmp_path, "wrong_db")
    run = pytest_run("--pyargs", "checks", "--submission", str(right), "--submission", str(wrong), "-n", "2", "-v",
                     *tiny, cwd=tmp_path)
    assert run.returncode == 1 and "1 failed, 5 passed" in run.stdout, run.stdout + run.stderr
    assert {"[gw0]", "[gw1]"} <= set(re.findall(r"\[gw\d\]", run.stdout)), run.stdout
    assert f"{id_of(right)}: 6 / 6 points" in run.stdout and f"{id_of(right, wrong)}: 5.4 / 6 points" in run.stdout


def test_a_run_that_does_not_grade_imports_nothing_of_the_grader(tmp_path):
    """Any other project's pytest run in this environment: no numpy, no Hypothesis, no options table."""
    (tmp_path / "test_other.py").write_text(
        "import sys\n\n\ndef test_nothing_heavy_was_imported():\n"
        "    heavy = {'numpy', 'hypothesis', 'checks.engine.options', 'checks.registry'} & set(sys.modules)\n"
        "    assert not heavy, heavy\n"
    )
    run = pytest_run("-q", cwd=tmp_path)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr
    assert "rnn-grade" not in run.stdout
    run = pytest_run("--help", cwd=tmp_path)
    assert run.returncode == 0 and "--submission=PATH" in run.stdout and "grading RNN submissions" in run.stdout


def test_submission_without_the_checks_is_a_usage_error_saying_what_to_add(tmp_path, tiny):
    (tmp_path / "test_other.py").write_text("def test_other():\n    pass\n")
    run = pytest_run(".", "--submission", str(write_submission(tmp_path, "correct")), *tiny, cwd=tmp_path)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert "add --pyargs checks" in run.stderr and "Traceback" not in run.stderr


def test_with_plugin_autoload_off_p_loads_the_plugin(tmp_path, tiny):
    run = pytest_run("-p", "checks.engine.plugin", "--pyargs", "checks", "--submission",
                     str(write_submission(tmp_path, "correct")), *tiny, cwd=tmp_path, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    assert run.returncode == 0 and "3 passed" in run.stdout, run.stdout + run.stderr


def test_the_plugin_names_the_options_prefix_the_options_table_uses():
    assert OPTION_PREFIX == PYTEST_PREFIX


def test_the_submissions_folder_is_graded_when_it_holds_a_file_a_notebook_or_a_folder(tmp_path):
    from checks.engine.plugin import found_submissions

    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a submission")
    (folder / "_draft.py").write_text("")  # a private file: not a submission
    assert found_submissions(tmp_path) == ()
    (folder / "rnn.ipynb").write_text("{}")
    assert found_submissions(tmp_path) == (folder,)
