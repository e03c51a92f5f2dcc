"""Benchmark: what the whole assignment's checks cost, side by side with the vanilla RNN's alone.

Grades the reference (a complete, correct submission) alternately with the vanilla RNN's checks
(``--assignment rnn``, the default assignment before the gated cells), with the full default
assignment (the vanilla RNN, the LSTM, the GRU, the embedding and the temporal layers), and with
``--assignment cs231n`` (CS231n's whole RNN part, the captioning model included), in one run, so that
the ratios compare like with like on a shared, noisy machine. Prints medians of the wall time of a grade,
and each new group's own share.

    .venv/bin/python bench/whole_assignment.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from checks.engine.run.assignments import assignment_table
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks

ROOT = Path(__file__).resolve().parent.parent
NEW_GROUPS = ("lstm", "gru", "embedding", "temporal", "captioning")


def assignments() -> dict[str, list]:
    """The checks of each assignment compared, by its name in the table printed."""
    return {
        "vanilla RNN only (--assignment rnn)": load_checks(points_table=assignment_table(None, "rnn"),
                                                           assignment=True, profile="default"),
        "default assignment": load_checks(profile="default"),
        "CS231n whole (--assignment cs231n)": load_checks(points_table=assignment_table(None, "cs231n"),
                                                          assignment=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    compared = assignments()
    grades: dict[str, list] = {name: [] for name in compared}
    for _ in range(options.repeat):  # interleaved: a slow minute of the machine hits every assignment alike
        for name, checks in compared.items():
            grades[name].append(grade_submission(ROOT / "reference", checks))
    base = statistics.median(g.seconds for g in grades["vanilla RNN only (--assignment rnn)"])
    print("| assignment | checks | score | wall time (median) | ratio to the vanilla RNN alone |")
    print("|---|---|---|---|---|")
    for name, runs in grades.items():
        assert all(g.score == runs[0].score for g in runs), f"{name}: the grade changed between runs"
        wall = statistics.median(g.seconds for g in runs)
        print(f"| {name} | {len(compared[name])} | {runs[0].score:g}/{runs[0].max_score:g} | {wall:.2f} s | "
              f"{wall / base:.2f} |")
    print("\nthe new groups' own time within the default grade and --assignment cs231n (median s):")
    for group in NEW_GROUPS:
        seconds = [sum(r.seconds for r in g.results if r.check.group == group)
                   for runs in grades.values() for g in runs if any(r.check.group == group for r in g.results)]
        if seconds:
            print(f"  {group}: {statistics.median(seconds):.2f}")


if __name__ == "__main__":
    main()
