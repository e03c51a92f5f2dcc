"""Every report format against its platform's documented fields: made-up grades, then real rnn-grade runs.

The fields each platform reads are written down below from the platform's own docs or code (named
in a comment), as {key: type}; a report must have every key, with that type.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from pathlib import Path

import pytest

from checks.engine.cli import build_parser
from checks.engine.inputs.usage import UsageError
from checks.engine.options import resolve
from checks.engine.report import FORMATS, paths_beside, write_reports
from checks.engine.report.github import (
    ANNOTATION_LIMIT, RESULT_BYTES_BUDGET, annotations, classroom_result, escape_data, escape_property, publish,
)
from checks.engine.report.gradescope import RESULTS_BYTES_BUDGET as GRADESCOPE_BUDGET, gradescope_results
from checks.engine.report.junit import junit_xml, render as junit_render
from checks.engine.report.markdown import markdown_summary
from checks.engine.report.prairielearn import prairielearn_results, render as prairielearn_render
from checks.engine.report.text import visible
from checks.engine.run.runner import GRADER_ERROR_MESSAGE
from checks.engine.run.results import CheckResult, Grade
from test_report import a_check, a_grade
from tiny_grading import CORRECT, REPO, clean_environment, write_submission, write_tiny_checks

NUMBER = (int, float)

# Gradescope: gradescope/autograder_samples docs/specs.md ("Output format"; the output formats and
# their names from the published spec, gradescope-autograders.readthedocs.io/en/latest/specs/).
GRADESCOPE = {"score": NUMBER, "execution_time": int, "output": str, "output_format": str,
              "test_output_format": str, "test_name_format": str, "visibility": str, "stdout_visibility": str,
              "extra_data": dict, "tests": list}
GRADESCOPE_TEST = {"score": NUMBER, "max_score": NUMBER, "status": str, "name": str, "output": str,
                   "output_format": str, "tags": list, "visibility": str, "extra_data": dict}
GRADESCOPE_OUTPUT_FORMATS = {"text", "html", "simple_format", "md", "ansi"}
GRADESCOPE_VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
GRADESCOPE_STATUSES = {"passed", "failed"}

# PrairieLearn: PrairieLearn/PrairieLearn docs/externalGrading.md ("Grading results": score in
# [0, 1], gradable, format_errors, message, output, tests[]; the file under 1 MB).
PRAIRIELEARN = {"gradable": bool, "score": NUMBER, "message": str, "output": str, "tests": list}
PRAIRIELEARN_TEST = {"name": str, "description": str, "points": NUMBER, "max_points": NUMBER, "message": str,
                     "output": str}
PRAIRIELEARN_BYTES = 1_000_000

# GitHub Classroom: classroom-resources/autograding-python-grader (runner/, bin/run.sh: the result,
# version 3, base64 in $GITHUB_OUTPUT as result=...) and autograding-grading-reporter (src/main.js
# decodes <ID>_RESULTS and fails on status fail/error; src/notify-classroom.js sums tests[].score
# against max_score).
CLASSROOM = {"version": int, "status": str, "max_score": NUMBER, "tests": list}
CLASSROOM_TEST = {"name": str, "status": str, "score": NUMBER, "message": str, "test_code": str, "filename": str,
                  "line_no": int, "duration": NUMBER, "output": str}
CLASSROOM_STATUSES = {"pass", "fail", "error"}

# GitLab: doc/ci/testing/unit_test_reports.md and lib/gitlab/ci/parsers/test/junit.rb (root
# testsuites or testsuite; testcase@classname, @name, @file, @time; the text of failure/error).
GITLAB_TESTCASE_ATTRIBUTES = {"classname", "name", "file", "time"}
# Jenkins' JUnit plugin: testsuite@tests, @failures, @errors, @skipped, @time.
JENKINS_SUITE_ATTRIBUTES = {"tests": int, "failures": int, "errors": int, "skipped": int, "time": float}

# GitHub Actions: github/docs workflow-commands.md (10 annotations of a kind per step; 1 MiB summary).
GITHUB_ANNOTATIONS_PER_STEP = 10
GITHUB_SUMMARY_BYTES = 1024 * 1024

# What failure messages really contain: a tag-like repr, Markdown punctuation, backslashes, math,
# a fence of their own, and control characters (an ANSI escape, a NUL).
NASTY = "next_h differs for <submission rnn.py>: *x* _h_ \\n a|b ⊙ ² −\n```\nnot a fence\n``` \x1b[31m\x00 end"


def assert_fields(document: dict, fields: dict) -> None:
    for key, kind in fields.items():
        assert key in document, f"missing {key!r}"
        assert isinstance(document[key], kind) and not (kind is NUMBER and isinstance(document[key], bool)), key


def mixed_grade(**changes) -> Grade:
    """Full marks, partial credit, a plain failure with a nasty message, a broken check; id "alice"."""
    grade = a_grade(
        CheckResult(a_check("h_ok", doc="next_h is right."), 2.0, seconds=0.25),
        CheckResult(a_check("db_ok", "backward", 3.0), 2.4, "1 result of 5 is wrong: db is off by 0.5", "printed\n"),
        CheckResult(a_check("shapes", "hygiene", 1.0), 0.0, NASTY),
    )
    grade.id = "alice"
    return replace(grade, **changes)


def with_broken_check(grade: Grade) -> Grade:
    broken = CheckResult(a_check("broken", "hygiene", 1.0), 0.0, GRADER_ERROR_MESSAGE,
                         grader_error="check broken raised TypeError")
    return replace(grade, results=[*grade.results, broken])


def flood() -> Grade:
    """400 checks, each failing with the longest message and output the runner lets through."""
    return a_grade(*[CheckResult(a_check(f"c{i}"), 0.0, "m" * 3000, "o" * 4096) for i in range(400)])


# -- Gradescope ------------------------------------------------------------------------------------


def test_gradescope_has_the_documented_fields_and_markdown_that_shows_messages_as_written():
    results = gradescope_results(mixed_grade())
    assert_fields(results, GRADESCOPE)
    assert {results["output_format"], results["test_output_format"], results["test_name_format"]} <= \
        GRADESCOPE_OUTPUT_FORMATS
    assert results["output_format"] == results["test_output_format"] == "md"
    for test in results["tests"]:
        assert_fields(test, GRADESCOPE_TEST)
        assert test["status"] in GRADESCOPE_STATUSES and test["visibility"] in GRADESCOPE_VISIBILITIES
    nasty = results["tests"][2]["output"]
    # The message sits whole inside one fence longer than any run of backticks in it (CommonMark:
    # the content of a fenced block is literal, so <submission ...>, * and _ show as written).
    fence = re.match(r"(`{3,})text\n", nasty).group(1)
    assert len(fence) > 3 and f"{fence}text\n{visible(NASTY)}\n{fence}" in nasty
    assert "\\x1b[31m\\x00 end" in nasty  # control characters written out, not sent to a browser or log
    assert "`alice`" in results["output"]  # the id, as a code span: an underscore would not italicise


def test_gradescope_takes_each_checks_visibility():
    grade = mixed_grade()
    grade.results[1].check = replace(grade.results[1].check, visibility="after_due_date")
    assert [test["visibility"] for test in gradescope_results(grade)["tests"]] == \
        ["visible", "after_due_date", "visible"]


# -- PrairieLearn ----------------------------------------------------------------------------------


def test_prairielearn_has_the_documented_fields_and_a_score_in_0_1():
    results = prairielearn_results(mixed_grade())
    assert_fields(results, PRAIRIELEARN)
    assert results["gradable"] is True and "format_errors" not in results
    assert results["score"] == pytest.approx(4.4 / 6)
    for test in results["tests"]:
        assert_fields(test, PRAIRIELEARN_TEST)
    assert [(t["points"], t["max_points"]) for t in results["tests"]] == [(2.0, 2.0), (2.4, 3.0), (0.0, 1.0)]
    assert results["tests"][1]["message"].startswith("1 result of 5 is wrong")
    assert "printed" in results["tests"][1]["output"]


@pytest.mark.parametrize("breaks", ["import", "check"])
def test_prairielearn_is_not_gradable_when_nothing_can_count(breaks):
    """No attempt is used up: the submission could not be imported, or a check is broken (the grader's fault)."""
    grade = mixed_grade(import_error="SyntaxError in rnn_layers.py, line 4") if breaks == "import" \
        else with_broken_check(mixed_grade())
    results = prairielearn_results(grade)
    assert results["gradable"] is False
    assert isinstance(results["format_errors"], list) and results["format_errors"]
    expected = "SyntaxError in rnn_layers.py, line 4" if breaks == "import" else "fault in the grader"
    assert expected in results["format_errors"][0]
    assert "TypeError" not in json.dumps(results)  # the grader's traceback is for staff, not students


# -- JUnit -----------------------------------------------------------------------------------------


def test_junit_parses_back_with_what_gitlab_and_jenkins_read():
    grade = with_broken_check(mixed_grade())
    root = ElementTree.fromstring(junit_render(grade))  # raises on invalid XML (the NUL, the escape)
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    for name, kind in JENKINS_SUITE_ATTRIBUTES.items():
        kind(suite.get(name))
    counts = [suite.get(name) for name in ("tests", "failures", "errors", "skipped")]
    assert counts == ["4", "2", "1", "0"] and [root.get(name) for name in ("tests", "failures")] == ["4", "2"]
    cases = suite.findall("testcase")
    assert all(GITLAB_TESTCASE_ATTRIBUTES <= set(case.keys()) for case in cases)
    assert [case.get("classname") for case in cases] == ["alice.forward", "alice.backward", "alice.hygiene",
                                                         "alice.hygiene"]
    assert [case.get("name") for case in cases] == ["h_ok", "db_ok", "shapes", "broken"]
    assert float(cases[0].get("time")) == 0.25 and cases[0].find("failure") is None
    partial = cases[1].find("failure")
    assert "db is off" in partial.text and partial.get("message") == "1 result of 5 is wrong: db is off by 0.5"
    assert {p.get("name"): p.get("value") for p in cases[1].iter("property")} == {"score": "2.4", "max_score": "3.0"}
    assert cases[1].find("system-out").text == "printed\n"
    nasty = cases[2].find("failure").text
    assert "<submission rnn.py>" in nasty and "\\x00" in nasty and "\\x1b" in nasty
    error = cases[3].find("error")
    assert error is not None and cases[3].find("failure") is None and "fault in the grader" in error.text


def test_junit_element_tree_is_one_testcase_per_check():
    assert len(junit_xml(flood()).findall("testsuite/testcase")) == 400


# -- GitHub ----------------------------------------------------------------------------------------


def decoded_result(output_file: Path) -> dict:
    [line] = [line for line in output_file.read_text().splitlines() if line.startswith("result=")]
    return json.loads(base64.b64decode(line.removeprefix("result=")))


def test_github_appends_the_summary_and_classrooms_version_3_result(tmp_path):
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    summary.write_text("earlier step\n")
    stdout = io.StringIO()
    publish(mixed_grade(), {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)}, stdout)
    assert summary.read_text().startswith("earlier step\n## rnn-grade: 4.4 / 6 points for `alice`")
    result = decoded_result(output)
    assert_fields(result, CLASSROOM)
    assert result["version"] == 3 and result["status"] == "fail" and result["max_score"] == 6
    for test in result["tests"]:
        assert_fields(test, CLASSROOM_TEST)
        assert test["status"] in CLASSROOM_STATUSES
    # Per-check points, not an even split: the reporter's sum is the grade.
    assert [test["score"] for test in result["tests"]] == [2.0, 2.4, 0.0]
    assert sum(test["score"] for test in result["tests"]) == pytest.approx(4.4)
    assert [line.split("::")[1].split(" ")[0] for line in stdout.getvalue().splitlines()] == ["error", "error"]
    assert "\x1b" not in stdout.getvalue() + summary.read_text()  # no escape sequence reaches the job log


