"""Mistakes of the truncated-BPTT minibatch layout (reference/batching.py)."""

from __future__ import annotations

import numpy as np


def batches_from_rows(series, batch_size, window, row_start):
    """batches[k, i] = series[row_start(i, k, row_length) : … + window], the layout's other choices fixed."""
    series = np.asarray(series, dtype=np.float64)
    row_length = series.shape[0] // batch_size
    num_windows = row_length // window
    batches = np.empty((num_windows, batch_size, window, *series.shape[1:]))
    for k in range(num_windows):
        for i in range(batch_size):
            start = row_start(i, k, row_length, window, batch_size)
            batches[k, i] = series[start:start + window]
    return batches


def batches_interleaved(series, batch_size, window):
    series = np.asarray(series, dtype=np.float64)
    row_length = series.shape[0] // batch_size
    num_windows = row_length // window
    rows = np.stack([series[i::batch_size][:row_length] for i in range(batch_size)])  # mistake: row i = every batch_size-th step
    windows = rows[:, :num_windows * window].reshape(batch_size, num_windows, window, *series.shape[1:])
    return np.ascontiguousarray(windows.swapaxes(0, 1))


def batches_axes_swapped(series, batch_size, window):
    series = np.asarray(series, dtype=np.float64)
    row_length = series.shape[0] // batch_size
    num_windows = row_length // window
    rows = np.stack([series[i * row_length:i * row_length + num_windows * window] for i in range(batch_size)])
    return rows.reshape(batch_size, num_windows, window, *series.shape[1:])  # mistake: not swapped to window first


def windows_dealt_in_turn(i, k, row_length, window, batch_size):
    return (k * batch_size + i) * window  # mistake: row i starts at i·window, not i·(L // batch_size)


MODELS = [
    ("batches-interleaved", "row i = series[i::batch_size]",
     "your {outputs} {equal} what you get when the rows are interleaved (row i takes every batch_size-th "
     "step) instead of contiguous pieces that start L // batch_size apart",
     {"tbptt_batches": batches_interleaved}),
    ("batches-axes-swapped", "(batch_size, num_windows, window) layout",
     "your {outputs} {equal} what you get when the result is laid out (batch_size, num_windows, window) "
     "instead of (num_windows, batch_size, window)",
     {"tbptt_batches": batches_axes_swapped}),
    ("batches-rows-offset-by-window", "windows dealt to rows in turn",
     "your {outputs} {equal} what you get when the windows are dealt to the rows in turn, so that row i "
     "starts at i·window instead of i·(L // batch_size)",
     {"tbptt_batches": lambda series, batch_size, window:
      batches_from_rows(series, batch_size, window, windows_dealt_in_turn)}),
]
