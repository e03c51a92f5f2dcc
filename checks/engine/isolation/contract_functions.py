"""The names of the contract's functions and methods: the one list the worker and the grading process share.

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
)

#: The contract's class and the methods a check calls, each called by the name "Class.method". The worker
#: builds a fresh object for every call from the call's first two arguments, plain data both: the
#: constructor's keyword arguments, and the arrays its ``params`` dict is given in place of the student's
#: own random initialisation (``checks.engine.isolation.worker.call_method``).
CONTRACT_CLASSES: dict[str, tuple[str, ...]] = {
    "CaptioningRNN": ("loss", "sample"),
}

CONTRACT_METHODS: tuple[str, ...] = tuple(f"{cls}.{method}" for cls, methods in CONTRACT_CLASSES.items()
                                          for method in methods)

#: Where a package laid out as a course's (CS231n's ``cs231n/``) keeps the contract: a name the package's
#: ``__init__`` does not provide is looked up in these of its modules, in order.
COURSE_MODULES: tuple[str, ...] = ("rnn_layers", "classifiers.rnn", "rnn_layers_pytorch")

#: deeplearning.ai's Sequence Models week 1 functions (``--assignment dlai-c5w1``): column-major, with dict
#: parameters and dict gradients. rnn_forward, rnn_backward, lstm_forward and lstm_backward share the row-vector
#: contract's names but not its signatures, so a check reaches these through their own view
#: (``checks.engine.isolation.column_major``), never through ``Submission``'s row-vector methods.
COLUMN_MAJOR_FUNCTIONS: tuple[str, ...] = (
    "rnn_cell_forward",
    "rnn_forward",
    "rnn_cell_backward",
    "rnn_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_cell_backward",
    "lstm_backward",
)

#: CS231n's PyTorch functions from 2025 (``--assignment cs231n-pytorch``): forward only, backward by autograd.
#: Same names as the NumPy contract's, other returns (no caches), so reached through their own view
#: (``checks.engine.isolation.torch_contract``).
TORCH_FUNCTIONS: tuple[str, ...] = (
    "rnn_step_forward",
    "rnn_forward",
    "word_embedding_forward",
    "lstm_step_forward",
    "lstm_forward",
)

#: ``nn.Module`` classes named and parameterised as ``torch.nn``'s cells (``--assignment torch-cells``).
TORCH_MODULES: tuple[str, ...] = ("RNNCell", "LSTMCell")

#: Every name a check may need and a worker may report entering, whatever the API.
KNOWN_NAMES: tuple[str, ...] = tuple(dict.fromkeys(
    (*CONTRACT_FUNCTIONS, *CONTRACT_METHODS, *COLUMN_MAJOR_FUNCTIONS, *TORCH_FUNCTIONS, *TORCH_MODULES)))

#: The functions whose entry the worker records (``checks.engine.isolation.worker.record_entries``).
RECORDED_FUNCTIONS: tuple[str, ...] = tuple(dict.fromkeys((*CONTRACT_FUNCTIONS, *COLUMN_MAJOR_FUNCTIONS)))
