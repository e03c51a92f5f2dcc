"""Benchmark: how long one grade takes through each platform template's own command.

For each template in ``templates/``, runs the command the platform would run, in a temporary copy
of the layout that platform gives it, on ``submissions/example_buggy.py`` and on a correct solution
(``tests/corpus/correct/cs231n_style.py``: 100/100), and prints the median wall time and the median
CPU time of ``--repeat`` runs. The figures go in each template's README ("How long a grade takes").

    .venv/bin/python bench/templates.py [--repeat 3] [TEMPLATE ...]

The class templates (github-matrix, gitlab-parallel) run their grading command once per shard of 4
on a class of that one submission; the figure is the job whose shard held it. rnn-grade is this
checkout's ``.venv/bin/rnn-grade`` (Gradescope's ``run_autograder`` is pointed at it with
``RNN_GRADE``, in place of the bundle's own virtual environment).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
TEMPLATES_FOLDER = ROOT / "templates"
SUBMISSIONS = {"buggy": ROOT / "submissions" / "example_buggy.py",
               "correct": ROOT / "tests" / "corpus" / "correct" / "cs231n_style.py"}
ENVIRONMENT = dict(os.environ, PATH=f"{BIN}:/usr/bin:/bin", RNN_GRADE_OPTIONS="")
SHARDS = 4


def timed(command: list[str], cwd: Path, **environment: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every child) of ``command``; a crash is said, not timed silently."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=dict(ENVIRONMENT, **environment), capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if "Traceback" in done.stderr or done.returncode not in (0, 1):
        raise SystemExit(f"{command} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def gradescope(submission: Path, tmp: Path) -> tuple[float, float]:
    root = tmp / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "source" / "rnn-grade-options").write_text("")
    shutil.copy(submission, root / "submission" / "rnn_layers.py")
    return timed([str(TEMPLATES_FOLDER / "gradescope" / "run_autograder")], root, AUTOGRADER_ROOT=str(root),
                 RNN_GRADE=str(BIN / "rnn-grade"))


def prairielearn(submission: Path, tmp: Path) -> tuple[float, float]:
    (tmp / "student").mkdir()
    shutil.copy(submission, tmp / "student" / "rnn_layers.py")
    return timed(["bash", str(TEMPLATES_FOLDER / "prairielearn" / "grade.sh")], tmp, GRADE_ROOT=str(tmp))


def github_classroom(submission: Path, tmp: Path) -> tuple[float, float]:
    shutil.copy(submission, tmp / "rnn_layers.py")
    return timed(["bash", str(TEMPLATES_FOLDER / "github-classroom" / ".github" / "rnn-grade.sh")], tmp,
                 GITHUB_OUTPUT=str(tmp / "output"), GITHUB_STEP_SUMMARY=str(tmp / "summary.md"))


def gitlab(submission: Path, tmp: Path) -> tuple[float, float]:
    shutil.copy(submission, tmp / "rnn_layers.py")
    return timed(["bash", str(TEMPLATES_FOLDER / "gitlab" / "rnn-grade.sh")], tmp)


def owning_job(command: str, submission: Path, tmp: Path, **environment: str) -> tuple[float, float]:
    """Each shard's job of a class of this one submission; the times of the job whose shard held it."""
    (tmp / "class" / "student").mkdir(parents=True)
    shutil.copy(submission, tmp / "class" / "student" / "rnn_layers.py")
    for shard in range(1, SHARDS + 1):
        work = tmp / f"job{shard}"
        work.mkdir()
        times = timed(["bash", "-e", "-c", command.format(shard=shard)], work, RNN_GRADE_CLASS=str(tmp / "class"),
                      CI_NODE_INDEX=str(shard), **environment)
        if any(work.rglob("results.json")):
            return times
    raise SystemExit(f"no shard of {command!r} graded the submission")


def github_matrix(submission: Path, tmp: Path) -> tuple[float, float]:
    command = f'rnn-grade "$RNN_GRADE_CLASS" --out out --shard {{shard}}/{SHARDS} --quiet $RNN_GRADE_OPTIONS || [ $? -eq 1 ]'
    return owning_job(command, submission, tmp)


def gitlab_parallel(submission: Path, tmp: Path) -> tuple[float, float]:
    command = ('rnn-grade "$RNN_GRADE_CLASS" --out "shards/$CI_NODE_INDEX" --shard "$CI_NODE_INDEX/$CI_NODE_TOTAL" '
               '--quiet $RNN_GRADE_OPTIONS || [ $? -eq 1 ]')
    return owning_job(command, submission, tmp, CI_NODE_TOTAL=str(SHARDS))


TEMPLATES: dict[str, Callable[[Path, Path], tuple[float, float]]] = {
    "gradescope": gradescope, "prairielearn": prairielearn, "github-classroom": github_classroom,
    "gitlab": gitlab, "github-matrix": github_matrix, "gitlab-parallel": gitlab_parallel,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("templates", nargs="*", choices=[[], *TEMPLATES], default=[], metavar="TEMPLATE")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name in args.templates or TEMPLATES:
        for kind, submission in SUBMISSIONS.items():
            runs = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    runs.append(TEMPLATES[name](submission, Path(tmp)))
            walls, cpus = zip(*runs)
            print(f"{name:17} {kind:8} wall {statistics.median(walls):5.2f} s  cpu {statistics.median(cpus):5.2f} s  "
                  f"runs {[round(wall, 2) for wall in walls]}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
