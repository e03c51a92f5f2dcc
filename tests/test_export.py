"""``rnn-grade export``: a class's grades.csv, as written by ``course.summary``'s own writer, turned into
the gradebook file Canvas or Moodle imports, with the documented columns exactly; every student who
cannot be given a grade is listed, never dropped; a submission that was not graded is an empty cell,
never a 0; bad input is refused with exit 2 and a message, before anything is written.

Canvas's format: its gradebook export (``Student,ID,SIS User ID,SIS Login ID,Section,Name (id)``,
then an indented ``Points Possible`` line), which its Grades > Import reads. Moodle's: a user
identifier column mapped on import to a user field (id, idnumber, email or username:
``grade/import/csv/classes/load_data.php``), a grade column, and "" or "-" as no grade.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from checks.engine.cli import main
from checks.engine.course.summary import CheckRow, Row, grades_csv

CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def row(submission: str, score: float, status: str = "graded", reason: str = "") -> Row:
    """A summary row with two groups, as class grading builds it from a results.json."""
    checks = (CheckRow("forward", "rnn_step_forward", min(score, 40.0), 40.0, score >= 40),
              CheckRow("backward", "rnn_step_backward", max(score - 40, 0.0), 60.0, score >= 100))
    return Row(submission, score, 100.0, {"forward": checks[0].score, "backward": checks[1].score}, status, 1.25,
               reason, checks)


CLASS = [
    row("alice", 92.5),
    row("bob", 0.0, "import-error", "SyntaxError: invalid syntax (rnn_layers.py, line 3)"),
    row("=carol", 100.0),  # an id a spreadsheet would run: grades.csv writes it as '=carol
    row("dan", 0.0, "grader-error", "the check rnn_forward raised"),
    row("erin", 40.0),
]

ROSTER = """\
Student,ID,SIS User ID,SIS Login ID,Section,submission,email,username
    Points Possible,,,,,,,
"Lovelace, Ada",101,S-1,ada,CS 231,alice,ada@uni.edu,ada
"Babbage, Charles",102,S-2,babbage,CS 231,bob,babbage@uni.edu,babbage
"Hopper, Grace",103,S-3,grace,CS 231,=carol,grace@uni.edu,grace
"Student, Test",104,,test,CS 231,,,
"Turing, Alan",105,S-5,alan,CS 231,alan,alan@uni.edu,alan
"Noether, Emmy",106,S-6,emmy,CS 231,erin,emmy@uni.edu,emmy
"""


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """tmp_path holding class/grades.csv (summary's writer), roster.csv; the current folder."""
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "grades.csv").write_text(grades_csv(CLASS))
    (tmp_path / "roster.csv").write_text(ROSTER)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def export(*options: str) -> int:
    return main(["export", "--class", "class", "--roster", "roster.csv", *options])


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(), newline="")))


def test_the_grades_csv_fixture_is_summarys_own_format(course):
    header = read_csv(course / "class" / "grades.csv")[0]
    assert header == ["submission", "score", "max_score", "forward", "backward", "status", "seconds", "reason"]
    assert read_csv(course / "class" / "grades.csv")[3][0] == "'=carol"


def test_canvas_file_has_canvas_columns_and_points_possible_line(course, capsys):
    assert export("--lms", "canvas", "--assignment", "RNN layers", "--assignment-id", "4711") == 1
    lines = read_csv(course / "canvas-grades.csv")
    assert lines[0] == [*CANVAS_HEADER, "RNN layers (4711)"]
    assert lines[1] == ["    Points Possible", "", "", "", "", "100"]
    assert lines[2:] == [
        ["Lovelace, Ada", "101", "S-1", "ada", "CS 231", "92.5"],
        ["Babbage, Charles", "102", "S-2", "babbage", "CS 231", ""],  # import error: no grade, not 0
        ["Hopper, Grace", "103", "S-3", "grace", "CS 231", "100"],
        ["Noether, Emmy", "106", "S-6", "emmy", "CS 231", "40"],
    ]


def test_canvas_column_without_an_id_is_the_assignment_name(course):
    export("--lms", "canvas", "--assignment", "RNN layers")
    assert read_csv(course / "canvas-grades.csv")[0] == [*CANVAS_HEADER, "RNN layers"]


def test_moodle_file_has_the_identifier_and_the_grade_item(course):
    assert export("--lms", "moodle", "--assignment", "RNN layers") == 1
    assert read_csv(course / "moodle-grades.csv") == [
        ["email", "RNN layers"], ["ada@uni.edu", "92.5"], ["babbage@uni.edu", ""], ["grace@uni.edu", "100"],
        ["emmy@uni.edu", "40"]]
    export("--lms", "moodle", "--moodle-user", "username", "--output", "by-name.csv")
    assert [line[0] for line in read_csv(course / "by-name.csv")] == ["username", "ada", "babbage", "grace", "emmy"]


