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

This module applies the layers in their order; each lives in its own module (``privileges``,
``landlock``, ``seccomp``, ``limits``), and the record they make is ``confinement``'s.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from checks.engine.isolation.confinement import LAYERS, Confinement, Layer, Plan, unavailable
from checks.engine.isolation.landlock import LANDLOCK_LAYERS, Ruleset
from checks.engine.isolation.limits import limit_cpu_time, limit_file_size, limit_processes, limit_scratch
from checks.engine.isolation.privileges import become_user, drop_bounding_set, drop_capabilities, enter_namespaces
from checks.engine.isolation.seccomp import filter_sockets


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
