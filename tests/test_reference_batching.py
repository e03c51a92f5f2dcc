"""Self-tests of reference/batching.py: the truncated-BPTT minibatch layout."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from checks.strategies import series_layouts
from reference.batching import tbptt_batches


@given(layout=series_layouts())
def test_layout_follows_the_contract_formula(layout):
    series, batch_size, window = layout
    batches = tbptt_batches(series, batch_size, window)
    L, features = series.shape[0], series.shape[1:]
    row_length = L // batch_size
    num_windows = row_length // window
    assert batches.shape == (num_windows, batch_size, window, *features)
    assert batches.dtype == np.float64
    for k in range(num_windows):
        for i in range(batch_size):
            start = i * row_length + k * window
            np.testing.assert_array_equal(batches[k, i], series[start : start + window])


@given(layout=series_layouts())
def test_consecutive_minibatches_continue_every_row(layout):
    # The state carried from minibatch k to k+1 in row i must belong to the step that
    # follows: with series = 0, 1, 2, … each row continues where it stopped.
    series, batch_size, window = layout
    batches = tbptt_batches(series, batch_size, window)
    step = int(np.prod(series.shape[1:]))  # consecutive time steps differ by this
    rows = batches.swapaxes(0, 1).reshape(batch_size, -1, *series.shape[1:])
    np.testing.assert_array_equal(np.diff(rows, axis=1), step)


@given(layout=series_layouts())
def test_input_is_not_modified_and_output_is_new(layout):
    series, batch_size, window = layout
    frozen = series.copy()
    frozen.flags.writeable = False  # an in-place write raises ValueError
    batches = tbptt_batches(frozen, batch_size, window)
    assert not np.shares_memory(batches, frozen)


def test_contract_example_1000_steps_batch_2_window_10():
    series = np.arange(1000, dtype=np.float64)
    batches = tbptt_batches(series, 2, 10)
    assert batches.shape == (50, 2, 10)
    np.testing.assert_array_equal(batches[0, 0], np.arange(0, 10))
    np.testing.assert_array_equal(batches[0, 1], np.arange(500, 510))
    np.testing.assert_array_equal(batches[1, 0], np.arange(10, 20))
    np.testing.assert_array_equal(batches[49, 1], np.arange(990, 1000))


def test_feature_axes_are_carried_along():
    series = np.arange(1000 * 3, dtype=np.float64).reshape(1000, 3)
    batches = tbptt_batches(series, 2, 10)
    assert batches.shape == (50, 2, 10, 3)
    np.testing.assert_array_equal(batches[0, 1], series[500:510])
    np.testing.assert_array_equal(batches[7, 0], series[70:80])


def test_remainders_are_dropped():
    # L = 23, batch 2: rows of 11 steps start at 0 and 11 (step 22 dropped);
    # window 4: two windows per row (steps 8..10 of each row dropped).
    batches = tbptt_batches(np.arange(23.0), 2, 4)
    np.testing.assert_array_equal(batches[:, 0], [[0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(batches[:, 1], [[11, 12, 13, 14], [15, 16, 17, 18]])


def test_series_too_short_for_one_window_gives_no_minibatches():
    assert tbptt_batches(np.arange(5.0), 2, 3).shape == (0, 2, 3)


@pytest.mark.parametrize("batch_size, window", [(0, 1), (1, 0)])
def test_sizes_must_be_positive(batch_size, window):
    with pytest.raises(ValueError):
        tbptt_batches(np.arange(10.0), batch_size, window)
