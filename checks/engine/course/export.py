"""``rnn-grade export --lms canvas|moodle --roster ROSTER.csv``: a class's grades as the file an LMS imports.

The grades come from the class's ``grades.csv`` (``checks.engine.course.summary`` writes it in the
``--out`` folder of class grading, or of ``rnn-grade merge``); the roster (``checks.engine.course.roster``)
says which LMS user each submission id is.

Canvas (Grades > Import): the header ``Student,ID,SIS User ID,SIS Login ID,Section,<assignment>``,
where the assignment column is named ``Name (id)`` as Canvas's own gradebook export names it when
``--assignment-id`` is given (else ``Name``: Canvas matches it by name, or creates that assignment),
then Canvas's ``    Points Possible`` line with the assignment's points, then one line per student.
Moodle (Grades > Import > CSV file): the header ``<identifier>,<assignment>``, one line per student;
on import, map from the identifier column to the same Moodle user field ("Identify user by"), and
the assignment column to the grade item.

What each student's cell holds:

- a submission whose status is ``graded``: its score (rescaled with ``--out-of``);
- any other status (``empty``, ``syntax-error``, ``import-error``, ``timeout``, ``grader-error``,
  ``not-graded-yet``, ...): an empty cell, which both LMSs read as "no grade", never a 0: a fault of
  the grader, or a run that was interrupted, must never become a zero in a gradebook. These students
  are listed on stderr with their status and reason, for the instructor to decide. With
  ``--zero-unimportable``, a submission whose own file could not be graded (``STUDENT_FILE_FAULTS``)
  gets the 0 that class grading gave it; a grader error and a submission not graded yet stay empty.

Students are never dropped silently: a submission in ``grades.csv`` with no one on the roster, and a
student on the roster with no submission there, are listed on stderr (and have no line in the file).
Exit status: 0 the file was written and every student has a grade; 1 the file was written and
some student is listed on stderr; 2 nothing was written (bad input, or the file exists: ``--force``).

Every text cell goes through ``summary.spreadsheet_text`` (a cell that starts a formula gets a
leading ``'``); an identifier that needed it is named on stderr, since the LMS will not match it.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from checks.engine.course.roster import (
    CANVAS_IDENTIFIERS, MOODLE_IDENTIFIERS, RosterEntry, csv_rows, read_roster, require_identifiers,
)
from checks.engine.course.statuses import GRADED, NOT_GRADABLE
from checks.engine.course.summary import FORMULA_STARTS, GRADES_CSV, csv_text, points, spreadsheet_text
from checks.engine.inputs.display import inert, shown
from checks.engine.inputs.usage import UsageError
from checks.engine.report import write_atomically

CANVAS, MOODLE = "canvas", "moodle"
# GRADED: the one status whose score is a grade. NOT_GRADABLE: a submission whose own file could not be
# graded (0 points in class grading); a grader error and not-graded-yet are never the student's doing.
STUDENT_FILE_FAULTS = NOT_GRADABLE
NEEDED_COLUMNS = ("submission", "score", "max_score", "status")
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_ROSTER_COLUMNS = ("name", "canvas_id", "sis_user_id", "sis_login_id", "section")
CANVAS_POINTS_POSSIBLE = "    Points Possible"  # as Canvas's export writes it, indented
EXIT_ALL_GRADED, EXIT_SOME_LISTED = 0, 1

DESCRIPTION = "Write a class's grades (its grades.csv) as the gradebook file Canvas or Moodle imports."
EPILOG = """\
The roster is a CSV file with a 'submission' column (each student's submission id, as grades.csv
names it) and the LMS's user columns: for Canvas one of canvas_id (or ID), sis_user_id (or SIS User
ID), sis_login_id (or SIS Login ID), with name (or Student) and section if known; for Moodle the
column chosen with --moodle-user (email, username or idnumber). A Canvas gradebook export with a
'submission' column added is a roster.

A submission that was not graded (an empty file, a syntax or import error, a timeout, a grader
error, not graded yet) gets an empty cell, never a 0, unless --zero-unimportable; it is listed on
stderr with its reason, and so is every student who is in grades.csv but not on the roster, or on
the roster but not in grades.csv.