def test_github_status_is_error_for_a_broken_check_and_pass_for_full_marks():
    assert classroom_result(with_broken_check(mixed_grade()))["status"] == "error"
    full = a_grade(CheckResult(a_check("h_ok"), 2.0))
    assert classroom_result(full)["status"] == "pass" and annotations(full) == []


def test_at_most_ten_annotations_the_last_counting_the_rest():
    grade = a_grade(*[CheckResult(a_check(f"c{i}"), 0.0, f"wrong {i}") for i in range(15)])
    commands = annotations(grade)
    assert len(commands) == ANNOTATION_LIMIT == GITHUB_ANNOTATIONS_PER_STEP
    assert all(command.startswith("::error ") for command in commands)
    assert "6 more checks lost points" in commands[-1]


def test_annotations_are_escaped_as_workflow_commands_require():
    grade = a_grade(CheckResult(a_check("c"), 0.0, "100% wrong\nsecond line", repro_script="# script"))
    grade.submission = Path("student/rnn_layers.py")
    [command] = annotations(grade)
    properties, _, message = command.removeprefix("::error ").partition("::")
    assert message.startswith("100%25 wrong%0Asecond line%0A%0ATo reproduce it")
    assert "file=student/rnn_layers.py" in properties and "title=rnn-grade forward/c%3A 0 / 2" in properties
    assert escape_property("a:b,c%\r\n") == "a%3Ab%2Cc%25%0D%0A" and escape_data("a:b,\r") == "a:b,%0D"


