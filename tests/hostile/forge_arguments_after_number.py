"""Forging a reply field: the import replaces the worker's write_message (the worker runs
checks.engine.isolation.worker as __main__ in the submission's own process), so that the answer to every call
of rnn_step_backward carries "arguments_after": 7, a number where the worker sends the list of the
call's arguments, and only when the grader asked for them. rnn_step_backward is also wrong (dx is
doubled), so without the check at the protocol boundary the forged field would reach the diagnosis
of the failing example, which compares each argument before and after the call.

A malformed reply is the submission's fault, like a crash of the worker: the calls of
rnn_step_backward fail saying the reply was malformed, a complete report is written, and the other
checks are graded as usual. Never a grader error (exit 2) or a lost report.
"""

import sys

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "malformed reply while running rnn_step_backward"}

WORKER = sys.modules["__main__"]
REAL_WRITE = getattr(WORKER, "write_message", None)
FORGE: list[bool] = []


def forged_write(stream, message):
    if FORGE:
        FORGE.clear()
        message = {**message, "arguments_after": 7}
    return REAL_WRITE(stream, message)


if REAL_WRITE is not None:
    WORKER.write_message = forged_write


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    FORGE.append(True)
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return 2 * (da @ Wx.T), da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
