"""The worker's surroundings: a private scratch folder, a copy of the submission, and (as root) a
drop to an unprivileged user.

The worker never sees the grader's working directory, report path or environment. It runs in a
fresh scratch folder that holds a copy of the submission (so it cannot edit the original) and of
any course folders passed with ``--path``. When grading runs as root, the worker runs as user
``nobody``: the harness's files and the report's folder are then not writable from submission
code. That needs the Python interpreter, its libraries and this package to be readable by other
users; where they are not (a pyenv under a private /root, say), the worker stays root and the
report says so, rather than failing to grade.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy

import checks

UNPRIVILEGED_USER = "nobody"
REFERENCE = Path(checks.__file__).resolve().parent.parent / "reference"


@dataclass(frozen=True)
class Scratch:
    """A prepared scratch folder: where the worker runs, and the paths it imports from."""

    folder: Path
    submission: Path
    import_paths: tuple[str, ...]
    user: tuple[int, int] | None  # (uid, gid) to run as, or None to keep the grader's
    note: str  # one line for the report: who the worker ran as, and why


def prepare_scratch(submission: Path, import_paths: tuple[str, ...]) -> Scratch:
    """Make a scratch folder with copies of the submission and course folders, owned by the worker's user."""
    folder = Path(tempfile.mkdtemp(prefix="rnn-grade-worker-"))
    copied = copy_into(submission, folder / "submission")
    paths = tuple(str(copy_into(Path(p), folder / f"path{i}")) for i, p in enumerate(import_paths))
    user, note = worker_user()
    if user:
        chown_tree(folder, *user)
    return Scratch(folder, copied, paths, user, note)


def copy_into(source: Path, destination: Path) -> Path:
    """Copy a package folder whole, or a file with its sibling .py files (a student's helpers)."""
    destination.mkdir(parents=True)
    if source.is_dir():
        return Path(shutil.copytree(source, destination / source.name, ignore=shutil.ignore_patterns("__pycache__")))
    for sibling in source.parent.glob("*.py"):
        shutil.copy2(sibling, destination / sibling.name)
    return destination / source.name


def worker_user() -> tuple[tuple[int, int] | None, str]:
    """(uid, gid) of the unprivileged user when running as root and it can run Python; and a note."""
    if os.geteuid() != 0:
        return None, "the worker ran as the grading user (not root)"
    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        return None, f"the worker ran as root: there is no user {UNPRIVILEGED_USER!r} to drop to"
    hidden = [p for p in runtime_paths() if not reachable_by_others(p)]
    if hidden:
        return None, (f"the worker ran as root: {hidden[0]} is not readable by other users, so user "
                      f"{UNPRIVILEGED_USER!r} could not run Python (see SECURITY.md)")
    note = f"the worker ran as user {UNPRIVILEGED_USER!r}"
    if REFERENCE.exists() and reachable_by_others(REFERENCE):
        note += f"; warning: the reference solution in {REFERENCE} is readable by that user (see SECURITY.md)"
    return (entry.pw_uid, entry.pw_gid), note


def runtime_paths() -> list[Path]:
    """What the worker's Python must read: the interpreter, the standard library, numpy, this package."""
    paths = sysconfig.get_paths()
    return [Path(os.path.realpath(sys.executable)), Path(paths["stdlib"]), Path(paths["purelib"]),
            Path(numpy.__file__).parent, Path(checks.__file__).parent]


def reachable_by_others(path: Path) -> bool:
    """True if a user with no special rights can reach and read ``path`` (every parent world-searchable)."""
    path = Path(os.path.realpath(path))
    for folder in reversed(path.parents):
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return False
    mode = os.stat(path).st_mode
    return bool(mode & stat.S_IROTH) and (not stat.S_ISDIR(mode) or bool(mode & stat.S_IXOTH))


def chown_tree(folder: Path, uid: int, gid: int) -> None:
    for root, folders, files in os.walk(folder):
        for name in [root, *(os.path.join(root, f) for f in folders + files)]:
            os.lchown(name, uid, gid)
