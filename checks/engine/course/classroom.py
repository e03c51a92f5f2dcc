"""What to grade: submissions and class folders, each submission with an id unique in the run.

A PATH is a submission, a student's folder, or a class folder:

- a .py file, a notebook (``.ipynb``: its code cells' definitions are read as Python,
  ``checks.engine.inputs.notebook``), or a package folder (one with ``__init__.py``), is one submission;
- a **student folder** is a folder that holds the file a student's work is graded through
  directly in it (``--file NAME``, else ``rnn_layers.py``), and no subfolder that holds one (or an
  ``__init__.py``) itself: ``rnn-grade alice/`` grades alice as one submission through that file,
  and its other .py files (``utils.py``) are helpers it may import, never submissions of their own;
- any other folder is a **class folder**.

So a class folder is told from a student folder by where the graded file sits: a class of student
folders holds it one level down (``alice/rnn_layers.py``), a student folder holds it directly. A
class folder of loose files (``alice.py``, ``bob.py``) holds none named so; to grade a loose
``rnn_layers.py`` in a class folder as a classmate rather than take the folder for a student's,
name the files instead (``rnn-grade class/*.py --out OUT``).

In a class folder each .py file and each notebook directly in it is one submission, graded alone
(its siblings are classmates, not helpers), and each subfolder is one submission: a package, or a
student folder graded through the file named by ``--file``, else its only .py file (when it holds no
notebook), else ``rnn_layers.py``, else, when it holds no .py file, its only package (a course's
package handed in whole: ``alice/cs231n/``), else its only notebook, whose .py files are then its
helpers (a course's ``rnn_utils.py`` beside it; a ``rnn.py`` exported from it too); a student folder
with none of those is still listed, with the reason, so it gets a row of zeros rather than vanishing
from the class.

Discovery only looks at names and kinds (``lstat``: no link is followed, no file opened but to
tell a reproduction script rnn-grade wrote): what a submission holds is read by
``checks.engine.inputs.intake``, which leaves out links that lead out, special files and what is too big,
each with a sentence the student reads. So nothing in one student's folder stops the class: a link,
a named pipe, a folder named ``old.py`` or a name that is not UTF-8 is that student's row. A member
that is itself a link (``aaron -> ../alice``) is a row of its own with the reason, never the
classmate's work. Folders rnn-grade wrote (an ``--out`` folder, which holds its marker, and a
``--repro-dir`` of scripts) are never taken for submissions.

A submission's id names the student, and its reports go in ``OUT/<id>/``: a student folder or a
package has its folder's name (``alice``), a .py file its name without ``.py`` (``carol.py`` is
``carol``), as given, never with links resolved, and shown escaped (``checks.engine.inputs.display.shown``:
one printable line, and two names never show alike). Ids are unique in a run, compared as a
case-insensitive file system would (``Alice`` and ``alice`` would share a folder on macOS), and
deterministically, by these rules in turn:

1. two submissions of one folder whose ids collide (``carol/`` and ``carol.py``): each takes its
   whole name (``carol``, ``carol.py``); names still alike (``Carol.py`` and ``carol.py``) are
   numbered as in rule 3, within the folder;
2. submissions from different folders: each is prefixed with the name of the folder it came from,
   then of that folder's parent, and so on (``section1/alice``, ``section2/alice``);
3. any that still collide: the second and later, in discovery order, get ``~2``, ``~3``, ...

An id that would sit where a class's own files go (a student folder named ``grades.csv``, or a
name starting with a dot) is prefixed the same way, so it never takes their place.
"""

from __future__ import annotations

import os
import stat
import unicodedata
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
NOTEBOOK_SUFFIX = ".ipynb"


class DiscoveryError(ValueError):
    """A PATH that names nothing gradable; the message says what to pass instead."""


@dataclass(frozen=True)
class Entry:
    """One submission to grade.

    ``path`` is the file or package to import; ``alone`` means its sibling files are classmates
    and must not come along. ``problem``, if set, says why there is nothing to import (the row
    scores 0 with that reason). ``origin`` is the folder ``id`` is relative to; ``name`` is the
    escaped name of the file or folder it was found as (``carol.py``), which an id falls back on
    when a sibling's name collides with it.
    """

    id: str
    path: Path
    origin: Path
    alone: bool = False
    problem: str | None = None
    name: str = ""


def is_class_folder(path: Path) -> bool:
    """A folder named on the command line without ``__init__.py``: a class folder or a student folder,
    graded as a class either way (``discover`` tells the two apart)."""
    return path.is_dir() and not (path / "__init__.py").is_file()


