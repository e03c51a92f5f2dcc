"""Spying on the grader through /proc: at import the submission tries to read the command line,
environment and status of the grading process (@GRADER_PID@: the test writes its pid into the copy
it grades) and of its own parent (/proc/PID/cmdline, environ and status, which every process of
the same user may read, and cmdline every user).

Every read must fail (Landlock: /proc is not among the worker's paths). If one succeeds,
rnn_step_forward returns a wrong next_h. The first call of rnn_step_forward prints each attempt
("PROC-GRADER path: outcome"). Otherwise the functions are correct: full marks.
"""

import os
from pathlib import Path

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_OUTPUTS = {"tiny_step_forward": "PROC-GRADER /proc/@GRADER_PID@/environ: PermissionError"}
CONFINED_BY = ("landlock-fs",)

LOG: list[str] = []


def spy() -> bool:
    """True if anything of another process could be read."""
    breached = False
    for pid in dict.fromkeys([int("@GRADER_PID@"), os.getppid()]):
        for name in ("cmdline", "environ", "status"):
            path = Path(f"/proc/{pid}/{name}")
            try:
                path.read_bytes()
                LOG.append(f"PROC-GRADER {path}: read")
                breached = True
            except OSError as error:
                LOG.append(f"PROC-GRADER {path}: {type(error).__name__}")
    return breached


BREACHED = spy()


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    if LOG:
        print("\n".join(LOG))
        LOG.clear()
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return (next_h + 1.0 if BREACHED else next_h), (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
