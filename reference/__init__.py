"""Reference implementation of the rnn-grade submission contract (docs/contract.md).

A vanilla tanh RNN in NumPy, row-vector convention as in CS231n's ``rnn_layers.py``,
float64 throughout. This package is itself a valid submission: a folder whose
``__init__.py`` exposes the ten contract functions below, so the grader can be
pointed at it (every check must pass).

The oracles that prove the reference's gradients (SymPy, autograd) live in
``reference.oracles``, which is not part of the contract.
"""

from .batching import tbptt_batches
from .birnn import birnn_backward, birnn_forward
from .classifier import rnn_classifier_loss
from .clipping import clip_grad_norm
from .rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from .truncated import rnn_backward_truncated

__all__ = [
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
]