def test_roundtrip_every_graded_score_and_no_zero_for_what_was_not_graded(course):
    export("--lms", "canvas")
    exported = {line[3]: line[5] for line in read_csv(course / "canvas-grades.csv")[2:]}
    roster = {line[5]: line[3] for line in read_csv(course / "roster.csv")[2:] if line[5]}
    for graded in CLASS:
        login = roster.get(graded.submission)
        if login is None:
            continue
        if graded.status == "graded":
            assert float(exported[login]) == graded.score
        else:
            assert exported[login] == ""


def test_out_of_rescales_to_the_lms_points(course):
    export("--lms", "canvas", "--out-of", "10")
    lines = read_csv(course / "canvas-grades.csv")
    assert lines[1][5] == "10" and [line[5] for line in lines[2:]] == ["9.25", "", "10", "4"]


def test_zero_unimportable_scores_the_students_own_faults_only(course):
    rows = [row("alice", 92.5), row("bob", 0.0, "syntax-error", "line 3"), row("=carol", 0.0, "grader-error"),
            row("erin", 0.0, "not-graded-yet", "grading stopped")]
    (course / "class" / "grades.csv").write_text(grades_csv(rows))
    export("--lms", "canvas")
    assert [line[5] for line in read_csv(course / "canvas-grades.csv")[2:]] == ["92.5", "", "", ""]
    export("--lms", "canvas", "--zero-unimportable", "--force")
    assert [line[5] for line in read_csv(course / "canvas-grades.csv")[2:]] == ["92.5", "0", "", ""]


def test_a_not_graded_yet_row_with_blank_cells_is_read(course):
    (course / "class" / "grades.csv").write_text(
        "submission,score,max_score,forward,status,seconds,reason\n"
        "alice,92.5,100,40,graded,1.2,\n"
        "erin,,,,not-graded-yet,0,grading stopped before this submission was graded\n")
    assert export("--lms", "canvas") == 1
    assert [line[5] for line in read_csv(course / "canvas-grades.csv")[1:]] == ["100", "92.5", ""]


def test_every_unmatched_and_ungraded_student_is_listed(course, capsys):
    assert export("--lms", "canvas") == 1
    err = capsys.readouterr().err
    assert "4 students, 3 with a grade" in err
    not_graded = err.split("left empty (no grade, not 0):\n")[1].split("rnn-grade export:")[0]
    assert "Babbage, Charles (roster line 4): bob, import-error: SyntaxError" in not_graded
    no_roster = err.split("on no roster line (not in the file):\n")[1].split("rnn-grade export:")[0]
    assert no_roster.split() == ["dan", "(grader-error)"]
    no_submission = err.split("without a submission in grades.csv (not in the file):\n")[1]
    assert "Student, Test (roster line 6): no submission id" in no_submission
    assert "Turing, Alan (roster line 7): no submission alan" in no_submission


def test_a_class_all_matched_and_graded_exits_0(course, capsys):
    (course / "class" / "grades.csv").write_text(grades_csv([row("alice", 92.5), row("erin", 40.0)]))
    (course / "roster.csv").write_text("submission,email\nalice,ada@uni.edu\nerin,emmy@uni.edu\n")
    assert export("--lms", "moodle") == 0
    assert "left empty" not in capsys.readouterr().err


def test_an_existing_file_is_never_overwritten_without_force(course, capsys):
    (course / "canvas-grades.csv").write_text("the instructor's")
    assert export("--lms", "canvas") == 2
    assert "canvas-grades.csv already exists" in capsys.readouterr().err
    assert (course / "canvas-grades.csv").read_text() == "the instructor's"
    assert export("--lms", "canvas", "--force") == 1
    assert read_csv(course / "canvas-grades.csv")[0][0] == "Student"


def test_the_roster_is_never_the_output(course, capsys):
    assert export("--lms", "canvas", "--output", "roster.csv", "--force") == 2
    assert "is an input of the export" in capsys.readouterr().err
    assert (course / "roster.csv").read_text() == ROSTER


def test_text_cells_are_neutralised_and_a_formula_identifier_is_named(course, capsys):
    (course / "roster.csv").write_text('submission,Student,SIS Login ID\nalice,=HYPERLINK("x"),+ada\n')
    export("--lms", "canvas", "--assignment", "@sum")
    lines = read_csv(course / "canvas-grades.csv")
    assert lines[0][5] == "'@sum" and lines[2][0] == "'=HYPERLINK(\"x\")" and lines[2][3] == "'+ada"
    assert "sis_login_id +ada" in capsys.readouterr().err


