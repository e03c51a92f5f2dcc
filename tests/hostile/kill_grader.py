"""Killing the grader: at import and on the first call of rnn_step_forward, the submission sends
SIGKILL to the grading process (whose pid the test writes into the copy it grades: @GRADER_PID@)
and to its own parent (the grader, or a process the grader started to supervise workers), so that
no report is ever written. It does so only where the test arms it (@KILL_ARMED@ is True when the
grader is an rnn-grade process the test started, never when it is the test runner itself).

Landlock scoping (ABI 6) forbids the worker to signal any process outside its own domain, as root
and as an ordinary user alike (as root without Landlock, the drop to user nobody does): the grader
lives on and writes the genuine report (test_hostile, by the command line, as root and as nobody).
It prints what each attempt gave, so the report shows the attempt. The functions are correct: full
marks.
"""

import os
import signal

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}

ARMED = "@KILL_ARMED@" == "True"
GRADER = "@GRADER_PID@"
ATTEMPTS: list[str] = []


def kill_grader() -> None:
    if not ARMED:
        return
    for target in sorted({int(GRADER), os.getppid()}):
        try:
            os.kill(target, signal.SIGKILL)
            ATTEMPTS.append(f"KILL-GRADER {target}: sent")
        except OSError as error:
            ATTEMPTS.append(f"KILL-GRADER {target}: {type(error).__name__}")


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
