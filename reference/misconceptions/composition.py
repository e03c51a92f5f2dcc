"""A misconception model as a whole submission: the reference with some functions replaced.

The reference modules call each other's functions by name (``rnn_forward`` calls
``rnn_step_forward``; ``birnn_backward`` and ``rnn_classifier_loss`` call ``rnn_backward``; ...).
A mistake in one step function must therefore show in every function that calls it, exactly as
it does in a student's file. ``compose`` copies every reference function with a globals dict of
its own, then points every name in every copy (the replacements' own included) at the model's
version, so that each call goes to the model's function, never to the reference's.
"""

from __future__ import annotations

import types
from typing import Callable

from reference import batching, birnn, classifier, clipping, rnn, truncated

MODULES = (rnn, truncated, clipping, birnn, classifier, batching)

CONTRACT = (
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "rnn_backward_truncated",
    "clip_grad_norm", "birnn_forward", "birnn_backward", "rnn_classifier_loss", "tbptt_batches",
)


def reference_functions() -> dict[str, Callable]:
    """Every function defined in a reference module, by name (the contract and its helpers)."""
    return {
        name: value
        for module in MODULES
        for name, value in vars(module).items()
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__
    }


def compose(replacements: dict[str, Callable]) -> dict[str, Callable]:
    """The model's functions by name: the reference's, with ``replacements`` in their place.

    Every function of the result (replacements included) calls the model's functions, so a
    replaced ``rnn_step_backward`` is what ``rnn_backward``, the truncated BPTT, the bidirectional
    RNN and the classifier all use.
    """
    originals = reference_functions()
    unknown = set(replacements) - set(originals)
    if unknown:
        raise KeyError(f"no reference function to replace: {sorted(unknown)}")
    chosen = {**originals, **replacements}
    model = {name: rebound(function) for name, function in chosen.items()}
    for function in model.values():
        function.__globals__.update((name, model[name]) for name in function.__code__.co_names if name in model)
    return model


def rebound(function: Callable) -> types.FunctionType:
    """A copy of ``function`` with a globals dict of its own (a copy of its module's)."""
    copy = types.FunctionType(function.__code__, dict(function.__globals__), function.__name__,
                              function.__defaults__, function.__closure__)
    copy.__doc__, copy.__qualname__ = function.__doc__, function.__qualname__
    return copy


def affected(replacements: dict[str, Callable]) -> frozenset[str]:
    """The contract functions whose behaviour a model's replacements can change (callers included)."""
    calls = {name: set(function.__code__.co_names) for name, function in {**reference_functions(), **replacements}.items()}
    changed = set(replacements)
    while True:
        callers = {name for name, called in calls.items() if called & changed} - changed
        if not callers:
            return frozenset(changed & set(CONTRACT))
        changed |= callers
