"""The rnn-grade command, run as a subprocess: exit codes, results.json, and its error messages.

Most runs use the three tiny checks of ``tiny_grading`` (a fraction of a second each); one run
grades the reference package with the real checks and the course's points table.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from checks.engine import cli
from checks.engine import options as options_module
from checks.engine.isolation.confinement import ACTIVE, LAYERS, MISSING, Confinement, Layer
from checks.engine.isolation.boundary import WorkerOptions, probe_confinement
from checks.registry import GROUPS, load_checks
from tiny_grading import CORRECT, REPO, TINY, clean_environment, rnn_grade, tiny_options, write_submission

TEST_KEYS = {"name", "score", "max_score", "status", "output", "tags", "visibility"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    return tiny_options(tmp_path_factory.mktemp("tiny"))


def grade(tmp_path: Path, name: str, tiny: list[str], *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Grade the named tiny submission; return the run and its results.json."""
    results = tmp_path / f"{name}.json"
    run = rnn_grade(str(write_submission(tmp_path / "subs", name)), "--results", str(results), *tiny, *extra)
    assert "Traceback" not in run.stdout + run.stderr
    return run, json.loads(results.read_text())


def test_full_marks_exit_0_and_a_complete_gradescope_report(tmp_path, tiny):
    run, results = grade(tmp_path, "correct", tiny, "--seed", "7")
    assert run.returncode == 0, run.stdout + run.stderr
    assert {"score", "execution_time", "output", "tests", "visibility", "stdout_visibility"} <= results.keys()
    # Students see the tests; the autograder's own stdout (instructor notes) stays hidden.
    assert results["visibility"] == "visible" and results["stdout_visibility"] == "hidden"
    assert isinstance(results["execution_time"], int)
    assert [test["extra_data"]["check"] for test in results["tests"]] == list(TINY)
    for test in results["tests"]:
        assert TEST_KEYS <= test.keys()
        group, points = TINY[test["extra_data"]["check"]]
        assert test["tags"] == [group] and test["name"].startswith(f"{group}: ")
        assert test["status"] == "passed" and test["score"] == test["max_score"] == points
    assert results["score"] == sum(test["score"] for test in results["tests"]) == 6
    assert (results["extra_data"]["profile"], results["extra_data"]["seed"]) == ("default", 7)
    assert "profile: default, seed: 7" in results["output"] and "correct.py" in results["output"]
    assert "TOTAL" in run.stdout and "6 / 6" in run.stdout


def test_partial_credit_exit_1_and_the_message_names_the_wrong_gradient(tmp_path, tiny):
    run, results = grade(tmp_path, "wrong_db", tiny)
    assert run.returncode == 1
    backward = {test["extra_data"]["check"]: test for test in results["tests"]}["tiny_step_backward"]
    assert backward["status"] == "failed" and backward["score"] == pytest.approx(2.4)
    assert "1 result of 5 is wrong" in backward["output"] and "db: off by up to" in backward["output"]
    assert "Points: 2.4 / 3" in backward["output"]
    assert results["score"] == pytest.approx(sum(test["score"] for test in results["tests"])) == pytest.approx(5.4)
    # the terminal's brief: the check, its verdict (its message's first line); -v shows the whole message
    assert "PART  " in run.stdout and "tiny_step_backward" in run.stdout and "1 result of 5 is wrong" in run.stdout


def test_syntax_error_gives_a_complete_zero_report_with_the_line(tmp_path, tiny):
    run, results = grade(tmp_path, "syntax_error", tiny)
    assert run.returncode == 1
    assert len(results["tests"]) == len(TINY) and results["score"] == 0
    assert all(test["score"] == 0 and test["status"] == "failed" for test in results["tests"])
    # Found by compiling the file, before any worker starts (course.source_problems): the line and what to run.
    said = "Python cannot read your file syntax_error.py: SyntaxError on line 4"
    assert said in results["output"] and said in " ".join(run.stdout.split())
    assert all("SyntaxError on line 4" in test["output"] for test in results["tests"])
    assert results["extra_data"]["import_error"].startswith(said)
    assert "python -m py_compile syntax_error.py" in results["extra_data"]["import_error"]


