"""checks.engine.report in-process: the results.json document and the terminal summary, from made-up grades."""

from __future__ import annotations

import io
import json
import shlex
import subprocess
from pathlib import Path

import pytest

from checks.engine.isolation.confinement import ACTIVE, MISSING, Confinement, Layer
from checks.registry import Check
from checks.engine.report import RESULTS_BYTES_BUDGET, gradescope_results, instructor_notes, write_results
from checks.engine.report.terminal import WIDTH, Screen, terminal_summary
from checks.engine.run.results import CheckResult, Grade


def a_check(name: str, group: str = "forward", points: float = 2.0, doc: str | None = None) -> Check:
    def function(sub):
        pass

    function.__doc__ = doc
    return Check(name, group, points, (), function, 1.0)


def with_script(name: str = "grad") -> CheckResult:
    """A failing check whose reproduction script was made (``run.repro.attach_scripts``): it has a command."""
    return CheckResult(a_check(name, "backward"), 0.0, "dx is wrong", repro_script="# the script\n")


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
    text = terminal_summary(grade, Screen(verbose=True))
    lines = text.splitlines()
    assert max(map(len, lines)) <= WIDTH == 80
    assert lines[0] == "rnn-grade: rnn_layers.py   (profile default, seed 3)"
    assert lines[2].startswith("forward") and lines[2].endswith("2.5 / 4")
    assert any(line.startswith("  PART  a_check") for line in lines)
    assert "".join(long_name.split("_")) in "".join("".join(lines).replace("_", "").split())  # wrapped, not cut
    assert "second line" in text and "third line" in text and "Falsifying example: x" in text
    assert any(line.startswith("TOTAL") and line.endswith("2.5 / 7") for line in lines)
    assert "profile default, seed 3; graded in 1.6 s" in lines
    # by default: one line a group, each failing check's verdict (its message's first line) wrapped, not cut
    brief = terminal_summary(grade)
    lines = brief.splitlines()
    assert max(map(len, lines)) <= WIDTH
    assert lines[2].startswith("forward (1 of 2 checks lost points)") and lines[2].endswith("2.5 / 4")
    assert " ".join(("first line " * 20).split()) in " ".join(brief.split())
    assert "second line" not in brief and "dx differs" in brief
    assert lines[-1].startswith("TOTAL") and lines[-1].endswith("2.5 / 7")


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


# -- one report model; commands that paste as one command whatever the file's name ----------------

HOSTILE_NAMES = ["Renée Müller rnn (final).py", "O'Brien \"v2\" rnn.py", "$HOME `id` ; rm -rf x & y | z.py",
                 "学生 " + "very_long_name_" * 8 + ".py"]


def shell_words(lines: list[str]) -> list[str]:
    """The words bash reads from ``lines`` (continuations and all), as printf prints them one by one."""
    run = subprocess.run(["bash", "-c", "printf '%s\\0' " + "\n".join(lines)], capture_output=True, text=True,
                         timeout=30)
    assert run.returncode == 0, run.stderr
    return run.stdout.split("\0")[:-1]


def command_after(text: str, start: str) -> list[str]:
    """The lines of the command whose first line starts with ``start`` (after its indentation), up to
    the first line not continued with a backslash."""
    lines = text.splitlines()
    index = next(index for index, line in enumerate(lines) if line.strip().startswith(start))
    command = [lines[index].strip().removeprefix("Reproduce:")]
    while command[-1].endswith("\\"):
        index += 1
        command.append(lines[index])
    return command


