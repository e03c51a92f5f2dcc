"""Kernel-enforced confinement of the worker: what it may read, write, reach and signal (Linux).

The worker applies this to itself (``lock_down``) once it has imported everything it needs and
before it imports the submission; the grader decides what it may touch (a ``Plan``, built by
``checks.engine.isolation.sandbox``). Everything here is ctypes over libc and plain system calls: no compiled
code, and nothing an ordinary user lacks. Eleven layers, each applied if the kernel allows it, each
reported as active, not needed, or missing with the reason:

``namespaces``
    A new network namespace, whose only interface is a loopback that is down: no TCP, UDP or other
    packet reaches another host or this host's localhost. And a new IPC namespace (no System V or
    POSIX message-queue object of another process). As root directly; as an ordinary user inside a
    new user namespace that maps the grading user to itself.
``user``
    Grading as root, the worker becomes user ``nobody`` (after the namespaces, which need root).
``capabilities``
    Every capability dropped (effective, permitted, inheritable, ambient, and the bounding set
    where allowed) and ``no_new_privs`` set, so no program it runs can gain any back.
``landlock-fs``
    Reads only the plan's paths (the scratch folder, the standard library without its
    site-packages, numpy, the packages a course allows, the shared libraries already mapped),
    writes only the scratch folder. Everything else (the reference, the checks, other submissions,
    /proc, home folders, /tmp) cannot be opened at all. Landlock has no deny rules: a folder is
    granted whole, so a folder holding something secret is granted entry by entry.
``landlock-net`` (Landlock ABI 4)
    No TCP bind or connect, whatever the namespace.
``landlock-scope`` (ABI 6)
    No signal to a process outside the worker's own domain (the grader), no connection to its
    abstract unix sockets. (Landlock refuses ptrace of such processes since ABI 1.)
``seccomp``
    ``socket()`` fails with EACCES for every address family, and ``io_uring_setup()`` too (its
    operations would not pass through this filter). Not only a fallback where no network namespace
    can be made (where it stops UDP, which Landlock does not cover): a unix socket *path* is
    outside both the namespace and Landlock up to ABI 7, and connecting to one (a session bus, a
    container daemon) would reach a process that is not confined. The worker needs no socket: it
    talks to the grader over inherited pipes, and ``socketpair()`` stays allowed.

Four caps on what the worker may consume, the values the grader's (the plan's):

``scratch-size``
    A tmpfs of a fixed size mounted on the scratch folder in a new mount namespace of the worker's
    own, holding a copy of what the grader put there: the worker can write only so much (and
    only so many files) in all. Needs root, or the user namespace of ``namespaces``.
``processes`` (RLIMIT_NPROC)
    At most so many processes and threads. The kernel counts them per real user in a user
    namespace, and never limits uid 0: so the worker, once it is not root, makes a user
    namespace of its own (mapping its user to itself) and sets the limit inside it, where only
    its own processes count, not the grading user's nor other workers'.
``file-size`` (RLIMIT_FSIZE)
    No file grows past a size: the write fails with EFBIG (Python ignores SIGXFSZ; a submission
    that restores it is killed by it, and the grader says why).
``cpu-time`` (RLIMIT_CPU)
    A backstop to the grader's wall-clock timeouts: the worker, and each process it starts, is
    sent SIGXCPU after so many seconds of CPU, and killed a few seconds later.

Landlock rights, network rules and scopes are masked by the kernel's ABI version (the kernel
documentation's best-effort pattern), so a newer kernel never refuses the ruleset and an older one
applies what it knows and reports the rest as missing.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import resource
import stat
import struct
import sys
from dataclasses import dataclass, field
from enum import IntFlag
from typing import Any, Iterable, Sequence

ACTIVE, NOT_NEEDED, MISSING = "active", "not needed", "missing"
STATES = (ACTIVE, NOT_NEEDED, MISSING)
LAYERS: dict[str, str] = {
    "namespaces": "network and IPC namespaces",
    "user": "drop to user nobody",
    "capabilities": "no capabilities (no_new_privs)",
    "landlock-fs": "Landlock file-system rules",
    "landlock-net": "Landlock TCP rules",
    "landlock-scope": "Landlock scoping of signals and abstract sockets",
    "seccomp": "seccomp filter of socket() and io_uring",
    "scratch-size": "size limit of the scratch folder",
    "processes": "limit on processes and threads (RLIMIT_NPROC)",
    "file-size": "limit on the size of a file (RLIMIT_FSIZE)",
    "cpu-time": "limit on CPU time (RLIMIT_CPU)",
}
LANDLOCK_LAYERS = ("landlock-fs", "landlock-net", "landlock-scope")


# -- the record of what was applied ----------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One protection: its name (a key of ``LAYERS``), whether it is in force, and how or why not."""

    name: str
    state: str
    detail: str

    @property
    def title(self) -> str:
        return LAYERS[self.name]


