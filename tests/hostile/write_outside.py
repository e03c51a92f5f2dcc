"""Writing outside the scratch folder: at import the submission tries to create a file and a symbolic
link named HOSTILE-<token> (and HOSTILE-<token>.link) in a folder the test made writable by every user
(@OUTSIDE_FOLDER@: only the confinement stands in the way), in the folder the original submission
was copied from (@ORIGINAL_FOLDER@), in /tmp, /var/tmp and /dev/shm, and in the folder that holds its
own scratch folder. It only ever creates those names.

Every attempt must fail (Landlock): no such file exists after grading (test_hostile checks every
folder, after every case). If one succeeds, rnn_step_forward returns a wrong next_h. The first call
of rnn_step_forward prints each attempt ("WRITE-OUTSIDE path: outcome"). Otherwise the functions are
correct: full marks.
"""

import os
from pathlib import Path

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_OUTPUTS = {"tiny_step_forward": "WRITE-OUTSIDE @OUTSIDE_FOLDER@/HOSTILE-@HOSTILE_TOKEN@: PermissionError"}
CONFINED_BY = ("landlock-fs",)

NAME = "HOSTILE-@HOSTILE_TOKEN@"
FOLDERS = ["@OUTSIDE_FOLDER@", "@ORIGINAL_FOLDER@", "/tmp", "/var/tmp", "/dev/shm", str(Path.cwd().parent)]
LOG: list[str] = []


def write_everywhere() -> bool:
    """True if any file or link appeared outside the scratch folder."""
    breached = False
    for folder in dict.fromkeys(FOLDERS):
        path = Path(folder) / NAME
        for label, attempt in ((path, lambda: path.open("x").close()),
                               (f"{path}.link", lambda: os.symlink("/etc/passwd", f"{path}.link"))):
            try:
                attempt()
                LOG.append(f"WRITE-OUTSIDE {label}: written")
                breached = True
            except OSError as error:
                LOG.append(f"WRITE-OUTSIDE {label}: {type(error).__name__}")
    return breached


BREACHED = write_everywhere()


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    if LOG:
        print("\n".join(LOG))
        LOG.clear()
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return (next_h + 1.0 if BREACHED else next_h), (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
