"""What to grade: submissions and class folders, each submission with an id unique in the run.

A PATH is a submission (a .py file, or a package folder with ``__init__.py``) or a class folder
(any other folder). In a class folder each .py file directly in it is one submission, graded
alone (its siblings are classmates, not helpers), and each subfolder is one submission: a package,
or a student folder graded through the file named by ``--file``, else its only .py file, else
``rnn_layers.py``; a student folder with none of those is still listed, with the reason, so it
gets a row of zeros rather than vanishing from the class.

Discovery only looks at names and kinds (``lstat``: no link is followed, no file opened but to
tell a reproduction script rnn-grade wrote): what a submission holds is read by
``checks.engine.inputs.intake``, which leaves out links that lead out, special files and what is too big,
each with a sentence the student reads. So nothing in one student's folder stops the class: a link,
a named pipe, a folder named ``old.py`` or a name that is not UTF-8 is that student's row. A member
that is itself a link (``aaron -> ../alice``) is a row of its own with the reason, never the
classmate's work. Folders rnn-grade wrote (an ``--out`` folder, which holds its marker, and a
``--repro-dir`` of scripts) are never taken for submissions.

A submission's id is its path relative to its class folder (``alice``, ``bob/rnn_layers.py``,
``carol.py``), as given, never with links resolved, and shown escaped (``checks.engine.inputs.display.shown``:
one printable line, and two names never show alike); a submission named directly has its file or
folder name. Ids are unique in a run: where two collide, each is prefixed with the name of the folder
it came from, then of that folder's parent, and so on (``a/rnn_layers.py``, ``b/rnn_layers.py``). An
id that would sit where a class's own reports go (a student folder named ``grades.csv``) is prefixed
the same way, so it never takes their place.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Sequence

from checks.engine.inputs.display import shown
from checks.engine.inputs.intake import OUTPUT_MARKER, is_repro_script

DEFAULT_FILE = "rnn_layers.py"
IGNORED_PREFIXES = (".", "_")  # hidden files, __pycache__, __init__-less private helpers
# What a class run writes at the top of --out (checks.engine.course.summary): no submission's id may start so.
CLASS_REPORTS = frozenset({"grades.csv", "checks.csv", "report.html"})
SUFFIX = ".py"


class DiscoveryError(ValueError):
    """A PATH that names nothing gradable; the message says what to pass instead."""


@dataclass(frozen=True)
class Entry:
    """One submission to grade.

    ``path`` is the file or package to import; ``alone`` means its sibling files are classmates
    and must not come along. ``problem``, if set, says why there is nothing to import (the row
    scores 0 with that reason). ``origin`` is the folder ``id`` is relative to.
    """

    id: str
    path: Path
    origin: Path
    alone: bool = False
    problem: str | None = None


def is_class_folder(path: Path) -> bool:
    return path.is_dir() and not (path / "__init__.py").is_file()


def discover(paths: Sequence[Path], file_name: str | None = None) -> list[Entry]:
    """Every submission under ``paths``, in order, with unique ids; DiscoveryError for a bad PATH."""
    entries: list[Entry] = []
    for path in paths:
        found = class_members(path, file_name) if is_class_folder(path) else [direct_submission(path)]
        if not found:
            raise DiscoveryError(f"class folder {shown(path)} holds no submission: no .py file and no subfolder")
        entries += found
    return unique_ids(entries)


def direct_submission(path: Path) -> Entry:
    """A submission named on the command line: a .py file or a package folder."""
    if not path.exists():
        raise DiscoveryError(f"submission {shown(path)}: no such file or folder. Pass your .py file or a folder with "
                             "__init__.py (or a class folder of submissions).")
    if path.suffix == ".ipynb":
        raise DiscoveryError(f"submission {shown(path)} is a notebook. Export it as a .py file (File > Download as > "
                             "Python) and pass that.")
    if path.is_file() and path.suffix != SUFFIX:
        raise DiscoveryError(f"submission {shown(path)} is not a .py file. Pass the Python file that defines your "
                             "functions.")
    return Entry(shown(path.name), path, path.parent)


def class_members(folder: Path, file_name: str | None) -> list[Entry]:
    """The submissions of one class folder, sorted by name."""
    entries = []
    for member in sorted(folder.iterdir()):
        if member.name.startswith(IGNORED_PREFIXES):
            continue
        mode = kind_of(member)
        if stat.S_ISLNK(mode) and (member.suffix == SUFFIX or member.is_dir()):
            entries.append(Entry(shown(member.name), member, folder, problem=
                                 f"{shown(member.name)} is a link, and links are never followed: put your own "
                                 "file or folder there"))
        elif stat.S_ISDIR(mode):
            entries += [] if written_by_rnn_grade(member) else [student_folder(member, folder, file_name)]
        elif member.suffix == SUFFIX:  # a file, or a special file named like one: intake says what it is
            entries.append(Entry(shown(member.name), member, folder, alone=True))
    return entries


def folders_written_by_rnn_grade(paths: Sequence[Path]) -> list[Path]:
    """The folders of the class folders among ``paths`` that discovery passes over as rnn-grade's own
    output. The instructor is told of each: a student could put the marker in their own folder, and
    a folder silently missing from a class is easy to miss."""
    return [member for path in paths if is_class_folder(path) for member in sorted(path.iterdir())
            if not member.name.startswith(IGNORED_PREFIXES) and stat.S_ISDIR(kind_of(member))
            and written_by_rnn_grade(member)]


def kind_of(path: Path) -> int:
    """``path``'s file type, without following a link (0 if it vanished)."""
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0


