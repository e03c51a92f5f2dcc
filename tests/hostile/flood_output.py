"""Output flood: every call prints 1.5 MB to stdout, 1.5 MB to stderr and 256 KiB of raw non-UTF-8 bytes
to file descriptor 1; the import prints 13 MB more. The functions are correct.

Full marks; each check's captured output is cut to a few KB with a note of how much was dropped, so
results.json stays small; grading takes little more than the printing itself.
"""

import os
import sys

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_OUTPUT = "more bytes of output not shown"


BLOCK = "flood " * (1 << 18)  # 1.5 MB of text


def flood():
    print(BLOCK)  # through sys.stdout and its buffer
    sys.stderr.write(BLOCK + "\n")
    os.write(1, bytes(range(256)) * 1024)  # 256 KiB of raw bytes, not UTF-8, straight to the descriptor


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    flood()
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    flood()
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    flood()
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm


for _ in range(4):
    flood()
