"""Tiny checks and submissions for testing the grading harness itself (CLI, reports, pytest plugin).

The real checks take tens of seconds per submission; these three take a fraction of a second, so
the harness's tests can grade many small submissions. They are written into a temporary folder
and passed with ``--checks-dir DIR --no-builtin-checks --points EMPTY.toml``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Names, groups and points of TINY_CHECKS, in the order the harness reports them.
TINY = {
    "tiny_step_forward": ("forward", 2.0),
    "tiny_step_backward": ("backward", 3.0),
    "tiny_size_one": ("hygiene", 1.0),
}

TINY_CHECKS = '''
"""Three tiny checks, self-contained (no reference import), for testing the harness.

examples=0.1: 5 examples under the default profile, 100 under thorough (the tests stay fast).
"""
import numpy as np
from hypothesis import given, strategies as st

from checks.registry import check
from checks.verdicts import assert_all_close, assert_close


def problem(seed, n=2, d=3, h=4):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)), rng.standard_normal((n, h)), rng.standard_normal((d, h)) / 2,
            rng.standard_normal((h, h)) / 2, rng.standard_normal(h))


def expected_backward(dnext_h, x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    da = dnext_h * (1 - next_h**2)
    return {"dx": da @ Wx.T, "dprev_h": da @ Wh.T, "dWx": x.T @ da, "dWh": prev_h.T @ da, "db": da.sum(axis=0)}


@check(group="forward", points=2, needs=("rnn_step_forward",), examples=0.1)
@given(seed=st.integers(0, 2**32 - 1))
def tiny_step_forward(sub, seed):
    """rnn_step_forward computes tanh(x Wx + prev_h Wh + b)"""
    x, prev_h, Wx, Wh, b = problem(seed)
    next_h, _ = sub.rnn_step_forward(x, prev_h, Wx, Wh, b)
    assert_close(next_h, np.tanh(x @ Wx + prev_h @ Wh + b), "next_h", "the formula")


@check(group="backward", points=3, needs=("rnn_step_forward", "rnn_step_backward"), examples=0.1)
@given(seed=st.integers(0, 2**32 - 1))
def tiny_step_backward(sub, seed):
    """rnn_step_backward returns the five gradients of one step"""
    args = problem(seed)
    dnext_h = np.random.default_rng(seed + 1).standard_normal(args[1].shape)
    _, cache = sub.rnn_step_forward(*args)
    names = ("dx", "dprev_h", "dWx", "dWh", "db")
    got = dict(zip(names, sub.rnn_step_backward(dnext_h, cache)))
    assert_all_close(got, expected_backward(dnext_h, *args), "the formulas")


@check(group="hygiene", points=1, needs=("rnn_step_forward",), examples=0.1)
@given(seed=st.integers(0, 2**32 - 1))
def tiny_size_one(sub, seed):
    """rnn_step_forward handles N = D = H = 1"""
    x, prev_h, Wx, Wh, b = problem(seed, 1, 1, 1)
    next_h, _ = sub.rnn_step_forward(x, prev_h, Wx, Wh, b)
    assert_close(next_h, np.tanh(x @ Wx + prev_h @ Wh + b), "next_h", "the formula")
'''

CORRECT = '''
import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
'''

SUBMISSIONS = {
    "correct": CORRECT,
    # db doubled: 4 of the 5 gradients right, so tiny_step_backward earns 4/5 of its 3 points.
    "wrong_db": CORRECT.replace("da.sum(axis=0)", "2 * da.sum(axis=0)"),
    "syntax_error": "import numpy as np\n\n\ndef rnn_step_forward(x, prev_h, Wx, Wh, b:\n    pass\n",
    "needs_helper": "from course_helpers import rnn_step_forward, rnn_step_backward\n",
    "backward_stub": CORRECT.split("def rnn_step_backward")[0]
    + 'def rnn_step_backward(dnext_h, cache):\n    print("backward called")\n    raise NotImplementedError\n',
    "hangs_on_import": "while True:\n    pass\n",
    # Correct, but warns from its own line: Python names the file by the path of the worker's copy.
    "warns": "import warnings\n" + CORRECT.replace(
        "    next_h = np.tanh", '    warnings.warn("check your shapes", stacklevel=1)\n    next_h = np.tanh'),
    # Prints far more than a report may hold, on every call.
    "floods_output": CORRECT.replace("    next_h = np.tanh", '    print("x" * 100_000)\n    next_h = np.tanh'),
}


def write_tiny_checks(folder: Path) -> tuple[Path, Path]:
    """The checks folder and an empty points table (so the decorators' points apply)."""
    checks = folder / "tiny_checks"
    checks.mkdir(parents=True, exist_ok=True)
    (checks / "tiny.py").write_text(TINY_CHECKS)
    points = folder / "empty_points.toml"
    points.write_text("")
    return checks, points


def write_submission(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(SUBMISSIONS[name])
    return path


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without settings that would leak into a nested grader or pytest."""
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "RNN_GRADE_")) and name not in ("PYTHONPATH", "COV_CORE_SOURCE")
    }
    env.update(extra)
    return env


def tiny_options(folder: Path) -> list[str]:
    """rnn-grade options that grade with the tiny checks only, at their decorator points."""
    checks, points = write_tiny_checks(folder)
    return ["--checks-dir", str(checks), "--no-builtin-checks", "--points", str(points)]


def rnn_grade(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``rnn-grade ARGS`` in a fresh process from the repository, with a clean environment."""
    return subprocess.run([sys.executable, "-m", "checks.engine.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env or clean_environment(), timeout=timeout)


def make_class(folder: Path, students: dict[str, str]) -> Path:
    """One folder per student, each holding rnn_layers.py with the given source."""
    for name, source in students.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "rnn_layers.py").write_text(source)
    return folder