exit status: 0 written, every student graded; 1 written, some students listed on stderr;
2 nothing written (bad input, or the output exists and --force was not given).
"""


@dataclass(frozen=True)
class ClassGrade:
    """One row of grades.csv: what the export needs of it."""

    submission: str
    score: float | None  # None: not graded (its status says why)
    max_score: float
    status: str
    reason: str


@dataclass(frozen=True)
class Matching:
    """The roster's students against the class's submissions."""

    pairs: list[tuple[RosterEntry, ClassGrade]]  # in the roster's order
    no_student: list[ClassGrade]  # in grades.csv, on nobody's roster line
    no_submission: list[RosterEntry]  # on the roster, not in grades.csv


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-grade export", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lms", required=True, choices=(CANVAS, MOODLE), help="the LMS whose import file to write")
    parser.add_argument("--roster", required=True, type=Path, metavar="ROSTER.csv",
                        help="CSV file mapping each submission id to its LMS user (see below)")
    parser.add_argument("--class", dest="class_folder", type=Path, default=Path("."), metavar="OUT",
                        help="the class's --out folder, which holds grades.csv (default: the current folder)")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="the file to write (default: canvas-grades.csv or moodle-grades.csv here)")
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists (never done without it)")
    parser.add_argument("--assignment", default="rnn-grade", metavar="NAME",
                        help="the gradebook column's name: the LMS assignment or grade item (default: rnn-grade)")
    parser.add_argument("--assignment-id", metavar="ID",
                        help="Canvas: the assignment's id (in its URL); the column is then 'NAME (ID)'")
    parser.add_argument("--out-of", type=float, metavar="POINTS",
                        help="rescale each score to POINTS (the LMS assignment's points); default: rnn-grade's")
    parser.add_argument("--zero-unimportable", action="store_true",
                        help=f"give 0 (not an empty cell) to a submission whose own file could not be graded "
                             f"({', '.join(sorted(STUDENT_FILE_FAULTS))}); a grader error and a submission not "
                             "graded yet stay empty")
    parser.add_argument("--moodle-user", choices=MOODLE_IDENTIFIERS, default="email",
                        help="Moodle: the roster column, and user field, that identifies a student (default: email)")
    return parser


def main(argv: Sequence[str]) -> int:
    """The command line; bad input raises UsageError (the CLI prints it and exits 2)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad options, 0 after --help
        return int(exit_.code or 0)
    if args.out_of is not None and not (math.isfinite(args.out_of) and args.out_of > 0):
        raise UsageError(f"--out-of {args.out_of:g}: give the assignment's points, a number above 0")
    output = args.output or Path(f"{args.lms}-grades.csv")
    refuse_an_input_as_output(output, [args.roster, args.class_folder / GRADES_CSV])
    if output.exists() and not args.force:
        raise already_exists(output)
    grades = read_class_grades(args.class_folder, zero_unimportable=args.zero_unimportable)
    roster = read_roster(args.roster)
    identifiers = CANVAS_IDENTIFIERS if args.lms == CANVAS else (args.moodle_user,)
    require_identifiers(roster, identifiers, args.lms.capitalize(), args.roster)
    matching = match(roster, grades)
    text = (canvas_csv(matching, args.assignment, args.assignment_id, args.out_of) if args.lms == CANVAS
            else moodle_csv(matching, args.assignment, args.moodle_user, args.out_of))
    write_output(output, text, replace=args.force)
    listed = report(matching, identifiers, output)
    return EXIT_SOME_LISTED if listed else EXIT_ALL_GRADED


# -- reading grades.csv --------------------------------------------------------------------------

def read_class_grades(folder: Path, zero_unimportable: bool = False) -> list[ClassGrade]:
    """The rows of ``folder/grades.csv`` (with ``zero_unimportable``, a student's unimportable file scores its
    0); a UsageError if it is missing or not one rnn-grade wrote."""
    if not folder.is_dir():
        raise UsageError(f"--class {shown(folder)}: no such folder; give the --out folder of a class run")
    path = folder / GRADES_CSV
    if not path.is_file():
        raise UsageError(f"--class {shown(folder)} has no {GRADES_CSV}; give the --out folder of a class run "
                         f"(rnn-grade CLASS --out {shown(folder)})")
    rows = csv_rows(path, "--class")
    header = rows[0] if rows else []
    missing = [column for column in NEEDED_COLUMNS if column not in header]
    if missing:
        raise UsageError(f"{shown(path)} has no column {', '.join(missing)}: it was not written by rnn-grade's "
                         "class grading; regrade the class (rnn-grade CLASS --out FOLDER) to write it")
    at = {column: header.index(column) for column in (*NEEDED_COLUMNS, "reason") if column in header}
    grades = [class_grade(row, at, path, number, zero_unimportable)
              for number, row in enumerate(rows[1:], start=2) if any(row)]
    seen: set[str] = set()
    for grade in grades:
        if grade.submission in seen:
            raise UsageError(f"{shown(path)} lists {shown(grade.submission)} twice; regrade the class to rewrite it")
        seen.add(grade.submission)
    return grades


def class_grade(row: list[str], at: dict[str, int], path: Path, line: int, zero_unimportable: bool) -> ClassGrade:
    cell = lambda column: row[at[column]] if column in at and at[column] < len(row) else ""  # noqa: E731
    status = written_text(cell("status"))
    scored = status == GRADED or (zero_unimportable and status in STUDENT_FILE_FAULTS)
    try:
        max_score = float(cell("max_score")) if scored or cell("max_score") else 0.0
        score = float(cell("score")) if scored else None
    except ValueError:
        raise UsageError(f"{shown(path)}, line {line}: the score {shown(cell('score'))} / "
                         f"{shown(cell('max_score'))} is not a number; regrade the class to rewrite it") from None
    return ClassGrade(written_text(cell("submission")), score, max_score, status, written_text(cell("reason")))