# -- Markdown --------------------------------------------------------------------------------------


def test_markdown_summary_has_the_total_a_table_per_group_and_fenced_failures():
    text = markdown_summary(mixed_grade())
    assert text.startswith("## rnn-grade: 4.4 / 6 points for `alice`")
    for heading in ("### forward: 2 / 2", "### backward: 2.4 / 3", "### hygiene: 0 / 1"):
        assert f"\n{heading}\n\n| | Check | What it checks | Points |\n|---|---|---|---:|\n" in text
    assert "| PART | `db_ok` | db\\_ok | 2.4 / 3 |" in text
    assert "#### FAIL `hygiene/shapes`: 0 / 1" in text and f"````text\n{visible(NASTY)}\n````" in text
    assert "`h_ok`" not in text.split("### Failing checks")[1]  # a passing check has no failure entry


# -- budgets ---------------------------------------------------------------------------------------


def test_every_format_stays_within_its_platforms_budget_for_a_flooding_submission():
    grade = flood()
    assert len(json.dumps(gradescope_results(grade)).encode()) <= GRADESCOPE_BUDGET
    assert len(prairielearn_render(grade).encode()) < PRAIRIELEARN_BYTES
    assert len(markdown_summary(grade).encode()) < GITHUB_SUMMARY_BYTES
    encoded = base64.b64encode(json.dumps(classroom_result(grade), separators=(",", ":")).encode())
    assert len(encoded) <= RESULT_BYTES_BUDGET < 128 * 1024  # one environment variable for the reporter
    assert "more characters not shown" in prairielearn_results(grade)["tests"][0]["message"]
    assert len(classroom_result(grade)["tests"]) == 400  # every check and its score kept, only texts cut


