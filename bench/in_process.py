"""Benchmark: what isolation costs. A full default grade with the worker, against the same checks,
with the same examples, run against the same submission in this process (no worker).

The in-process side swaps the worker for ``InProcessWorker``, which answers the same requests with
the worker's own code (``checks.engine.worker.answer_request``: the same handles for caches, the
same "batch" and "map" rules) on a module imported here. Every argument and every answer is copied,
as crossing the process boundary copies them, so a submission that modifies its inputs is caught
the same way; everything else (encoding, pipes, confinement, the worker's start) is left out. The
``Submission`` proxy and its validation are the same object and code on both sides.

This exists only here, in bench/: grading a student always goes through the confined worker.

Both sides run alternately, ``--repeat`` times each (medians, since these machines are shared and
noisy). The run stops with an error if a check's score or the number of round trips differs
between the two sides: then they did not make the same calls, and the ratio would mean nothing.

    .venv/bin/python bench/in_process.py [SUBMISSION] [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from checks.engine.confinement import Confinement
from checks.engine.contract import Submission
from checks.engine.isolation import OutputCapture, WorkerOptions, WorkerStats
from checks.engine.profiles import DEFAULT_SEED
from checks.engine.runner import grade_submission, run_check
from checks.engine.worker import answer_request, public_functions, submission_root
from checks.registry import Check, load_checks

ROOT = Path(__file__).resolve().parent.parent
MODULE_NAME = "_bench_in_process_submission"


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
    """Import the submission file or package ``path`` under a name of its own (no import policy:
    this is for trusted code, the reference and the corpus)."""
    is_package = path.is_dir()
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path / "__init__.py" if is_package else path,
                                                  submodule_search_locations=[str(path)] if is_package else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


class InProcessWorker:
    """``checks.engine.isolation.Worker``'s interface, answered by the worker's code in this process."""

    def __init__(self, submission: Path) -> None:
        self.submission = submission.resolve()
        self.module: ModuleType | None = None
        self.caches: dict[int, Any] = {}
        self.output = OutputCapture()  # stays empty: what the submission prints goes to our stdout
        self.confinement = Confinement()
        self.requests_sent = 0
        self.seconds_waiting = 0.0

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

    def stop(self) -> None:
        self.caches.clear()


class InProcessSubmission(Submission):
    """The same proxy and validation as ``Submission``, over ``InProcessWorker``."""

    def _new_worker(self, options: WorkerOptions) -> InProcessWorker:
        return InProcessWorker(self.path)


@dataclass
class Run:
    seconds: float
    calls: int
    scores: list[float]


def with_worker(submission: Path, checks: list[Check]) -> Run:
    grade = grade_submission(submission, checks, DEFAULT_SEED)
    return Run(grade.seconds, grade.worker_calls, [r.score for r in grade.results])


def in_process(submission: Path, checks: list[Check]) -> Run:
    """What ``grade_submission`` does, check by check, on an ``InProcessSubmission``."""
    started = time.perf_counter()
    sub = InProcessSubmission(submission)
    try:
        scores = [run_check(check, sub, DEFAULT_SEED).score for check in checks]
    finally:
        sub.close()
    return Run(time.perf_counter() - started, sub.stats.calls, scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", type=Path, default=ROOT / "reference")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    if not options.submission.exists():
        parser.exit(2, f"in_process.py: error: no such submission: {options.submission}\n")
    checks = load_checks(profile="default")
    isolated, local = [], []
    for _ in range(options.repeat):
        isolated.append(with_worker(options.submission, checks))
        local.append(in_process(options.submission, checks))
    for run in isolated + local:
        if run.scores != isolated[0].scores or run.calls != isolated[0].calls:
            sys.exit(f"in_process.py: the two sides did not make the same calls ({run.calls} round trips against "
                     f"{isolated[0].calls}, or other scores): the comparison would mean nothing")
    worker_median = statistics.median(r.seconds for r in isolated)
    local_median = statistics.median(r.seconds for r in local)
    print(f"submission: {options.submission.name}   score: {sum(isolated[0].scores):g}   checks: {len(checks)}   "
          f"round trips: {isolated[0].calls} (both sides)   repetitions: {options.repeat}, alternating")
    print("| measure | median |")
    print("|---|---|")
    print(f"| full default grade, confined worker | {worker_median:.2f} s |")
    print(f"| the same checks and calls in-process (no worker) | {local_median:.2f} s |")
    print(f"| ratio (target at most 1.5) | {worker_median / local_median:.2f} |")


if __name__ == "__main__":
    main()
