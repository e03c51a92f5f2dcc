"""A misconception model as a whole submission: the reference with some functions replaced.

The reference modules call each other's functions by name (``rnn_forward`` calls
``rnn_step_forward``; ``birnn_backward`` and ``rnn_classifier_loss`` call ``rnn_backward``;
``lstm_backward`` calls ``lstm_step_backward``; CaptioningRNN's ``loss`` calls the embedding, the
RNN or LSTM and the temporal layers; ...). A mistake in one step function must therefore show in
every function that calls it, exactly as it does in a student's file. ``compose`` copies every
reference function with a globals dict of its own, then points every name in every copy (the
replacements' own included) that refers to a reference function at the model's version, so that
each call goes to the model's function, never to the reference's.

CaptioningRNN's methods are in the model too, under the contract's names "CaptioningRNN.loss" and
"CaptioningRNN.sample", called as the grader calls them: (model, params, features, captions |
max_length), on a fresh object built from the constructor keywords ``model``.
"""

from __future__ import annotations

import types
from typing import Any, Callable

import numpy as np

from reference import batching, birnn, captioning, classifier, clipping, embedding, gru, lstm, rnn, truncated

MODULES = (rnn, truncated, clipping, birnn, classifier, batching, lstm, gru, embedding)

# The class's methods, by the names a trace calls them.
METHODS: dict[str, Callable] = {
    "CaptioningRNN.loss": captioning.CaptioningRNN.loss,
    "CaptioningRNN.sample": captioning.CaptioningRNN.sample,
}

CONTRACT = (
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "rnn_backward_truncated",
    "clip_grad_norm", "birnn_forward", "birnn_backward", "rnn_classifier_loss", "tbptt_batches",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
    "word_embedding_forward", "word_embedding_backward", "temporal_affine_forward", "temporal_affine_backward",
    "temporal_softmax_loss", *METHODS,
)


def reference_functions() -> dict[str, Callable]:
    """Every function defined in a reference module, by name (the contract and its helpers), and
    CaptioningRNN's methods (taking ``self``). A helper defined in several modules (``sigmoid``) is
    listed once, but each module's functions keep calling their own (``compose``)."""
    return {
        **{name: value
           for module in MODULES
           for name, value in vars(module).items()
           if isinstance(value, types.FunctionType) and value.__module__ == module.__name__},
        **METHODS,
    }


def compose(replacements: dict[str, Callable]) -> dict[str, Callable]:
    """The model's functions by name: the reference's, with ``replacements`` in their place.

    Every function of the result (replacements included) calls the model's functions, so a
    replaced ``rnn_step_backward`` is what ``rnn_backward``, the truncated BPTT, the bidirectional
    RNN and the classifier all use, and a replaced ``temporal_softmax_loss`` what CaptioningRNN's
    loss uses. "CaptioningRNN.loss" and "CaptioningRNN.sample" take the grader's arguments.
    """
    originals = reference_functions()
    unknown = set(replacements) - set(originals)
    if unknown:
        raise KeyError(f"no reference function to replace: {sorted(unknown)}")
    chosen = {**originals, **replacements}
    model = {name: rebound(function) for name, function in chosen.items()}
    for function in model.values():
        # Only a name that refers to the reference's function of that name: a module's own helper
        # of a name defined elsewhere too (lstm's sigmoid, gru's sigmoid) stays its own.
        function.__globals__.update((name, model[name]) for name in function.__code__.co_names
                                    if name in model and function.__globals__.get(name) is originals[name])
    return {**model, **{name: on_fresh_object(model[name]) for name in METHODS}}


def rebound(function: Callable) -> types.FunctionType:
    """A copy of ``function`` with a globals dict of its own (a copy of its module's)."""
    copy = types.FunctionType(function.__code__, dict(function.__globals__), function.__name__,
                              function.__defaults__, function.__closure__)
    copy.__doc__, copy.__qualname__ = function.__doc__, function.__qualname__
    return copy


def on_fresh_object(method: Callable) -> Callable:
    """``method`` called as the grader's worker calls CaptioningRNN's: on a fresh float64 object built
    from the constructor keywords ``model``, its params replaced by ``params``."""

    def call(model: dict[str, Any], params: dict[str, np.ndarray], *args: Any) -> Any:
        state = np.random.get_state()  # the constructor draws from np.random: the caller's stream is kept
        try:
            obj = captioning.CaptioningRNN(**model, dtype=np.float64)
        finally:
            np.random.set_state(state)
        obj.params.update(params)
        return method(obj, *args)

    return call


def affected(replacements: dict[str, Callable]) -> frozenset[str]:
    """The contract functions whose behaviour a model's replacements can change (callers included)."""
    calls = {name: set(function.__code__.co_names) for name, function in {**reference_functions(), **replacements}.items()}
    changed = set(replacements)
    while True:
        callers = {name for name, called in calls.items() if called & changed} - changed
        if not callers:
            return frozenset(changed & set(CONTRACT))
        changed |= callers