def test_a_pytorch_submission_graded_as_numpy_tells_the_instructor_which_assignment(tmp_path, tiny):
    """torch is never allowed by --allow-package advice alone: the PyTorch assignments preload it."""
    submission = tmp_path / "rnn_layers_pytorch.py"
    submission.write_text("import torch\n\n\ndef rnn_step_forward(x, prev_h, Wx, Wh, b):\n    return x\n")
    run = rnn_grade(str(submission), "--results", str(tmp_path / "results.json"), *tiny)
    notes = json.loads((tmp_path / "results.json").read_text())["extra_data"]["instructor_notes"]
    [note] = [n for n in notes if "torch" in n]
    assert "--assignment cs231n-pytorch" in note and "rnn-grade[torch]" in note and "--allow-package" not in note
    assert run.returncode == 1


def test_missing_module_is_named_and_path_makes_a_course_helper_importable(tmp_path, tiny):
    """The student reads what the assignment allows; the instructor reads how to provide the module."""
    run, results = grade(tmp_path, "needs_helper", tiny)
    assert run.returncode == 1
    assert "'course_helpers'" in results["output"]
    assert "only numpy and the Python standard library may be imported" in results["output"]
    assert "--path" not in json.dumps([results["output"], results["tests"]])
    [note] = [n for n in results["extra_data"]["instructor_notes"] if "course_helpers" in n]
    assert "--path FOLDER" in note and "--allow-package course_helpers" in note
    assert f"rnn-grade: note: {note}" in " ".join(run.stderr.split())  # wrapped to the terminal's width

    helpers = tmp_path / "course"
    write_submission(helpers, "correct").rename(helpers / "course_helpers.py")
    run, results = grade(tmp_path, "needs_helper", tiny, "--path", str(helpers))
    assert run.returncode == 0, run.stdout
    assert results["score"] == 6


def test_a_stub_raising_not_implemented_loses_only_its_checks(tmp_path, tiny):
    run, results = grade(tmp_path, "backward_stub", tiny)
    assert run.returncode == 1
    by_check = {test["extra_data"]["check"]: test for test in results["tests"]}
    assert by_check["tiny_step_forward"]["score"] == 2
    backward = by_check["tiny_step_backward"]
    assert backward["score"] == 0 and backward["output"].startswith("```text\nnot implemented: rnn_step_backward\n```")
    # What the submission printed during the check is shown under it, fenced (Markdown output).
    assert "What your code printed during this check:\n\n```text\nbackward called\n```" in backward["output"]


def test_a_hanging_import_still_gives_a_complete_report(tmp_path, tiny):
    run, results = grade(tmp_path, "hangs_on_import", tiny, "--call-timeout", "1")
    assert run.returncode == 1
    assert [test["score"] for test in results["tests"]] == [0, 0, 0]
    assert "timed out" in results["output"]


def test_flooding_output_is_capped_and_results_stay_small(tmp_path, tiny):
    run, results = grade(tmp_path, "floods_output", tiny)
    assert run.returncode == 0
    assert (tmp_path / "floods_output.json").stat().st_size < 100_000
    assert all("more bytes of output not shown" in test["output"] for test in results["tests"])


def test_two_runs_give_identical_results_apart_from_execution_time(tmp_path, tiny):
    first = grade(tmp_path / "one", "wrong_db", tiny)[1]
    second = grade(tmp_path / "two", "wrong_db", tiny)[1]
    first.pop("execution_time"), second.pop("execution_time")
    assert first == second


def test_what_the_code_printed_names_its_own_files_not_the_worker_scratch_folder(tmp_path, tiny):
    first = grade(tmp_path / "one", "warns", tiny)[1]
    second = grade(tmp_path / "two", "warns", tiny)[1]
    printed = first["tests"][0]["output"]
    assert "warns.py:" in printed and "UserWarning: check your shapes" in printed
    assert "rnn-grade-worker" not in json.dumps(first) and "/tmp" not in printed
    first.pop("execution_time"), second.pop("execution_time")
    assert first == second


