"""Tampering with the worker's first reply: the import replaces the worker's write_message (the
worker runs checks.engine.isolation.worker as __main__ in the submission's own process), so that the reply to the
grader's hello, which lists the submission's functions, says "functions": 42 and gives a dict as
the import error.

A malformed reply is the submission's fault like any other: a complete report, every check 0,
saying the reply was malformed or unreadable. Never a grader crash without a report.
"""

import sys

import numpy as np

EXPECTED_IMPORT_ERROR = ("malformed", "unreadable")

WORKER = sys.modules["__main__"]
REAL_WRITE = getattr(WORKER, "write_message", None)


def forged_write(stream, message):
    if type(message) is dict and "functions" in message:
        message = {"import_error": {"forged": True}, "functions": 42}
    return REAL_WRITE(stream, message)


if REAL_WRITE is not None:
    WORKER.write_message = forged_write


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
