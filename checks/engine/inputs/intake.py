"""The one code path that reads a submission: once, bounded, never through a link that leaves it.

A submission is data, and hostile data: its file names, links, special files and sizes are the
student's. ``read_submission`` reads it into a ``Snapshot`` (its files' relative names and bytes,
and a sentence for each thing left out), and everything else works from that snapshot: the
scratch copy the worker imports (``checks.engine.isolation.sandbox``) writes it out, and the fingerprint
(``checks.engine.course.fingerprint``) hashes it, so no other code opens a student's file.

What is read, from the submission's own file or folder down (the folders above it are the
user's, named on the command line, and are taken as given):

- a package folder whole (but ``__pycache__``); a .py file with its sibling .py files (a student's
  helpers), or alone (a file directly in a class folder: its siblings are classmates);
- one component at a time, relative to an open folder, with ``O_NOFOLLOW``: no link is ever
  followed by the filesystem, not even as root, and a folder swapped for a link while it is read
  fails to open rather than leading elsewhere;
- a regular file only, opened ``O_NONBLOCK`` (a named pipe put in its place cannot block) and
  checked with ``fstat`` on the open descriptor, then read with a bounded read: nothing is read
  past the limits below, even from a file that grows while it is read.

Links. A link is never followed by the filesystem. A link whose target, read with ``readlink``,
names a regular file of the same submission through real folders of it (``helpers.py ->
lib/helpers.py``) is copied as a copy of that file's bytes, taken from the snapshot: the link
is resolved against what was already read, so nothing is opened again and no race can make it
lead out. Every other link is left out, with the reason: one that points outside the submission
(an absolute target, or one that climbs above it), one that names nothing in it (dangling, or a
file of the folder that is not part of the submission), one to a folder, and one to another link
(which is how loops are refused).

A notebook (``rnn.ipynb``, the submission's own file) is read with a limit of its own,
``MAX_NOTEBOOK_BYTES`` (outputs and images make notebooks large, and none of that is kept), and is
not kept itself: ``checks.engine.inputs.notebook`` turns it into Python, which the snapshot holds as
``rnn.ipynb.py``, the file to import (a sibling .py of that very name is left out), and its account
of the cells used joins the sentences of ``left_out``, so it reaches the student by the same path.
Its .py siblings are its helpers, as a .py file's are.

Special files (named pipes, sockets, devices) are left out and never opened. So are files past
the limits: ``MAX_FILE_BYTES`` per file, ``MAX_SUBMISSION_BYTES`` for all files together
(copies of linked files included), ``MAX_ENTRIES`` names looked at and ``MAX_DEPTH`` folder levels.
Each thing left out gives one sentence for the student, with its name shown escaped
(``checks.engine.inputs.display.shown``), and the grade goes on without it.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from checks.engine.inputs.display import shown
from checks.engine.inputs.notebook import MAX_NOTEBOOK_BYTES, NotebookUnreadable, generated_name, is_notebook, \
    read_notebook

MAX_FILE_BYTES = 1024 * 1024  # a student's .py file is some kilobytes
MAX_SUBMISSION_BYTES = 10 * 1024 * 1024
MAX_ENTRIES = 1000  # files, folders, links and special files looked at, in all
MAX_DEPTH = 32  # folder levels below a package's root
UNCOPIED = "__pycache__"  # bytecode of the original: never the worker's to load
# What rnn-grade writes, so never takes for a submission: the marker file of an --out folder, and
# the first line of a --repro-dir script (``checks.engine.course.batch`` and ``checks.engine.run.repro`` use these).
OUTPUT_MARKER = ".rnn-grade-output"
REPRO_SCRIPT_MARKER = "# Reproduction script written by rnn-grade (--repro-dir); rnn-grade may overwrite it."
HELPER_SUFFIX = ".py"

FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

OUTSIDE = "it is a link to a place outside your submission"
NOTHING = "it is a link to something that is not a file of your submission"
TO_LINK = "it is a link to another link (links are copied only when they name a file directly)"
TO_FOLDER = "it is a link to a folder (only links to files are copied)"
SPECIAL_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                 (stat.S_ISBLK, "a device"))


class SubmissionUnreadable(ValueError):
    """The submission's own file or folder cannot be opened at all (it does not exist, say)."""


