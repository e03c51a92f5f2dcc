"""One feedback composition in every format (issue 9 §6), and the terminal's width, -v, colour and progress.

The feedback fields other parts fill (the example's sentence, the misconception, the SymPy
expression, the repro script) are set by hand here: the rendering is what is tested. The
acceptance test grades the shipped buggy example once, in an 80-column terminal.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from checks.engine.run.counterexample import Counterexample
from checks.engine.course.progress import CheckProgress
from checks.engine.report import gradescope, junit, markdown, prairielearn
from checks.engine.report.feedback import feedback_blocks, plain_feedback
from checks.engine.report.github import annotations, classroom_result
from checks.engine.report.terminal import Screen, screen_of, terminal_summary
from checks.engine.report.text import visible
from checks.engine.run.root_cause import attribute_root_cause, most_basic_first
from checks.engine.run.results import CheckResult, Grade, RootCause
from checks.engine.run.repro import attach_scripts
from checks.engine.run.runner import grade_submission
from checks.engine.isolation.trace import Call, Trace
from checks.registry import Check, load_checks

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "submissions" / "example_buggy.py"
SENTENCE = "rnn_step_backward with N = T = D = H = 1, x = [[1.0]], h0 = [[0.5]]: dx[0, 0] expected 0.42, got 0.5."
EXPLANATION = "your dx equals what you get when the tanh derivative is taken as 1 − a² instead of 1 − h²."


def a_check(name: str, group: str, needs: tuple[str, ...], points: float = 2.0) -> Check:
    return Check(name, group, points, needs, lambda sub: None, 1.0)


def full_feedback(**changes) -> CheckResult:
    result = CheckResult(a_check("seq_grad", "backward", ("rnn_forward", "rnn_backward")), 0.0,
                         "5 of 5 gradients are wrong:\n  dx[0, 0, 0]: expected 0.42, got 0.5")
    result.example = Counterexample({}, Trace(), result.message, simple=True, sentence=SENTENCE)
    result.misconception, result.misconception_explanation = "tanh-derivative-from-preactivation", EXPLANATION
    result.consequence_of = "rnn_step_backward"
    result.symbolic_text, result.symbolic_latex = "dx = dh·(1 − tanh(Wx·x + Wh·h0 + b)²)·Wx", r"\frac{\partial L}{\partial x}"
    result.repro_path = "repro/seq_grad.py"
    for name, value in changes.items():
        setattr(result, name, value)
    return result


def a_grade(*results: CheckResult) -> Grade:
    grade = Grade(Path("student/rnn_layers.py"), "default", 0, list(results))
    return grade


def test_the_blocks_come_in_order_and_empty_fields_are_left_out():
    text = plain_feedback(full_feedback(), "rnn_layers.py")
    order = ["5 of 5 gradients", SENTENCE, EXPLANATION, "probably follows from rnn_step_backward",
             "dx = dh·(1 − tanh", "python repro/seq_grad.py rnn_layers.py"]
    assert [text.index(piece) for piece in order] == sorted(text.index(piece) for piece in order)
    bare = full_feedback(example=None, misconception=None, misconception_explanation="", consequence_of="",
                         symbolic_text="", symbolic_latex="", repro_path="", repro_script="# script")
    assert [block.style for block in feedback_blocks(bare, "s.py")] == ["message", "command"]
    # without a script (a missing function, a broken check, no example kept) no command is offered
    assert [block.style for block in feedback_blocks(full_feedback(repro_path=""), "s.py")][-1] != "command"
    assert "rnn-grade s.py --repro-dir repro\n    python repro/seq_grad.py s.py" in plain_feedback(bare, "s.py")
    assert feedback_blocks(CheckResult(bare.check, 2.0), "s.py") == []
    # a student's self-check can write the script only with --self-check (no reference solution)
    assert "rnn-grade s.py --self-check --repro-dir repro" in plain_feedback(bare, "s.py", self_check=True)


def test_every_format_carries_the_same_feedback():
    grade = a_grade(full_feedback(), CheckResult(a_check("fine", "forward", ("rnn_forward",)), 2.0))
    command = "python repro/seq_grad.py student/rnn_layers.py"
    texts = {
        "terminal": terminal_summary(grade, Screen(80, verbose=True)),  # by default, in brief: see below
        "gradescope": json.loads(gradescope.render(grade))["tests"][0]["output"],
        "prairielearn": json.loads(prairielearn.render(grade))["tests"][0]["message"],
        "junit": junit.render(grade),
        "markdown": markdown.render(grade),
        "classroom": classroom_result(grade)["tests"][0]["message"],
    }
    for name, text in texts.items():
        flat = " ".join(text.replace("\\", "").split())  # Markdown escapes, terminal wraps
        for piece in (EXPLANATION, "probably follows from rnn_step_backward", command, "1 − tanh(Wx·x"):
            assert " ".join(piece.split()) in flat, (name, piece)
        assert "rnn_step_backward with N = T = D = H = 1" in flat, name
    for name in ("gradescope", "markdown"):
        assert r"$$" + "\n" + r"\frac{\partial L}{\partial x}" + "\n$$" in texts[name]
    assert "$$" not in texts["prairielearn"] and "$$" not in texts["terminal"]
    assert annotations(grade)[0].startswith("::error ")
    brief = " ".join(terminal_summary(grade).split())
    for piece in ("5 of 5 gradients are wrong", EXPLANATION, "Probably follows from rnn_step_backward", command,
                  "rnn_step_backward with N = T = D = H = 1"):
        assert " ".join(piece.split()) in brief, piece
    assert "1 − tanh(Wx·x" not in brief and "dx[0, 0, 0]: expected 0.42" not in brief  # -v shows them


def test_the_root_cause_line_tops_every_summary():
    step = a_check("step_grad", "backward", ("rnn_step_forward", "rnn_step_backward"))
    sequence = a_check("seq_grad", "backward", ("rnn_forward", "rnn_backward"))
    # the evidence a consequence needs: its example's call into rnn_step_backward (the worker's caller chain)
    raised = "rnn_backward raised ValueError: bad shapes (rnn_backward line 9 → rnn_step_backward line 3: da = d * h)"
    called = Counterexample({}, Trace([Call("rnn_backward", (), raised=raised)]), "dx is wrong")
    grade = a_grade(CheckResult(sequence, 0.0, "dx is wrong", example=called), CheckResult(step, 0.0, "dx is wrong"))
    attribute_root_cause(grade)
    line = "Fix rnn_step_backward first: 1 other failing check calls it."
    assert grade.root_cause.line == line and grade.results[0].consequence_of == "rnn_step_backward"
    assert [r.check.name for r in most_basic_first(grade.results)] == ["step_grad", "seq_grad"]
    terminal = terminal_summary(grade).splitlines()
    assert terminal[2] == line
    headings = [line.split()[1] for line in terminal if line.startswith("FAIL  ")]
    assert headings == ["backward/step_grad", "backward/seq_grad"]
    assert markdown.render(grade).splitlines()[2] == r"**Fix rnn\_step\_backward first\: 1 other failing check calls it\.**"
    document = json.loads(gradescope.render(grade))
    assert document["output"].startswith("**Fix rnn\\_step\\_backward first")
    assert document["extra_data"]["root_cause"]["function"] == "rnn_step_backward"
    assert document["tests"][0]["extra_data"]["consequence_of"] == "rnn_step_backward"
    assert line in json.loads(prairielearn.render(grade))["message"]


def test_colour_only_on_a_terminal_and_never_under_no_color():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert screen_of(Terminal(), {}).colour
    assert not screen_of(Terminal(), {"NO_COLOR": "1"}).colour
    assert not screen_of(Terminal(), {"TERM": "dumb"}).colour
    assert not screen_of(io.StringIO(), {}).colour
    grade = a_grade(full_feedback())
    assert "\x1b[31mFAIL\x1b[0m" in terminal_summary(grade, Screen(colour=True))
    assert "\x1b" not in terminal_summary(grade, Screen(colour=False))


def test_a_submissions_escape_sequences_are_written_out_on_the_terminal():
    grade = a_grade(full_feedback(message="raised \x1b[2J ValueError"))
    assert "\x1b" not in terminal_summary(grade) and "\\x1b[2J" in terminal_summary(grade)


def test_the_progress_line_is_rewritten_in_place_on_a_terminal_and_absent_otherwise():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    checks = [a_check("first_check", "forward", ()), a_check("second", "backward", ())]
    stream = Terminal()
    progress = CheckProgress(checks, stream)
    progress.advance()
    progress.advance()
    progress.close()
    # each line over the last one, padded to cover it; wiped once every check is done
    assert stream.getvalue() == "\r[1/2] forward/first_check…" + "\r[2/2] backward/second…    " + "\r" + " " * 22 + "\r"
    quiet = io.StringIO()
    progress = CheckProgress(checks, quiet)
    progress.advance()
    progress.close()
    assert quiet.getvalue() == ""


# -- the shipped buggy example, in an 80-column terminal -------------------------------------------


@pytest.fixture(scope="module")
def example_grade() -> Grade:
    grade = grade_submission(EXAMPLE, load_checks())
    attach_scripts(grade)  # as rnn-grade does: each failing check with an example gets its script
    return grade


def words(text: str) -> str:
    return " ".join(text.split())


def test_verbose_shows_every_message_whole_within_80_columns(example_grade):
    text = terminal_summary(example_grade, Screen(80, verbose=True))
    assert max(len(line) for line in text.splitlines()) <= 80
    for result in most_basic_first(example_grade.results):
        assert words(visible(result.message)) in words(text), result.check.name


def test_by_default_each_failing_check_says_what_is_wrong_and_how_to_reproduce_it_in_a_few_lines(example_grade):
    text = terminal_summary(example_grade, Screen(80))
    failing = most_basic_first(example_grade.results)
    sections = [section.split("\n\n")[0] for section in text.split("\n\nFAIL  ")[1:] + text.split("\n\nPART  ")[1:]]
    assert len(sections) == len(failing)
    assert all(len(section.splitlines()) <= 10 for section in sections)
    for result in failing:
        assert words(visible(result.message).splitlines()[0].rstrip(":")) in words(text), result.check.name
        assert words(f"python repro/{result.check.name}.py example_buggy.py") in words(  # graded by absolute path
            text.replace(" \\\n", " ")), result.check.name
    # the root cause's misconception is told once, whole; the checks that follow from it refer to it
    assert words(text).count("computed as 1 - a² from the pre-activation a") == 1
    assert "run with -v to see each in full" in text


def test_a_newcomer_sees_the_repro_command_in_80_columns_with_nothing_cut_and_the_fix_first_on_evidence(tmp_path):
    environment = {**os.environ, "COLUMNS": "80", "LINES": "24", "NO_COLOR": ""}
    completed = subprocess.run([sys.executable, "-m", "checks.engine.cli", str(EXAMPLE.relative_to(REPO)), "-v",
                                "--results", str(tmp_path / "results.json")], cwd=REPO, env=environment,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1, completed.stderr
    lines = completed.stdout.splitlines()
    document = json.loads((tmp_path / "results.json").read_text())
    # Its rnn_backward calls its wrong rnn_step_backward, and the worker recorded the entry (issue 20: said
    # on evidence): the "fix first" line tops the report and each consequence carries its note.
    root = document["extra_data"]["root_cause"]
    assert root["function"] == "rnn_step_backward" and "sequence_backward_matches_reference" in root["consequences"]
    assert f"Fix rnn_step_backward first: {len(root['consequences'])} other failing checks call it." == lines[2]
    followers = [test for test in document["tests"] if test["extra_data"].get("consequence_of")]
    assert len(followers) == len(root["consequences"])
    assert words(completed.stdout).count("this probably follows from rnn_step_backward") == len(followers)
    assert max(map(len, lines)) <= 80 and "\x1b" not in completed.stdout
    assert "        rnn-grade submissions/example_buggy.py --repro-dir repro" in lines
    assert "[1/" not in completed.stderr  # no progress line when stderr is not a terminal
    tests = document["tests"]
    for test in tests:
        if test["status"] == "failed":
            message = test["output"].split("```text\n", 1)[1].split("\n```", 1)[0]
            assert words(message) in words(completed.stdout), test["name"]


def test_the_shipped_buggy_examples_default_report_fits_120_lines_and_ends_with_the_total_and_the_fix_first():
    environment = {**os.environ, "COLUMNS": "80", "NO_COLOR": ""}
    completed = subprocess.run([sys.executable, "-m", "checks.engine.cli", str(EXAMPLE.relative_to(REPO))], cwd=REPO,
                               env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) <= 120 and max(map(len, lines)) <= 80, len(lines)
    total = sum(check.points for check in load_checks())  # the default assignment's total (160)
    assert lines[-2].startswith("TOTAL") and lines[-2].endswith(f"/ {total:g}")
    assert lines[-1].startswith("Fix rnn_step_backward first:") and lines[2] == lines[-1]
    # each failing check's command names the file as the shell reads it
    reproduce = [line for line in lines if line.strip().startswith("Reproduce: python")]
    assert len(reproduce) == sum(line.startswith(("FAIL  ", "PART  ")) for line in lines) == 12
    # how the worker was confined is no news (-v says it); a missing protection would be a note, wrapped
    assert "confined by" not in completed.stderr
    assert all(line.startswith(("rnn-grade: note: ", "    ")) for line in completed.stderr.splitlines())


def test_rich_markup_from_a_submission_is_printed_as_written_in_colour_too():
    hostile = "[bold red]all tests passed[/bold red] [link=http://x]y[/link] :smile:"
    grade = a_grade(full_feedback(message=f"raised ValueError: {hostile}\n{hostile}"))
    for screen in (Screen(colour=True), Screen(colour=True, verbose=True), Screen()):
        text = terminal_summary(grade, screen)
        assert words(hostile) in words(text) and "\x1b]8" not in text  # the markup as text; no hyperlink escape
    assert "\x1b[31mFAIL\x1b[0m" in terminal_summary(grade, Screen(colour=True))
    assert "\x1b[1mFix" in terminal_summary(attributed(), Screen(colour=True))


def attributed() -> Grade:
    grade = a_grade(CheckResult(a_check("step_grad", "backward", ("rnn_step_backward",)), 0.0, "dx is wrong"))
    grade.root_cause = RootCause("rnn_step_backward", ("step_grad",), ())
    return grade
