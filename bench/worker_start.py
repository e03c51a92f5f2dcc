"""Benchmark: what starting one confined worker costs, against the floor of starting Python with numpy.

A worker start is: the supervisor process, the worker's interpreter and numpy, the lock-down
(namespaces, user, capabilities, Landlock, seccomp), and the import of the submission. It happens
once per submission and once more after each fault. The floor is a bare ``python -c "import
numpy"``. Both are measured in the same run, alternating, and reported as medians.

    .venv/bin/python bench/worker_start.py [SUBMISSION] [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from checks.engine.isolation.contract import Submission

ROOT = Path(__file__).resolve().parent.parent


def confined_start(submission: Path) -> float:
    started = time.perf_counter()
    sub = Submission(submission)
    elapsed = time.perf_counter() - started
    sub.close()
    return elapsed


def bare_start() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-s", "-P", "-B", "-c", "import numpy"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", type=Path, default=ROOT / "reference")
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()
    confined, bare = [], []
    for _ in range(options.repeat):
        confined.append(confined_start(options.submission))
        bare.append(bare_start())
    layers = Submission(options.submission)
    active = [layer.name for layer in layers.confinement.layers if layer.state == "active"]
    layers.close()
    confined_median, bare_median = statistics.median(confined), statistics.median(bare)
    print(f"submission: {options.submission.name}   repetitions: {options.repeat}   active layers: {', '.join(active)}")
    print("| measure | median |")
    print("|---|---|")
    print(f"| confined worker start (supervisor, Python, numpy, lock-down, import) | {confined_median * 1000:.0f} ms |")
    print(f"| bare `python -c 'import numpy'` | {bare_median * 1000:.0f} ms |")
    print(f"| ratio | {confined_median / bare_median:.2f} |")


if __name__ == "__main__":
    main()