def written_text(cell: str) -> str:
    """A text cell as it was before ``spreadsheet_text``: without the ``'`` put before a formula start."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


# -- matching and writing ------------------------------------------------------------------------

def match(roster: list[RosterEntry], grades: list[ClassGrade]) -> Matching:
    """Each roster student with a submission id in grades.csv is paired with its row; the rest is listed."""
    by_submission = {grade.submission: grade for grade in grades}
    claimed = {entry.submission for entry in roster if entry.submission in by_submission}
    return Matching(
        pairs=[(entry, by_submission[entry.submission]) for entry in roster if entry.submission in by_submission],
        no_student=[grade for grade in grades if grade.submission not in claimed],
        no_submission=[entry for entry in roster if entry.submission not in by_submission],
    )


def score_cell(grade: ClassGrade, out_of: float | None) -> int | float | str:
    """The score on the LMS's scale, or "" (no grade) for a submission that was not graded."""
    if grade.score is None:
        return ""
    if out_of is None:
        return points(grade.score)
    return points(round(grade.score / grade.max_score * out_of, 2) if grade.max_score else 0.0)


def points_possible(grades: Sequence[ClassGrade], out_of: float | None) -> int | float:
    return points(out_of if out_of is not None else max((grade.max_score for grade in grades), default=0.0))


def canvas_csv(matching: Matching, assignment: str, assignment_id: str | None, out_of: float | None) -> str:
    """Canvas's gradebook import: its five student columns, the assignment, the Points Possible line."""
    column = f"{assignment} ({assignment_id})" if assignment_id else assignment
    possible = points_possible([grade for _, grade in matching.pairs] + matching.no_student, out_of)
    return csv_text(
        [*CANVAS_STUDENT_COLUMNS, column],
        [[CANVAS_POINTS_POSSIBLE, "", "", "", "", possible],
         *([*(entry.get(name) for name in CANVAS_ROSTER_COLUMNS), score_cell(grade, out_of)]
           for entry, grade in matching.pairs)],
    )


def moodle_csv(matching: Matching, assignment: str, identifier: str, out_of: float | None) -> str:
    """Moodle's CSV grade import: the user field it identifies a student by, and the grade item."""
    return csv_text([identifier, assignment],
                    ([entry.get(identifier), score_cell(grade, out_of)] for entry, grade in matching.pairs))


def report(matching: Matching, identifiers: Sequence[str], output: Path) -> bool:
    """On stderr: what was written, then every student who has no grade in it and why. True if any."""
    ungraded = [(entry, grade) for entry, grade in matching.pairs if grade.score is None]
    say(f"wrote {shown(output)}: {len(matching.pairs)} students, {len(matching.pairs) - len(ungraded)} with a grade")
    listings = [
        ("not graded, so left empty (no grade, not 0)", [
            f"{entry.who()}: {shown(grade.submission)}, {shown(grade.status)}"
            + (f": {shown(grade.reason)[:160]}" if grade.reason else "") for entry, grade in ungraded]),
        ("in grades.csv but on no roster line (not in the file)", [
            shown(grade.submission) + (f" ({shown(grade.status)})" if grade.score is None else "")
            for grade in matching.no_student]),
        ("on the roster without a submission in grades.csv (not in the file)", [
            f"{entry.who()}" + (f": no submission {shown(entry.submission)}" if entry.submission
                                else ": no submission id") for entry in matching.no_submission]),
        ("identifiers that start like a formula, written with a leading ' (the LMS will not match them)", [
            f"{entry.who()}: {name} {shown(entry.get(name))}" for entry, _ in matching.pairs for name in identifiers
            if spreadsheet_text(entry.get(name)) != entry.get(name)]),
    ]
    for title, lines in listings:
        if lines:
            say(f"{len(lines)} {title}:")
            for line in lines:
                print(inert(f"  {line}"), file=sys.stderr)
    return any(lines for _, lines in listings[:3])


def refuse_an_input_as_output(output: Path, inputs: Sequence[Path]) -> None:
    """--output naming the roster or grades.csv would replace what it was made from (even with --force)."""
    for path in inputs:
        if output.resolve() == path.resolve():
            raise UsageError(f"--output {shown(output)} is an input of the export; choose another file")


def already_exists(output: Path) -> UsageError:
    return UsageError(f"{shown(output)} already exists; remove it, choose another --output, or give --force")


def write_output(output: Path, text: str, replace: bool) -> None:
    """Write the file: created exclusively (so a file that appeared meanwhile is never overwritten), or with
    ``replace`` (--force) swapped in atomically."""
    try:
        if replace:
            write_atomically(output, text)
        else:
            with open(output, "x", encoding="utf-8", newline="") as file:
                file.write(text)
    except FileExistsError:
        raise already_exists(output) from None
    except OSError as error:
        raise UsageError(f"could not write {shown(output)}: {error.strerror or error}") from None


def say(text: str) -> None:
    print(inert(f"rnn-grade export: {text}"), file=sys.stderr)
