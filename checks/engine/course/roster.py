"""The roster of ``rnn-grade export``: which LMS user each submission id belongs to.

A roster is a CSV file with a header row and one row per student. Its columns (names are matched
without regard to case, spaces or hyphens, and the LMS's own header names are accepted, so a
gradebook exported from Canvas with a ``submission`` column added is a roster):

============== ============================ =====================================================
column         also accepted                what it holds
============== ============================ =====================================================
submission                                  the submission's id: its row in ``grades.csv``
name           Student                      Canvas's ``Student`` column (e.g. ``Lovelace, Ada``)
canvas_id      ID                           the Canvas user ID
sis_user_id    SIS User ID                  the student's SIS user ID in Canvas
sis_login_id   SIS Login ID                 the student's login in Canvas
section        Section                      the Canvas section
email          Email address                the Moodle user's email address
username                                    the Moodle username
idnumber       ID number                    the Moodle user's ID number
============== ============================ =====================================================

``submission`` is always required. Canvas needs, on every row, one of ``canvas_id``,
``sis_user_id`` or ``sis_login_id`` (the importer finds the student by them); Moodle needs the
identifier chosen with ``--moodle-user`` on every row. A row with an empty ``submission`` is a student
with no submission id yet: listed by the export as on the roster without a submission, never an
error. Canvas's own ``Points Possible`` line (in a gradebook export) is not a student and is skipped.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from checks.engine.inputs.display import shown
from checks.engine.inputs.usage import UsageError

SUBMISSION = "submission"
CANVAS_IDENTIFIERS = ("canvas_id", "sis_user_id", "sis_login_id")
MOODLE_IDENTIFIERS = ("email", "username", "idnumber")
COLUMNS = (SUBMISSION, "name", *CANVAS_IDENTIFIERS, "section", *MOODLE_IDENTIFIERS)
# The LMSs' own header names (Canvas's gradebook export, Moodle's participants and grade exports).
ALIASES = {"student": "name", "id": "canvas_id", "email_address": "email", "id_number": "idnumber"}
POINTS_POSSIBLE = "Points Possible"  # Canvas's second line in its gradebook export: not a student


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster: the line it is on (for messages) and its cells, by column name."""

    line: int
    cells: Mapping[str, str]

    @property
    def submission(self) -> str:
        return self.cells.get(SUBMISSION, "")

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def who(self) -> str:
        """The student as the instructor knows them: their name or first identifier, and the roster line."""
        known = next((self.get(column) for column in ("name", *CANVAS_IDENTIFIERS, *MOODLE_IDENTIFIERS)
                      if self.get(column)), "")
        return f"{shown(known) or '(no name)'} (roster line {self.line})"


def column_name(header: str) -> str:
    """A header cell as a roster column: ``SIS User ID`` -> ``sis_user_id``, ``Student`` -> ``name``."""
    name = "_".join(header.strip().lower().replace("-", " ").split())
    return ALIASES.get(name, name)


def read_roster(path: Path) -> list[RosterEntry]:
    """The students of the roster at ``path``, in its order; a UsageError says what is wrong with it."""
    rows = csv_rows(path, "--roster")
    if not rows:
        raise UsageError(f"--roster {shown(path)} is empty: it needs a header row with a '{SUBMISSION}' column")
    header = [column_name(cell) for cell in rows[0]]
    if SUBMISSION not in header:
        found = ", ".join(shown(cell) for cell in rows[0]) or "none"
        raise UsageError(f"--roster {shown(path)} has no '{SUBMISSION}' column (its columns: {found}); add one "
                         "holding each student's submission id, as grades.csv names it")
    repeated = sorted({name for name in header if name in COLUMNS and header.count(name) > 1})
    if repeated:
        raise UsageError(f"--roster {shown(path)} has the column {', '.join(repeated)} twice; keep one")
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        cells = {name: cell.strip() for name, cell in zip(header, row) if name in COLUMNS}
        if not any(cells.values()) or is_points_possible(cells):
            continue
        entries.append(RosterEntry(number, cells))
    refuse_repeated_submissions(entries, path)
    return entries


def csv_rows(path: Path, option: str) -> list[list[str]]:
    """The rows of the CSV file at ``path`` (UTF-8, with or without the byte-order mark Excel adds)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            return list(csv.reader(file))
    except FileNotFoundError:
        raise UsageError(f"{option} {shown(path)}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{option} {shown(path)} is a folder; give the CSV file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{option} {shown(path)} is not UTF-8 text; save it as CSV UTF-8") from None
    except csv.Error as error:
        raise UsageError(f"{option} {shown(path)} is not a readable CSV file: {error}") from None
    except OSError as error:
        raise UsageError(f"{option} {shown(path)}: {error.strerror or error}") from None


def is_points_possible(cells: Mapping[str, str]) -> bool:
    return cells.get("name", "") == POINTS_POSSIBLE and not cells.get(SUBMISSION)


def refuse_repeated_submissions(entries: list[RosterEntry], path: Path) -> None:
    """Two students with one submission id: whose grade it is cannot be told."""
    lines: dict[str, list[int]] = {}
    for entry in entries:
        if entry.submission:
            lines.setdefault(entry.submission, []).append(entry.line)
    repeated = [f"{shown(submission)} (lines {', '.join(map(str, at))})" for submission, at in lines.items()
                if len(at) > 1]
    if repeated:
        raise UsageError(f"--roster {shown(path)} gives one submission id to several students: "
                         f"{'; '.join(repeated)}; each submission belongs to one student")


def require_identifiers(entries: list[RosterEntry], identifiers: tuple[str, ...], lms: str, path: Path) -> None:
    """Every student with a submission has one of ``identifiers`` (the LMS finds its user by them), and no
    identifier names two students; else a UsageError naming the lines."""
    missing = [entry.line for entry in entries if entry.submission and not any(entry.get(i) for i in identifiers)]
    wanted = " or ".join(f"'{identifier}'" for identifier in identifiers)
    if missing:
        raise UsageError(f"--roster {shown(path)}: {lms} finds a student by {wanted}, and the line(s) "
                         f"{', '.join(map(str, missing[:20]))}{' ...' if len(missing) > 20 else ''} have none; "
                         "fill them in (the LMS's gradebook or participants export has them)")
    for identifier in identifiers:
        seen: dict[str, int] = {}
        for entry in entries:
            value = entry.get(identifier)
            if entry.submission and value:
                if value in seen:
                    raise UsageError(f"--roster {shown(path)}: lines {seen[value]} and {entry.line} have the same "
                                     f"{identifier} {shown(value)}; each student must have their own")
                seen[value] = entry.line
