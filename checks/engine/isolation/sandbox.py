"""The worker's surroundings: a private scratch folder, a copy of the submission, and the plan of
what the worker may touch once it has confined itself (``checks.engine.isolation.lockdown``).

The worker never sees the grader's working directory, report path or environment. It runs in a
fresh scratch folder that holds a copy of the submission, written from what
``checks.engine.inputs.intake`` read (so it cannot edit the original, and no link of it leads out), and of
any course folders passed with ``--path``; that folder is the only place it may write. It may read
the Python standard library, numpy and the packages a course allows with ``--allow-package``, and
nothing else of this machine's files: not the reference solution, the checks, site-packages as a
whole, home folders or /tmp.

When grading runs as root, the worker drops to user ``nobody`` (after it has made its namespaces,
which need root). That needs the Python interpreter, its libraries and numpy to be readable by
other users; where they are not (a pyenv under a private /root, say), the worker stays root (with
no capabilities) and the instructor is told, rather than failing to grade.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import site
import stat
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import checks
from checks.engine.isolation.confinement import Plan
from checks.engine.inputs.intake import UNCOPIED, Snapshot, read_submission
from checks.engine.isolation.worker import ImportPolicy

UNPRIVILEGED_USER = "nobody"
GRADER = Path(checks.__file__).resolve().parent
REFERENCE = GRADER.parent / "reference"
IMPLICIT_PACKAGE = "numpy"  # what every assignment allows
DEVICES_READ, DEVICES_READ_WRITE = ("/dev/urandom", "/dev/zero"), ("/dev/null",)
# Programs a submission may start (a child Python, a shell): each runs as confined as the worker.
PROGRAM_FOLDERS = ("/bin", "/usr/bin")
LOADER_CACHE = "/etc/ld.so.cache"
STDLIB_EXCLUDED = frozenset({"site-packages", "dist-packages"})
# The worker's caps (checks.engine.isolation.limits; SECURITY.md says why these values).
# Processes and threads, the worker included: it needs one (numpy's OpenBLAS is kept to one thread),
# a correct submission none more; 64 leaves room for a helper process or a small thread pool.
MAX_PROCESSES = 64
MAX_FILE_SIZE = 64 * 1024**2  # no submission needs to write a file; a generous scratch file, or a log
SCRATCH_ROOM = 256 * 1024**2  # what the worker may write in all, beyond the copies (a tmpfs: memory)
# CPU seconds per worker process: a backstop to the wall clock. A worker lives for one grade (or until
# a fault); in a whole thorough grade of the reference it used 17.4 s: this is 200 times that.
CPU_SECONDS = 3600


@dataclass(frozen=True)
class Scratch:
    """A prepared scratch folder: where the worker runs, the paths it imports from, what it may touch."""

    folder: Path
    submission: Path
    import_paths: tuple[str, ...]
    packages: tuple[Package, ...]  # what --allow-package allows, found where this Python imports it from
    plan: Plan


def prepare_scratch(snapshot: Snapshot, original: Path, import_paths: tuple[str, ...],
                    allowed_packages: Sequence[str] = ()) -> Scratch:
    """Make a scratch folder with the submission as read (``snapshot``, of ``original``) and copies of
    the course folders, owned by the worker's user."""
    folder = Path(tempfile.mkdtemp(prefix="rnn-grade-worker-"))
    try:
        copied = snapshot.write(folder / "submission")
        paths = tuple(str(copy_course_folder(Path(p), folder / f"path{i}")) for i, p in enumerate(import_paths))
        user, note = worker_user(folder)
        if user:
            chown_tree(folder, *user)
        packages = tuple(map(find_package, allowed_packages))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # never a scratch folder left behind
        raise
    plan = confinement_plan(folder, packages, user, note,
                            originals=(Path(os.path.realpath(original.parent)),
                                       *(Path(p).resolve() for p in import_paths)))
    return Scratch(folder, copied, paths, packages, plan)


def copy_into(source: Path, destination: Path, copy_siblings: bool = True) -> Path:
    """Copy a submission as ``checks.engine.inputs.intake`` reads it: a package folder whole, or a file with
    its sibling .py files (a student's helpers); return the copy to import.

    A file directly in a class folder has classmates for siblings: it is copied alone
    (``copy_siblings`` False).
    """
    return read_submission(source, copy_siblings).write(destination)


def copy_course_folder(source: Path, destination: Path) -> Path:
    """Copy a course folder (``--path``): the instructor's, so trusted, links and all."""
    destination.mkdir(parents=True)
    return Path(shutil.copytree(source, destination / source.name, ignore=shutil.ignore_patterns(UNCOPIED)))


def confinement_plan(scratch: Path, packages: Sequence[Package] = (), user: tuple[int, int] | None = None,
                     user_note: str = "", originals: Sequence[Path] = ()) -> Plan:
    """What the worker may read, list, execute and write once it has locked itself down."""
    stdlib = {folder: stdlib_entries(folder) for folder in stdlib_folders()}
    dynload = sysconfig.get_config_var("DESTSHARED")  # inside the standard library's folder, mostly
    importable = [path for package in (find_package(IMPLICIT_PACKAGE), *packages) for path in package.paths]
    return Plan(
        scratch=str(scratch),
        read=tuple(str(p) for p in (*(entry for entries in stdlib.values() for entry in entries),
                                    *([Path(dynload)] if dynload else []), *importable,
                                    *map(Path, DEVICES_READ), Path(LOADER_CACHE), venv_configuration())),
        # Listing a folder is needed to import from it, and shows the names beneath it: only where
        # something is granted (a venv's own lib/pythonX.Y holds nothing but site-packages).
        list_only=tuple(str(folder) for folder, entries in stdlib.items() if entries),
        execute=(os.path.realpath(sys.executable), *PROGRAM_FOLDERS),
        read_write=DEVICES_READ_WRITE,
        keep_out=keep_out(originals),
        user=user,
        user_needed=os.geteuid() == 0,
        user_note=user_note,
        scratch_room=SCRATCH_ROOM,
        max_processes=MAX_PROCESSES,
        max_file_size=MAX_FILE_SIZE,
        cpu_seconds=CPU_SECONDS,
    )


