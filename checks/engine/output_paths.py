"""Where a report may be written: never over an input, and only where it can be written, both decided
before grading starts (a long grade is never thrown away for a path that was wrong from the start).

An input is what grading reads: the submission (its file, its package folder and everything under
it, or, for a file graded with its helpers, the sibling ``.py`` files the worker copies along), the
points table (``--points``, ``--assignment FILE``), the ``--checks-dir`` folders and the course's
``--path`` folders. A report path (``--results``, ``--prairielearn``, ``--junit``, ``--markdown``)
that names an input, or lies inside an input folder, is refused; so is a ``--repro-dir`` or an
``--out`` inside an input folder (their scripts are ``.py`` files: a checks folder would load them
as checks). Paths are
compared resolved, and existing files also by identity (``os.path.samefile``: a hard link), so a
path that does not exist yet is judged by where it would be created.

A report's folder must already exist, be a folder, and take a new file (tried, not guessed from
permission bits: root, read-only mounts and ACLs all answer truthfully that way). rnn-grade
creates no folder for a report path; only ``--out`` and ``--repro-dir`` create theirs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


class OutputPathError(ValueError):
    """A report path that would overwrite an input or cannot be written; the message says what to do."""


@dataclass(frozen=True)
class Input:
    """Something grading reads: a file, or a folder and everything under it."""

    path: Path
    option: str  # how the user named it: "the submission", "--points", "--checks-dir"...


def inputs_of(submissions: Iterable[Path], with_siblings: bool, points: Path | None,
              folders: Mapping[str, Iterable[Path]]) -> list[Input]:
    """Every input of a grade: the submissions, the points table and the folders of each option in ``folders``."""
    found = []
    for submission in submissions:
        found.append(Input(submission, "the submission"))
        if submission.is_file() and with_siblings:  # its helpers: the .py files beside it
            found += [Input(sibling, "a file of the submission") for sibling in submission.parent.glob("*.py")]
    if points is not None:
        found.append(Input(points, "--points"))
    found += [Input(folder, option) for option, paths in folders.items() for folder in paths]
    return found


def refuse_inputs(reports: Mapping[str, Path], inputs: Iterable[Input]) -> None:
    """OutputPathError if any report path ({option: path}) is an input or inside an input folder."""
    inputs = list(inputs)
    for option, path in reports.items():
        for given in inputs:
            if is_or_is_inside(path, given.path):
                raise OutputPathError(f"{option} {path} is {given.option} ({given.path}), which grading reads, "
                                      "and rnn-grade never writes over its input; give a path outside it")


def is_or_is_inside(path: Path, given: Path) -> bool:
    """``path`` is ``given`` (the same file, even by another name) or lies under the folder ``given``."""
    try:
        if path.exists() and given.exists() and os.path.samefile(path, given):
            return True
    except OSError:
        pass
    # realpath, not Path.resolve: a link loop among a student's files must not end grading
    where, folder = Path(os.path.realpath(path)), Path(os.path.realpath(given))
    return where == folder or (folder.is_dir() and folder in where.parents)


def require_writable(option: str, path: Path) -> None:
    """OutputPathError unless ``path`` can be written: its folder exists, is a folder and takes a new file."""
    folder = path.parent
    if path.is_dir():
        raise OutputPathError(f"{option} {path} is a folder; give the path of the file to write")
    if not folder.exists():
        raise OutputPathError(f"{option} {path}: the folder {folder} does not exist; create it first (rnn-grade "
                              "creates no folder for a report)")
    if not folder.is_dir():
        raise OutputPathError(f"{option} {path}: {folder} is not a folder")
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".rnn-grade-probe.", dir=folder)
    except OSError as error:
        raise OutputPathError(f"{option} {path}: cannot write in {folder} ({error.strerror or error}); give a "
                              "path in a folder you can write to") from None
    os.close(descriptor)
    os.unlink(probe)
