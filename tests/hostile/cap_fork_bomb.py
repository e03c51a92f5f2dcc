"""Processes: every call of rnn_step_backward forks 200 children, which wait until it lets them go.

With the cap (at most 64 processes and threads, counted in a user namespace of the worker's own),
a fork fails with EAGAIN: the function lets go of the children it started, and the error reaches
the check, which fails naming it; the other checks pass, and nothing is left running. Without the
cap every fork succeeds and the function answers correctly: full marks. So this case proves the cap
is on. Where the cap is missing (a worker that stays root: the kernel never limits uid 0) it is
skipped; ``test_hostile`` also grades it as user nobody, by the command line.
"""

import os

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "BlockingIOError: [Errno 11] Resource temporarily unavailable"}
CONFINED_BY = ("processes",)
FORKS = 200


def fork_bomb():
    """Fork FORKS children that block on a pipe; close it (they exit) and reap them, even on failure."""
    release, hold = os.pipe()
    children = []
    try:
        for _ in range(FORKS):
            pid = os.fork()
            if pid == 0:
                os.close(hold)
                os.read(release, 1)  # end of file once the parent closes its end
                os._exit(0)
            children.append(pid)
    finally:
        os.close(hold)
        os.close(release)
        for pid in children:
            os.waitpid(pid, 0)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    fork_bomb()
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
