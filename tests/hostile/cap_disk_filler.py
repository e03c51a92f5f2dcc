"""Disk: rnn_step_backward fills its scratch folder (the only place it may write) up to 2 GiB, in
files of 16 MiB (under the file-size cap, so that the scratch folder's own cap is what stops it),
and keeps them.

With the cap (a tmpfs of 256 MiB beyond the submission's copy) the write fails with ENOSPC at the
first call and at every later one; the error reaches the check, which fails naming it; the other
checks pass, and the files go with the worker. Without the cap the first call writes its 2 GiB
(later calls find them there) and answers correctly: full marks. So this case proves the cap is on.
"""

import os

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "OSError: [Errno 28] No space left on device"}
CONFINED_BY = ("scratch-size",)
GRADE_OPTIONS = {"call_timeout": 20}  # 256 MiB to write before the error, on a loaded machine
CHUNK = b"\0" * (1 << 20)
FILES, MIB_PER_FILE = 128, 16  # 2 GiB


def fill_the_disk():
    """Write filler files in the working folder (the scratch folder) until there are 2 GiB of them."""
    for k in range(FILES):
        name = f"filler-{k}.bin"
        if os.path.exists(name) and os.path.getsize(name) == MIB_PER_FILE * len(CHUNK):
            continue
        with open(name, "wb") as stream:
            for _ in range(MIB_PER_FILE):
                stream.write(CHUNK)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    fill_the_disk()
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
