"""Benchmark: a grade of each other API's assignment, end to end, beside the NumPy RNN's.

Runs ``rnn-grade FILE --assignment NAME`` as a user would (the CLI's start, the worker's, torch's
import where the assignment requires torch, the checks, the report) on a correct submission of each
assignment, interleaved so that a slow minute of a shared machine hits them alike, and prints the
medians of the wall time with their ratio to the vanilla RNN's grade measured in the same run.

    .venv/bin/python bench/other_apis.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"

#: (what is graded, the submission, the assignment)
GRADES = (
    ("vanilla RNN, a .py file", CORPUS / "correct" / "cs231n_style.py", "rnn"),
    ("vanilla RNN, the same file as a notebook (built below)", CORPUS / "correct" / "cs231n_style.py", "rnn"),
    ("deeplearning.ai week 1 (dlai-c5w1)", CORPUS / "dlai" / "correct.py", "dlai-c5w1"),
    ("CS231n 2025 PyTorch (cs231n-pytorch)", CORPUS / "torch" / "rnn_layers_pytorch_correct.py", "cs231n-pytorch"),
    ("torch.nn-style cells (torch-cells)", CORPUS / "torch_cells" / "cells_correct.py", "torch-cells"),
)


def as_notebook(source: Path, folder: Path) -> Path:
    """``source`` as a student's notebook: a magic, the file in one cell, a training loop that is never run."""
    import nbformat

    cells = ["%matplotlib inline", source.read_text(), "while True:  # training\n    pass"]
    path = folder / f"{source.stem}.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), str(path))
    return path


def grade_seconds(submission: Path, assignment: str, folder: Path) -> tuple[float, str]:
    """The wall time of one grade, and its score as "score/max"."""
    results = folder / "results.json"
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "checks.engine.cli", str(submission), "--assignment", assignment,
                          "--results", str(results), "--quiet"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if run.returncode not in (0, 1):
        raise SystemExit(f"{submission.name} under {assignment}: exit {run.returncode}\n{run.stderr}")
    data = json.loads(results.read_text())
    return seconds, f"{data['score']:g}/{data['extra_data']['max_score']:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    present = [grade for grade in GRADES if grade[1].exists()]
    times: dict[str, list[float]] = {name: [] for name, _, _ in present}
    scores: dict[str, set[str]] = {name: set() for name, _, _ in present}
    with tempfile.TemporaryDirectory() as folder:
        notebooks = {name: as_notebook(submission, Path(folder)) for name, submission, _ in present if "notebook" in name}
        for _ in range(options.repeat):
            for name, submission, assignment in present:
                seconds, score = grade_seconds(notebooks.get(name, submission), assignment, Path(folder))
                times[name].append(seconds)
                scores[name].add(score)
    base = statistics.median(times[present[0][0]])
    print("| graded | assignment | score | wall time, CLI end to end (median) | ratio to the first row |")
    print("|---|---|---|---|---|")
    for name, submission, assignment in present:
        wall = statistics.median(times[name])
        print(f"| {name} | {assignment} | {', '.join(sorted(scores[name]))} | {wall:.2f} s | {wall / base:.2f} |")
    for name, submission, _ in GRADES:
        if not submission.exists():
            print(f"(not measured: {name}, {submission.relative_to(ROOT)} is missing)")


if __name__ == "__main__":
    main()
