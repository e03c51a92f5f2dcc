"""Landlock: the files the worker may read and write, its TCP, and the processes it may signal.

The confinement layers ``landlock-fs``, ``landlock-net`` and ``landlock-scope``
(``checks.engine.isolation.lockdown``). A ruleset is gathered while the plan's paths can still be
opened and enforced last; its rights are masked by the kernel's ABI version. Apart from the other
layers because it is the one that decides, path by path, what the worker may touch.
"""

from __future__ import annotations

import ctypes
import os
import stat
from dataclasses import dataclass, field
from enum import IntFlag
from typing import Iterable, Sequence

from checks.engine.isolation.confinement import ACTIVE, MISSING, Layer, Plan
from checks.engine.isolation.kernel_calls import set_no_new_privs, syscall

LANDLOCK_LAYERS = ("landlock-fs", "landlock-net", "landlock-scope")

LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446  # every architecture
LANDLOCK_CREATE_RULESET_VERSION, LANDLOCK_RULE_PATH_BENEATH = 1, 1


class Fs(IntFlag):
    """File-system access rights (LANDLOCK_ACCESS_FS_*), with the ABI that introduced them."""

    EXECUTE = 1 << 0
    WRITE_FILE = 1 << 1
    READ_FILE = 1 << 2
    READ_DIR = 1 << 3
    REMOVE_DIR = 1 << 4
    REMOVE_FILE = 1 << 5
    MAKE_CHAR = 1 << 6
    MAKE_DIR = 1 << 7
    MAKE_REG = 1 << 8
    MAKE_SOCK = 1 << 9
    MAKE_FIFO = 1 << 10
    MAKE_BLOCK = 1 << 11
    MAKE_SYM = 1 << 12
    REFER = 1 << 13  # ABI 2
    TRUNCATE = 1 << 14  # ABI 3
    IOCTL_DEV = 1 << 15  # ABI 5


FS_ADDED_AT = {2: Fs.REFER, 3: Fs.TRUNCATE, 5: Fs.IOCTL_DEV}
FS_ABI_1 = Fs((1 << 13) - 1)
FILE_RIGHTS = Fs.EXECUTE | Fs.WRITE_FILE | Fs.READ_FILE | Fs.TRUNCATE | Fs.IOCTL_DEV  # the rest are for folders
READ = Fs.READ_FILE | Fs.READ_DIR
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; OSError if Landlock is absent or disabled."""
    return syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))


def handled_fs(abi: int) -> Fs:
    """Every file-system right the kernel's ABI knows: all of them are denied unless a rule grants them."""
    rights = FS_ABI_1
    for version, right in FS_ADDED_AT.items():
        if abi >= version:
            rights |= right
    return rights


