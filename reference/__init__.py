"""Reference implementation of the rnn-grade submission contract (docs/contract.md).

The vanilla tanh RNN, the LSTM, the GRU, the word embedding, the temporal layers and
CS231n's captioning model in NumPy, row-vector convention as in CS231n's ``rnn_layers.py``,
float64 throughout. This package is itself a valid submission: a folder whose
``__init__.py`` exposes the contract's functions and its class below, so the grader can be
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
from .lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .embedding import (temporal_affine_backward, temporal_affine_forward, temporal_softmax_loss,
                        word_embedding_backward, word_embedding_forward)
from .captioning import CaptioningRNN

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
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
    "gru_step_forward",
    "gru_step_backward",
    "gru_forward",
    "gru_backward",
    "word_embedding_forward",
    "word_embedding_backward",
    "temporal_affine_forward",
    "temporal_affine_backward",
    "temporal_softmax_loss",
    "CaptioningRNN",
]
