"""``--self-check``: the checks that need no reference solution, run where there is none.

Which built-in checks need the reference is declared (``@check(..., reference=True)``) and tested
two ways: by their code (a check is marked exactly when it calls ``reference``), and by running
every unmarked check with ``reference``, SymPy and autograd unimportable, on correct and buggy
submissions. The report says what it left out, and its total is out of the checks it ran.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys

import pytest

from checks.registry import load_checks, self_check_split
from tiny_grading import REPO, clean_environment

CORPUS = REPO / "tests" / "corpus"
CORRECT = sorted((CORPUS / "correct").glob("*.py"))
TANH_BUG = CORPUS / "buggy" / "tanh_derivative_from_preactivation.py"
CALLS_REFERENCE = re.compile(r"\breference\.[A-Za-z_]|^\s*(import|from) reference\b", re.M)
# The built-in checks without the reference: 100 points less the 35 of the nine that compare with it.
SELF_CHECK_POINTS, LEFT_OUT_COUNT = 65, 9

# Grades each submission named on the command line with the self-check's checks, in a process where
# importing the reference or an oracle fails, as in a student's installation; prints one JSON line each.
WITHOUT_REFERENCE = """
import json, sys
for name in ("reference", "sympy", "autograd"):
    sys.modules[name] = None  # "import reference" now raises ImportError
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks, self_check_split
checks, _ = self_check_split(load_checks())
for path in sys.argv[1:]:
    grade = grade_submission(path, checks)
    print(json.dumps({"score": grade.score, "max_score": grade.max_score,
                      "results": [[r.check.group, r.check.name, r.status, r.message] for r in grade.results]}))
"""


@pytest.fixture(scope="module")
def checks():
    return load_checks()


def test_a_check_is_marked_as_needing_the_reference_exactly_when_its_code_calls_it(checks):
    for check in checks:
        calls = bool(CALLS_REFERENCE.search(inspect.getsource(check.function)))
        assert calls == check.reference, f"{check.source}: {check.name} calls the reference: {calls}, " \
                                         f"marked reference={check.reference}"


def test_the_self_check_leaves_out_the_nine_reference_comparisons(checks):
    run, left_out = self_check_split(checks)
    assert len(left_out) == LEFT_OUT_COUNT and all("reference" in c.name or "saturated" in c.name
                                                   or "huge_logits" in c.name for c in left_out)
    assert sum(c.points for c in run) == SELF_CHECK_POINTS
    covered = {c.group for c in run}  # what issue 8 asks a self-check to run
    assert covered == {"backward", "tanh", "truncated", "clipping", "bidirectional", "classifier", "batching",
                       "hygiene"}


def test_every_unmarked_check_runs_without_the_reference_or_the_oracles():
    run = subprocess.run([sys.executable, "-c", WITHOUT_REFERENCE, *map(str, CORRECT[:2]), str(TANH_BUG)],
                         capture_output=True, text=True, cwd=REPO, env=clean_environment(), timeout=600)
    assert run.returncode == 0, run.stderr
    *correct, buggy = map(json.loads, run.stdout.splitlines())
    for grade in correct:
        assert grade["score"] == grade["max_score"] == SELF_CHECK_POINTS, grade
    assert not [r for r in buggy["results"] if r[2] == "error"], buggy  # no check needed what is missing
    tanh = [r for r in buggy["results"] if r[0] == "tanh"]
    assert tanh and all(r[2] == "failed" and "d/dz tanh(z) = 1 - tanh(z)**2" in r[3] for r in tanh)


def rnn_grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "checks.engine.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=clean_environment(), timeout=600)


def test_the_report_names_what_was_left_out_and_totals_the_checks_run(tmp_path, checks):
    results = tmp_path / "results.json"
    run = rnn_grade("--self-check", str(CORRECT[0]), "--results", str(results))
    assert run.returncode == 0, run.stdout + run.stderr
    left_out = [c.name for c in checks if c.reference]
    assert "left out: 9 checks (35 points) compare with the reference solution, which is not shipped to students" \
        in " ".join(run.stdout.split())
    assert all(name in run.stdout for name in left_out)
    report = json.loads(results.read_text())
    assert report["score"] == report["extra_data"]["max_score"] == SELF_CHECK_POINTS
    assert [entry["check"] for entry in report["extra_data"]["left_out"]] == left_out
    assert not {test["extra_data"]["check"] for test in report["tests"]} & set(left_out)
    assert "left out: 9 checks" in report["output"]


def test_the_pytest_front_end_self_checks_too():
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "checks",
                          "--submission", str(CORRECT[0]), "--self-check", "-q"],
                         capture_output=True, text=True, cwd=REPO, env=clean_environment(), timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{CORRECT[0].name}: 65 / 65 points of the checks run" in run.stdout
    assert "left out: 9 checks (35 points)" in run.stdout


def test_without_the_reference_a_full_grade_is_refused_and_says_to_self_check():
    refuse = ("import sys; sys.modules['reference'] = None\n"
              "from checks.engine.cli import main; sys.exit(main(sys.argv[1:]))")
    run = subprocess.run([sys.executable, "-c", refuse, str(CORRECT[0])], capture_output=True, text=True,
                         cwd=REPO, env=clean_environment(), timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "the full grade needs the course's reference solution" in run.stderr
    assert "Run with --self-check" in run.stderr


def test_a_self_check_with_only_reference_checks_left_is_a_usage_error(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "only.py").write_text(
        "from checks.registry import check\n\n\n"
        '@check(group="forward", points=1, needs=("rnn_forward",), reference=True)\n'
        "def compares(sub):\n    import reference\n")
    (tmp_path / "empty.toml").write_text("")
    run = rnn_grade("--self-check", str(CORRECT[0]), "--checks-dir", str(course), "--no-builtin-checks",
                    "--points", str(tmp_path / "empty.toml"))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "--self-check: every check to run compares with the reference solution" in run.stderr
