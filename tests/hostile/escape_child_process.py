"""Escaping with child processes: the import starts a Python that sleeps for a minute, and the first
call of rnn_step_forward starts a shell that does the same; neither is waited for. Both carry a
marker on their command line (the test puts a fresh token into the copy it grades).

They stay in the worker's process group, which is killed with the worker: after grading no process
with the marker remains (test_hostile scans /proc/*/cmdline after every grade). The functions are
correct: full marks.
"""

import subprocess
import sys

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}

MARKER = "rnn-grade-hostile-@HOSTILE_TOKEN@"
QUIET = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
CHILDREN = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", MARKER], **QUIET)]


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    if len(CHILDREN) == 1:  # "; exit 0" keeps the shell itself alive, marker and all
        CHILDREN.append(subprocess.Popen(["/bin/sh", "-c", "sleep 60; exit 0", MARKER], **QUIET))
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
