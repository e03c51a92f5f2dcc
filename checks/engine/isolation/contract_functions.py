"""The names of the contract's ten functions: the one list the worker and the grading process share.

It is a module of its own, below both: the worker (``checks.engine.isolation.worker``) records which of these
functions each call entered, ``checks.engine.isolation.replies`` accepts only these names in its replies, and
``checks.engine.isolation.contract`` calls them. The worker must not import the grading side (``contract``
imports ``isolation``, which starts the worker), so the list cannot live there.
"""

CONTRACT_FUNCTIONS: tuple[str, ...] = (
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "rnn_backward_truncated",
    "clip_grad_norm",
    "birnn_forward",
    "birnn_backward",
    "rnn_classifier_loss",
    "tbptt_batches",
)
