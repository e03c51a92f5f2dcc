"""Benchmark: what a submission whose backward hangs costs to grade (issue 10 §3, issue 24 §2: one timeout).

Two hanging submissions, graded end to end (``rnn-grade`` in a fresh process, the default checks and
the default 10 s call timeout, each from a folder of its own, no sibling files), side by side:

- ``tests/hostile/hang_backward.py``: correct except that ``rnn_backward`` never returns; nothing
  else calls it;
- CS231n-style: ``tests/corpus/correct/cs231n_style.py`` with ``while True: pass`` at the top of
  ``rnn_backward``, which its truncated, bidirectional and classifier functions call (the README's
  layout): a hang is paid once per function only if those calls are refused once it hung;
- and, for scale, that CS231n-style submission without the hang: the rest of the grade's cost.

Printed for each: the wall time (median of ``--repeat`` runs), the score, how many calls waited out
the timeout (checks whose message in results.json says a function did not finish, not counting the
later checks' "in an earlier check, ..."), and the first such message. (``tests/test_faults.py`` tests the behaviour;
this is the figure.)

    .venv/bin/python bench/hang.py [--repeat 1]
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
HANGING = ROOT / "tests" / "hostile" / "hang_backward.py"
CS231N = ROOT / "tests" / "corpus" / "correct" / "cs231n_style.py"
RNN_GRADE = Path(sys.executable).parent / "rnn-grade"
HUNG = "did not finish within"
EARLIER = "in an earlier check"
HANG_AT_THE_TOP = ("def rnn_backward(dh, cache):\n", "def rnn_backward(dh, cache):\n    while True:\n        pass\n")


def grade_once(submission: Path, results: Path) -> tuple[float, str]:
    """(wall seconds, the terminal report, -v) of ``rnn-grade submission`` in a fresh process."""
    started = time.perf_counter()
    finished = subprocess.run([str(RNN_GRADE), str(submission), "-v", "--results", str(results)],
                              capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1",
                                                                   "COLUMNS": "200"})
    seconds = time.perf_counter() - started
    if finished.returncode not in (0, 1):
        sys.exit(f"hang.py: rnn-grade exited with {finished.returncode}:\n{finished.stderr[-2000:]}")
    return seconds, finished.stdout


def cases(folder: Path) -> list[tuple[str, Path]]:
    """(what it is, its file in a folder of its own under ``folder``) for each submission graded."""
    sources = [("hang_backward.py (nothing else calls rnn_backward)", HANGING.read_text()),
               ("CS231n-style, rnn_backward hangs (3 more functions call it)",
                CS231N.read_text().replace(*HANG_AT_THE_TOP, 1)),
               ("CS231n-style, correct (the rest of the grade)", CS231N.read_text())]
    made = []
    for k, (label, source) in enumerate(sources):
        path = folder / str(k) / ("hang_backward.py" if k == 0 else "cs231n_style.py")
        path.parent.mkdir()
        path.write_text(source)
        made.append((label, path))
    assert HANG_AT_THE_TOP[1] in made[1][1].read_text(), "cs231n_style.py no longer defines rnn_backward(dh, cache)"
    return made


def measured(label: str, submission: Path, repeat: int) -> tuple[str, float, str, int, str]:
    """(label, median wall seconds, total, calls that timed out, the first check message naming a hang).

    The calls that timed out are the checks whose message says a function did not finish, not counting
    the later checks cut short ("in an earlier check, ..."), read from the run's results.json."""
    results = submission.parent / "results.json"
    runs = [grade_once(submission, results) for _ in range(repeat)]
    score = next((" ".join(line.split()[1:]) for line in runs[0][1].splitlines() if line.startswith("TOTAL")),
                 "(no total found)")
    messages = [message_of(test.get("output", "")) for test in json.loads(results.read_text())["tests"]]
    hung = [message.splitlines()[0] for message in messages if HUNG in message and not message.startswith(EARLIER)]
    return label, statistics.median(seconds for seconds, _ in runs), score, len(hung), hung[0] if hung else ""


def message_of(output: str) -> str:
    """A check's message in results.json's output: its first ```text block (the example and the rest follow)."""
    fence = "```text\n"
    return output.split(fence, 1)[1].split("\n```", 1)[0] if output.startswith(fence) else output.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rnn-grade-hang-") as folder:
        rows = [measured(label, path, options.repeat) for label, path in cases(Path(folder))]
    print(f"default checks, default call timeout (10 s)   repetitions: {options.repeat}")
    print("| submission | `rnn-grade` wall time, end to end | total | calls that waited out the timeout |")
    print("|---|---:|---|---:|")
    for label, wall, score, timeouts, _ in rows:
        print(f"| {label} | {wall:.1f} s | {score} | {timeouts} |")
    print(f"\nthe CS231n-style hang costs {rows[1][1] - rows[2][1]:.1f} s beyond the correct grade "
          "(target: one call timeout)")
    for label, _, _, _, first in rows[:2]:
        print(f"\n{label}: the first check message that names the hang:\n  {first or '(none: the hang was not reported)'}")


if __name__ == "__main__":
    main()
