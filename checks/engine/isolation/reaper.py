"""Catching processes that escape the worker's process group (used by the supervisor process only).

Killing the worker's process group kills every child that stayed in it, but a submission can
leave it: fork twice and call ``setsid()``, and the grandchild is a daemon in a session of its
own, re-parented to init when its parent dies. On Linux a process can declare itself a *child
subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): orphans below it are then re-parented to it
instead of init. The supervisor (``checks.engine.isolation.supervisor``) does so and starts nothing but the
worker, so once the worker is dead every child it has left is an escaped descendant, and is killed.

The grading process must never call this: as a subreaper it would adopt orphans of processes
its caller started, and ``kill_all_children`` would kill the caller's own children.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Ask Linux to re-parent this process's orphaned descendants to it; True if it did."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux (no prctl): process groups are all we have
        return False


def children() -> set[int]:
    """The pids whose parent is this process, read from /proc (empty where there is no /proc)."""
    me, found = os.getpid(), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Field 4 is the parent pid; the command name (field 2) may hold spaces and ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:
            found.add(int(stat.parent.name))
    return found


def kill_all_children(time_limit: float = 2.0) -> set[int]:
    """Kill and reap every child of this process; return those still there after ``time_limit`` seconds.

    Round after round: reaping a killed daemon means its own children were re-parented to us
    first, so each round finds the next generation, until none is left. (A pid read from /proc
    is our unreaped child, so it cannot have been reused by an unrelated process.) The time limit
    only matters against a fork bomb that outruns us, or a child we may not signal.
    """
    ends = time.monotonic() + time_limit
    while found := children():
        if time.monotonic() > ends:
            return found
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError, PermissionError):
                pass
    return set()