BAD_INPUT = {
    "no class folder": (["--class", "nowhere"], "--class nowhere: no such folder"),
    "no grades.csv": (["--class", "."], "has no grades.csv"),
    "no roster": (["--roster", "absent.csv"], "--roster absent.csv: no such file"),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_missing_inputs_are_refused(course, capsys, case):
    options, message = BAD_INPUT[case]
    assert export("--lms", "canvas", *options) == 2
    assert message in capsys.readouterr().err
    assert not (course / "canvas-grades.csv").exists()


def test_grades_csv_without_its_columns_is_refused(course, capsys):
    (course / "class" / "grades.csv").write_text("student,points\nalice,3\n")
    assert export("--lms", "canvas") == 2
    assert "has no column submission, score, max_score, status" in capsys.readouterr().err


BAD_ROSTERS = {
    "no submission column": ("email\nada@uni.edu\n", "has no 'submission' column (its columns: email)"),
    "empty": ("", "is empty"),
    "no canvas identifier": ("submission,Student\nalice,Ada\n",
                             "Canvas finds a student by 'canvas_id' or 'sis_user_id' or 'sis_login_id'"),
    "a row without one": ("submission,SIS Login ID\nalice,ada\nerin,\n", "the line(s) 3 have none"),
    "one submission twice": ("submission,ID\nalice,1\nalice,2\n", "alice (lines 2, 3)"),
    "one user twice": ("submission,ID\nalice,1\nerin,1\n", "lines 2 and 3 have the same canvas_id 1"),
}


@pytest.mark.parametrize("case", BAD_ROSTERS, ids=list(BAD_ROSTERS))
def test_bad_rosters_are_refused(course, capsys, case):
    text, message = BAD_ROSTERS[case]
    (course / "roster.csv").write_text(text)
    assert export("--lms", "canvas") == 2
    assert message in capsys.readouterr().err
    assert not (course / "canvas-grades.csv").exists()


def test_moodle_needs_the_chosen_identifier(course, capsys):
    (course / "roster.csv").write_text("submission,email\nalice,ada@uni.edu\n")
    assert export("--lms", "moodle", "--moodle-user", "idnumber") == 2
    assert "Moodle finds a student by 'idnumber'" in capsys.readouterr().err


def test_the_installed_command_refuses_bad_input_without_a_traceback(course):
    rnn_grade = Path(sys.executable).parent / "rnn-grade"
    done = subprocess.run([str(rnn_grade), "export", "--lms", "canvas", "--roster", "roster.csv", "--class", "nowhere"],
                          capture_output=True, text=True, cwd=course, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("rnn-grade: --class nowhere: no such folder")
    helped = subprocess.run([str(rnn_grade), "export", "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0
    for option in ("--lms", "--roster", "--class", "--output", "--force", "--assignment", "--assignment-id",
                   "--out-of", "--moodle-user"):
        assert option in helped.stdout


def test_a_class_graded_for_real_exports_its_grades(tmp_path):
    """End to end: class grading writes grades.csv, the export reads it; the syntax error is no 0."""
    from tiny_grading import SUBMISSIONS, TINY, make_class, rnn_grade, tiny_options

    students = make_class(tmp_path / "class", {"ann": SUBMISSIONS["correct"], "ben": SUBMISSIONS["wrong_db"],
                                               "cat": SUBMISSIONS["syntax_error"]})
    graded = rnn_grade(str(students), "--out", str(tmp_path / "out"), *tiny_options(tmp_path))
    assert graded.returncode == 1, graded.stderr  # cat's syntax error
    (tmp_path / "roster.csv").write_text("submission,SIS Login ID\nann,ann1\nben,ben1\ncat,cat1\n")
    exported = rnn_grade("export", "--lms", "canvas", "--class", str(tmp_path / "out"), "--roster",
                         str(tmp_path / "roster.csv"), "--output", str(tmp_path / "canvas.csv"))
    assert exported.returncode == 1 and "Traceback" not in exported.stderr  # cat is listed
    assert "cat, syntax-error" in exported.stderr
    full = sum(points for _, points in TINY.values())
    assert read_csv(tmp_path / "canvas.csv")[1:] == [
        ["    Points Possible", "", "", "", "", f"{full:g}"],
        ["", "", "", "ann1", "", f"{full:g}"],
        ["", "", "", "ben1", "", f"{full - 3 / 5:g}"],
        ["", "", "", "cat1", "", ""],
    ]