@dataclass
class Ruleset:
    """A Landlock ruleset being filled (or the reason there is none), enforced by ``enforce``."""

    layers: tuple[str, ...]
    abi: int = 0
    fd: int | None = None
    problem: str = ""
    handled: Fs = Fs(0)
    granted: list[str] = field(default_factory=list)

    @classmethod
    def gather(cls, plan: Plan, layers: Sequence[str]) -> Ruleset:
        ruleset = cls(tuple(name for name in LANDLOCK_LAYERS if name in layers))
        try:
            ruleset.abi = landlock_abi()
        except OSError as error:
            ruleset.problem = f"Landlock is not available in this kernel ({error.strerror})"
            return ruleset
        ruleset.handled = handled_fs(ruleset.abi) if "landlock-fs" in layers else Fs(0)
        attr = RulesetAttr(
            int(ruleset.handled),
            NET_BIND_TCP | NET_CONNECT_TCP if "landlock-net" in layers and ruleset.abi >= 4 else 0,
            SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET if "landlock-scope" in layers and ruleset.abi >= 6 else 0,
        )
        try:
            ruleset.fd = syscall(LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                                 ctypes.c_uint32(0))
            if ruleset.handled:
                for path, rights in grants(plan):
                    ruleset.allow(path, rights)
        except OSError as error:
            ruleset.problem = f"the Landlock ruleset could not be built: {error.strerror}"
        return ruleset

    def allow(self, path: str, rights: Fs) -> None:
        """Add a rule granting ``rights`` beneath ``path``; skip a path that cannot be opened."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return  # absent here, or not ours to open: nothing to grant
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISDIR(mode):
                rights &= FILE_RIGHTS
            if stat.S_ISCHR(mode):
                rights |= Fs.IOCTL_DEV  # isatty() and friends on /dev/null
            rights &= self.handled
            if rights:
                rule = PathBeneathAttr(int(rights), fd)
                syscall(LANDLOCK_ADD_RULE, ctypes.c_int(self.fd), ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                        ctypes.byref(rule), ctypes.c_uint32(0))
                self.granted.append(path)
        finally:
            os.close(fd)

    def enforce(self) -> dict[str, Layer]:
        """Restrict this process to the ruleset for good; the state of each Landlock layer."""
        if not self.problem:
            try:
                set_no_new_privs()  # required by landlock_restrict_self without CAP_SYS_ADMIN
                syscall(LANDLOCK_RESTRICT_SELF, ctypes.c_int(self.fd), ctypes.c_uint32(0))
            except OSError as error:
                self.problem = f"landlock_restrict_self failed: {error.strerror}"
        if self.fd is not None:
            os.close(self.fd)
        return {name: self.layer(name) for name in self.layers}

    def layer(self, name: str) -> Layer:
        if self.problem:
            return Layer(name, MISSING, self.problem)
        needs = {"landlock-fs": 1, "landlock-net": 4, "landlock-scope": 6}[name]
        if self.abi < needs:
            return Layer(name, MISSING, f"needs Landlock ABI {needs}; this kernel has ABI {self.abi}")
        return Layer(name, ACTIVE, {
            "landlock-fs": f"ABI {self.abi}: {len(self.granted)} paths readable, writes only in the scratch folder",
            "landlock-net": "no TCP bind or connect to any port",
            "landlock-scope": "no signal to, and no abstract unix socket of, a process outside the worker",
        }[name])


def grants(plan: Plan) -> list[tuple[str, Fs]]:
    """(path, rights) of every rule: the plan's paths, then the shared libraries already mapped."""
    everything = Fs(((1 << 16) - 1) & ~(Fs.MAKE_CHAR | Fs.MAKE_BLOCK))  # masked by the ABI when added
    rules = [(plan.scratch, everything)]
    rules += [(path, Fs.READ_FILE | Fs.WRITE_FILE | Fs.TRUNCATE) for path in plan.read_write]
    rules += [(path, READ) for path in plan.read]
    rules += [(path, Fs.READ_DIR) for path in plan.list_only]
    rules += [(path, READ | Fs.EXECUTE) for path in plan.execute]
    # Execute too: the kernel opens a program's loader (ld-linux) for execution.
    rules += [(path, READ | Fs.EXECUTE) for path in library_grants(mapped_files(), plan.keep_out)]
    return rules


def mapped_files() -> set[str]:
    """The files mapped into this process (the interpreter, libc, libffi, numpy's OpenBLAS, ...)."""
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].startswith("/") and not fields[5].rstrip().endswith("(deleted)"):
                found.add(fields[5].rstrip("\n"))
    return found


def library_grants(files: Iterable[str], keep_out: Sequence[str]) -> list[str]:
    """What to grant so the mapped libraries stay loadable, by this process and the programs it runs.

    A library's folder, so that a library loaded later from beside it (libcrypto for hashlib, say)
    is found too; but only the file where that folder holds, or lies inside, a place the worker must
    not read (``/usr/local/lib`` holds site-packages, ``/root`` a home folder).
    """
    granted = set()
    for path in files:
        folder = os.path.dirname(path)
        granted.add(path if any(overlaps(folder, secret) for secret in keep_out) else folder)
    return sorted(granted)


def overlaps(folder: str, secret: str) -> bool:
    """True if one of the two paths is the other or lies beneath it."""
    a, b = folder.rstrip("/") + "/", secret.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)