def test_the_profile_comes_from_the_environment_and_is_recorded(tmp_path, tiny):
    results = tmp_path / "results.json"
    submission = write_submission(tmp_path, "correct")
    run = rnn_grade(str(submission), "--results", str(results), "--quiet", *tiny,
                    env=clean_environment(RNN_GRADE_PROFILE="thorough"))
    assert run.returncode == 0
    assert run.stdout.strip() == "6 / 6 points: correct.py (profile thorough, seed 0)"
    assert json.loads(results.read_text())["extra_data"]["profile"] == "thorough"


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [
        (lambda tmp: [str(tmp / "missing.py")], "no such file or folder"),
        (lambda tmp: [str(tmp / "empty")], "holds no submission"),
        (lambda tmp: [str(tmp / "ok.py"), str(tmp / "notes.txt")], "is not a .py file"),
        (lambda tmp: [str(tmp), "--results", str(tmp / "r.json")], "--results is for one submission"),
        (lambda tmp: [str(tmp / "ok.py"), "--file", "a/b.py"], "give a file name"),
        (lambda tmp: [str(tmp / "ok.py"), "--jobs", "0"], "must be 1 or more"),
        (lambda tmp: [str(tmp / "ok.py"), "--out", str(tmp)], "was not written by rnn-grade"),
        (lambda tmp: [str(tmp / "notes.txt")], "is not a .py file"),
        (lambda tmp: [str(tmp / "ok.py"), "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (lambda tmp: [str(tmp / "ok.py"), "--profile", "fast"], "argument --profile: invalid choice: 'fast'"),
        (lambda tmp: [str(tmp / "ok.py"), "--call-timeout", "0"], "must be a positive number of seconds"),
        (lambda tmp: [str(tmp / "ok.py"), "--checks-dir", str(tmp / "nowhere")], "--checks-dir"),
        (lambda tmp: [str(tmp / "ok.py"), "--path", str(tmp / "nowhere")], "--path"),
        (lambda tmp: [str(tmp / "ok.py"), "--allow-package", "no_such_package"], "no package or module named"),
        (lambda tmp: [str(tmp / "ok.py"), "--allow-package", "reference"], "the grader's own package"),
        (lambda tmp: [str(tmp / "ok.py"), "--points", str(tmp / "nowhere.toml")], "--points"),
        (lambda tmp: [str(tmp / "ok.py"), "--results", str(tmp)], "is a folder"),
        (lambda tmp: [str(tmp / "ok.py"), "--no-builtin-checks"], "no checks to run"),
    ],
)
def test_unusable_arguments_exit_2_with_a_message_and_no_traceback(tmp_path, make_args, expected):
    for name in ("notes.txt", "rnn.ipynb", "ok.py"):
        (tmp_path / name).write_text("")
    (tmp_path / "empty").mkdir()
    run = rnn_grade(*make_args(tmp_path))
    assert run.returncode == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert not list(tmp_path.glob("*.json"))


def test_an_unknown_profile_in_the_environment_exits_2(tmp_path):
    submission = write_submission(tmp_path, "correct")
    run = rnn_grade(str(submission), env=clean_environment(RNN_GRADE_PROFILE="fast"))
    assert run.returncode == 2
    assert "RNN_GRADE_PROFILE='fast'" in run.stderr and "Traceback" not in run.stderr


def test_a_broken_check_module_is_reported_with_its_file_and_line(tmp_path):
    broken = tmp_path / "broken_checks"
    broken.mkdir()
    (broken / "oops.py").write_text("\n\nundefined_name\n")
    run = rnn_grade(str(write_submission(tmp_path, "correct")), "--checks-dir", str(broken))
    assert run.returncode == 2
    assert "could not load the checks: " in run.stderr and "oops.py, line 3: " in run.stderr
    assert "NameError" in run.stderr
    assert "Traceback" not in run.stderr


def test_internal_errors_and_interrupts_are_reported_without_a_traceback(tmp_path, tiny, monkeypatch, capsys):
    submission = str(write_submission(tmp_path, "correct"))

    def broken(*args, **kwargs):
        raise RuntimeError("the grader is broken")

    monkeypatch.setattr(cli, "grade_submission", broken)
    assert cli.main([submission, *tiny]) == 2
    error = capsys.readouterr().err
    assert "rnn-grade: internal error: RuntimeError: the grader is broken" in error and "Traceback" not in error

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "grade_submission", interrupted)
    assert cli.main([submission, *tiny]) == 130


