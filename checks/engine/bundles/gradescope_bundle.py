"""``rnn-grade bundle gradescope --out autograder.zip``: Gradescope's autograder, ready to upload.

The zip holds, at its root, ``setup.sh`` and ``run_autograder`` (templates/gradescope/), a wheel of
the whole grader, reference included, and the course's points file and checks folders under
``course/``; ``rnn-grade-options`` records, one argument per line, the options run_autograder
passes to rnn-grade, and ``rnn-grade-extras`` the grader's extras setup.sh installs with it (``torch``,
for an assignment whose table's ``[course]`` requires it). On Gradescope, setup.sh installs the wheel into /autograder/venv and makes
the reference and the zip's contents unreadable to other users (the worker grades student code as
``nobody``); run_autograder grades the file in /autograder/submission and writes
/autograder/results/results.json.

The wheel is built by ``pip wheel`` from a copy of the grader's source repository, which the
templates also come from: ``bundle gradescope`` runs from a checkout (``pip install -e .``), as the
course's staff have it, not from an installed wheel. The course's checks and points are loaded
before anything is written, so a broken check is found here rather than on Gradescope.
"""

from __future__ import annotations

import argparse
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import checks
from checks.registry import ASSIGNMENTS_FOLDER, read_points
from checks.engine.inputs.usage import UsageError
from checks.engine.run.assignments import INSTALL, assignment_table, resolve_checks
from checks.engine.bundles.student_package import pip_wheel

REPOSITORY = Path(checks.__file__).resolve().parents[1]
TEMPLATES = REPOSITORY / "templates" / "gradescope"
SCRIPTS = ("setup.sh", "run_autograder")
PROJECT = ("pyproject.toml", "README.md", "checks", "reference")  # what pip needs to build the grader
OPTIONS_FILE = "rnn-grade-options"
EXTRAS_FILE = "rnn-grade-extras"
COURSE = "course"  # the zip's folder for the course's points file and checks
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed date: the same inputs give the same members


@dataclass(frozen=True)
class Course:
    """What the course adds to the built-in grader: its points table and its own checks."""

    points: Path | None = None
    assignment: str | None = None
    checks_dirs: tuple[Path, ...] = ()
    builtin: bool = True


def main(argv: Sequence[str]) -> int:
    """``rnn-grade bundle gradescope --out FILE [--points FILE | --assignment NAME] [--checks-dir DIR]...``."""
    parser = argparse.ArgumentParser(
        prog="rnn-grade bundle gradescope",
        description="Build Gradescope's autograder zip: setup.sh, run_autograder, the grader and the course's checks.")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="the zip to write (never overwritten)")
    table = parser.add_mutually_exclusive_group()
    table.add_argument("--points", type=Path, metavar="FILE", help="the course's points table, copied into the zip")
    table.add_argument("--assignment", metavar="NAME", help="a shipped assignment profile, or a points file")
    parser.add_argument("--checks-dir", type=Path, action="append", default=[], dest="checks_dirs", metavar="DIR",
                        help="a folder of the course's own checks, copied into the zip (repeatable)")
    parser.add_argument("--no-builtin-checks", action="store_false", dest="builtin",
                        help="grade with the --checks-dir checks only")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad options, 0 after --help
        return int(exit_.code or 0)
    course = Course(args.points, args.assignment, tuple(args.checks_dirs), args.builtin)
    zip_path = build(args.out, course)
    print(f"rnn-grade: wrote {zip_path}\nUpload it as the assignment's autograder on Gradescope "
          f"(base image: Ubuntu 24.04, for Python 3.11 or newer).")
    return 0


def build(out: Path, course: Course) -> Path:
    """Write the autograder zip to ``out`` and return it; an existing ``out`` is a UsageError."""
    refuse_existing(out)
    members, options = course_members(course)
    extras = grader_extras(course)
    require_repository()
    with tempfile.TemporaryDirectory(prefix="rnn-grade-gradescope-") as temporary:
        wheel = grader_wheel(Path(temporary))
        members |= {name: TEMPLATES / name for name in SCRIPTS} | {wheel.name: wheel}
        partial = Path(temporary, "autograder.zip")
        write_zip(partial, members, {OPTIONS_FILE: "".join(f"{option}\n" for option in options),
                                     EXTRAS_FILE: "".join(f"{extra}\n" for extra in extras)})
        try:  # "x": created here, so a file that appeared while pip ran is not overwritten either
            with open(out, "xb") as target, open(partial, "rb") as built:
                shutil.copyfileobj(built, target)
        except FileExistsError:
            raise already_exists(out) from None
    return out


def refuse_existing(out: Path) -> None:
    if out.exists():
        raise already_exists(out)
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: no folder {out.parent}")


def already_exists(out: Path) -> UsageError:
    return UsageError(f"{out} already exists; remove it or choose another --out")


def course_members(course: Course) -> tuple[dict[str, Path], list[str]]:
    """The course's files ({name in the zip: file}) and the options naming them, once they load."""
    table = assignment_table(course.points, course.assignment)
    resolve_checks(course.checks_dirs, table, course.builtin)  # raises UsageError, naming file and line
    members: dict[str, Path] = {}
    options: list[str] = []
    if course.assignment is not None and table == ASSIGNMENTS_FOLDER / f"{course.assignment}.toml":
        options += ["--assignment", course.assignment]  # shipped: the wheel holds it
    elif table is not None:
        members[f"{COURSE}/points.toml"] = table
        options += ["--points", f"{COURSE}/points.toml"]
    for folder in course.checks_dirs:
        name = f"{COURSE}/checks/{folder.resolve().name}"
        if any(member.startswith(name + "/") for member in members):
            raise UsageError(f"two --checks-dir folders are named {folder.name}; rename one")
        members |= {f"{name}/{file.relative_to(folder).as_posix()}": file for file in course_files(folder)}
        options += ["--checks-dir", name]
    if not course.builtin:
        options.append("--no-builtin-checks")
    return members, options


def grader_extras(course: Course) -> tuple[str, ...]:
    """The grader's extras the assignment needs (``torch``): the packages its table's ``[course]`` requires that
    an extra of rnn-grade installs. Read from the table, not imported: torch need not be installed where the zip
    is built."""
    table = assignment_table(course.points, course.assignment)
    requires = read_points(table).course.requires if table is not None else ()
    return tuple(name for name in requires if name in INSTALL)


def course_files(folder: Path) -> list[Path]:
    return sorted(file for file in folder.rglob("*") if file.is_file() and "__pycache__" not in file.parts)


def require_repository() -> None:
    if not all((REPOSITORY / name).exists() for name in PROJECT) or not TEMPLATES.is_dir():
        raise UsageError(f"bundle gradescope builds the grader from its source repository, which is not at "
                         f"{REPOSITORY}: run it from a checkout installed with pip install -e .")


def grader_wheel(temporary: Path) -> Path:
    """A wheel of the whole grader, built from a copy of the repository (pip leaves build/ behind)."""
    project = temporary / "project"
    for name in PROJECT:
        source = REPOSITORY / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            project.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name)
    return pip_wheel(project, temporary / "wheel", package="the grader's wheel")


def write_zip(path: Path, members: dict[str, Path], texts: dict[str, str]) -> None:
    """The zip, members in name order, then the ``texts`` written here; the scripts executable (Gradescope
    runs them as they are)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            archive.writestr(member_info(name), members[name].read_bytes())
        for name, text in texts.items():
            archive.writestr(member_info(name), text)


def member_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    mode = 0o755 if name in SCRIPTS else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
