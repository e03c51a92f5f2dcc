"""checks.engine.report in-process: the results.json document and the terminal summary, from made-up grades."""

from __future__ import annotations

import json
from pathlib import Path

from checks.engine.isolation.confinement import ACTIVE, MISSING, Confinement, Layer
from checks.registry import Check
from checks.engine.report import (
    RESULTS_BYTES_BUDGET, WIDTH, gradescope_results, instructor_notes, terminal_summary, write_results,
)
from checks.engine.run.results import CheckResult, Grade


def a_check(name: str, group: str = "forward", points: float = 2.0, doc: str | None = None) -> Check:
    def function(sub):
        pass

    function.__doc__ = doc
    return Check(name, group, points, (), function, 1.0)


def a_grade(*results: CheckResult, import_error: str | None = None) -> Grade:
    return Grade(Path("/somewhere/rnn_layers.py"), "default", 3, list(results), import_error, seconds=1.6)


def test_each_test_has_its_group_as_tag_and_the_docstring_as_name():
    grade = a_grade(
        CheckResult(a_check("h_ok", doc="h is right.\nMore detail."), 2.0),
        CheckResult(a_check("dx_ok", "backward", 3.0), 1.0, "1 result of 3 is wrong"),
    )
    results = gradescope_results(grade)
    assert [t["name"] for t in results["tests"]] == ["forward: h is right.", "backward: dx_ok"]
    assert [t["tags"] for t in results["tests"]] == [["forward"], ["backward"]]
    assert [t["status"] for t in results["tests"]] == ["passed", "failed"]
    assert results["score"] == 3.0 and results["execution_time"] == 2
    assert results["output_format"] == results["test_output_format"] == "md"  # fenced, not rendered as HTML
    assert results["extra_data"]["seed"] == 3 and "seed: 3" in results["output"]


def test_a_failed_check_worth_no_points_is_still_failed():
    results = gradescope_results(a_grade(CheckResult(a_check("info", points=0.0), 0.0, "wrong")))
    assert results["tests"][0]["status"] == "failed"


def test_results_stay_under_budget_whatever_the_number_of_checks():
    flood = CheckResult(a_check("x"), 0.0, "m" * 3000, "o" * 4096)
    grade = a_grade(*[flood] * 400)
    size = len(json.dumps(gradescope_results(grade)).encode())
    assert size <= RESULTS_BYTES_BUDGET
    assert all("more characters not shown" in t["output"] for t in gradescope_results(grade)["tests"])


def test_write_results_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "results" / "results.json"
    target.parent.mkdir()  # rnn-grade creates no folder for a report path (only --out and --repro-dir)
    write_results(a_grade(CheckResult(a_check("a"), 2.0)), target)
    write_results(a_grade(CheckResult(a_check("a"), 1.0, "half")), target)
    assert json.loads(target.read_text())["score"] == 1.0
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_the_summary_fits_its_width_with_subtotals_and_every_failing_message_wrapped_not_cut():
    long_name = "a_check_with_a_remarkably_long_name_" * 4
    grade = a_grade(
        CheckResult(a_check("fine"), 2.0),
        CheckResult(a_check(long_name), 0.5, "first line " * 20 + "\nsecond line\nthird line\nFalsifying example: x"),
        CheckResult(a_check("grad", "backward", 3.0), 0.0, "dx differs\nFalsifying example: f(\n  x=1)"),
    )
    text = terminal_summary(grade)
    lines = text.splitlines()
    assert max(map(len, lines)) <= WIDTH == 80
    assert lines[0] == "rnn-grade: rnn_layers.py   (profile default, seed 3)"
    assert lines[2].startswith("forward") and lines[2].endswith("2.5 / 4")
    assert any(line.startswith("  PART  a_check") for line in lines)
    assert "".join(long_name.split("_")) in "".join("".join(lines).replace("_", "").split())  # wrapped, not cut
    assert "second line" in text and "third line" in text and "Falsifying example: x" in text
    assert any(line.startswith("TOTAL") and line.endswith("2.5 / 7") for line in lines)
    assert "profile default, seed 3; graded in 1.6 s" in lines


def test_an_import_error_is_wrapped_in_full_not_cut():
    error = "the submission imports module 'course_helpers', which is not available " * 3 + "pass --path FOLDER."
    grade = a_grade(CheckResult(a_check("a"), 0.0, f"could not be imported: {error}"), import_error=error)
    text = terminal_summary(grade)
    assert "--path FOLDER." in text and max(map(len, text.splitlines())) <= WIDTH
    assert "could not be imported: " not in text  # per-check copies of the import error are left out


def test_sandbox_notes_go_to_the_instructor_not_the_student():
    sandbox = Confinement((Layer("namespaces", ACTIVE, "new network namespace"),
                           Layer("user", MISSING, "the worker stays root: /root/.pyenv is not readable by others")))
    grade = a_grade(CheckResult(a_check("a"), 0.0, "could not be imported: ..."), import_error="no module 'scipy'")
    grade.sandbox, grade.missing_module = sandbox, "scipy"
    results = gradescope_results(grade)
    student = json.dumps([results["output"], results["tests"]])
    assert "root" not in student and "namespace" not in student and "--path" not in student
    assert results["stdout_visibility"] == "hidden"
    assert results["extra_data"]["sandbox"] == sandbox.as_data()
    notes = instructor_notes(grade)
    assert results["extra_data"]["instructor_notes"] == notes
    assert notes[0] == "missing protection: drop to user nobody: the worker stays root: /root/.pyenv is not readable by others"
    assert "--path FOLDER" in notes[1] and "--allow-package scipy" in notes[1]
    assert "root" not in terminal_summary(grade)
