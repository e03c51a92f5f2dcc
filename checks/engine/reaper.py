"""Catching processes that escape the worker's process group.

Killing the worker's process group kills every child that stayed in it, but a submission can
leave it: fork twice and call ``setsid()``, and the grandchild is a daemon in a session of its
own, re-parented to init when its parent dies. On Linux the grading process can declare itself a
*child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): orphans below it are then re-parented to
it instead of init, so once a worker is stopped every such orphan is a child of ours that we
did not start, and can be killed.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
_subreaper: list[bool] = []


def become_subreaper() -> bool:
    """Ask Linux to re-parent our orphaned descendants to us (once per process); True if it did."""
    if not _subreaper:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper.append(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
        except (OSError, AttributeError):  # not Linux: process groups are all we have
            _subreaper.append(False)
    return _subreaper[0]


def children() -> set[int]:
    """The pids whose parent is this process, read from /proc."""
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


def kill_orphans(keep: set[int], rounds: int = 5) -> list[int]:
    """Kill and reap our children not in ``keep`` (escaped descendants of stopped workers).

    Several rounds, because killing a daemon re-parents its own children to us in turn.
    """
    if not become_subreaper():
        return []
    killed: list[int] = []
    for _ in range(rounds):
        orphans = children() - keep
        if not orphans:
            break
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                killed.append(pid)
            except (ProcessLookupError, ChildProcessError, PermissionError):
                pass
        time.sleep(0.01)
    return killed
