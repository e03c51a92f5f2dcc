"""File size: rnn_step_backward restores the default action of SIGXFSZ (which Python ignores) and
writes a file of 100 MiB into its scratch folder.

With the cap (64 MiB a file) the kernel kills the worker with SIGXFSZ at the 64th MiB: the check
fails saying the process was killed because it wrote a file larger than a submission may; the
worker is restarted and the other checks pass. (Without the default action restored, the write
fails with EFBIG instead.) Without the cap the file is written and deleted, and the function
answers correctly: full marks. So this case proves the cap is on.
"""

import os
import signal

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "killed by signal SIGXFSZ (it wrote a file larger than a submission is allowed)"}
CONFINED_BY = ("file-size",)


def write_a_big_file():
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    with open("big.bin", "wb") as stream:
        for _ in range(100):
            stream.write(b"\0" * (1 << 20))
    os.unlink("big.bin")


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    write_a_big_file()
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