def discover(paths: Sequence[Path], file_name: str | None = None) -> list[Entry]:
    """Every submission under ``paths``, in order, with unique ids; DiscoveryError for a bad PATH."""
    entries: list[Entry] = []
    for path in paths:
        if not is_class_folder(path):
            found = [direct_submission(path)]
        elif is_student_folder(path, file_name):
            found = [student_folder(path, Path(os.path.abspath(path)).parent, file_name)]
        else:
            found = class_members(path, file_name)
        if not found:
            raise DiscoveryError(f"class folder {shown(path)} holds no submission: no .py file, no notebook and "
                                 "no subfolder")
        entries += found
    return unique_ids(entries)


def is_student_folder(folder: Path, file_name: str | None) -> bool:
    """True if ``folder`` holds its graded file directly and no subfolder holds one (or is a package)."""
    graded = file_name or DEFAULT_FILE
    if not present(folder / graded):
        return False
    return not any(present(member / graded) or present(member / "__init__.py") for member in subfolders(folder))


def subfolders(folder: Path) -> list[Path]:
    """``folder``'s real subfolders that could be a student's (not hidden, not links, not rnn-grade's)."""
    return [member for member in sorted(folder.iterdir()) if not member.name.startswith(IGNORED_PREFIXES)
            and stat.S_ISDIR(kind_of(member)) and not written_by_rnn_grade(member)]


def direct_submission(path: Path) -> Entry:
    """A submission named on the command line: a .py file, a notebook or a package folder."""
    if not path.exists():
        raise DiscoveryError(f"submission {shown(path)}: no such file or folder. Pass your .py file or a folder with "
                             "__init__.py (or a class folder of submissions).")
    if path.is_file() and path.suffix not in (SUFFIX, NOTEBOOK_SUFFIX):
        raise DiscoveryError(f"submission {shown(path)} is not a .py file or a notebook. Pass the Python file or the "
                             "notebook (.ipynb) that defines your functions.")
    absolute = Path(os.path.abspath(path))  # "." names its folder
    return Entry(student_id(absolute.name), path, absolute.parent, name=shown(absolute.name))


def student_id(name: str) -> str:
    """The id a file or folder called ``name`` gives its student: the name without ``.py`` or ``.ipynb``, escaped."""
    for suffix in (SUFFIX, NOTEBOOK_SUFFIX):
        if name.endswith(suffix) and len(name) > len(suffix):
            return shown(name[: -len(suffix)])
    return shown(name)


def class_members(folder: Path, file_name: str | None) -> list[Entry]:
    """The submissions of one class folder, sorted by name."""
    entries = []
    for member in sorted(folder.iterdir()):
        if member.name.startswith(IGNORED_PREFIXES):
            continue
        mode = kind_of(member)
        if stat.S_ISLNK(mode) and (member.suffix == SUFFIX or member.is_dir()):
            entries.append(Entry(student_id(member.name), member, folder, name=shown(member.name), problem=
                                 f"{shown(member.name)} is a link, and links are never followed: put your own "
                                 "file or folder there"))
        elif stat.S_ISDIR(mode):
            entries += [] if written_by_rnn_grade(member) else [student_folder(member, folder, file_name)]
        elif member.suffix in (SUFFIX, NOTEBOOK_SUFFIX):  # a file, or a special file named like one: intake says
            entries.append(Entry(student_id(member.name), member, folder, alone=True, name=shown(member.name)))
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


def python_files(folder: Path, suffix: str = SUFFIX) -> list[str]:
    """The names of ``folder``'s .py entries (or ``suffix``'s) that are not folders (links and special files
    included), sorted."""
    try:
        with os.scandir(folder) as found:
            return sorted(entry.name for entry in found if entry.name.endswith(suffix)
                          and not entry.name.startswith(".") and not stat.S_ISDIR(kind_of(Path(entry.path))))
    except OSError:
        return []


def student_folder(folder: Path, origin: Path, file_name: str | None) -> Entry:
    """A student's folder: a package, or the file it is graded through; its id is the folder's name."""
    name = shown(Path(os.path.abspath(folder)).name)  # "." names its folder
    if present(folder / "__init__.py"):
        return Entry(name, folder, origin, name=name)
    chosen = graded_file(folder, file_name) or only_package(folder) or only_notebook(folder, file_name)
    if chosen is None:
        wanted = f"--file {shown(file_name)}" if file_name else \
            f"its only .py file, or {DEFAULT_FILE}, or its only notebook"
        found = [shown(found) for found in python_files(folder)] or ["no .py file"]
        problem = (f"nothing to grade in {name}/: expected {wanted} (or an __init__.py), "
                   f"found {', '.join(found)}")
        return Entry(name, folder, origin, problem=problem, name=name)
    return Entry(name, chosen, origin, name=name)


def only_package(folder: Path) -> Path | None:
    """The one package folder (a subfolder with ``__init__.py``) of a student's folder that holds no .py file:
    a course's package handed in whole, as ``alice/cs231n/`` (``--assignment cs231n``)."""
    if python_files(folder):
        return None
    packages = [member for member in subfolders(folder) if present(member / "__init__.py")]
    return packages[0] if len(packages) == 1 else None


