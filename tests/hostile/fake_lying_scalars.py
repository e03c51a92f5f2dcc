"""Fake values: rnn_step_backward returns its five (wrong, all-zero) gradients in a tuple subclass that
equals everything, and clip_grad_norm returns total_norm as a numpy float64 subclass that equals
everything.

Subclasses of tuple, float or numpy scalars never cross the boundary: both checks fail naming the class.
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 0, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "LyingTuple", "tiny_clip_grad_norm": "LyingFloat"}


class LyingTuple(tuple):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = tuple.__hash__


class LyingFloat(np.float64):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __sub__(self, other):
        return LyingFloat(0.0)

    def __abs__(self):
        return LyingFloat(0.0)

    __hash__ = np.float64.__hash__


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    return LyingTuple(np.zeros_like(a) for a in (x, prev_h, Wx, Wh, next_h[0]))


def clip_grad_norm(grads, max_norm):
    return {name: np.zeros_like(g) for name, g in grads.items()}, LyingFloat(0.0)
