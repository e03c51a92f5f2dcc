"""Fake value: rnn_step_backward returns a wrong dx (all zeros) as an ndarray subclass whose ufuncs,
array functions and comparisons all answer True, so np.allclose(dx, anything) is True.

It never reaches a comparison: only exact numpy.ndarray crosses the process boundary; the check
fails naming the subclass.
"""

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 0, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_MESSAGES = {"tiny_step_backward": "ndarray subclass EvilArray"}


class EvilArray(np.ndarray):
    """Equal to everything."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    dx = np.zeros((x.shape[0], Wx.shape[0])).view(EvilArray)
    return dx, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
