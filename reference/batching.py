"""Minibatch layout for truncated BPTT over one long series.

The series is split into ``batch_size`` contiguous rows of length L // batch_size
(the remainder at the end is dropped). Each row is then cut into windows of
``window`` steps (again dropping the remainder). Consecutive minibatches hold
consecutive windows of every row, so the hidden state of row i at the end of
minibatch k is the correct entering state of row i in minibatch k+1:

    row i starts at        s_i = i·(L // batch_size)
    batches[k, i]        = series[s_i + k·window : s_i + (k+1)·window]
    num_windows          = (L // batch_size) // window

Example: L = 1000, batch_size 2, window 10 -> rows start at 0 and 500, 50 windows.
"""

from __future__ import annotations

import numpy as np


def tbptt_batches(series: np.ndarray, batch_size: int, window: int) -> np.ndarray:
    """Lay a series out as consecutive truncated-BPTT minibatches.

    Inputs:
    - series: Array of shape (L, *features); the first axis is time
    - batch_size: Number of parallel rows, an int >= 1
    - window: Timesteps per window, an int >= 1

    Returns:
    - batches: New float64 array of shape (num_windows, batch_size, window, *features)
      with batches[k, i] = series[i·(L//batch_size) + k·window : … + window] and
      num_windows = (L // batch_size) // window (possibly 0)
    """
    if batch_size < 1 or window < 1:
        raise ValueError(f"batch_size and window must be >= 1, got {batch_size}, {window}")
    series = np.asarray(series, dtype=np.float64)
    L, features = series.shape[0], series.shape[1:]
    row_length = L // batch_size
    num_windows = row_length // window
    used = num_windows * window  # steps of each row that fit into whole windows

    rows = np.stack(
        [series[i * row_length : i * row_length + used] for i in range(batch_size)]
    )  # (batch_size, used, *features)
    windows = rows.reshape(batch_size, num_windows, window, *features)
    # Window index first: batches[k] is the k-th minibatch.
    return np.ascontiguousarray(windows.swapaxes(0, 1))