@dataclass(frozen=True)
class Confinement:
    """The layers a worker reported after its lock-down; empty when no worker has started yet."""

    layers: tuple[Layer, ...] = ()

    @property
    def missing(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.state == MISSING)

    def as_data(self) -> list[dict[str, str]]:
        return [{"layer": layer.name, "state": layer.state, "detail": layer.detail} for layer in self.layers]

    @classmethod
    def from_data(cls, data: Any) -> Confinement:
        """Decode a worker's report, refusing anything but a list of known layers (ValueError)."""
        if type(data) is not list:
            raise ValueError("the confinement report is not a list")
        layers = []
        for item in data:
            if type(item) is not dict or set(item) != {"layer", "state", "detail"} \
                    or not all(type(value) is str for value in item.values()):
                raise ValueError("a confinement layer is not a {layer, state, detail} record")
            if item["layer"] not in LAYERS or item["state"] not in STATES:
                raise ValueError(f"unknown confinement layer or state: {item['layer']!r}, {item['state']!r}")
            layers.append(Layer(item["layer"], item["state"], item["detail"]))
        return cls(tuple(layers))

    def lines(self) -> list[str]:
        """One line per layer, for the instructor: "active: network and IPC namespaces (...)"."""
        return [f"{layer.state}: {layer.title} ({layer.detail})" for layer in self.layers]


def unavailable(reason: str, layers: Iterable[str] = LAYERS) -> Confinement:
    """Every layer missing for one reason (not Linux, say)."""
    return Confinement(tuple(Layer(name, MISSING, reason) for name in layers))


