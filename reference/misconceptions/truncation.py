"""Mistakes of truncated BPTT (reference/truncated.py): where the windows are cut.

The reference cuts the gradient between the windows [0, w), [w, 2w), …: the carry from step
t+1 into step t is dropped exactly when step t+1 starts a window, (t + 1) % w == 0. The
misaligned variants drop it at other steps; the rest is ordinary BPTT.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from reference.rnn import rnn_backward, rnn_step_backward


def truncated_cutting_where(cut_before: Callable[[int, int, int], bool], own_gradient_too: bool = False):
    """Truncated BPTT that drops the carry into step t when ``cut_before(t, T, window)``.

    With ``own_gradient_too`` the step's own upstream gradient dh[:, t] is dropped with it.
    """

    def truncated_with_cuts(dh, cache, window):
        x, h0, Wx, Wh, step_caches = cache
        T = x.shape[1]
        dx, dWx, dWh, db = np.zeros(x.shape), np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])
        dprev_h = np.zeros(h0.shape)
        for t in reversed(range(T)):
            cut = cut_before(t, T, window)
            dnext_h = dh[:, t, :] * (not (cut and own_gradient_too)) + dprev_h * (not cut)
            dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, step_caches[t])
            dWx += dWx_t
            dWh += dWh_t
            db += db_t
        return dx, dprev_h, dWx, dWh, db

    return truncated_with_cuts


def truncated_ignoring_window(dh, cache, window):
    return rnn_backward(dh, cache)  # mistake: the window is never used: full BPTT


def at_window_starts(t: int, T: int, window: int) -> bool:
    """Off by one: the cut falls before every step t that *starts* a window (t % w == 0)."""
    return t % window == 0


def at_windows_from_the_end(t: int, T: int, window: int) -> bool:
    """Windows counted from the end, [T - w, T), [T - 2w, T - w), …: step t+1 starts one."""
    return (T - (t + 1)) % window == 0


def at_window_ends(t: int, T: int, window: int) -> bool:
    """The right place, (t + 1) % w == 0 (the own dh[:, t] must stay)."""
    return (t + 1) % window == 0


MODELS = [
    ("truncation-ignores-window", "full BPTT",
     "your {outputs} {equal} what you get from full BPTT: the window is ignored",
     {"rnn_backward_truncated": truncated_ignoring_window}),
    ("truncation-window-misaligned", "cut at window starts (off by one)",
     "your {outputs} {equal} what you get when the gradient is cut one step too early, before each "
     "window's first step instead of after its last",
     {"rnn_backward_truncated": truncated_cutting_where(at_window_starts)}),
    ("truncation-window-misaligned", "windows counted from the end",
     "your {outputs} {equal} what you get when the windows are counted from the end of the sequence "
     "instead of from t = 0",
     {"rnn_backward_truncated": truncated_cutting_where(at_windows_from_the_end)}),
    ("truncation-drops-dh-at-window-end", "own dh[:, t] dropped with the carry",
     "your {outputs} {equal} what you get when, at the last step of each window, the step's own upstream "
     "gradient dh[:, t] is dropped along with the gradient from the next window",
     {"rnn_backward_truncated": truncated_cutting_where(at_window_ends, own_gradient_too=True)}),
]
