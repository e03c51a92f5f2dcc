"""Tampering with the worker: the worker is the submission's own process (it runs checks.engine.isolation.worker as
__main__), so the import replaces the worker's write_message. Every reply that follows a call of
rnn_step_backward is swapped for a well-framed message whose JSON header is nested 100 000 levels
deep (the grader's JSON parser gives up on it with RecursionError, not ValueError).

An unreadable reply is the submission's fault like any other: the check that calls
rnn_step_backward fails, saying that call's reply was unreadable, the worker is stopped, and the
next call starts a fresh one in step with the grader. (Today the RecursionError is not treated as a
worker fault: the pipe is left mid-message and the next call, of rnn_step_forward, is blamed; see
KNOWN_GAPS in test_hostile.py.)
"""

import struct
import sys

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "unreadable reply while running rnn_step_backward"}

WORKER = sys.modules["__main__"]
REAL_WRITE = getattr(WORKER, "write_message", None)
POISON: list[bool] = []


def poisoned_write(stream, message):
    if not POISON:
        return REAL_WRITE(stream, message)
    POISON.clear()
    header = b"[" * 100_000 + b"]" * 100_000
    stream.write(struct.pack("<Q", len(header)) + header + struct.pack("<Q", 0))
    stream.flush()


if REAL_WRITE is not None:
    WORKER.write_message = poisoned_write


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    POISON.append(True)
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