# -- the registry and the options ------------------------------------------------------------------


def test_write_reports_writes_each_file_format_where_told_and_beside_results_json_in_a_class(tmp_path):
    formats = ["gradescope", "prairielearn", "junit", "markdown"]
    paths = paths_beside(tmp_path / "alice", formats)
    assert sorted(path.name for path in paths.values()) == ["junit.xml", "prairielearn.json", "results.json",
                                                             "summary.md"]
    (tmp_path / "alice").mkdir()  # class mode makes OUT/<id>; a report path's folder is never created
    write_reports(mixed_grade(), formats, paths)
    assert sorted(p.name for p in (tmp_path / "alice").iterdir()) == sorted(p.name for p in paths.values())
    assert json.loads(paths["prairielearn"].read_text())["gradable"] is True


@pytest.mark.parametrize("arguments, expected", [
    (["--format", "gradescope,moodle"], "unknown moodle; give a comma list of gradescope, prairielearn, junit, "
                                        "github, markdown"),
    (["--format", ","], "no format named"),
    (["--format", "junit"], "--format junit needs --junit PATH"),
    (["--junit", "j.xml"], "--junit j.xml is given, but --format does not list junit"),
    (["--format", "junit,markdown", "--junit", "same", "--markdown", "same"], "two reports would be written to same"),
    (["--format", "markdown", "--markdown", "{folder}"],
     "is a folder; give the path of the file to write (.../summary.md)"),
])
def test_format_options_are_checked_before_grading(arguments, expected, tmp_path):
    submission = write_submission(tmp_path, "correct")
    arguments = [argument.replace("{folder}", str(tmp_path)) for argument in arguments]
    with pytest.raises(UsageError, match=re.escape(expected)):
        resolve(build_parser().parse_args([str(submission), *arguments]))


def test_format_options_resolve_to_formats_and_paths(tmp_path):
    submission = write_submission(tmp_path, "correct")
    settings = resolve(build_parser().parse_args(
        [str(submission), "--format", "github, junit,github", "--junit", "j.xml"]))
    assert settings.formats == ("github", "junit") and settings.report_paths == {"junit": Path("j.xml")}
    assert resolve(build_parser().parse_args([str(submission)])).formats == ("gradescope",)
    assert set(FORMATS) == {"gradescope", "prairielearn", "junit", "github", "markdown"}