@dataclass(frozen=True)
class Snapshot:
    """A submission as read: ``files`` are (relative POSIX name, bytes), sorted; ``folders`` the
    package's subfolders; ``left_out`` a sentence for each thing not copied.

    ``name`` is the submission's own file or folder name. For a package, names are relative to
    its folder; for a file, they are names in its folder (the file itself and its helpers).
    """

    name: str
    package: bool
    files: tuple[tuple[str, bytes], ...] = ()
    folders: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """False when the file to import was itself left out (a package needs its ``__init__.py``)."""
        wanted = "__init__.py" if self.package else self.name
        return any(name == wanted for name, _ in self.files)

    def write(self, destination: Path) -> Path:
        """Write the snapshot into the new folder ``destination``; return the path to import."""
        destination.mkdir(parents=True)
        root = destination / self.name if self.package else destination
        if self.package:
            root.mkdir()
        for folder in self.folders:
            (root / folder).mkdir()
        for name, content in self.files:
            with open(root / name, "xb") as copy:  # "x": a fresh folder of ours, never an existing file
                copy.write(content)
        return destination / self.name


@dataclass
class Walk:
    """What a walk has found so far, and what it may still read."""

    files: dict[str, bytes] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # relative name -> its target, as readlink gives it
    left_out: list[str] = field(default_factory=list)
    entries: int = 0
    budget: int = 0  # bytes that may still be read (read_submission starts it at MAX_SUBMISSION_BYTES)
    notebook: str = ""  # the submission's notebook, if it is one: read as Python (module docstring)

    def leave_out(self, name: str, reason: str) -> None:
        self.left_out.append(f"{shown(name)} was left out: {reason}")


def read_submission(path: Path, with_siblings: bool = True) -> Snapshot:
    """Read the package folder or .py file ``path`` (with its sibling .py files if ``with_siblings``).

    SubmissionUnreadable if ``path`` itself cannot be looked at (it does not exist, its folder
    cannot be opened); anything beneath it that cannot be read is left out, with the reason.
    """
    path = Path(os.path.abspath(path))  # "." and ".." made names (lexically: no link is resolved)
    try:
        parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the user's path, as given
    except OSError as error:
        raise SubmissionUnreadable(f"{shown(path.parent)}: {error.strerror}") from None
    try:
        try:
            mode = os.stat(path.name, dir_fd=parent, follow_symlinks=False).st_mode
        except OSError as error:
            raise SubmissionUnreadable(f"{shown(path)}: {error.strerror}") from None
        notebook = path.name if is_notebook(path.name) and not stat.S_ISDIR(mode) else ""
        walk = Walk(budget=MAX_SUBMISSION_BYTES, notebook=notebook)
        if stat.S_ISDIR(mode):
            read_package(parent, path.name, walk)
        else:
            read_file_with_helpers(parent, path.name, with_siblings, walk)
        copy_links(walk)
    finally:
        os.close(parent)
    return Snapshot(generated_name(notebook) if notebook else path.name, stat.S_ISDIR(mode),
                    tuple(sorted(walk.files.items())), tuple(walk.folders), tuple(walk.left_out))


class WalkFull(Exception):
    """``MAX_ENTRIES`` names were looked at: the walk stops."""


