"""How many cores this process can use: what ``--jobs`` defaults to, and whether drawing ahead pays.

The CPU affinity counts the cores the process may be scheduled on. A container's CPU quota
(``docker run --cpus 1``, as course platforms run their graders) lowers what it can use without
changing the affinity, so the quota counts too, rounded up. It is read where a container sees its
own cgroup, as loky's ``cpu_count`` reads it: cgroup v2's ``cpu.max`` ("QUOTA PERIOD", or "max"
for none), else cgroup v1's ``cpu/cpu.cfs_quota_us`` and ``cpu/cpu.cfs_period_us`` (-1: none).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def cores(cgroup: Path = CGROUP) -> int:
    """The cores this process can use: its CPU affinity, capped by its cgroup's CPU quota (rounded up)."""
    quota = cpu_quota(cgroup)
    return max(1, min(scheduled_cores(), quota if quota is not None else math.inf))


def scheduled_cores() -> int:
    """The cores this process may be scheduled on."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def cpu_quota(cgroup: Path = CGROUP) -> int | None:
    """The CPU quota of the cgroup mounted at ``cgroup``, in cores rounded up; None if it sets none
    (or there is no cgroup file to read: not Linux, or a mount this cannot make sense of)."""
    limit = _read(cgroup / "cpu.max")
    if limit is not None:
        quota, _, period = limit.partition(" ")
    else:
        quota, period = _read(cgroup / "cpu" / "cpu.cfs_quota_us"), _read(cgroup / "cpu" / "cpu.cfs_period_us")
    try:
        quota_us, period_us = int(quota), int(period)
    except (TypeError, ValueError):  # "max", or a file missing
        return None
    return math.ceil(quota_us / period_us) if quota_us > 0 and period_us > 0 else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
