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
from checks.truncated import entering_state
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
    """Each window of tbptt_batches, run by rnn_forward from the state h_{s−1} the whole row's run had
    entering it (h0 for the first), reproduces that stretch of one run over each row.

    This is "running window by window, carrying h along each row, equals one run per row", stated so
    that every window can be run at once: by induction the carried state is h_{s−1} exactly when
    every earlier window matched, so the first window that differs is the same in both statements.
    """
    (series, batch_size, window), (h0, Wx, Wh, b) = problem
    count = (len(series) // batch_size) // window  # the batches' shape is validated: count windows
    windows, (whole, _) = sub.batch([("tbptt_batches", (series, batch_size, window)),
                                     ("rnn_forward", (row_spans(series, batch_size, count * window), h0, Wx, Wh, b))])
    runs = sub.batch([("rnn_forward", (x_window, entering_state(h0, whole, k * window), Wx, Wh, b))
                      for k, x_window in enumerate(windows)])
    assert_close(np.concatenate([h_window for h_window, _ in runs], axis=1), whole,
                 "window-by-window hidden states, each window entering with the state before it",
                 "one rnn_forward over each row's whole span")


def row_spans(series: np.ndarray, batch_size: int, span: int) -> np.ndarray:
    """The first ``span`` steps of each of the batch's rows, row i starting at i·(L // batch_size):
    shape (batch_size, span, *features)."""
    row_length = len(series) // batch_size
    return np.stack([series[i * row_length: i * row_length + span] for i in range(batch_size)])
