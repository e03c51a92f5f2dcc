"""The record of a worker's confinement, and the grader's plan of it: plain data on both sides.

``Plan`` is what the grader allows the worker to touch and consume (built by
``checks.engine.isolation.sandbox``); ``Confinement`` is the list of ``Layer`` states the worker
reports once it has locked itself down (``checks.engine.isolation.lockdown``, which describes the
eleven layers). Kept apart from the lock-down so that the grader, its reports and its options read
the record without loading the ctypes and system calls that only the worker needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

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

