"""Reading outside the scratch folder: at import the submission tries to read a secret file the test
put in a folder of its own (@SECRET_FILE@, readable by every user: only the confinement stands in the
way), to list that folder and the one the original submission was copied from (@ORIGINAL_FOLDER@,
other submissions live in such folders), to read the grader's checks (found through the checks
package the worker imported), to list site-packages (found through numpy), /home and /root, and to
read /etc/passwd.

Every one of them must fail (Landlock): if any succeeds, rnn_step_forward returns a wrong next_h,
and the forward and size-one checks lose their points. The first call of rnn_step_forward prints
each attempt ("READ-OUTSIDE path: outcome"). Otherwise the functions are correct: full marks.
"""

import os
import sys
from pathlib import Path

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_OUTPUTS = {"tiny_step_forward": "READ-OUTSIDE @SECRET_FILE@: PermissionError"}
CONFINED_BY = ("landlock-fs",)

LOG: list[str] = []


def attempts() -> list[tuple[str, object]]:
    secret = Path("@SECRET_FILE@")
    checks = Path(list(sys.modules["checks"].__path__)[0])
    site_packages = Path(np.__file__).parents[1]
    reads = [secret, checks / "registry.py", Path("/etc/passwd")]
    listings = [secret.parent, Path("@ORIGINAL_FOLDER@"), site_packages, Path("/home"), Path("/root")]
    return [(str(p), p.read_bytes) for p in reads] + [(str(p), lambda p=p: os.listdir(p)) for p in listings]


def read_everything() -> bool:
    """True if anything outside the worker's own files could be read."""
    breached = False
    for name, attempt in attempts():
        try:
            attempt()
            LOG.append(f"READ-OUTSIDE {name}: read")
            breached = True
        except OSError as error:
            LOG.append(f"READ-OUTSIDE {name}: {type(error).__name__}")
    return breached


BREACHED = read_everything()


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