def only_notebook(folder: Path, file_name: str | None) -> Path | None:
    """The one notebook of a student's folder (its .py files are its helpers), unless --file names the file."""
    notebooks = python_files(folder, NOTEBOOK_SUFFIX)
    return folder / notebooks[0] if len(notebooks) == 1 and not file_name else None


def present(path: Path) -> bool:
    """True if ``path`` is there and is not a folder (a link or a special file counts: intake judges it)."""
    mode = kind_of(path)
    return mode != 0 and not stat.S_ISDIR(mode)


def graded_file(folder: Path, file_name: str | None) -> Path | None:
    """--file NAME if given (and nothing else), else the folder's only .py file if it holds no notebook, else
    rnn_layers.py."""
    if file_name:
        candidate = folder / file_name
        return candidate if present(candidate) else None
    files = python_files(folder)
    if len(files) == 1 and not python_files(folder, NOTEBOOK_SUFFIX):
        return folder / files[0]
    default = folder / DEFAULT_FILE
    return default if present(default) else None


# -- ids ----------------------------------------------------------------------------------------------


def unique_ids(entries: list[Entry]) -> list[Entry]:
    """The entries (each path once, as given) with ids made unique by the module docstring's three rules."""
    entries = list({os.path.abspath(entry.path): entry for entry in reversed(entries)}.values())[::-1]
    entries = siblings_told_apart(entries)
    depth = [0] * len(entries)
    while True:
        ids = [prefixed(entry, levels) for entry, levels in zip(entries, depth)]
        clashing = set(clashes(ids))
        growable = {i for i in clashing if depth[i] < len(origin_parts(entries[i]))}
        if not growable:
            break
        for i in growable:
            depth[i] += 1
    return [replace(entry, id=id_) for entry, id_ in zip(entries, numbered(ids))]


def folder_key(id_: str) -> str:
    """What ``id_`` is as a folder name on any file system: case and Unicode normal form set aside."""
    return unicodedata.normalize("NFC", id_).casefold()


def clashes(ids: Sequence[str]) -> list[int]:
    """The positions of ids that share a folder with another, or would sit where a class's own files go."""
    counts: dict[str, int] = {}
    for id_ in ids:
        counts[folder_key(id_)] = counts.get(folder_key(id_), 0) + 1
    return [i for i, id_ in enumerate(ids) if counts[folder_key(id_)] > 1 or reserved(id_)]


def reserved(id_: str) -> bool:
    """True for an id whose folder would be one of the class's files (grades.csv, the hidden marker...)."""
    first = id_.split("/")[0]
    return folder_key(first) in CLASS_REPORTS or first.startswith(".")


def siblings_told_apart(entries: list[Entry]) -> list[Entry]:
    """Rule 1: submissions of one folder whose ids collide take their whole names (a file keeps its .py);
    any still alike (in case only) are numbered within their folder."""
    keys = [(os.path.abspath(entry.origin), folder_key(entry.id)) for entry in entries]
    entries = [replace(entry, id=entry.name) if entry.name and keys.count(key) > 1 else entry
               for entry, key in zip(entries, keys)]
    by_folder: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        by_folder.setdefault(os.path.abspath(entry.origin), []).append(i)
    for positions in by_folder.values():
        ids = numbered([entries[i].id for i in positions], keep_reserved=True)
        for i, id_ in zip(positions, ids):
            entries[i] = replace(entries[i], id=id_)
    return entries


def numbered(ids: list[str], keep_reserved: bool = False) -> list[str]:
    """Rule 3: every id shared by an earlier one (or, unless ``keep_reserved``, a reserved one) gets the
    first free ``~2``, ``~3``, ... in order: deterministic."""
    taken = {folder_key(id_) for id_ in ids}
    seen: set[str] = set()
    result = []
    for id_ in ids:
        if folder_key(id_) in seen or (reserved(id_) and not keep_reserved):
            number = 2
            while folder_key(f"{id_}~{number}") in taken:
                number += 1
            id_ = f"{id_}~{number}"
            taken.add(folder_key(id_))
        seen.add(folder_key(id_))
        result.append(id_)
    return result


def origin_parts(entry: Entry) -> tuple[str, ...]:
    """The names of the folders above ``entry``'s id, as given (made absolute, links not resolved), shown."""
    return tuple(shown(part) for part in Path(os.path.abspath(entry.origin)).parts[1:])  # without the root "/"


def prefixed(entry: Entry, levels: int) -> str:
    """``entry.id`` under the names of the last ``levels`` folders of its origin."""
    parts = origin_parts(entry)
    return str(PurePosixPath(*parts[len(parts) - levels:], entry.id)) if levels else entry.id
