"""Writing a report file so that its reader never sees half of it, and never through a planted link.

Two kinds of path reach here. A path the user typed (``--results``, ``--junit``...) is written where
it says, through whatever links the user's own folders hold; its folder must exist (rnn-grade does
not create folders the user did not ask for). A path *beneath* a folder rnn-grade owns (``--out``:
``OUT/<id>/results.json``, the summaries, a shard's manifest) is reached one component at a time
with ``O_NOFOLLOW``: a symbolic link anywhere below that folder (``OUT/<id>`` pointing elsewhere)
is refused with ``LinkRefused``, never followed, so nothing is written or read through it.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
LINK_REFUSED = "a symbolic link (or not a folder) in the output folder: rnn-grade neither writes nor reads through it"


class ReportWriteError(OSError):
    """A report could not be written; ``filename`` is the path the caller asked for, never a temporary file."""


class LinkRefused(ReportWriteError):
    """A component of a path beneath an output folder is a symbolic link (or not a folder): not followed."""


def write_atomically(path: Path, text: str, beneath: Path | None = None) -> None:
    """Write ``text`` to ``path``: a reader sees the old file or the new one, whole.

    Without ``beneath``, ``path``'s folder must exist. With it, ``path`` is inside ``beneath``, the
    folders between are created, and none of them, nor the file, is reached through a link.
    The temporary file is in the same folder (``os.replace`` is then a rename on one file system,
    which replaces a link at ``path`` instead of following it); its name is random and created
    exclusively without following links: a submission that guesses a name and plants a link there
    cannot make a root grader write to the link's target.
    """
    path = Path(path)
    try:
        with folder_of(path, beneath) as folder:
            write_in(folder, path.name, text)
    except ReportWriteError:
        raise
    except OSError as error:
        raise ReportWriteError(error.errno, error.strerror or str(error), str(path)) from None


def read_beneath(beneath: Path, path: Path) -> str:
    """The text of ``path`` inside ``beneath``, read without following a link at any level below it."""
    with folder_of(Path(path), Path(beneath), create=False) as folder:
        try:
            descriptor = os.open(Path(path).name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise LinkRefused(error.errno, LINK_REFUSED, str(path)) from None
            raise
        with os.fdopen(descriptor, encoding="utf-8") as stream:
            return stream.read()


def files_beneath(beneath: Path, folder: Path) -> list[str]:
    """The names of the regular files directly in ``folder`` inside ``beneath``, reached without following a
    link; a link or any other kind of file in it is not listed."""
    descriptor = walk_down(Path(beneath), folders_between(Path(beneath), Path(folder)), create=False)
    try:
        with os.scandir(descriptor) as entries:
            return sorted(entry.name for entry in entries if entry.is_file(follow_symlinks=False))
    finally:
        os.close(descriptor)


@contextmanager
def folder_of(path: Path, beneath: Path | None, create: bool = True) -> Iterator[int]:
    """A descriptor of ``path``'s folder: opened as given, or walked down from ``beneath`` without links."""
    if beneath is None:
        descriptor = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    else:
        descriptor = walk_down(Path(beneath), folders_between(Path(beneath), path.parent), create)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def folders_between(beneath: Path, folder: Path) -> tuple[str, ...]:
    """The names of the folders from ``beneath`` down to ``folder``; a ``..`` among them is refused."""
    parts = PurePosixPath(folder.relative_to(beneath).as_posix()).parts
    if ".." in parts:
        raise LinkRefused(errno.EINVAL, "leaves its output folder", str(folder))
    return parts


def walk_down(root: Path, parts: tuple[str, ...], create: bool) -> int:
    """Open ``root``, then each of ``parts`` under it with O_NOFOLLOW (creating missing ones if ``create``)."""
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    reached = root
    try:
        for part in parts:
            reached = reached / part
            if create:
                try:
                    os.mkdir(part, 0o777, dir_fd=descriptor)
                except FileExistsError:
                    pass
            child = open_folder(part, descriptor, reached)
            os.close(descriptor)
            descriptor = child
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def open_folder(name: str, parent: int, shown_as: Path) -> int:
    try:
        return os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise LinkRefused(error.errno, LINK_REFUSED, str(shown_as)) from None
        raise


def write_in(folder: int, name: str, text: str) -> None:
    temporary = f".{name}.{secrets.token_hex(8)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o666, dir_fd=folder)  # 0o666 less the umask, as for any new file
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=folder)
        except FileNotFoundError:
            pass
        raise


def append_text(path: Path, text: str) -> None:
    """Append ``text`` to ``path``: GitHub's step-summary and output files collect every step's lines."""
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(text)