def venv_configuration() -> Path:
    """pyvenv.cfg, which a child Python started from the venv reads at startup (it names the base Python)."""
    return Path(sys.prefix) / "pyvenv.cfg"


def stdlib_folders() -> list[Path]:
    paths = sysconfig.get_paths()
    folders = {Path(os.path.realpath(paths[name])) for name in ("stdlib", "platstdlib")}
    return sorted(folder for folder in folders if folder.is_dir())


def stdlib_entries(folder: Path) -> list[Path]:
    """Every entry of a standard library folder but site-packages (Landlock has no deny rule)."""
    return [entry for entry in sorted(folder.iterdir()) if entry.name not in STDLIB_EXCLUDED]


@dataclass(frozen=True)
class Package:
    """An installed top-level package or module a submission may import, and where it lives."""

    name: str
    origin: str | None  # its __init__.py or module file; None for a namespace package
    search: tuple[str, ...] | None  # a package's folders (None for a module)
    paths: tuple[Path, ...]  # what the worker must read: the above, and a NAME.libs folder of bundled libraries

    def as_data(self) -> dict:
        return {"name": self.name, "origin": self.origin, "search": None if self.search is None else list(self.search)}


def find_package(name: str) -> Package:
    """Where an installed top-level package or module lives, as this Python would import it.

    LookupError, with a reason an instructor can act on, if there is nothing to allow.
    """
    if not name.isidentifier():
        raise LookupError(f"{name!r} is not the name of a top-level package")
    if name in ImportPolicy.FORBIDDEN:
        raise LookupError(f"{name!r} is the grader's own package, which submissions may never read")
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise LookupError(f"no package or module named {name!r} is installed for {sys.executable}")
    origin = spec.origin if spec.origin and os.path.isabs(spec.origin) else None
    search = tuple(spec.submodule_search_locations) if spec.submodule_search_locations is not None else None
    if origin is None and search is None:
        raise LookupError(f"{name!r} is built into the interpreter: it needs no --allow-package")
    paths = [Path(p) for p in search] if search else [Path(origin)]
    paths += [p.parent / f"{p.name}.libs" for p in paths if (p.parent / f"{p.name}.libs").is_dir()]
    return Package(name, origin, search, tuple(Path(os.path.realpath(p)) for p in paths))


def keep_out(originals: Sequence[Path]) -> tuple[str, ...]:
    """Places whose contents the worker must never read, even through a shared library's folder."""
    site_packages = {*site.getsitepackages(), *site.getsitepackages([sys.base_prefix]), site.getusersitepackages(),
                     *(sysconfig.get_paths()[k] for k in ("purelib", "platlib")),
                     *(folder / name for folder in stdlib_folders() for name in STDLIB_EXCLUDED)}
    # The grader's import path too: whatever .pth files or a test runner put there.
    places = {*site_packages, *filter(os.path.isabs, sys.path), GRADER, GRADER.parent, REFERENCE, "/home",
              "/root", Path.home(), tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm", "/autograder", *originals}
    resolved = {os.path.realpath(place) for place in places if place}
    return tuple(sorted(resolved - {"/"}))


def worker_user(scratch: Path | None = None) -> tuple[tuple[int, int] | None, str]:
    """(uid, gid) of the unprivileged user when running as root and it can run Python in ``scratch``; and a note."""
    if os.geteuid() != 0:
        return None, "the worker runs as the grading user, who is not root"
    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        return None, f"the worker stays root (without capabilities): there is no user {UNPRIVILEGED_USER!r}"
    hidden = [p for p in runtime_paths() if not reachable_by_others(p)]
    if hidden:
        return None, (f"the worker stays root (without capabilities): {hidden[0]} is not readable by other users, "
                      f"so user {UNPRIVILEGED_USER!r} could not run Python")
    # A scratch folder under a private folder (TMPDIR in root's home, say) is out of the user's
    # reach: the import would fail, and the student would be charged for the grader's setting.
    if scratch is not None and not all(os.stat(folder).st_mode & stat.S_IXOTH for folder in Path(
            os.path.realpath(scratch)).parents):
        return None, (f"the worker stays root (without capabilities): the scratch folder's parent "
                      f"{scratch.parent} is not reachable by other users, so user {UNPRIVILEGED_USER!r} could not "
                      "use it (set TMPDIR to a folder every user may enter, such as /tmp)")
    return (entry.pw_uid, entry.pw_gid), f"the worker runs as user {UNPRIVILEGED_USER!r}"


def runtime_paths() -> list[Path]:
    """What the worker's Python must read: the interpreter, the standard library, numpy, this package."""
    paths = sysconfig.get_paths()
    return [Path(os.path.realpath(sys.executable)), Path(paths["stdlib"]), Path(paths["purelib"]),
            *find_package(IMPLICIT_PACKAGE).paths, GRADER]


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
