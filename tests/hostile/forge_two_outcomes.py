"""Forging a reply field: the import replaces the worker's write_message (the worker runs
checks.engine.isolation.worker as __main__ in the submission's own process), so that the answer to every call
of rnn_step_forward holds both the value it returned and "raised" (a call that both returned and
raised), and the answer to every call of clip_grad_norm says it is not implemented, naming a list
instead of the function.

Each is a malformed reply, the submission's fault like a crash of the worker: every check that
calls one of them fails saying the reply was malformed, and the report is complete. Never a grader
error (exit 2) or a lost report.
"""

import sys

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 0, "tiny_step_backward": 0, "tiny_clip_grad_norm": 0, "tiny_size_one": 0}
EXPECTED_MESSAGES = {
    "tiny_step_forward": "malformed reply while running rnn_step_forward",
    # the step forward of the backward check comes first; after its second malformed reply it is not called again
    "tiny_step_backward": ("malformed reply while running rnn_step_forward", "so it was not called again"),
    "tiny_clip_grad_norm": "malformed reply while running clip_grad_norm",
    "tiny_size_one": "so it was not called again",
}

WORKER = sys.modules["__main__"]
REAL_WRITE = getattr(WORKER, "write_message", None)
FORGE: list[str] = []


def forged_write(stream, message):
    if FORGE:
        forged = FORGE.pop()
        if forged == "both":
            message = {**message, "raised": "rnn_step_forward raised nothing"}
        else:
            message = {"not_implemented": ["clip_grad_norm"]}
    return REAL_WRITE(stream, message)


if REAL_WRITE is not None:
    WORKER.write_message = forged_write


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    FORGE.append("both")
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    FORGE.append("list")
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
