"""Caps on what the worker may consume: its scratch folder's size, processes, file size, CPU time.

The confinement layers ``scratch-size`` (a tmpfs on the scratch folder, in a mount namespace of
the worker's own), ``processes``, ``file-size`` and ``cpu-time`` (resource limits); the values are
the plan's. Apart from the layers that decide what the worker may touch (``privileges``,
``landlock``, ``seccomp``): these bound how much it may use.
"""

from __future__ import annotations

import ctypes
import os
import resource
import stat

from checks.engine.isolation.confinement import ACTIVE, MISSING, NOT_NEEDED, Layer, Plan
from checks.engine.isolation.kernel_calls import checked, libc
from checks.engine.isolation.privileges import CLONE_NEWUSER, drop_bounding_set, map_user_to_itself


# -- 8. the scratch folder's size ------------------------------------------------------------------

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE, MNT_DETACH = 0x2, 0x4, 0x4000, 1 << 18, 2
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
SPARE_ENTRIES = 4096  # files and folders the worker may add to its scratch folder (each costs memory)
# The grader's copies (a submission: 10 MiB at most; course folders) are held in memory in the tmpfs:
# past this much, the scratch folder stays on disk, uncapped, and the layer says so.
MOST_COPIED = 128 * 1024**2


def limit_scratch(plan: Plan) -> Layer:
    """Cover the scratch folder with a tmpfs of the plan's room, in a mount namespace of the worker's
    own, holding a copy of what the grader put there; move the working folder onto it."""
    if not plan.scratch_room:
        return Layer("scratch-size", NOT_NEEDED, "no limit was asked for")
    try:
        checked(libc().unshare(ctypes.c_int(CLONE_NEWNS)))
        mount(None, "/", None, MS_REC | MS_PRIVATE)  # what is mounted here never shows outside
    except OSError as error:
        return Layer("scratch-size", MISSING, f"no mount namespace of its own: {error.strerror} (it needs root, "
                     "or the user namespace of the namespaces layer)")
    try:
        beneath = os.open(plan.scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        return Layer("scratch-size", MISSING, f"the scratch folder cannot be opened: {error.strerror}")
    try:
        problem = cover_with_tmpfs(plan, beneath)
    finally:
        os.chdir(plan.scratch)  # the working folder was the one beneath (or is again, if it failed)
        os.close(beneath)
    if problem:
        return Layer("scratch-size", MISSING, problem)
    return Layer("scratch-size", ACTIVE, f"{mib(plan.scratch_room)} and {SPARE_ENTRIES} files beyond the "
                 "grader's copies (a tmpfs)")


def cover_with_tmpfs(plan: Plan, beneath: int) -> str:
    """Mount the tmpfs on the scratch folder and copy into it what lies ``beneath``; '' or why not
    (and then the scratch folder is the grader's again, whole, rather than half a submission)."""
    try:
        pages, entries = footprint(beneath)
    except OSError as error:
        return f"the scratch folder cannot be read: {error.strerror}"
    if pages * PAGE > MOST_COPIED:
        return (f"the scratch folder holds {mib(pages * PAGE)} of copies (course folders), more than the "
                f"{mib(MOST_COPIED)} a tmpfs may take of memory")
    uid, gid = plan.user or (os.getuid(), os.getgid())
    try:
        mount("tmpfs", plan.scratch, "tmpfs", MS_NOSUID | MS_NODEV,
              f"size={pages * PAGE + plan.scratch_room},nr_inodes={entries + SPARE_ENTRIES},mode=0700,"
              f"uid={uid},gid={gid}")
    except OSError as error:
        return f"the kernel refused a tmpfs on the scratch folder: {error.strerror}"
    try:
        copy_tree(beneath, plan.scratch, plan.user)
    except OSError as error:
        libc().umount2(plan.scratch.encode(), ctypes.c_int(MNT_DETACH))
        return f"the scratch folder could not be copied into a tmpfs: {error}"
    return ""


def mount(source: str | None, target: str, kind: str | None, flags: int, options: str | None = None) -> None:
    encode = lambda text: None if text is None else text.encode()  # noqa: E731 - NULL for None
    checked(libc().mount(encode(source), encode(target), encode(kind), ctypes.c_ulong(flags), encode(options)))


def footprint(folder_fd: int) -> tuple[int, int]:
    """(pages, entries) the tree beneath ``folder_fd`` takes in a tmpfs, links not followed."""
    pages = entries = 0
    for _, folders, files, fd in os.fwalk(".", dir_fd=folder_fd, follow_symlinks=False):
        for name in folders + files:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            entries += 1
            pages += -(-info.st_size // PAGE) if stat.S_ISREG(info.st_mode) else 1
    return pages, entries


def copy_tree(source_fd: int, destination: str, owner: tuple[int, int] | None) -> None:
    """Copy the folders, regular files and links (as links) beneath ``source_fd``; nothing else."""
    for folder, folders, files, fd in os.fwalk(".", dir_fd=source_fd, follow_symlinks=False):
        for name in folders + files:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            path = os.path.join(destination, folder, name)
            if stat.S_ISDIR(info.st_mode):
                os.mkdir(path)
            elif stat.S_ISREG(info.st_mode):
                copy_file(name, fd, path)
            elif stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(name, dir_fd=fd), path)
            else:
                continue  # no special file: the grader puts none there
            if not stat.S_ISLNK(info.st_mode):
                os.chmod(path, stat.S_IMODE(info.st_mode))
                os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
            if owner:
                os.lchown(path, *owner)


def copy_file(name: str, folder_fd: int, destination: str) -> None:
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder_fd)
    try:
        target = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            while chunk := os.read(source, 1 << 20):
                os.write(target, chunk)
        finally:
            os.close(target)
    finally:
        os.close(source)


