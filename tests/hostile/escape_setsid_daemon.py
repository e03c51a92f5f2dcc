"""Escaping the process group: the import double-forks a daemon that calls setsid() (so it has its
own session and process group), closes every inherited descriptor and becomes a Python that sleeps
for a minute, with a marker on its command line.

Killing the worker's process group does not reach it. Required: after grading, no process with the
marker remains. The worker's supervisor is a child subreaper, so the daemon is re-parented to it
when its parent exits, and killed with the worker (Linux only; see SECURITY.md). The functions are
correct: full marks.
"""

import os
import sys

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}

MARKER = "rnn-grade-hostile-@HOSTILE_TOKEN@"


def daemonize() -> None:
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    try:
        os.setsid()
        if os.fork() == 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.closerange(3, 65536)
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", MARKER])
    finally:
        os._exit(0)


daemonize()


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
