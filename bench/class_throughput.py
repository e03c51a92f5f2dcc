"""Benchmark: a class's throughput, side by side with one grade of the reference (issue 24 §4).

All in one run, on the default assignment, each class graded end to end into a new folder
(``rnn-grade CLASS --out OUT --quiet``, nothing skipped, the examples drawn once for each run):

1. one grade of the reference in this process (``grade_submission``, as ``bench/grade_one.py``:
   examples drawn ahead, where a core is spare), ``--repeat`` times, before and after the classes;
2. the class of 40 (12 correct: the three correct alternatives of ``tests/corpus/correct/``
   four times each; 28 buggy: the first 28 files of ``tests/corpus/buggy/`` by name) at
   ``--jobs 1`` and ``--jobs 2``, alternating, ``--repeat`` times each;
3. a class of 200 built from the corpus (every buggy and partial file, the correct ones
   repeated to 30% of the class) at ``--jobs 2``, once;
4. the class of 40 on a Dask ``LocalCluster`` of 2 single-threaded workers (``--cluster``), once
   (skipped without ``rnn-grade[cluster]``);
5. the hanging-``rnn_backward`` grades of ``bench/hang.py`` (``--hang``; about a minute).

Printed: each figure (medians), the per-submission time of the class of 40 at --jobs 2 divided by
the reference's grade, the throughput ratio of 2 jobs to 1, and whether every run of the class of
40 gave the same grades.csv (the seconds column apart).

    .venv/bin/python bench/class_throughput.py [--repeat 3] [--hang] [--no-200] [--no-cluster]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
RNN_GRADE = Path(sys.executable).with_name("rnn-grade")
CORRECT_SHARE = 0.3  # 12 of 40: a class where most submissions have some bug


def build_class(folder: Path, size: int) -> tuple[int, int]:
    """Write ``size`` submissions into ``folder``: 30% correct, the rest the corpus's buggy files (then its
    partial ones) in name order, repeated under new names if the class is larger; return (correct, others)."""
    correct_files = sorted((CORPUS / "correct").glob("*.py"))
    other_files = sorted((CORPUS / "buggy").glob("*.py")) + sorted((CORPUS / "partial").glob("*.py"))
    n_correct = round(size * CORRECT_SHARE)
    for i in range(n_correct):
        source = correct_files[i % len(correct_files)]
        shutil.copy(source, folder / f"correct_{i:03d}_{source.name}")
    for i in range(size - n_correct):
        source = other_files[i % len(other_files)]
        shutil.copy(source, folder / f"other_{i // len(other_files)}_{source.name}")
    return n_correct, size - n_correct


def grade_class(class_folder: Path, out: Path, *options: str) -> tuple[float, str]:
    """Wall seconds of one class run, and its grades.csv without the seconds column."""
    start = time.perf_counter()
    finished = subprocess.run([str(RNN_GRADE), str(class_folder), "--out", str(out), "--quiet", *options],
                              check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if finished.returncode not in (0, 1):
        sys.exit(f"class_throughput.py: rnn-grade exited with {finished.returncode}:\n{finished.stderr[-2000:]}")
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    return seconds, "\n".join(",".join(v for k, v in row.items() if k != "seconds") for row in rows)


def reference_grades(repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` grades of the reference in this process (``bench/grade_one.py``'s measure)."""
    from checks.engine.run.runner import grade_submission
    from checks.registry import load_checks

    checks = load_checks(profile="default")
    return [grade_submission(ROOT / "reference", checks).seconds for _ in range(repeat)]


@contextlib.contextmanager
def local_cluster() -> Iterator[str | None]:
    """The address of a LocalCluster of 2 single-threaded worker processes; None without Dask."""
    try:
        import distributed
    except ImportError:
        yield None
        return
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hang", action="store_true", help="also time bench/hang.py's hanging grades")
    parser.add_argument("--no-200", dest="large", action="store_false", help="skip the class of 200")
    parser.add_argument("--no-cluster", dest="cluster", action="store_false", help="skip the LocalCluster run")
    options = parser.parse_args()
    single = reference_grades(options.repeat)
    with tempfile.TemporaryDirectory(prefix="rnn-grade-throughput-") as temporary:
        folder = Path(temporary)
        (folder / "class").mkdir()
        n_correct, n_buggy = build_class(folder / "class", 40)
        times: dict[int, list[float]] = {1: [], 2: []}
        tables: set[str] = set()
        for run in range(options.repeat):
            for jobs in (1, 2):
                seconds, table = grade_class(folder / "class", folder / f"out_{jobs}_{run}", "--jobs", str(jobs))
                times[jobs].append(seconds)
                tables.add(table)
        single += reference_grades(options.repeat)
        large = None
        if options.large:
            (folder / "large").mkdir()
            build_class(folder / "large", 200)
            large = grade_class(folder / "large", folder / "out_large", "--jobs", "2")[0]
        on_cluster = None
        if options.cluster:
            with local_cluster() as address:
                if address is not None:
                    on_cluster, table = grade_class(folder / "class", folder / "out_cluster", "--cluster", address)
                    tables.add(table)
    report(options, single, times, tables, large, on_cluster, n_correct, n_buggy)
    if options.hang:
        subprocess.run([sys.executable, str(ROOT / "bench" / "hang.py")], check=False)


def report(options: argparse.Namespace, single: list[float], times: dict[int, list[float]], tables: set[str],
           large: float | None, on_cluster: float | None, n_correct: int, n_buggy: int) -> None:
    reference = statistics.median(single)
    per = {jobs: statistics.median(samples) / 40 for jobs, samples in times.items()}
    print(f"class of 40 ({n_correct} correct, {n_buggy} buggy), default assignment, {options.repeat} runs per "
          "setting, alternating; the reference's grade measured before and after them")
    print("| measure | median | per submission | ratio to one grade of the reference |")
    print("|---|---:|---:|---:|")
    print(f"| one grade of the reference, in-process | {reference:.2f} s | | 1.00 |")
    for jobs, samples in times.items():
        median = statistics.median(samples)
        print(f"| class of 40, --jobs {jobs} | {median:.1f} s ({60 * 40 / median:.1f} per minute) | "
              f"{per[jobs]:.2f} s | {per[jobs] / reference:.2f} |")
    if on_cluster is not None:
        print(f"| class of 40, --cluster (LocalCluster, 2 workers) | {on_cluster:.1f} s "
              f"({60 * 40 / on_cluster:.1f} per minute) | {on_cluster / 40:.2f} s | {on_cluster / 40 / reference:.2f} |")
    if large is not None:
        print(f"| class of 200, --jobs 2 | {large:.1f} s ({60 * 200 / large:.1f} per minute) | {large / 200:.2f} s | "
              f"{large / 200 / reference:.2f} |")
    print(f"\nthroughput ratio, 2 jobs / 1 job: {per[1] / per[2]:.2f}")
    print("grades identical across runs, job counts and the cluster:", "yes" if len(tables) == 1 else "NO")


if __name__ == "__main__":
    main()
