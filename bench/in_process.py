"""Benchmark: what isolation costs. A full default grade with the worker, against the same checks,
with the same examples, run against the same submission in this process (no worker).

The in-process side is ``checks.engine.run.in_process.InProcessSubmission``: the same ``Submission``
proxy and validation, its requests answered by the worker's own code in this process, every
argument and answer copied as a round trip copies them; encoding, pipes, confinement and the
worker's start are left out. It is for trusted code (here the reference and the corpus): grading a
student always goes through the confined worker.

Both sides draw the examples ahead, as a grade does by default (``checks.engine.run.lookahead``: a
forked process runs Hypothesis while the checks' bodies run here); both are also timed drawing
each example only when its check needs it (``lookahead=False``), the way Hypothesis runs alone.

Every side runs alternately, ``--repeat`` times each (medians, since these machines are shared and
noisy). The run stops with an error if a check's score or the number of round trips differs
between any two sides: then they did not make the same calls, and the ratio would mean nothing.

A third side, alternating with the two, is the floor under both: Hypothesis alone, drawing the
same checks' examples under the same settings and seed, with every check's body skipped (no call
of the submission, no arithmetic). No grade with these examples can take less.

    .venv/bin/python bench/in_process.py [SUBMISSION] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from checks.engine.run.in_process import InProcessSubmission
from checks.engine.run.lookahead import draw_examples, drawn_ahead
from checks.engine.run.profiles import DEFAULT_SEED
from checks.engine.run.runner import grade_submission, run_check
from checks.engine.run.streams import draw_streams
from checks.registry import Check, load_checks

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    seconds: float
    calls: int
    scores: list[float]


def with_worker(submission: Path, checks: list[Check], lookahead: bool) -> Run:
    grade = grade_submission(submission, checks, DEFAULT_SEED, lookahead=lookahead)
    return Run(grade.seconds, grade.worker_calls, [r.score for r in grade.results])


def in_process(submission: Path, checks: list[Check], lookahead: bool) -> Run:
    """What ``grade_submission`` does, check by check, on an ``InProcessSubmission``."""
    started = time.perf_counter()
    with drawn_ahead(checks, DEFAULT_SEED, lookahead) as drawing:
        sub = InProcessSubmission(submission)
        try:
            scores = [run_check(check, sub, DEFAULT_SEED, drawn=drawing.examples(index) if drawing else None).score
                      for index, check in enumerate(checks)]
        finally:
            sub.close()
    return Run(time.perf_counter() - started, sub.stats.calls, scores)


def hypothesis_alone(checks: list[Check]) -> float:
    """Seconds for Hypothesis to run every check's examples with the check's body skipped (what the
    drawing process does, ``checks.engine.run.lookahead.draw_examples``, with nothing sent).

    A check that is a plain function (no ``@given``) has no examples to draw and is left out."""
    started = time.perf_counter()
    for check in checks:
        draw_examples(check, DEFAULT_SEED, lambda arguments: None)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", type=Path, default=ROOT / "reference")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--class-examples", action="store_true",
                        help="both sides on examples drawn once beforehand, as in a class")
    options = parser.parse_args()
    if not options.submission.exists():
        parser.exit(2, f"in_process.py: error: no such submission: {options.submission}\n")
    checks = load_checks(profile="default")
    if options.class_examples:
        on_class_examples(options.submission, checks, options.repeat)
        return
    sides: dict[str, list[Run]] = {side: [] for side in SIDES}
    floor = []
    for _ in range(options.repeat):
        for lookahead in (True, False):
            sides[f"worker, lookahead={lookahead}"].append(with_worker(options.submission, checks, lookahead))
            sides[f"in-process, lookahead={lookahead}"].append(in_process(options.submission, checks, lookahead))
        floor.append(hypothesis_alone(checks))
    first = sides[SIDES[0]][0]
    for run in (run for runs in sides.values() for run in runs):
        if run.scores != first.scores or run.calls != first.calls:
            sys.exit(f"in_process.py: the sides did not make the same calls ({run.calls} round trips against "
                     f"{first.calls}, or other scores): the comparison would mean nothing")
    median = {side: statistics.median(run.seconds for run in runs) for side, runs in sides.items()}
    print(f"submission: {options.submission.name}   score: {sum(first.scores):g}   checks: {len(checks)}   "
          f"round trips: {first.calls} (every side)   repetitions: {options.repeat}, alternating")
    print("| measure | examples drawn ahead (the default) | each drawn when needed |")
    print("|---|---|---|")
    print(f"| full default grade, confined worker | {median[SIDES[0]]:.2f} s | {median[SIDES[2]]:.2f} s |")
    print(f"| the same checks and calls in-process (no worker) | {median[SIDES[1]]:.2f} s | {median[SIDES[3]]:.2f} s |")
    print(f"| ratio (target at most 1.5) | {median[SIDES[0]] / median[SIDES[1]]:.2f} | "
          f"{median[SIDES[2]] / median[SIDES[3]]:.2f} |")
    print(f"| Hypothesis alone: the same examples drawn, every check's body skipped | | "
          f"{statistics.median(floor):.2f} s |")


def on_class_examples(submission: Path, checks: list[Check], repeat: int) -> None:
    """The confined worker against in-process, both on examples drawn once (``checks.engine.run.streams``):
    what is left of a grade in a class once nothing is drawn, and how much of it the process boundary is."""
    streams = draw_streams(checks, DEFAULT_SEED)
    worker, inside = [], []
    for _ in range(repeat):
        worker.append(grade_submission(submission, checks, DEFAULT_SEED, streams=streams))
        started, sub = time.perf_counter(), InProcessSubmission(submission)
        try:
            scores = [run_check(check, sub, DEFAULT_SEED, drawn=streams.examples(index)).score
                      for index, check in enumerate(checks)]
        finally:
            sub.close()
        inside.append(Run(time.perf_counter() - started, sub.stats.calls, scores))
    if any([r.score for r in grade.results] != inside[0].scores for grade in worker):
        sys.exit("in_process.py: the two sides gave other scores: the comparison would mean nothing")
    walls = statistics.median(grade.seconds for grade in worker), statistics.median(run.seconds for run in inside)
    print(f"submission: {submission.name}   checks: {len(checks)}   round trips: {worker[0].worker_calls}   "
          f"repetitions: {repeat}, alternating; both on examples drawn once")
    print("| measure | median |")
    print("|---|---|")
    print(f"| grade, confined worker | {walls[0]:.2f} s |")
    print(f"| the same checks and calls in-process (no worker) | {walls[1]:.2f} s |")
    print(f"| ratio | {walls[0] / walls[1]:.2f} |")


SIDES = ("worker, lookahead=True", "in-process, lookahead=True", "worker, lookahead=False", "in-process, lookahead=False")


if __name__ == "__main__":
    main()