def test_the_console_script_is_installed_and_documents_results_json():
    run = subprocess.run([str(Path(sys.executable).with_name("rnn-grade")), "--help"],
                         capture_output=True, text=True, env=clean_environment(), timeout=60)
    assert run.returncode == 0
    assert "/autograder/results/results.json" in run.stdout and "exit status" in run.stdout


def test_version_prints_the_installed_version_and_help_lists_every_option():
    from importlib.metadata import version

    from checks.engine.options import CLI, options_of

    command = str(Path(sys.executable).with_name("rnn-grade"))
    run = subprocess.run([command, "--version"], capture_output=True, text=True, env=clean_environment(), timeout=60)
    assert run.returncode == 0 and run.stdout == f"rnn-grade {version('rnn-grade')}\n"
    help_text = subprocess.run([command, "--help"], capture_output=True, text=True, env=clean_environment(),
                               timeout=60).stdout
    listed = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", help_text.split("options:", 1)[1]))
    flags = {flag for option in options_of(CLI) if not option.positional for flag in (option.flag, *option.aliases)}
    assert flags | {"-h", "--help", "--version", "-v"} <= listed, flags - listed


def test_the_reference_package_gets_full_marks_on_the_real_checks(tmp_path):
    results = tmp_path / "results.json"
    run = rnn_grade(str(REPO / "reference"), "--results", str(results))
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(results.read_text())
    assert len(report["tests"]) >= 20 and all(test["status"] == "passed" for test in report["tests"])
    assert report["score"] == report["extra_data"]["max_score"] == sum(test["max_score"] for test in report["tests"])
    # the default assignment's groups and total: every group but captioning (at 0 in checks/points.toml)
    default = load_checks()
    assert {test["tags"][0] for test in report["tests"]} == {c.group for c in default} == set(GROUPS) - {"captioning"}
    assert report["score"] == sum(c.points for c in default)
    assert results.stat().st_size < 1_000_000


def test_an_allowed_package_becomes_importable_and_the_message_lists_it(tmp_path, tiny):
    """mpmath is installed (SymPy needs it) but not allowed: the import fails until --allow-package."""
    submission = tmp_path / "uses_mpmath.py"
    submission.write_text("import mpmath\n" + CORRECT)
    results = tmp_path / "results.json"
    run = rnn_grade(str(submission), "--results", str(results), *tiny)
    assert run.returncode == 1
    assert "only numpy and the Python standard library may be imported" in json.loads(results.read_text())["output"]
    run = rnn_grade(str(submission), "--results", str(results), "--allow-package", "mpmath", *tiny)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(results.read_text())["score"] == 6
    submission.write_text("import sortedcontainers\n")
    rnn_grade(str(submission), "--results", str(results), "--allow-package", "mpmath", *tiny)
    assert "only numpy, mpmath and the Python standard library may be imported" in json.loads(
        results.read_text())["output"]


def test_student_visible_text_is_about_their_code_and_the_sandbox_goes_to_the_instructor(tmp_path, tiny):
    run, results = grade(tmp_path, "correct", tiny)
    student = json.dumps([results["output"], [test["output"] for test in results["tests"]]]).lower()
    for word in ("nobody", "root", "sandbox", "security.md", "landlock", "confine", "namespace", "reference",
                 sys.executable.lower()):
        assert word not in student, word
    record = Confinement.from_data(results["extra_data"]["sandbox"])
    assert [layer.name for layer in record.layers] == list(LAYERS)
    active = [layer.title for layer in record.layers if layer.state == ACTIVE]
    # A protection that is there is no news: said only with -v. A missing one is always said.
    assert "confined by" not in run.stderr
    for layer in record.missing:
        assert f"missing protection: {layer.title}: {layer.detail}" in " ".join(run.stderr.split())
    verbose, _ = grade(tmp_path, "correct", tiny, "-v")
    assert f"rnn-grade: the worker was confined by: {', '.join(active)}" in " ".join(verbose.stderr.split())
    assert all(len(line) <= 80 for line in verbose.stderr.splitlines())  # wrapped (COLUMNS is unset: 80)