def read_file_with_helpers(folder: int, name: str, with_siblings: bool, walk: Walk) -> None:
    """The file ``name`` of the open ``folder`` and, ``with_siblings``, the folder's other .py files
    (the file first: the limits never leave it out for its helpers' sake)."""
    helpers = []
    if with_siblings:
        with os.scandir(folder) as found:
            helpers = sorted(entry.name for entry in found if entry.name != name and not entry.name.startswith(".")
                             and entry.name.endswith(HELPER_SUFFIX))
    if walk.notebook and generated_name(name) in helpers:
        helpers.remove(generated_name(name))
        walk.leave_out(generated_name(name), f"the Python read from your notebook {shown(name)} takes its name")
    try:
        for member in [name, *helpers]:
            read_entry(folder, member, member, walk, depth=None)
    except WalkFull:
        pass


def read_package(parent: int, name: str, walk: Walk) -> None:
    """Every entry beneath the package folder ``name`` of ``parent``, folder by folder (no recursion)."""
    try:
        root = os.open(name, FOLDER_FLAGS, dir_fd=parent)
    except OSError as error:
        walk.leave_out(name, unreadable(error))
        return
    pending = [(root, "", 0)]
    try:
        while pending:
            folder, prefix, depth = pending.pop(0)
            try:
                with os.scandir(folder) as found:  # scandir reads a duplicate of the descriptor
                    names = sorted(entry.name for entry in found if entry.name != UNCOPIED)
                for member in names:
                    opened = read_entry(folder, member, prefix + member, walk, depth)
                    if opened is not None:
                        pending.append((opened, f"{prefix}{member}/", depth + 1))
            finally:
                os.close(folder)
    except WalkFull:
        pass
    finally:
        for folder, _, _ in pending:
            os.close(folder)


def read_entry(folder: int, name: str, relative: str, walk: Walk, depth: int | None) -> int | None:
    """Look at one entry of the open ``folder``: read a file, note a link, or open a subfolder and
    return its descriptor. ``depth`` None: a file's folder, whose subfolders are not the submission's.

    WalkFull once ``MAX_ENTRIES`` names have been looked at.
    """
    walk.entries += 1
    if walk.entries > MAX_ENTRIES:
        walk.left_out.append(f"only the first {MAX_ENTRIES} files and folders of your submission were read; "
                             f"the rest ({shown(relative)} onwards) was left out")
        raise WalkFull
    try:
        mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
    except OSError as error:
        walk.leave_out(relative, unreadable(error))
        return None
    if stat.S_ISLNK(mode):
        try:
            walk.links[relative] = os.fsdecode(os.readlink(name, dir_fd=folder))
        except OSError as error:
            walk.leave_out(relative, unreadable(error))
    elif stat.S_ISDIR(mode) and depth is None:
        walk.leave_out(relative, "it is a folder, not a Python file")
    elif stat.S_ISDIR(mode):
        return open_folder(folder, name, relative, walk, depth)
    elif stat.S_ISREG(mode):
        read_regular_file(folder, name, relative, walk)
    else:
        walk.leave_out(relative, f"it is {special_kind(mode)}, not a file")
    return None


def open_folder(folder: int, name: str, relative: str, walk: Walk, depth: int) -> int | None:
    """The descriptor of subfolder ``name``, opened without following a link; None if left out."""
    if depth + 1 > MAX_DEPTH:
        walk.leave_out(relative + "/", f"it is nested more than {MAX_DEPTH} folders deep")
        return None
    try:
        opened = os.open(name, FOLDER_FLAGS, dir_fd=folder)
    except OSError as error:
        walk.leave_out(relative + "/", unreadable(error))
        return None
    walk.folders.append(relative)
    return opened


def read_regular_file(folder: int, name: str, relative: str, walk: Walk) -> None:
    """Read one file through a descriptor opened without following links, at most up to the limits."""
    try:
        descriptor = os.open(name, FILE_FLAGS, dir_fd=folder)
    except OSError as error:
        walk.leave_out(relative, unreadable(error))
        return
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):  # swapped since it was looked at
            walk.leave_out(relative, f"it is {special_kind(mode)}, not a file")
            return
        limit = MAX_NOTEBOOK_BYTES if relative == walk.notebook else min(MAX_FILE_BYTES, walk.budget)
        content = bounded_read(descriptor, limit + 1)
    except OSError as error:
        walk.leave_out(relative, unreadable(error))
        return
    finally:
        os.close(descriptor)
    if relative == walk.notebook:
        keep_notebook(relative, content, walk)
    elif keep(relative, content, walk):
        walk.files[relative] = content


