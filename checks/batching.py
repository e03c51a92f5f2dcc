"""batching: the minibatch layout for truncated BPTT over one long series.

Row i of the batch starts at offset i·(L // batch_size); window k of row i is
series[i·(L//batch_size) + k·window : … + window]. Result shape (num_windows, batch_size, window,
*features), num_windows = (L // batch_size) // window. Running the RNN window by window, carrying
the state along each row, must then equal one run over the row's whole span.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from checks.registry import check
from checks.strategies import SeriesLayout, rnn_parameters, series_layouts
from checks.verdicts import assert_close

THOUSAND_STEPS = SeriesLayout(np.arange(1000, dtype=np.float64), batch_size=2, window=10)


@check(group="batching", points=4, needs=("tbptt_batches",))
@given(layout=series_layouts())
@example(layout=THOUSAND_STEPS)
def batches_have_the_tbptt_layout(sub, layout):
    """tbptt_batches[k, i] = series[i·(L//batch_size) + k·window : … + window]."""
    batches = sub.tbptt_batches(*layout)
    assert_close(batches, tbptt_layout(*layout), "batches",
                 f"the layout with rows starting at multiples of L // batch_size = "
                 f"{len(layout.series) // layout.batch_size}")


def tbptt_layout(series: np.ndarray, batch_size: int, window: int) -> np.ndarray:
    """The layout by its definition, one window at a time (not the reference's reshape)."""
    row_length = len(series) // batch_size
    layout = np.empty((row_length // window, batch_size, window, *series.shape[1:]))
    for k, i in np.ndindex(layout.shape[:2]):
        start = i * row_length + k * window
        layout[k, i] = series[start:start + window]
    return layout


@st.composite
def series_with_rnn(draw):
    """A series of D = F features (F ≥ 1) and an RNN (h0, Wx, Wh, b) to run over its rows."""
    layout = draw(series_layouts(max_features=3).filter(lambda s: s.series.ndim == 2))
    series = layout.series / layout.series.size  # keep tanh unsaturated
    N, D, H = layout.batch_size, series.shape[1], draw(st.integers(1, 4))
    return layout._replace(series=series), draw(rnn_parameters(N, D, H))


@check(group="batching", points=4, needs=("tbptt_batches", "rnn_forward"))
@given(problem=series_with_rnn())
def windowed_run_equals_whole_row(sub, problem):
    """Running rnn_forward window by window, carrying h along each row, equals one run per row."""
    (series, batch_size, window), (h0, Wx, Wh, b) = problem
    h, windowed = h0, []
    for x_window in sub.tbptt_batches(series, batch_size, window):
        h_window, _ = sub.rnn_forward(x_window, h, Wx, Wh, b)
        windowed.append(h_window)
        h = h_window[:, -1]
    span, row_length = len(windowed) * window, len(series) // batch_size
    rows = np.stack([series[i * row_length: i * row_length + span] for i in range(batch_size)])
    whole, _ = sub.rnn_forward(rows, h0, Wx, Wh, b)
    assert_close(np.concatenate(windowed, axis=1), whole, "window-by-window hidden states",
                 "one rnn_forward over each row's whole span")
