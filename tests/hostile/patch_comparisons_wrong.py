"""Patching the comparisons, wrong: db is doubled (the other four gradients are right), and the import
replaces numpy.allclose/isclose/array_equal, every numpy.testing.assert_*, math.isclose,
pytest.approx, builtins.abs/all, and the grader's own checks.verdicts and checks.engine.isolation.validation functions
(as imported into the worker) with versions that always say "equal".

None of that reaches the grading process, which compares on its own: exactly the verdict of the
real outputs, 4 of 5 gradients right, as for the unpatched wrong_db of tests/tiny_grading.py.
"""

import builtins
import math

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 2.4, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "db: off by up to"}


def always_true(*args, **kwargs):
    return True


def do_nothing(*args, **kwargs):
    return None


class Anything:
    def __eq__(self, other):
        return True


def cheat():
    """Make every comparison this process could run say "equal"."""
    np.allclose = np.isclose = np.array_equal = np.array_equiv = always_true
    for name in dir(np.testing):
        if name.startswith("assert_"):
            setattr(np.testing, name, do_nothing)
    math.isclose = always_true
    builtins.abs = lambda value: 0.0
    builtins.all = always_true
    try:
        np.ndarray.__eq__ = always_true
    except TypeError:
        pass  # built-in types cannot be patched from Python
    try:
        import pytest
        pytest.approx = lambda *args, **kwargs: Anything()
    except ImportError:
        pass
    try:  # the grader's own modules, as far as this process has them
        import checks.engine.isolation.validation
        import checks.verdicts
        checks.verdicts.mismatch = do_nothing
        checks.verdicts.assert_close = checks.verdicts.assert_all_close = do_nothing
        checks.engine.isolation.validation.expect_array = lambda value, *args, **kwargs: value
    except ImportError:
        pass


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, 2 * da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm


cheat()