def keep_notebook(relative: str, content: bytes, walk: Walk) -> None:
    """Keep the Python read from the notebook ``content`` (not the notebook), and its account."""
    if len(content) > MAX_NOTEBOOK_BYTES:
        walk.leave_out(relative, f"it is larger than {size_text(MAX_NOTEBOOK_BYTES)}, the limit for a notebook")
        return
    try:
        read = read_notebook(content, relative)
    except NotebookUnreadable as error:
        walk.left_out.append(str(error))
        return
    walk.left_out += read.account
    source = read.source.encode("utf-8")
    if keep(generated_name(relative), source, walk):
        walk.files[generated_name(relative)] = source


def keep(relative: str, content: bytes, walk: Walk) -> bool:
    """Whether ``content`` fits the limits (and take it from the budget); the reason left out if not."""
    if len(content) > MAX_FILE_BYTES:
        walk.leave_out(relative, f"it is larger than {size_text(MAX_FILE_BYTES)}, the limit for one file")
        return False
    if len(content) > walk.budget:
        walk.leave_out(relative, f"your submission's files together pass {size_text(MAX_SUBMISSION_BYTES)}, "
                                 "the limit for a submission")
        return False
    walk.budget -= len(content)
    return True


def bounded_read(descriptor: int, limit: int) -> bytes:
    """At most ``limit`` bytes of the open file (fewer at its end)."""
    chunks, left = [], limit
    while left > 0:
        chunk = os.read(descriptor, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def copy_links(walk: Walk) -> None:
    """Each link that names a file of the submission becomes a copy of that file; the others are left out."""
    for relative, target in sorted(walk.links.items()):
        found = link_target(relative, target, walk)
        if found in walk.files:
            if keep(relative, walk.files[found], walk):
                walk.files[relative] = walk.files[found]
        else:
            walk.leave_out(relative, found)


def link_target(relative: str, target: str, walk: Walk) -> str:
    """The relative name of the file of the snapshot that ``target`` names, or why it names none.

    Resolved against the snapshot, one component at a time as the kernel would: every folder on
    the way must be a real folder of the submission, so the answer is where the link really leads.
    """
    if target.startswith("/"):
        return OUTSIDE
    parts = relative.split("/")[:-1]
    components = [part for part in target.split("/") if part not in ("", ".")]
    for index, part in enumerate(components):
        if part == "..":
            if not parts:
                return OUTSIDE
            parts.pop()
            continue
        parts.append(part)
        here = "/".join(parts)
        if here in walk.links:
            return TO_LINK
        last = index == len(components) - 1
        if not last and here not in walk.folders:
            return NOTHING
    final = "/".join(parts)
    if final in walk.files:
        return final
    return TO_FOLDER if final in walk.folders or not parts else NOTHING


def is_repro_script(path: Path) -> bool:
    """True if ``path`` is a regular file (not a link) whose first line is a --repro-dir script's marker."""
    marker = (REPRO_SCRIPT_MARKER + "\n").encode()
    try:
        descriptor = os.open(path, FILE_FLAGS)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(descriptor).st_mode) and bounded_read(descriptor, len(marker)) == marker
    except OSError:
        return False
    finally:
        os.close(descriptor)


def special_kind(mode: int) -> str:
    return next((kind for test, kind in SPECIAL_KINDS if test(mode)), "not a regular file")


def unreadable(error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link put there since it was looked at
        return "it is a link, and links are not followed"
    if error.errno == errno.ENOTDIR:  # a folder that a link or a file replaced since it was looked at
        return "it changed while your submission was read"
    return f"it could not be read ({error.strerror or error})"


def size_text(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size % (1024 * 1024) == 0 else f"{size} bytes"
