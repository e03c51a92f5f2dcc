"""Stealing the answers from disk: importing `reference` is refused, so the submission looks for the
reference's files instead, where a student could learn of them: the editable-install finder's
mapping (the module stays in sys.modules even once its finder is gone), the folder beside the
checks package the worker imported, the .pth and finder files in site-packages, and the usual
autograder folders. It executes what it finds under another module name ("stolen_answers"), and
would then return the reference's results in place of its own.

Its own rnn_step_backward is wrong (db doubled: 4 of 5 gradients right), so a theft would show as
3 points instead of 2.4. The worker cannot read any of those files (Landlock): it keeps its own
grade. The first call of rnn_step_forward prints each attempt ("STEAL-REFERENCE path: outcome").
"""

import importlib.util
import re
import site
import sys
from pathlib import Path

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 2.4, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "db: off by up to"}
EXPECTED_OUTPUTS = {"tiny_step_forward": "STEAL-REFERENCE"}
CONFINED_BY = ("landlock-fs",)

LOG: list[str] = []


def candidate_folders() -> list[Path]:
    found = []
    for module in list(sys.modules.values()):  # an editable install's finder: MAPPING = {"reference": path}
        mapping = getattr(module, "MAPPING", None)
        if isinstance(mapping, dict) and isinstance(mapping.get("reference"), str):
            found.append(Path(mapping["reference"]))
    checks = sys.modules.get("checks")
    for folder in getattr(checks, "__path__", []):
        found.append(Path(folder).parent / "reference")
    for folder in site.getsitepackages():
        try:
            names = [p for p in Path(folder).iterdir() if p.suffix in (".pth", ".py")]
        except OSError as error:
            LOG.append(f"STEAL-REFERENCE {folder}: {type(error).__name__}")
            continue
        for path in names:
            try:
                text = path.read_text()
            except OSError as error:
                LOG.append(f"STEAL-REFERENCE {path}: {type(error).__name__}")
                continue
            found += [Path(p) / "reference" for p in re.findall(r"^(/[^\n'\"]+)$", text, re.M)]
            found += [Path(p) for p in re.findall(r"'reference': '([^']+)'", text)]
    found += [Path("/autograder/source/reference"), *Path("/autograder/source").glob("*/reference")]
    return list(dict.fromkeys(found))


def steal():
    for folder in candidate_folders():
        try:
            spec = importlib.util.spec_from_file_location("stolen_answers", folder / "__init__.py",
                                                          submodule_search_locations=[str(folder)])
            module = importlib.util.module_from_spec(spec)
            sys.modules["stolen_answers"] = module
            spec.loader.exec_module(module)
        except Exception as error:  # noqa: BLE001 - any failure: try the next place
            sys.modules.pop("stolen_answers", None)
            LOG.append(f"STEAL-REFERENCE {folder}: {type(error).__name__}")
            continue
        LOG.append(f"STEAL-REFERENCE {folder}: stolen")
        return module
    return None


STOLEN = steal()


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    if LOG:
        print("\n".join(LOG))
        LOG.clear()
    if STOLEN is not None:
        return STOLEN.rnn_step_forward(x, prev_h, Wx, Wh, b)
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    if STOLEN is not None:
        return STOLEN.rnn_step_backward(dnext_h, cache)
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, 2 * da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
