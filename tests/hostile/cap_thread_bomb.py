"""Threads: every call of rnn_step_backward starts 400 threads (with small stacks, so that the
address-space cap is not what stops them), which wait until it lets them go.

Threads count as processes for the cap (at most 64, in a user namespace of the worker's own): the
65th cannot start, the function lets the others go, and the error reaches the check, which fails
naming it; the other checks pass. Without the cap all 400 start and the function answers
correctly: full marks. Where the cap is missing (a worker that stays root) it is skipped;
``test_hostile`` also grades it as user nobody, by the command line.
"""

import threading

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "RuntimeError: can't start new thread"}
CONFINED_BY = ("processes",)
THREADS = 400
threading.stack_size(256 * 1024)  # 400 threads: 100 MiB of stacks, well inside the memory cap


def thread_bomb():
    """Start THREADS threads that wait on an event; set it and join them, even on failure."""
    release, started = threading.Event(), []
    try:
        for _ in range(THREADS):
            thread = threading.Thread(target=release.wait)
            thread.start()
            started.append(thread)
    finally:
        release.set()
        for thread in started:
            thread.join()


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    thread_bomb()
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