# -- what the grader allows ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the worker may touch once locked down, decided by the grader (checks.engine.isolation.sandbox).

    Paths that do not exist are skipped. A folder's rule covers everything beneath it.
    """

    scratch: str  # read, write, create, remove, execute: the only writable place
    read: tuple[str, ...] = ()  # files and folders to read (and list)
    list_only: tuple[str, ...] = ()  # folders whose entries may be listed (not read)
    execute: tuple[str, ...] = ()  # files and folders to read and execute
    read_write: tuple[str, ...] = ()  # besides the scratch folder: /dev/null
    keep_out: tuple[str, ...] = ()  # never granted whole through a shared library's folder
    user: tuple[int, int] | None = None  # (uid, gid) to become, grading as root
    user_needed: bool = False  # grading runs as root: staying root is a missing layer
    user_note: str = ""  # as whom the worker runs, or why it could not drop
    # The caps (0: none). scratch_room is what may be written beyond the grader's copies.
    scratch_room: int = 0  # bytes
    max_processes: int = 0  # processes and threads of the worker's user, the worker included
    max_file_size: int = 0  # bytes
    cpu_seconds: int = 0  # of CPU time per process, before SIGXCPU

    def as_data(self) -> dict[str, Any]:
        return {name: list(value) if isinstance(value, tuple) else value for name, value in vars(self).items()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Plan:
        fields = {name: tuple(value) if type(value) is list else value for name, value in data.items()}
        return cls(**fields)


# -- the lock-down ---------------------------------------------------------------------------------


def lock_down(plan: Plan, layers: Sequence[str] = tuple(LAYERS)) -> Confinement:
    """Confine this process for good, applying the named layers the kernel allows; report each.

    Must run while the process is single-threaded: Landlock, seccomp and capabilities bind the
    calling thread (and the threads it starts later), never threads that already run.
    """
    if not sys.platform.startswith("linux"):
        return unavailable(f"kernel confinement needs Linux, and this is {sys.platform}", layers)
    threads = len(os.listdir("/proc/self/task"))
    if threads > 1:
        return unavailable(f"the worker had {threads} threads when it locked itself down", layers)
    applied: dict[str, Layer] = {}
    if "namespaces" in layers:
        applied["namespaces"] = enter_namespaces()
    if "scratch-size" in layers:  # before the Landlock rules: they must name the new file system
        applied["scratch-size"] = limit_scratch(plan)
    # Rules are gathered while the paths can still be opened: before the drop to nobody, and
    # before /proc (for the mapped libraries) is out of reach.
    landlock = Ruleset.gather(plan, layers) if set(layers) & set(LANDLOCK_LAYERS) else None
    bounding = drop_bounding_set() if "capabilities" in layers else ""
    if "user" in layers:
        applied["user"] = become_user(plan)
    if "processes" in layers:  # after the drop of user: the count is the new user's
        applied["processes"] = limit_processes(plan.max_processes)
    if "file-size" in layers:
        applied["file-size"] = limit_file_size(plan.max_file_size)
    if "cpu-time" in layers:
        applied["cpu-time"] = limit_cpu_time(plan.cpu_seconds)
    if "capabilities" in layers:
        applied["capabilities"] = drop_capabilities(bounding)
    if landlock is not None:
        applied.update(landlock.enforce())
    if "seccomp" in layers:
        applied["seccomp"] = filter_sockets()
    return Confinement(tuple(applied[name] for name in LAYERS if name in applied))


@functools.cache
def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def checked(result: int) -> int:
    """``result`` of a libc call, or OSError with errno if it is -1."""
    if result == -1:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def syscall(number: int, *args: Any) -> int:
    function = libc().syscall
    function.restype = ctypes.c_long
    return checked(function(ctypes.c_long(number), *args))


def prctl(option: int, *args: Any) -> int:
    values = [ctypes.c_ulong(arg) if type(arg) is int else arg for arg in args]
    values += [ctypes.c_ulong(0)] * (4 - len(values))
    return checked(libc().prctl(ctypes.c_int(option), *values))


# -- 1. namespaces ---------------------------------------------------------------------------------

CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWNET = 0x08000000, 0x10000000, 0x40000000


def enter_namespaces() -> Layer:
    """New network and IPC namespaces; an ordinary user first gets a user namespace to make them in."""
    flags = CLONE_NEWNET | CLONE_NEWIPC
    if os.geteuid() == 0:
        try:
            checked(libc().unshare(ctypes.c_int(flags)))
        except OSError as error:
            return Layer("namespaces", MISSING, f"unshare(CLONE_NEWNET | CLONE_NEWIPC) as root failed: {error.strerror}")
        return Layer("namespaces", ACTIVE, "new network namespace (loopback only, down) and IPC namespace")
    uid, gid = os.getuid(), os.getgid()
    try:
        checked(libc().unshare(ctypes.c_int(CLONE_NEWUSER | flags)))
    except OSError as error:
        return Layer("namespaces", MISSING, f"the kernel refuses an ordinary user a user namespace: {error.strerror} "
                     "(see the sysctls user.max_user_namespaces and kernel.apparmor_restrict_unprivileged_userns)")
    detail = ("new user namespace (the grading user mapped to itself), network namespace (loopback only, down) "
              "and IPC namespace")
    problem = map_user_to_itself(uid, gid)
    if problem:  # the namespaces exist all the same; permissions still go by the real uid
        detail += f" (the user map could not be written: {problem})"
    return Layer("namespaces", ACTIVE, detail)


PR_SET_DUMPABLE, PR_GET_DUMPABLE = 4, 3


def map_user_to_itself(uid: int, gid: int) -> str:
    """Map ``uid`` and ``gid`` to themselves in the user namespace just made; '' or why not.

    So that os.getuid() and file ownership read as before, and files can be created at all. A
    process that changed its user (root become nobody) is not dumpable, which makes its /proc
    entries root's: it is made dumpable just long enough to write its own maps.
    """
    dumpable = prctl(PR_GET_DUMPABLE)
    try:
        if not dumpable:
            prctl(PR_SET_DUMPABLE, 1)
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as stream:
                stream.write(text)
    except OSError as error:
        return error.strerror or str(error)
    finally:
        if not dumpable:
            prctl(PR_SET_DUMPABLE, 0)
    return ""


# -- 2. user and 3. capabilities -------------------------------------------------------------------

PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
CAPABILITY_VERSION_3 = 0x20080522


class CapabilityHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapabilitySets(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def become_user(plan: Plan) -> Layer:
    """setresuid to the plan's user (all supplementary groups dropped), if the grader asked for one."""
    if plan.user is None:
        return Layer("user", MISSING if plan.user_needed else NOT_NEEDED, plan.user_note)
    uid, gid = plan.user
    try:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as error:
        return Layer("user", MISSING, f"could not become uid {uid}: {error.strerror}")
    return Layer("user", ACTIVE, plan.user_note)


