"""What to grade: submissions and class folders, each submission with an id unique in the run.

A PATH is a submission (a .py file, or a package folder with ``__init__.py``) or a class folder
(any other folder). In a class folder each .py file directly in it is one submission, graded
alone (its siblings are classmates, not helpers), and each subfolder is one submission: a package,
or a student folder graded through the file named by ``--file``, else its only .py file, else
``rnn_layers.py``; a student folder with none of those is still listed, with the reason, so it
gets a row of zeros rather than vanishing from the class.

A submission's id is its path relative to its class folder (``alice``, ``bob/rnn_layers.py``,
``carol.py``); a submission named directly has its file or folder name. Ids are unique in a run:
where two collide, each is prefixed with the name of the folder it came from, then of that
folder's parent, and so on (``a/rnn_layers.py``, ``b/rnn_layers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Sequence

DEFAULT_FILE = "rnn_layers.py"
IGNORED_PREFIXES = (".", "_")  # hidden files, __pycache__, __init__-less private helpers


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
            raise DiscoveryError(f"class folder {path} holds no submission: no .py file and no subfolder")
        entries += found
    return unique_ids(entries)


def direct_submission(path: Path) -> Entry:
    """A submission named on the command line: a .py file or a package folder."""
    if not path.exists():
        raise DiscoveryError(f"submission {path}: no such file or folder. Pass your .py file or a folder with "
                             "__init__.py (or a class folder of submissions).")
    if path.suffix == ".ipynb":
        raise DiscoveryError(f"submission {path} is a notebook. Export it as a .py file (File > Download as > "
                             "Python) and pass that.")
    if path.is_file() and path.suffix != ".py":
        raise DiscoveryError(f"submission {path} is not a .py file. Pass the Python file that defines your functions.")
    return Entry(path.name, path, path.parent)


def class_members(folder: Path, file_name: str | None) -> list[Entry]:
    """The submissions of one class folder, sorted by name."""
    entries = []
    for member in sorted(folder.iterdir()):
        if member.name.startswith(IGNORED_PREFIXES):
            continue
        if member.is_file() and member.suffix == ".py":
            entries.append(Entry(member.name, member, folder, alone=True))
        elif member.is_dir():
            entries.append(student_folder(member, folder, file_name))
    return entries


def student_folder(folder: Path, origin: Path, file_name: str | None) -> Entry:
    """A subfolder of a class folder: a package, or the file it is graded through."""
    if (folder / "__init__.py").is_file():
        return Entry(folder.name, folder, origin)
    chosen = graded_file(folder, file_name)
    if chosen is None:
        wanted = f"--file {file_name}" if file_name else f"its only .py file, or {DEFAULT_FILE}"
        found = sorted(p.name for p in folder.glob("*.py")) or ["no .py file"]
        problem = (f"nothing to grade in {folder.name}/: expected {wanted} (or an __init__.py), "
                   f"found {', '.join(found)}")
        return Entry(folder.name, folder, origin, problem=problem)
    return Entry(f"{folder.name}/{chosen.name}", chosen, origin)


def graded_file(folder: Path, file_name: str | None) -> Path | None:
    """--file NAME if given (and nothing else), else the folder's only .py file, else rnn_layers.py."""
    if file_name:
        candidate = folder / file_name
        return candidate if candidate.is_file() else None
    files = [p for p in folder.glob("*.py") if p.is_file()]
    if len(files) == 1:
        return files[0]
    default = folder / DEFAULT_FILE
    return default if default.is_file() else None


def unique_ids(entries: list[Entry]) -> list[Entry]:
    """The entries (each path once), every colliding id prefixed by its origin's names until none collide."""
    entries = list({entry.path.resolve(): entry for entry in reversed(entries)}.values())[::-1]
    depth = [0] * len(entries)
    while True:
        ids = [prefixed(entry, levels) for entry, levels in zip(entries, depth)]
        colliding = {i for i, id_ in enumerate(ids) if ids.count(id_) > 1}
        growable = {i for i in colliding if depth[i] < len(entries[i].origin.resolve().parts) - 1}
        if not growable:
            break
        for i in growable:
            depth[i] += 1
    return [replace(entry, id=id_) for entry, id_ in zip(entries, ids)]


def prefixed(entry: Entry, levels: int) -> str:
    """``entry.id`` under the names of the last ``levels`` folders of its origin."""
    parts = entry.origin.resolve().parts[1:]  # without the root "/"
    return str(PurePosixPath(*parts[len(parts) - levels:], entry.id)) if levels else entry.id