def test_require_sandbox_grades_only_where_the_worker_is_fully_confined(tmp_path, tiny):
    """On this machine: exit 2 naming every missing layer, or a normal grade if none is missing."""
    missing = probe_confinement().missing
    run = rnn_grade(str(write_submission(tmp_path, "correct")), "--require-sandbox", *tiny)
    if missing:
        assert run.returncode == 2, run.stdout + run.stderr
        assert "refusing to grade" in run.stderr and "TOTAL" not in run.stdout
        assert all(f"{layer.title} ({layer.detail})" in run.stderr for layer in missing)
    else:
        assert run.returncode == 0, run.stdout + run.stderr


def test_require_sandbox_names_the_missing_layers(monkeypatch):
    confined = Confinement(tuple(Layer(name, ACTIVE, "on") for name in LAYERS))
    monkeypatch.setattr(options_module, "probe_confinement", lambda options=None: confined)
    options_module.require_sandbox(WorkerOptions())  # nothing missing: no complaint
    half = Confinement((*confined.layers[:-1], Layer("seccomp", MISSING, "no filter for this architecture")))
    monkeypatch.setattr(options_module, "probe_confinement", lambda options=None: half)
    with pytest.raises(options_module.UsageError, match=r"Missing: seccomp filter .* \(no filter for this architecture\)"):
        options_module.require_sandbox(WorkerOptions())


def test_no_line_of_the_summary_or_the_notes_runs_a_workflow_command(tmp_path, tiny):
    """A module name with a newline, quoted in the summary and in the instructor's note (issue 20)."""
    submission = tmp_path / "sub.py"
    submission.write_text('import importlib\nimportlib.import_module("nope\\n::error title=x::forged")\n')
    run = rnn_grade(str(submission), *tiny)
    assert run.returncode == 1, run.stdout + run.stderr
    for line in (run.stdout + run.stderr).splitlines():
        assert not line.lstrip().startswith(("::", "##[")), line
    assert ("rnn-grade: note: the submission imports 'nope\\n::error title=x::forged', which the worker could not "
            "find") in " ".join(run.stderr.split())  # wrapped to the terminal's width


def test_show_makes_every_line_inert(capsys):
    cli.show("TOTAL\n    ::error::a wrapped line\n##[group]x")
    assert capsys.readouterr().out == "TOTAL\n    \\x3a:error::a wrapped line\n\\x23#[group]x\n"


def test_one_students_folder_is_one_submission_named_by_the_folder(tmp_path, tiny):
    """``rnn-grade alice/``: the folder's graded file is the submission, its helper ``utils.py`` is
    importable and not a second submission, and the report names the student, not the file."""
    folder = tmp_path / "alice"
    folder.mkdir()
    source = write_submission(tmp_path / "subs", "correct").read_text()
    (folder / "utils.py").write_text("SCALE = 1\n")
    (folder / "rnn_layers.py").write_text("import utils\n" + source)
    results = tmp_path / "alice.json"
    run = rnn_grade(str(folder), "--results", str(results), *tiny)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("rnn-grade: alice ") and "6 / 6" in run.stdout
    assert json.loads(results.read_text())["score"] == 6  # one report, not a class table


def test_an_empty_file_is_said_to_be_empty_without_starting_a_worker(tmp_path, tiny):
    empty = tmp_path / "rnn_layers.py"
    empty.write_text("# to do\n")
    results = tmp_path / "empty.json"
    run = rnn_grade(str(empty), "--results", str(results), *tiny)
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert "your file rnn_layers.py is empty: it holds only comments and blank lines" in " ".join(run.stdout.split())
    assert json.loads(results.read_text())["score"] == 0