def drop_bounding_set() -> str:
    """Empty the bounding set (needs CAP_SETPCAP, so before the drop of user); '' or why not."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as stream:
            last = int(stream.read())
    except (OSError, ValueError):
        last = 63
    try:
        for capability in range(last + 1):
            prctl(PR_CAPBSET_DROP, capability)
    except OSError as error:
        if error.errno == errno.EINVAL:  # past the kernel's last capability
            return ""
        return f"bounding set kept ({error.strerror}; no_new_privs makes it moot)"
    return ""


def drop_capabilities(bounding_note: str = "") -> Layer:
    """Empty every capability set of this process and set no_new_privs."""
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass  # kernels before 4.3 have no ambient set: nothing to clear
    try:
        header, sets = CapabilityHeader(CAPABILITY_VERSION_3, 0), (CapabilitySets * 2)()
        checked(libc().capset(ctypes.byref(header), sets))
        set_no_new_privs()
    except OSError as error:
        return Layer("capabilities", MISSING, f"could not drop capabilities: {error.strerror}")
    return Layer("capabilities", ACTIVE, "; ".join(filter(None, ["every capability dropped, no_new_privs set",
                                                                  bounding_note])))


def set_no_new_privs() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


# -- 4.-6. Landlock --------------------------------------------------------------------------------

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


# -- 7. seccomp ------------------------------------------------------------------------------------

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x06
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000
SECCOMP_DATA_NR, SECCOMP_DATA_ARCH = 0, 4  # offsets in struct seccomp_data
X32_SYSCALL_BIT = 0x40000000
# machine: (AUDIT_ARCH_*, the numbers of socket and io_uring_setup)
SECCOMP_ARCHITECTURES = {"x86_64": (0xC000003E, (41, 425)), "aarch64": (0xC00000B7, (198, 425))}


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def socket_filter(architecture: int, denied: Sequence[int], refuse_x32: bool) -> list[SockFilter]:
    """The BPF program: a system call of another architecture, of x32, or in ``denied`` fails with
    EACCES; everything else is allowed. (Another architecture: a 64-bit process can still make
    32-bit system calls, whose numbers differ.)"""
    deny = SECCOMP_RET_ERRNO | errno.EACCES
    program = [SockFilter(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
               SockFilter(BPF_JEQ_K, 1, 0, architecture),
               SockFilter(BPF_RET_K, 0, 0, deny),
               SockFilter(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR)]
    tests = [(BPF_JGE_K, X32_SYSCALL_BIT)] * refuse_x32 + [(BPF_JEQ_K, number) for number in denied]
    for position, (code, value) in enumerate(tests):
        to_deny = len(tests) - position  # over the remaining tests and the "allow"
        program.append(SockFilter(code, to_deny, 0, value))
    return program + [SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW), SockFilter(BPF_RET_K, 0, 0, deny)]


def filter_sockets() -> Layer:
    """Install the seccomp filter of ``socket_filter`` for this machine's architecture."""
    machine = platform.machine()
    if machine not in SECCOMP_ARCHITECTURES or struct.calcsize("P") != 8:
        return Layer("seccomp", MISSING, f"no filter for this architecture ({machine}, "
                     f"{8 * struct.calcsize('P')}-bit Python)")
    architecture, denied = SECCOMP_ARCHITECTURES[machine]
    program = socket_filter(architecture, denied, refuse_x32=machine == "x86_64")
    instructions = (SockFilter * len(program))(*program)
    fprog = SockFprog(len(program), ctypes.cast(instructions, ctypes.POINTER(SockFilter)))
    try:
        set_no_new_privs()  # required for a filter without CAP_SYS_ADMIN
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.cast(ctypes.pointer(fprog), ctypes.c_void_p))
    except OSError as error:
        return Layer("seccomp", MISSING, f"the kernel refused the filter: {error.strerror}")
    return Layer("seccomp", ACTIVE, f"socket() and io_uring_setup() fail with EACCES ({machine})")



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
