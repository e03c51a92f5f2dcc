"""Which contract function builds on which, and their order from the most basic to the most derived.

A table of the contract, apart from ``checks.engine.isolation.contract`` (the proxy that calls the worker):
``checks.engine.run.root_cause`` reads it to say that one failure "probably follows" from another.
"""

from __future__ import annotations

# Which contract function the standard assignment builds on which (as reference/ does): a wrong
# rnn_step_backward makes rnn_backward wrong too, and everything built on rnn_backward. Static, so
# only where a consequence may be looked for: a student may inline a step instead of calling it, and
# ``checks.engine.run.root_cause`` says "probably follows" only where the student's own calls show it.
# rnn_backward_truncated walks rnn_forward's cache with rnn_step_backward; the bidirectional and
# classifier functions run the sequence functions; clipping and batching stand on their own.
CALLS: dict[str, tuple[str, ...]] = {
    "rnn_step_forward": (),
    "rnn_step_backward": (),
    "rnn_forward": ("rnn_step_forward", "rnn_cell_forward"),  # a column-major rnn_forward runs rnn_cell_forward
    "rnn_backward": ("rnn_step_backward", "rnn_cell_backward"),
    "rnn_backward_truncated": ("rnn_forward", "rnn_step_backward"),
    "clip_grad_norm": (),
    "birnn_forward": ("rnn_forward",),
    "birnn_backward": ("rnn_backward",),
    "rnn_classifier_loss": ("rnn_forward", "rnn_backward"),
    "tbptt_batches": (),
    "lstm_step_forward": (),
    "lstm_step_backward": (),
    "lstm_forward": ("lstm_step_forward", "lstm_cell_forward"),
    "lstm_backward": ("lstm_step_backward", "lstm_cell_backward"),
    "gru_step_forward": (),
    "gru_step_backward": (),
    "gru_forward": ("gru_step_forward",),
    "gru_backward": ("gru_step_backward",),
    "word_embedding_forward": (),
    "word_embedding_backward": (),
    "temporal_affine_forward": (),
    "temporal_affine_backward": (),
    "temporal_softmax_loss": (),
    "CaptioningRNN.loss": ("word_embedding_forward", "word_embedding_backward", "rnn_forward", "rnn_backward",
                           "lstm_forward", "lstm_backward", "temporal_affine_forward", "temporal_affine_backward",
                           "temporal_softmax_loss"),
    "CaptioningRNN.sample": ("rnn_step_forward", "lstm_step_forward"),
    # deeplearning.ai's column-major cells; the sequence functions share the row-vector contract's names above
    "rnn_cell_forward": (),
    "rnn_cell_backward": (),
    "lstm_cell_forward": (),
    "lstm_cell_backward": (),
    # torch.nn-style cells (nn.Module classes)
    "RNNCell": (),
    "LSTMCell": (),
}

# From the most basic to the most derived: a check's subject is the last of its needs in this order
# (step forward < sequence forward < step backward < sequence backward < truncated, bidirectional,
# classifier; clipping and batching last, as they call none of the others and none calls them).
DEPENDENCY_ORDER: tuple[str, ...] = (
    "rnn_step_forward",
    "rnn_cell_forward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_cell_backward",
    "rnn_backward",
    "rnn_backward_truncated",
    "birnn_forward",
    "birnn_backward",
    "rnn_classifier_loss",
    "clip_grad_norm",
    "tbptt_batches",
    "lstm_step_forward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_cell_backward",
    "lstm_backward",
    "gru_step_forward",
    "gru_forward",
    "gru_step_backward",
    "gru_backward",
    "word_embedding_forward",
    "word_embedding_backward",
    "temporal_affine_forward",
    "temporal_affine_backward",
    "temporal_softmax_loss",
    "CaptioningRNN.loss",
    "CaptioningRNN.sample",
    "RNNCell",
    "LSTMCell",
)


def builds_on(function: str) -> frozenset[str]:
    """Every contract function ``function`` calls, directly or through others (``CALLS``), and itself."""
    reached, waiting = {function}, [function]
    while waiting:
        for callee in CALLS.get(waiting.pop(), ()):
            if callee not in reached:
                reached.add(callee)
                waiting.append(callee)
    return frozenset(reached)
