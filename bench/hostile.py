"""Benchmark: grade the whole hostile corpus (tests/hostile/) and time it.

Every case is graded in process with the four tiny checks of tests/test_hostile.py and the case's
own GRADE_OPTIONS (call timeout 2 s unless the case says otherwise), from a copy in a temporary
folder, exactly as the tests grade it. Prints a markdown table: the case, its score out of 10 (or
what went wrong when the grader itself failed, which should never happen), and the median wall
time over --repeat runs; then the total. Hang cases cost about one call timeout per check they
hang in: that is the timeout doing its job, not overhead.

With --full, also grades flood_correct_full.py (a correct submission that writes ~150 MB and
sleeps ~3 s over a grade) and the clean cs231n_style.py it wraps, with the built-in checks, so the
cost of a flood can be compared with the printing and sleeping themselves.

    .venv/bin/python bench/hostile.py [--repeat 3] [--full]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from checks.engine.isolation.boundary import WorkerOptions  # noqa: E402
from checks.registry import load_checks  # noqa: E402
from checks.engine.run.runner import grade_submission  # noqa: E402
from test_hostile import (  # noqa: E402
    CASES, HOSTILE, copy_case, declared, kill_marked, load_hostile_checks, trespass_paths, worker_options,
)


def grade_once(name: str, checks: list, folder: Path, options: WorkerOptions) -> tuple[str, float]:
    """(score text, seconds) of one grade of case ``name``."""
    path, token = copy_case(name, folder)
    started = time.perf_counter()
    try:
        grade = grade_submission(path, checks, options=options)
        score = f"{grade.score:g} / {grade.max_score:g}"
    except Exception as error:  # noqa: BLE001 - a grader crash is a result worth showing
        score = f"grader crashed: {type(error).__name__}"
    finally:
        seconds = time.perf_counter() - started
        kill_marked(token)
        for planted in trespass_paths(token):
            planted.unlink(missing_ok=True)
    return score, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="grades per case; the median time is shown")
    parser.add_argument("--full", action="store_true", help="also time a flooding correct submission on the real checks")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rnn-grade-bench-hostile-") as scratch:
        scratch = Path(scratch)
        checks = load_hostile_checks(scratch / "checks")
        rows, total = [], 0.0
        for name in CASES:
            runs = [grade_once(name, checks, scratch / f"{name}-{i}",
                               worker_options(declared(HOSTILE / f"{name}.py"))) for i in range(options.repeat)]
            scores = {score for score, _ in runs}
            seconds = statistics.median(s for _, s in runs)
            total += seconds
            rows.append((name, " or ".join(sorted(scores)), seconds))

        print(f"hostile corpus: {len(CASES)} cases, 4 tiny checks (10 points), median of {options.repeat} grades")
        print()
        print("| case | score | seconds |")
        print("|---|---|---|")
        for name, score, seconds in rows:
            print(f"| {name} | {score} | {seconds:.2f} |")
        print(f"| **total** | | **{total:.1f}** |")

        if options.full:
            builtin = load_checks()
            print()
            print("| full default grade, built-in checks | score | seconds |")
            print("|---|---|---|")
            clean = ROOT / "tests" / "corpus" / "correct" / "cs231n_style.py"
            flooding, _ = copy_case("flood_correct_full", scratch / "full")
            timings = []
            for label, path in (("cs231n_style (clean)", clean), ("flood_correct_full", flooding)):
                started = time.perf_counter()
                grade = grade_submission(path, builtin)
                timings.append(time.perf_counter() - started)
                print(f"| {label} | {grade.score:g} / {grade.max_score:g} | {timings[-1]:.1f} |")
            print(f"\nthe flood costs {timings[1] - timings[0]:.1f} s; its ~15 000 sleeps of 0.2 ms alone take 3-5 s, "
                  "and writing its ~150 MB into a pipe well under 1 s")


if __name__ == "__main__":
    main()
