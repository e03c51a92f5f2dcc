"""Writing a report file so that its reader never sees half of it, and never through a planted link."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (creating its folder): a reader sees the old file or the new one, whole.

    The temporary file is in the same folder, so ``os.replace`` is a rename on one file system. Its
    name is random and created exclusively (O_EXCL, never through a symlink): a submission that
    guesses a fixed name and plants a link there cannot make a root grader write to the link's target.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o666 & ~current_umask())
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def append_text(path: Path, text: str) -> None:
    """Append ``text`` to ``path``: GitHub's step-summary and output files collect every step's lines."""
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(text)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
