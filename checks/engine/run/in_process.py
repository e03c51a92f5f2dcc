"""Trusted code answered in this process: the same ``Submission`` proxy, without a worker.

``InProcessSubmission`` is a ``Submission`` whose requests are answered here, by the worker's own
code (``checks.engine.isolation.worker.answer_request``: the same handles for caches, the same "batch" and
"map" rules), on a module imported here. Every argument and every answer is copied, as crossing
the process boundary copies them, so a function that modifies its inputs is caught the same way;
everything else (encoding, pipes, confinement, the worker's start) is left out.

It is for trusted code only, never a student's: the course's reference, which the search for a
simple counterexample asks whether a candidate example is fair (``reference_in_process``), and
``bench/in_process.py``, which measures what isolation costs. A student's code always runs in the
confined worker.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from checks.engine.isolation.confinement import Confinement
from checks.engine.isolation.contract import Submission
from checks.engine.isolation.boundary import WorkerOptions, WorkerStats
from checks.engine.isolation.pipes import OutputCapture
from checks.engine.isolation.worker import answer_request, public_functions, submission_root


def copied(value: Any) -> Any:
    """``value`` with every array copied, through tuples, lists and dicts (what a round trip does to it)."""
    kind = type(value)
    if kind is np.ndarray:
        return value.copy()
    if kind is tuple or kind is list:
        return kind(copied(item) for item in value)
    if kind is dict:
        return {key: copied(item) for key, item in value.items()}
    return value


def import_in_process(path: Path) -> ModuleType:
    """Import the file or package ``path`` under a name of its own, one per path (no import policy:
    this is for trusted code)."""
    name = "_rnn_grade_in_process_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    is_package = path.is_dir()
    spec = importlib.util.spec_from_file_location(name, path / "__init__.py" if is_package else path,
                                                  submodule_search_locations=[str(path)] if is_package else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class InProcessWorker:
    """``checks.engine.isolation.boundary.Worker``'s interface, answered by the worker's code in this process."""

    def __init__(self, submission: Path) -> None:
        self.submission = submission.resolve()
        self.module: ModuleType | None = None
        self.caches: dict[int, Any] = {}
        self.output = OutputCapture()  # stays empty: what the code prints goes to our stdout
        self.confinement = Confinement()
        self.requests_sent = 0
        self.seconds_waiting = 0.0

    files_left_out: tuple[str, ...] = ()  # trusted code is imported where it is, not copied

    def hello(self) -> dict:
        self.module = import_in_process(self.submission)
        return {"functions": public_functions(self.module), "import_error": None, "missing_module": None}

    def request(self, message: dict, doing: str) -> dict:
        self.requests_sent += 1
        started = time.perf_counter()
        try:
            answer = answer_request(self.module, copied(message), self.caches, submission_root(self.submission))
            return copied(answer)
        finally:
            self.seconds_waiting += time.perf_counter() - started

    @property
    def stats(self) -> WorkerStats:
        return WorkerStats(self.requests_sent, self.seconds_waiting)

    def call_running(self) -> None:
        """Trusted code in this process neither hangs unseen nor crashes a worker: never a call to blame."""
        return None

    def stop(self) -> None:
        self.caches.clear()


class InProcessSubmission(Submission):
    """The same proxy and validation as ``Submission``, over ``InProcessWorker``."""

    def _new_worker(self, options: WorkerOptions) -> InProcessWorker:
        return InProcessWorker(self.path)


@functools.cache
def reference_in_process() -> InProcessSubmission | None:
    """The course's reference as an ``InProcessSubmission`` (one per process), or None where there is
    none (a student's self-check ships without it)."""
    from checks.engine.run.assignments import reference_installed

    if not reference_installed():
        return None
    import reference

    return InProcessSubmission(Path(reference.__file__).parent)