def shlex_words(lines: list[str]) -> list[str]:
    """The words of ``lines`` read as bash reads them: backslash-newline removed, then split as the shell does."""
    return shlex.split("\n".join(lines).replace("\\\n", ""))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_every_printed_command_is_one_shell_command_naming_the_file_as_it_is(name):
    grade = Grade(Path("class") / name, "default", 0, [with_script()])
    path = f"class/{name}"
    for width in (80, 40):
        brief = terminal_summary(grade, Screen(width))
        assert max(len(line) for line in brief.splitlines()) <= width
        for start, words in (("Reproduce: python", ["python", "repro/grad.py", path]),
                             ("rnn-grade ", ["rnn-grade", path, "--repro-dir", "repro"])):
            command = command_after(brief, start)
            assert shell_words(command) == words, (width, command)
            assert shlex_words(command) == words, (width, command)  # the same, as a script would read it
    whole = terminal_summary(grade, Screen(80, verbose=True))
    assert shell_words(command_after(whole, "rnn-grade ")) == ["rnn-grade", path, "--repro-dir", "repro"]
    # every other format carries the same quoted command
    quoted = f"python repro/grad.py {shlex.quote(path)}"
    assert shlex.split(quoted) == ["python", "repro/grad.py", path]
    assert quoted in gradescope_results(grade)["tests"][0]["output"]


def test_a_file_name_with_control_characters_is_written_out_in_commands_never_printed_raw():
    grade = Grade(Path("a\x1b[2Jb\tc.py"), "default", 0, [with_script()])
    for screen in (Screen(), Screen(verbose=True)):
        text = terminal_summary(grade, screen)
        assert "\x1b" not in text and "'a\\x1b[2Jb\tc.py'" in text  # a tab is harmless, an escape is not


def test_the_report_model_is_built_once_for_every_format(tmp_path, monkeypatch):
    from checks.engine.report import model as model_module, write_reports

    grade = a_grade(CheckResult(a_check("grad", "backward"), 0.0, "dx is wrong"))
    built = []
    real = model_module.report_model
    monkeypatch.setattr(model_module, "report_model", lambda g: built.append(g) or real(g))
    paths = {"gradescope": tmp_path / "r.json", "prairielearn": tmp_path / "p.json", "junit": tmp_path / "j.xml",
             "markdown": tmp_path / "s.md"}
    write_reports(grade, [*paths, "github"], paths, environment={"GITHUB_STEP_SUMMARY": str(tmp_path / "gh.md"),
                                                                 "GITHUB_OUTPUT": str(tmp_path / "out")},
                  stdout=io.StringIO())
    assert len(built) == 1 and all(path.exists() for path in paths.values())


def test_a_misconception_told_once_is_referred_to_after():
    from checks.engine.report.model import report_model

    first = CheckResult(a_check("step_grad", "backward"), 0.0, "db is wrong", misconception="tanh-a",
                        misconception_explanation="your db uses 1 - a² instead of 1 - h².")
    second = CheckResult(a_check("seq_grad", "backward"), 0.0, "db is wrong", misconception="tanh-a",
                         misconception_explanation="your dWh and db use 1 - a² instead of 1 - h².")
    model = report_model(a_grade(first, second))
    briefs = [view.brief for view in model.failing]
    assert briefs[0].mistake == "Likely mistake: your db uses 1 - a² instead of 1 - h²."
    assert briefs[1].mistake == "Likely mistake: the same as for step_grad." and briefs[1].mistake_told_for == "step_grad"
    assert [view.brief for view in model.checks if view.result.passed] == []


def test_a_command_is_offered_only_for_a_check_with_a_script():
    """A missing function, a broken check or a failure without a kept example has no script: no command
    to run one is shown, and none to write it, for it would write nothing."""
    missing = CheckResult(a_check("needs_step", "forward"), 0.0, "not implemented: rnn_step_forward")
    broken = CheckResult(a_check("broken", "backward"), 0.0, "This check could not be run", grader_error="bug")
    for grade in (a_grade(missing, broken), Grade(Path("rnn_layers.py"), "default", 0, [missing])):
        for screen in (Screen(), Screen(verbose=True)):
            text = terminal_summary(grade, screen)
            assert "repro" not in text and "not implemented: rnn_step_forward" in text
        assert all("repro" not in test["output"] for test in gradescope_results(grade)["tests"])
    text = terminal_summary(a_grade(missing, with_script()), Screen())
    assert text.count("Reproduce: python repro/grad.py") == 1 and "--repro-dir repro" in text