# -- real runs -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    checks, points = write_tiny_checks(tmp_path_factory.mktemp("tiny"))
    return ["--checks-dir", str(checks), "--no-builtin-checks", "--points", str(points)]


def every_format(tmp_path: Path, name: str, tiny: list[str],
                 *options: str) -> tuple[subprocess.CompletedProcess, dict[str, Path]]:
    """Grade the named tiny submission (or the source text given) with every format, as GitHub Actions would."""
    files = {name: tmp_path / f"out.{name}" for name in ("results", "prairielearn", "junit", "markdown",
                                                          "summary", "output")}
    if name.startswith("\n"):
        submission = tmp_path / "forger.py"
        submission.write_text(name)
    else:
        submission = write_submission(tmp_path / "subs", name)
    run = subprocess.run(
        [sys.executable, "-m", "checks.engine.cli", str(submission), *tiny, *options,
         "--format", "gradescope,prairielearn,junit,github,markdown", "--results", str(files["results"]),
         "--prairielearn", str(files["prairielearn"]), "--junit", str(files["junit"]),
         "--markdown", str(files["markdown"])],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env=clean_environment(GITHUB_STEP_SUMMARY=str(files["summary"]), GITHUB_OUTPUT=str(files["output"])),
    )
    assert "Traceback" not in run.stdout + run.stderr
    return run, files


def test_one_run_writes_every_format_and_each_validates(tmp_path, tiny):
    run, files = every_format(tmp_path, "wrong_db", tiny)
    assert run.returncode == 1, run.stderr
    gradescope = json.loads(files["results"].read_text())
    assert_fields(gradescope, GRADESCOPE)
    prairielearn = json.loads(files["prairielearn"].read_text())
    assert_fields(prairielearn, PRAIRIELEARN)
    assert prairielearn["gradable"] is True and prairielearn["score"] == pytest.approx(5.4 / 6)
    suite = ElementTree.parse(files["junit"]).getroot().find("testsuite")
    assert [case.get("classname") for case in suite.iter("testcase")] == \
        ["wrong_db.py.forward", "wrong_db.py.backward", "wrong_db.py.hygiene"]
    assert "db: off by up to" in suite.find("testcase[@name='tiny_step_backward']/failure").text
    result = decoded_result(files["output"])
    assert_fields(result, CLASSROOM)
    assert [test["score"] for test in result["tests"]] == [2.0, 2.4, 1.0] and result["max_score"] == 6
    assert files["summary"].read_text() == files["markdown"].read_text()
    [annotation] = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert "tiny_step_backward" in annotation and "db: off by up to" in annotation


def test_one_run_on_an_unimportable_file_uses_up_no_prairielearn_attempt(tmp_path, tiny):
    run, files = every_format(tmp_path, "syntax_error", tiny)
    assert run.returncode == 1
    prairielearn = json.loads(files["prairielearn"].read_text())
    assert prairielearn["gradable"] is False and "SyntaxError" in prairielearn["format_errors"][0]
    assert decoded_result(files["output"])["status"] == "fail"
    # One annotation says why, not one per check; an absolute path is not a file in the repository.
    [annotation] = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert annotation.startswith("::error title=rnn-grade%3A import failed::") and "SyntaxError" in annotation


# Starts with a newline, as every_format tells source text from a tiny submission's name.
FORGER = CORRECT.replace("    next_h = np.tanh", "    raise ValueError('shapes are off\\n::error::forged by you')\n"
                                                 "    next_h = np.tanh")


def test_github_runs_no_workflow_command_quoted_from_a_submission(tmp_path, tiny):
    run, files = every_format(tmp_path, FORGER, tiny, "-v")  # -v: the whole message, forged line included
    lines = run.stdout.splitlines()
    [stop] = [index for index, line in enumerate(lines) if line.startswith("::stop-commands::")]
    token = lines[stop].removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-1] == f"::{token}::"
    # The summary quotes the forged line escaped (cli.show), and inside the stop-commands guard besides.
    forged = [index for index, line in enumerate(lines) if line.strip().startswith("\\x3a:error::forged")]
    assert forged and all(stop < index < len(lines) - 1 for index in forged)
    assert not any(line.strip().startswith("::error::forged") for line in lines)
    # Its own annotations come first, the forged line inside them escaped onto one line.
    ours = [line for line in lines[:stop] if line.startswith("::error ")]
    assert ours and all("%0A::error::forged" in line for line in ours if "forged" in line)
