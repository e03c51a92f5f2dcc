"""The worker's side of PyTorch submissions: tensors in, plain numpy data out (a stub; issue 23).

Imported by the worker before its lock-down, and only for an assignment that preloads torch
(``checks.engine.isolation.worker.preload``).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import torch  # noqa: F401 - imported here, before the lock-down, on purpose


def prepare() -> None:
    """Pin torch's thread pools to one thread each, before the lock-down caps the worker's threads."""
    torch.set_num_threads(1)


def outcome(module: ModuleType, request: dict, origin: Path) -> dict:
    """How a "torch_*" request ended (not yet implemented)."""
    return {"raised": f"the grader cannot yet run {request['op']!r} requests (a grader bug)"}
