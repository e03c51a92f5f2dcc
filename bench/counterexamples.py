"""Benchmark: how often a failing check gets a simple failing example, over the whole buggy corpus.

Grades every ``tests/corpus/buggy`` submission twice, with and without the search for the simplest
failing example (``checks.engine.run.counterexample``), and prints:

- the fraction of (bug, failing check) pairs whose example is simple (found in simple-value mode);
- the pairs that are not, with the size of the example they show instead;
- the grade time of each bug with and without the search, the worst bug first;
- that no score changed (it exits 1 if one did).

    .venv/bin/python bench/counterexamples.py [--bugs NAME ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checks.engine.run.runner import grade_submission
from checks.registry import load_checks

BUGGY = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "buggy"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bugs", nargs="*", help="corpus file stems (default: all)")
    options = parser.parse_args()
    paths = [BUGGY / f"{name}.py" for name in options.bugs] if options.bugs else sorted(BUGGY.glob("*.py"))
    checks = load_checks(profile="default")
    pairs, simple, changed, times, not_simple = 0, 0, [], [], []
    for path in paths:
        searched = grade_submission(path, checks)
        plain = grade_submission(path, checks, simplify=False)
        times.append((searched.seconds, plain.seconds, path.stem))
        if [r.score for r in searched.results] != [r.score for r in plain.results]:
            changed.append(path.stem)
        for result in searched.results:
            if result.passed or result.grader_error:
                continue
            pairs += 1
            if result.example is not None and result.example.simple:
                simple += 1
            else:
                shown = "no example" if result.example is None else "main run's example"
                not_simple.append(f"{path.stem} / {result.check.name}: {shown}")
        print(f"{path.stem}: {searched.seconds:.1f} s with the search, {plain.seconds:.1f} s without", flush=True)
    print(f"\nsimple examples: {simple} of {pairs} (bug, failing check) pairs = {simple / max(pairs, 1):.0%}")
    for line in not_simple:
        print(f"  not simple: {line}")
    worst = max(times)
    print(f"worst grade time: {worst[2]}, {worst[0]:.1f} s with the search, {worst[1]:.1f} s without")
    print(f"total: {sum(t[0] for t in times):.0f} s with the search, {sum(t[1] for t in times):.0f} s without")
    if changed:
        print(f"SCORES CHANGED by the search: {', '.join(changed)}")
        return 1
    print("no score changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
