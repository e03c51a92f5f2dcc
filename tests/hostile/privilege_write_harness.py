"""Escaping through the file system: at import and on the first call of rnn_step_forward, the
submission tries to create a file named HOSTILE-<token> in the folder of the report, next to the
original submission file, in the grader's checks/ package folder and in the folder above it (the
repository). It finds them in the grader's command line (/proc/PID/cmdline of its ancestors, which
a confined worker cannot read), in the copy the test grades (@OUTSIDE_FOLDER@ stands for the report's
folder, @ORIGINAL_FOLDER@ for the original submission's) and, for the harness, in its own memory
(the checks package the worker imported). It only ever creates that one new file name.

The worker can write only in its scratch folder (Landlock; as root without Landlock, the drop to
user nobody): after grading, none of those files exist (test_hostile, in process and by the command
line). It prints what it managed, so the report shows the attempt. The functions are correct: full
marks.
"""

import os
import sys
from pathlib import Path

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}

NAME = "HOSTILE-@HOSTILE_TOKEN@"
LOG: list[str] = []


def ancestors() -> list[int]:
    found, pid = [], os.getpid()
    while pid > 1 and len(found) < 20:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            break
        pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        found.append(pid)
    return found


def targets() -> set[Path]:
    folders = {Path("@OUTSIDE_FOLDER@"), Path("@ORIGINAL_FOLDER@")}
    for pid in ancestors():
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        for i, argument in enumerate(arguments):
            if argument == "--results" and i + 1 < len(arguments):
                folders.add(Path(arguments[i + 1]).parent)
            elif Path(argument).name == Path(__file__).name and os.path.isabs(argument):
                folders.add(Path(argument).parent)  # the original this worker's copy was made from
    harness = sys.modules.get("checks")
    if harness is not None and getattr(harness, "__path__", None):
        checks_folder = Path(list(harness.__path__)[0])
        folders |= {checks_folder, checks_folder.parent}
    return {folder / NAME for folder in folders if folder.is_absolute()}


def trespass() -> None:
    for path in sorted(targets()):
        try:
            with open(path, "x") as stream:
                stream.write("written by a submission\n")
            LOG.append(f"TRESPASS {path}: written")
        except OSError as error:
            LOG.append(f"TRESPASS {path}: {type(error).__name__}")


trespass()


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    if LOG:
        trespass()
        print("\n".join(LOG))
        LOG.clear()
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
