"""Benchmark: grade one correct submission with the default profile.

Reports, over several repetitions in one run (medians, since these machines are shared and
noisy): wall time of a full grade, the number of round trips into the worker process, the time
spent waiting on them, and the share of the total that is. Also the slowest checks.

    .venv/bin/python bench/grade_one.py [SUBMISSION] [--repeat 5]
    .venv/bin/python bench/grade_one.py [SUBMISSION] --class-examples [--repeat 5]

With ``--class-examples``, the same grade two ways, alternating: drawing its own examples ahead (a
grade alone) and on examples drawn once beforehand (``checks.engine.run.streams``, as in a class);
for each, the median wall time and CPU seconds of this process (the grader) and of its children
(the worker and its supervisor, and a drawing process).
"""

from __future__ import annotations

import argparse
import resource
import statistics
from pathlib import Path

from checks.registry import load_checks
from checks.engine.run.profiles import DEFAULT_SEED
from checks.engine.run.runner import grade_submission
from checks.engine.run.streams import draw_streams

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", type=Path, default=ROOT / "reference")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--class-examples", action="store_true", help="compare with examples drawn once")
    options = parser.parse_args()
    checks = load_checks(profile="default")
    if options.class_examples:
        compare_with_class_examples(options.submission, checks, options.repeat)
        return
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


def compare_with_class_examples(submission: Path, checks: list, repeat: int) -> None:
    """Wall and CPU seconds of a grade drawing its own examples ahead and of one on examples drawn once."""
    streams = draw_streams(checks, DEFAULT_SEED)
    samples: dict[str, list[tuple[float, float, float]]] = {"drawn ahead (alone)": [], "drawn once (a class)": []}
    for _ in range(repeat):
        for way, given in zip(samples, (None, streams)):
            self_before, children_before = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
            grade = grade_submission(submission, checks, streams=given)
            samples[way].append((grade.seconds, cpu(resource.RUSAGE_SELF) - self_before,
                                 cpu(resource.RUSAGE_CHILDREN) - children_before))
    print(f"submission: {submission.name}   checks: {len(checks)}   repetitions: {repeat}, alternating   "
          f"drawing once took {streams.seconds:.2f} s")
    print("| examples | wall time | CPU, grader | CPU, worker (and drawing process) |")
    print("|---|---:|---:|---:|")
    for way, runs in samples.items():
        wall, grader, children = (statistics.median(run[i] for run in runs) for i in range(3))
        print(f"| {way} | {wall:.2f} s | {grader:.2f} s | {children:.2f} s |")


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
