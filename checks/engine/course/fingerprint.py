"""A submission's fingerprint: what its grade depends on, hashed, so a re-run can skip it.

The grade of a submission is a function of the files the worker gets, as ``checks.engine.inputs.intake``
reads them (the same code path, limits and left-out files as the scratch copy)
and of the settings that change grades: the checks (their code and points), the profile, the
seed, the time and memory limits, the course folders (``--path``, contents included), the allowed
packages, and the grader's version. Two runs with the same fingerprint give the same grade, so
class grading (``checks.engine.course.batch``) regrades only what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from checks.engine.course.classroom import Entry
from checks.engine.inputs.intake import SubmissionUnreadable, read_submission

if TYPE_CHECKING:
    from checks.engine.course.settings import GradingSettings

DISTRIBUTION = "rnn-grade"
# What a submission's folder in --out holds and where: 2 since ids name students (OUT/alice/, with
# feedback pages and the statuses of empty and unreadable files). A report of another layout is
# never up to date, so an --out folder of an earlier layout is graded again, never half-skipped.
OUT_LAYOUT = 2


def fingerprint(entry: Entry, settings: GradingSettings) -> str:
    """A hex digest of ``entry``'s files and of the settings that decide its grade."""
    digest = hashlib.sha256()
    digest.update(json.dumps(settings_that_grade(settings), sort_keys=True).encode())
    digest.update(json.dumps({"problem": entry.problem, "alone": entry.alone}).encode())
    if entry.problem is None:
        add_submission(digest, entry)
    return digest.hexdigest()


def add_submission(digest: "hashlib._Hash", entry: Entry) -> None:
    """Feed what the worker would get of ``entry``: its files' names and bytes, and what was left out."""
    try:
        snapshot = read_submission(entry.path, with_siblings=not entry.alone)
    except SubmissionUnreadable as error:
        digest.update(f"unreadable: {error}".encode())
        return
    digest.update(json.dumps({"package": snapshot.package, "folders": snapshot.folders,
                              "left_out": snapshot.left_out}).encode())
    for name, content in snapshot.files:
        encoded = os.fsencode(name)
        digest.update(len(encoded).to_bytes(8, "big") + encoded + len(content).to_bytes(8, "big") + content)


def settings_that_grade(settings: GradingSettings) -> dict:
    """Everything of ``settings`` a grade depends on, as plain data (not where reports go, nor how fast)."""
    options = settings.worker_options
    check_files = sorted({check.file for check in settings.checks if check.file})
    return {
        "version": grader_version(),
        "out_layout": OUT_LAYOUT,
        "checks": [[check.group, check.name, check.points, check.examples, list(check.needs), check.extra_credit]
                   for check in settings.checks],
        "check_code": {name: file_digest(Path(name)) for name in check_files},
        "profile": settings.profile,
        "seed": settings.seed,
        "deadline": settings.deadline,
        "call_timeout": options.call_timeout,
        "memory_limit": options.memory_limit,
        "allowed_packages": list(options.allowed_packages),
        "paths": [folder_digest(Path(folder)) for folder in options.import_paths],
    }


def grader_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


def folder_digest(folder: Path) -> str:
    """A digest of a course folder's files, names and contents."""
    digest = hashlib.sha256()
    add_files(digest, folder, sorted(path for path in folder.rglob("*")
                                     if path.is_file() and "__pycache__" not in path.parts))
    return digest.hexdigest()


def add_files(digest: "hashlib._Hash", root: Path, files: Iterable[Path]) -> None:
    """Feed each file's name relative to ``root`` and its contents, length-prefixed (no ambiguity)."""
    for path in files:
        name = str(path.relative_to(root)).encode()
        content = path.read_bytes()
        digest.update(len(name).to_bytes(8, "big") + name + len(content).to_bytes(8, "big") + content)


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"
