"""Killing the grader: at import and on the first call of rnn_step_forward, the submission sends
SIGKILL to the grader, so that no report is ever written. The grader is the nearest ancestor that
is the rnn-grade command (the worker's parent is its supervisor); it never shoots anything else
(graded in process, the test runner is no such ancestor, and is left alone).

When grading runs as root the worker runs as user nobody, which may not signal root's processes:
the grader lives on and writes the genuine report (test_hostile, root only). Graded as the same user,
nothing stops it (see SECURITY.md). The functions are correct: full marks.
"""

import os
import signal
from pathlib import Path

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}

ATTEMPTS: list[str] = []


def parent(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def is_rnn_grade(pid: int) -> bool:
    """`python -m checks.engine.cli ...` or `.../bin/rnn-grade ...`, nothing else."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return "checks.engine.cli" in arguments or any(Path(a).name == "rnn-grade" for a in arguments[:2])


def kill_grader() -> None:
    grader = os.getppid()
    while grader > 1 and not is_rnn_grade(grader):
        grader = parent(grader)
    if grader <= 1:
        return
    try:
        os.kill(grader, signal.SIGKILL)
        ATTEMPTS.append(f"KILL-GRADER {grader}: sent")
    except OSError as error:
        ATTEMPTS.append(f"KILL-GRADER {grader}: {type(error).__name__}")


kill_grader()


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    if ATTEMPTS:
        kill_grader()
        print("\n".join(ATTEMPTS))
        ATTEMPTS.clear()
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
