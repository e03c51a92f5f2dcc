"""Benchmark: the first grade on a fresh install against a warm one (issue 10 §5, target ratio at most 1.5).

Each run is ``rnn-grade SUBMISSION`` in a fresh process, timed from outside (interpreter start-up
and imports included). Cold: an empty SymPy cache folder (``RNN_GRADE_CACHE_DIR``), and no
compiled bytecode reused or kept (``PYTHONDONTWRITEBYTECODE=1``, and ``PYTHONPYCACHEPREFIX`` an
empty folder, so every ``.pyc`` of the grader, Hypothesis and numpy is compiled afresh). Warm: a
SymPy cache folder and the bytecode left by one untimed grade before the first timed one. The two
alternate, ``--repeat`` times each; medians.

The worker's environment is the grader's own (``checks.engine.isolation.boundary.worker_environment``), so
it reads the installed ``.pyc`` files on both sides (it never writes any): the cold side is cold
for the grading process only.

    .venv/bin/python bench/cold_start.py [SUBMISSION] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RNN_GRADE = Path(sys.executable).parent / "rnn-grade"


def grade_seconds(submission: Path, environment: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``rnn-grade submission`` in a fresh process; exits if it did not grade.

    CPU is user + system time of the process and all it waited for (the worker's too): on a shared
    machine it moves far less than the wall time does.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run([str(RNN_GRADE), str(submission)], capture_output=True, text=True, env=environment)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if finished.returncode not in (0, 1):
        sys.exit(f"cold_start.py: rnn-grade exited with {finished.returncode}:\n{finished.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def base_environment(cache: Path) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    return {**environment, "NO_COLOR": "1", "RNN_GRADE_CACHE_DIR": str(cache)}


def cold_seconds(submission: Path, scratch: Path, run: int) -> tuple[float, float]:
    """One grade with an empty SymPy cache and no bytecode to reuse (both folders new for this run)."""
    cache, bytecode = scratch / f"cold-cache-{run}", scratch / f"cold-pycache-{run}"
    cache.mkdir()
    bytecode.mkdir()
    environment = {**base_environment(cache), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(bytecode)}
    return grade_seconds(submission, environment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", type=Path, default=ROOT / "reference")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    if not options.submission.exists():
        parser.exit(2, f"cold_start.py: error: no such submission: {options.submission}\n")
    with tempfile.TemporaryDirectory(prefix="rnn-grade-cold-") as folder:
        scratch = Path(folder)
        warm_environment = base_environment(scratch / "warm-cache")
        grade_seconds(options.submission, warm_environment)  # leaves the bytecode and the SymPy cache
        cold, warm = [], []
        for run in range(options.repeat):
            cold.append(cold_seconds(options.submission, scratch, run))
            warm.append(grade_seconds(options.submission, warm_environment))
    cold_wall, warm_wall = (statistics.median(wall for wall, _ in runs) for runs in (cold, warm))
    cold_cpu, warm_cpu = (statistics.median(cpu for _, cpu in runs) for runs in (cold, warm))
    print(f"submission: {options.submission.name}   `rnn-grade SUBMISSION` in a fresh process   "
          f"repetitions: {options.repeat}, alternating")
    print("| measure | wall, median | CPU (user + system), median |")
    print("|---|---|---|")
    print(f"| cold: empty SymPy cache, no bytecode reused | {cold_wall:.2f} s | {cold_cpu:.2f} s |")
    print(f"| warm | {warm_wall:.2f} s | {warm_cpu:.2f} s |")
    print(f"| ratio cold / warm (target at most 1.5) | {cold_wall / warm_wall:.2f} | {cold_cpu / warm_cpu:.2f} |")


if __name__ == "__main__":
    main()
