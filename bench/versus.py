"""Benchmark: this checkout against an earlier one, side by side in one run (issue 20's "within 10%").

Times, alternating between the two installs so that both see the same machine:

- one full default grade of the reference (``rnn-grade reference --quiet``), end to end;
- a class of ``--size`` mixed submissions (``class_throughput.build_class``, built once from the
  *baseline's* corpus so that both grade the same files) with ``--jobs 1``, end to end.

Each install is a checkout with its own venv (``BASE/.venv/bin/rnn-grade``), made for instance by

    git worktree add /tmp/base <commit> && (cd /tmp/base && python3 -m venv .venv && .venv/bin/pip install -q -e .)
    .venv/bin/python bench/versus.py /tmp/base [--repeat 5] [--class-repeat 2] [--size 40]

Prints the medians of each side and the ratio this / baseline (above 1: this checkout is slower).
The reference graded is each checkout's own; the classes' grades.csv must agree on every score.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from class_throughput import build_class, grade  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def one_grade(checkout: Path) -> float:
    """Wall seconds of ``rnn-grade reference`` with ``checkout``'s install, run from inside it."""
    start = time.perf_counter()
    done = subprocess.run([str(checkout / ".venv" / "bin" / "rnn-grade"), "reference", "--quiet"], cwd=checkout,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"rnn-grade reference failed in {checkout} (exit {done.returncode}):\n{done.stderr}")
    return seconds


def one_class(checkout: Path, class_folder: Path, scratch: Path, run: int) -> tuple[float, str]:
    import class_throughput
    class_throughput.RNN_GRADE = checkout / ".venv" / "bin" / "rnn-grade"
    return grade(class_folder, scratch / f"{checkout.name}-{run}", jobs=1)


def scores_only(table: str) -> list[str]:
    """The graded rows' ids and scores: what both versions must agree on (reasons' wording may differ).
    A loose file's id lost its ``.py`` in issue 21 (``alice.py`` is the student ``alice``): compared without it."""
    return [",".join([(cells := row.split(","))[0].removesuffix(".py"), cells[1]]) for row in table.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", type=Path, help="a checkout of the earlier commit, with its own .venv")
    parser.add_argument("--repeat", type=int, default=5, help="single grades per side")
    parser.add_argument("--class-repeat", type=int, default=2, help="class runs per side")
    parser.add_argument("--size", type=int, default=40)
    args = parser.parse_args()
    sides = {"baseline": args.baseline.resolve(), "this": ROOT}
    grades: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.repeat):
        for name, checkout in sides.items():
            grades[name].append(one_grade(checkout))
    classes: dict[str, list[float]] = {name: [] for name in sides}
    tables: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="rnn-grade-versus-") as temporary:
        scratch = Path(temporary)
        class_folder = scratch / "class"
        class_folder.mkdir()
        import class_throughput
        class_throughput.CORPUS = sides["baseline"] / "tests" / "corpus"
        build_class(class_folder, args.size)
        for run in range(args.class_repeat):
            for name, checkout in sides.items():
                seconds, tables[name] = one_class(checkout, class_folder, scratch, run)
                classes[name].append(seconds)
    if scores_only(tables["baseline"]) != scores_only(tables["this"]):
        print("note: the two versions' class scores differ (expected only where a fix changed a grade)")
    print(f"{'measure':<40} {'baseline':>10} {'this':>10} {'ratio':>7}")
    for label, series in ((f"full default grade, median of {args.repeat} (s)", grades),
                          (f"class of {args.size}, --jobs 1, median of {args.class_repeat} (s)", classes)):
        base, this = statistics.median(series["baseline"]), statistics.median(series["this"])
        print(f"{label:<40} {base:>10.2f} {this:>10.2f} {this / base:>7.3f}")


if __name__ == "__main__":
    main()
