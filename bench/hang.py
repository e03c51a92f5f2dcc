"""Benchmark: what a submission whose backward hangs costs to grade (issue 10 §3, target at most 30 s).

``tests/hostile/hang_backward.py`` is correct except that ``rnn_backward`` never returns. It is
graded end to end, ``rnn-grade`` in a fresh process, with the default checks and the default 10 s
call timeout, from a folder of its own (no sibling files). Printed: the wall time (median of
``--repeat`` runs), the score, and the report's line that says which input size hung.
(``tests/test_faults.py`` tests the behaviour; this is the figure.)

    .venv/bin/python bench/hang.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANGING = ROOT / "tests" / "hostile" / "hang_backward.py"
RNN_GRADE = Path(sys.executable).parent / "rnn-grade"
HUNG = "did not finish within"


def grade_once(submission: Path, results: Path) -> tuple[float, str]:
    """(wall seconds, the terminal report) of ``rnn-grade submission`` in a fresh process."""
    started = time.perf_counter()
    finished = subprocess.run([str(RNN_GRADE), str(submission), "--results", str(results)],
                              capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"})
    seconds = time.perf_counter() - started
    if finished.returncode not in (0, 1):
        sys.exit(f"hang.py: rnn-grade exited with {finished.returncode}:\n{finished.stderr[-2000:]}")
    return seconds, finished.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rnn-grade-hang-"))
    try:
        submission = folder / HANGING.name
        shutil.copy(HANGING, submission)
        runs = [grade_once(submission, folder / "results.json") for _ in range(options.repeat)]
        score = next((" ".join(line.split()[1:]) for line in runs[0][1].splitlines() if line.startswith("TOTAL")),
                     "(no total found)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    hung = [line.strip() for line in runs[0][1].splitlines() if HUNG in line]
    print(f"submission: {HANGING.relative_to(ROOT)}   default checks, default call timeout   "
          f"repetitions: {options.repeat}")
    print("| measure | value |")
    print("|---|---|")
    wall = statistics.median(seconds for seconds, _ in runs)
    print(f"| `rnn-grade` wall time, end to end (target at most 30 s) | {wall:.1f} s |")
    print(f"| total | {score} |")
    print(f"| report lines naming the hang | {len(hung)} |")
    first = hung[0] if hung else "(none: the hang was not reported)"
    print(f"\nthe report's first line that names the hang:\n  {first}")


if __name__ == "__main__":
    main()