def written_by_rnn_grade(folder: Path) -> bool:
    """True for an --out folder (it holds the marker) and a --repro-dir (its .py files are all scripts)."""
    if stat.S_ISREG(kind_of(folder / OUTPUT_MARKER)):
        return True
    scripts = python_files(folder)
    return bool(scripts) and all(is_repro_script(folder / name) for name in scripts)


def python_files(folder: Path) -> list[str]:
    """The names of ``folder``'s .py entries that are not folders (links and special files included), sorted."""
    try:
        with os.scandir(folder) as found:
            return sorted(entry.name for entry in found if entry.name.endswith(SUFFIX) and not entry.name.startswith(".")
                          and not stat.S_ISDIR(kind_of(Path(entry.path))))
    except OSError:
        return []


def student_folder(folder: Path, origin: Path, file_name: str | None) -> Entry:
    """A subfolder of a class folder: a package, or the file it is graded through."""
    name = shown(folder.name)
    if present(folder / "__init__.py"):
        return Entry(name, folder, origin)
    chosen = graded_file(folder, file_name)
    if chosen is None:
        wanted = f"--file {shown(file_name)}" if file_name else f"its only .py file, or {DEFAULT_FILE}"
        found = [shown(found) for found in python_files(folder)] or ["no .py file"]
        problem = (f"nothing to grade in {name}/: expected {wanted} (or an __init__.py), "
                   f"found {', '.join(found)}")
        return Entry(name, folder, origin, problem=problem)
    return Entry(f"{name}/{shown(chosen.name)}", chosen, origin)


def present(path: Path) -> bool:
    """True if ``path`` is there and is not a folder (a link or a special file counts: intake judges it)."""
    mode = kind_of(path)
    return mode != 0 and not stat.S_ISDIR(mode)


def graded_file(folder: Path, file_name: str | None) -> Path | None:
    """--file NAME if given (and nothing else), else the folder's only .py file, else rnn_layers.py."""
    if file_name:
        candidate = folder / file_name
        return candidate if present(candidate) else None
    files = python_files(folder)
    if len(files) == 1:
        return folder / files[0]
    default = folder / DEFAULT_FILE
    return default if present(default) else None


def unique_ids(entries: list[Entry]) -> list[Entry]:
    """The entries (each path once, as given), every colliding id prefixed by its origin's names until none
    collide; so is an id that would take the place of a class report."""
    entries = list({os.path.abspath(entry.path): entry for entry in reversed(entries)}.values())[::-1]
    depth = [0] * len(entries)
    while True:
        ids = [prefixed(entry, levels) for entry, levels in zip(entries, depth)]
        clashing = {i for i, id_ in enumerate(ids) if ids.count(id_) > 1 or id_.split("/")[0] in CLASS_REPORTS}
        growable = {i for i in clashing if depth[i] < len(origin_parts(entries[i]))}
        if not growable:
            break
        for i in growable:
            depth[i] += 1
    return [replace(entry, id=id_) for entry, id_ in zip(entries, ids)]


def origin_parts(entry: Entry) -> tuple[str, ...]:
    """The names of the folders above ``entry``'s id, as given (made absolute, links not resolved), shown."""
    return tuple(shown(part) for part in Path(os.path.abspath(entry.origin)).parts[1:])  # without the root "/"


def prefixed(entry: Entry, levels: int) -> str:
    """``entry.id`` under the names of the last ``levels`` folders of its origin."""
    parts = origin_parts(entry)
    return str(PurePosixPath(*parts[len(parts) - levels:], entry.id)) if levels else entry.id
