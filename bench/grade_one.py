"""Benchmark: grade one correct submission with the default profile.

Reports, over several repetitions in one run (medians, since these machines are shared and
noisy): wall time of a full grade, the number of round trips into the worker process, the time
spent waiting on them, and the share of the total that is. Also the slowest checks.

    .venv/bin/python bench/grade_one.py [SUBMISSION] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from checks.registry import load_checks
from checks.engine.run.runner import grade_submission

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", type=Path, default=ROOT / "reference")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    checks = load_checks(profile="default")
    grades = [grade_submission(options.submission, checks) for _ in range(options.repeat)]
    assert all(g.score == grades[0].score for g in grades), "the grade changed between runs"
    wall = statistics.median(g.seconds for g in grades)
    inside = statistics.median(g.worker_seconds for g in grades)
    print(f"submission: {options.submission.name}   score: {grades[0].score:g}/{grades[0].max_score:g}   "
          f"checks: {len(checks)}   repetitions: {options.repeat}")
    print("| measure | median |")
    print("|---|---|")
    print(f"| full default grade, wall time | {wall:.2f} s |")
    print(f"| round trips into the worker | {grades[0].worker_calls} |")
    print(f"| time waiting on the worker | {inside:.2f} s ({inside / wall:.0%} of the grade) |")
    per_check = {r.check.name: statistics.median(g.results[i].seconds for g in grades)
                 for i, r in enumerate(grades[0].results)}
    slowest = sorted(per_check.items(), key=lambda item: -item[1])[:5]
    print("\nslowest checks (median s): " + ", ".join(f"{name} {seconds:.2f}" for name, seconds in slowest))


if __name__ == "__main__":
    main()
