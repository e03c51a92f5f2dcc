"""Benchmark: class throughput at 1 and 2 grading jobs (issue 10 §4).

Builds a class of 40 mixed submissions in a temporary folder (12 correct: the three correct
alternatives of ``tests/corpus/correct/`` four times each; 28 buggy: the first 28 files of
``tests/corpus/buggy/`` by name), then times ``rnn-grade CLASS --out OUT --jobs J --quiet`` end
to end, J = 1 and J = 2 alternating, each run into a new folder (nothing skipped). Prints the
median wall time and submissions per minute of each, and their ratio, all from one run; checks
that both gave the same grades.csv (apart from the seconds column).

    .venv/bin/python bench/class_throughput.py [--repeat 3] [--size 40]
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
RNN_GRADE = Path(sys.executable).with_name("rnn-grade")
CORRECT_SHARE = 0.3  # 12 of 40: a class where most submissions have some bug


def build_class(folder: Path, size: int) -> tuple[int, int]:
    """Write ``size`` submissions into ``folder``; return (correct, buggy) counts."""
    correct_files = sorted((CORPUS / "correct").glob("*.py"))
    buggy_files = sorted((CORPUS / "buggy").glob("*.py"))
    n_correct = round(size * CORRECT_SHARE)
    n_buggy = size - n_correct
    if n_buggy > len(buggy_files):
        raise SystemExit(f"--size {size} needs {n_buggy} buggy files; the corpus has {len(buggy_files)}")
    for i in range(n_correct):
        source = correct_files[i % len(correct_files)]
        shutil.copy(source, folder / f"correct_{i:02d}_{source.name}")
    for source in buggy_files[:n_buggy]:
        shutil.copy(source, folder / f"buggy_{source.name}")
    return n_correct, n_buggy


def grade(class_folder: Path, out: Path, jobs: int) -> tuple[float, str]:
    """Wall seconds of one class run, and its grades.csv without the seconds column."""
    start = time.perf_counter()
    subprocess.run([str(RNN_GRADE), str(class_folder), "--out", str(out), "--jobs", str(jobs), "--quiet"],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    return seconds, "\n".join(",".join(v for k, v in row.items() if k != "seconds") for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=40)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rnn-grade-throughput-") as temporary:
        class_folder = Path(temporary) / "class"
        class_folder.mkdir()
        n_correct, n_buggy = build_class(class_folder, options.size)
        times: dict[int, list[float]] = {1: [], 2: []}
        tables: set[str] = set()
        for run in range(options.repeat):
            for jobs in (1, 2):
                seconds, table = grade(class_folder, Path(temporary) / f"out_{jobs}_{run}", jobs)
                times[jobs].append(seconds)
                tables.add(table)
    print(f"class: {options.size} submissions ({n_correct} correct, {n_buggy} buggy), "
          f"{options.repeat} runs per setting, alternating")
    print("| jobs | median wall time | submissions per minute |")
    print("|---:|---:|---:|")
    rates = {}
    for jobs, samples in times.items():
        median = statistics.median(samples)
        rates[jobs] = 60 * options.size / median
        print(f"| {jobs} | {median:.1f} s | {rates[jobs]:.1f} |")
    print(f"\nthroughput ratio, 2 jobs / 1 job: {rates[2] / rates[1]:.2f}")
    print("grades identical across runs and job counts:", "yes" if len(tables) == 1 else "NO")


if __name__ == "__main__":
    main()