def mib(size: int) -> str:
    return f"{size / 1024**2:g} MiB"


# -- 9.-11. resource limits ------------------------------------------------------------------------

CPU_GRACE = 5  # seconds between SIGXCPU (which a process may catch) and SIGKILL


def limit_processes(maximum: int) -> Layer:
    """RLIMIT_NPROC, in a user namespace of the worker's own, so that only its processes count."""
    if not maximum:
        return Layer("processes", NOT_NEEDED, "no limit was asked for")
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        return Layer("processes", MISSING, "the worker runs as root (uid 0), whose processes the kernel never "
                     "counts against RLIMIT_NPROC (see the user layer)")
    try:
        checked(libc().unshare(ctypes.c_int(CLONE_NEWUSER)))
    except OSError as error:
        return Layer("processes", MISSING, f"RLIMIT_NPROC counts every process of uid {uid}, the grading "
                     f"user's too, unless the worker has a user namespace of its own, which the kernel "
                     f"refuses: {error.strerror}")
    problem = map_user_to_itself(uid, gid)
    drop_bounding_set()  # a new user namespace starts with every capability, the bounding set whole
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (maximum, maximum))
    except (OSError, ValueError) as error:
        return Layer("processes", MISSING, f"setrlimit(RLIMIT_NPROC) failed: {error}")
    note = f" (the user map could not be written: {problem})" if problem else ""
    return Layer("processes", ACTIVE, f"at most {maximum} processes and threads, counted in a user namespace "
                 f"of the worker's own{note}")


def limit_file_size(maximum: int) -> Layer:
    if not maximum:
        return Layer("file-size", NOT_NEEDED, "no limit was asked for")
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (maximum, maximum))
    except (OSError, ValueError) as error:
        return Layer("file-size", MISSING, f"setrlimit(RLIMIT_FSIZE) failed: {error}")
    return Layer("file-size", ACTIVE, f"no file written past {mib(maximum)} (EFBIG)")


def limit_cpu_time(seconds: int) -> Layer:
    if not seconds:
        return Layer("cpu-time", NOT_NEEDED, "no limit was asked for")
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + CPU_GRACE))
    except (OSError, ValueError) as error:
        return Layer("cpu-time", MISSING, f"setrlimit(RLIMIT_CPU) failed: {error}")
    return Layer("cpu-time", ACTIVE, f"SIGXCPU after {seconds} s of CPU time per process, SIGKILL {CPU_GRACE} s later")
