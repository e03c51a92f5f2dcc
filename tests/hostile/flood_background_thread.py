"""Output flood from a thread: the import starts a daemon thread that writes 64 KiB chunks to stderr
without pause, before, during and after every call, for the worker's whole life. The functions are
correct.

Full marks; every check's captured output is cut to a few KB; the grader never blocks on the pipe and
never waits for the chatter to stop.

Each function also sleeps 2 ms, so that the thread writes during every call: a thread needs the
interpreter lock to write again, and a tiny check whose five calls take microseconds each (examples
drawn ahead leave the worker no idle time between them) could otherwise end before it got it.
"""

import os
import threading
import time

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_OUTPUT = "more bytes of output not shown"


def chatter():
    chunk = b"chatter " * 8192
    while True:
        os.write(2, chunk)


def let_the_thread_write():
    time.sleep(0.002)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    let_the_thread_write()
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    let_the_thread_write()
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    let_the_thread_write()
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm


threading.Thread(target=chatter, daemon=True).start()
