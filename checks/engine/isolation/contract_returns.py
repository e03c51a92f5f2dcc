"""What each contract function returns, and a worker's value checked against it.

The tables ``RETURNS`` (each array's name and shape in the letters N, T, D, H), ``OUTPUT_NAMES``,
``ARGUMENTS`` and ``CLASSIFIER_GRADIENTS``, and the validators that turn a function's returned
value into the checked arrays a check compares (``validate_returns`` and the three functions whose
results are not sized by the letters). Apart from ``checks.engine.isolation.contract``, which calls
the worker and hands these its replies: the shapes are the contract's, whoever asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from checks.engine.isolation.protocol import Handle
from checks.engine.isolation.validation import (ContractViolation, expect_array, expect_dict, expect_float, expect_indices,
                                                expect_tuple, kind_of)

_BACKWARD = ("dx:N T D", "dh0:N H", "dWx:D H", "dWh:H H", "db:H")

# What each array-returning function returns, "name:SHAPE" in the letters N, T, D, H ("2H" for
# the bidirectional width, "4H" and "3H" for the stacked gates of the LSTM and the GRU), V words and
# M outputs; "cache" is the opaque cache, which never leaves the worker.
RETURNS: dict[str, tuple[str, ...]] = {
    "rnn_step_forward": ("next_h:N H", "cache"),
    "rnn_step_backward": ("dx:N D", "dprev_h:N H", "dWx:D H", "dWh:H H", "db:H"),
    "rnn_forward": ("h:N T H", "cache"),
    "rnn_backward": _BACKWARD,
    "rnn_backward_truncated": _BACKWARD,
    "birnn_forward": ("h:N T 2H", "cache"),
    "birnn_backward": ("dx:N T D", "dh0_f:N H", "dWx_f:D H", "dWh_f:H H", "db_f:H",
                       "dh0_b:N H", "dWx_b:D H", "dWh_b:H H", "db_b:H"),
    "lstm_step_forward": ("next_h:N H", "next_c:N H", "cache"),
    "lstm_step_backward": ("dx:N D", "dprev_h:N H", "dprev_c:N H", "dWx:D 4H", "dWh:H 4H", "db:4H"),
    "lstm_forward": ("h:N T H", "cache"),
    "lstm_backward": ("dx:N T D", "dh0:N H", "dWx:D 4H", "dWh:H 4H", "db:4H"),
    "gru_step_forward": ("next_h:N H", "cache"),
    "gru_step_backward": ("dx:N D", "dprev_h:N H", "dWx:D 3H", "dWh:H 3H", "dbx:3H", "dbh:3H"),
    "gru_forward": ("h:N T H", "cache"),
    "gru_backward": ("dx:N T D", "dh0:N H", "dWx:D 3H", "dWh:H 3H", "dbx:3H", "dbh:3H"),
    "word_embedding_forward": ("out:N T D", "cache"),
    "word_embedding_backward": ("dW:V D",),
    "temporal_affine_forward": ("out:N T M", "cache"),
    "temporal_affine_backward": ("dx:N T D", "dw:D M", "db:M"),
}

#: The functions that return one array rather than a tuple; validated, it is a tuple of one all the same.
SINGLE_VALUE = frozenset({"word_embedding_backward"})

#: CaptioningRNN's parameters, with their shapes in the letters V words, I image features (input_dim),
#: W word-vector size, H hidden units and kH stacked gates (k = 1 for the RNN, 4 for the LSTM).
CAPTIONING_PARAMS: dict[str, str] = {
    "W_embed": "V W", "W_proj": "I H", "b_proj": "H", "Wx": "W kH", "Wh": "H kH", "b": "kH",
    "W_vocab": "H V", "b_vocab": "V",
}

CLASSIFIER_GRADIENTS = ("x", "h0", "Wx", "Wh", "b", "W2", "b2")

#: The names of each function's results, in order: RETURNS's, and those of the three functions
#: whose results are not arrays sized by the letters (diagnosis and reproduction scripts name them).
OUTPUT_NAMES: dict[str, tuple[str, ...]] = {
    **{function: tuple(spec.split(":")[0] for spec in specs) for function, specs in RETURNS.items()},
    "clip_grad_norm": ("clipped", "total_norm"),
    "rnn_classifier_loss": ("loss", "grads"),
    "tbptt_batches": ("batches",),
    "temporal_softmax_loss": ("loss", "dx"),
    "CaptioningRNN.loss": ("loss", "grads"),
    "CaptioningRNN.sample": ("captions",),
}

# Argument names of the functions that finite differences evaluate many times.
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "rnn_step_forward": ("x", "prev_h", "Wx", "Wh", "b"),
    "rnn_forward": ("x", "h0", "Wx", "Wh", "b"),
    "birnn_forward": ("x", "h0_f", "Wx_f", "Wh_f", "b_f", "h0_b", "Wx_b", "Wh_b", "b_b"),
    "rnn_classifier_loss": ("x", "y", "h0", "Wx", "Wh", "b", "W2", "b2"),
    "lstm_step_forward": ("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
    "lstm_forward": ("x", "h0", "Wx", "Wh", "b"),
    "gru_step_forward": ("x", "prev_h", "Wx", "Wh", "bx", "bh"),
    "gru_forward": ("x", "h0", "Wx", "Wh", "bx", "bh"),
    "word_embedding_forward": ("x", "W"),
    "temporal_affine_forward": ("x", "w", "b"),
    "temporal_softmax_loss": ("x", "y", "mask"),
    "CaptioningRNN.loss": ("model", "params", "features", "captions"),
}


@dataclass(frozen=True)
class Cache:
    """The grader's stand-in for a cache: a one-use handle, and the sizes it was made with."""

    handle: Handle
    sizes: dict[str, int]


def sizes_of(x: np.ndarray, h: np.ndarray) -> dict[str, int]:
    """The letters N, T, D, H (and 2H, 3H, 4H) from an input x of shape (N, D) or (N, T, D) and a state (N, H)."""
    N, H = h.shape
    return {"N": N, "T": x.shape[1] if x.ndim == 3 else 1, "D": x.shape[-1], "H": H,
            "2H": 2 * H, "3H": 3 * H, "4H": 4 * H}


def call_sizes(function: str, args: Sequence) -> dict[str, int]:
    """The letters of a call of a forward ``function`` on ``args``: N, T, D from x; H from the state, or
    V (words) from the embedding's W, or M (outputs) from the temporal affine layer's w."""
    x, second = args[0], args[1]
    if function == "word_embedding_forward":
        N, T = np.shape(x)
        V, D = np.shape(second)
        return {"N": N, "T": T, "V": V, "D": D}
    if function == "temporal_affine_forward":
        N, T, D = np.shape(x)
        return {"N": N, "T": T, "D": D, "M": np.shape(second)[1]}
    return sizes_of(x, second)


def letters(function: str, sizes: dict[str, int]) -> str:
    """'N=2, T=300, D=3, H=2': the sizes of a call, in the contract's letters (no T for a single step)."""
    names = ("N", "T", "V", "D", "H", "M")
    return ", ".join(f"{name}={sizes[name]}" for name in names
                     if name in sizes and not (name == "T" and "_step_" in function))


def describe_inputs(function: str, args: Sequence) -> str:
    """The sizes of a call's arguments, in words: letters for the RNN functions, shapes otherwise.

    ``args`` are as a check passes them (caches as ``Cache``). Used only to explain a fault, so
    anything unexpected gives a shorter text rather than an error.
    """
    cache = next((a for a in args if isinstance(a, Cache)), None)
    try:
        if cache is not None:
            return letters(function, cache.sizes)
        if function == "rnn_classifier_loss":
            return letters(function, sizes_of(args[0], args[2]))
        if function in RETURNS:
            return letters(function, call_sizes(function, args))
        if function == "clip_grad_norm":
            return "gradients of shapes " + ", ".join(f"{name} {np.shape(g)}" for name, g in args[0].items())
        if function == "tbptt_batches":
            return f"a series of shape {np.shape(args[0])}, batch_size={args[1]}, window={args[2]}"
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        pass
    return ""


def shape_of(spec: str, sizes: dict[str, int]) -> tuple[int, ...]:
    return tuple(sizes[letter] for letter in spec.split())


def symbolic_shape(spec: str) -> str:
    """"N T H" -> "(N, T, H)", "H" -> "(H,)": written as Python writes the shape it stands for."""
    letters = spec.split()
    return f"({letters[0]},)" if len(letters) == 1 else f"({', '.join(letters)})"


def validate_returns(function: str, value: Any, sizes: dict[str, int], allow_unit_axes: bool = False) -> tuple:
    """Validate a tuple return against ``RETURNS[function]``; caches become ``Cache`` objects.

    ``allow_unit_axes``: arrays off by axes of length 1 are reshaped (``expect_array``)."""
    specs = RETURNS[function]
    names = tuple(spec.split(":")[0] for spec in specs)
    if function in SINGLE_VALUE and type(value) in (tuple, list):
        raise ContractViolation(f"{function} must return {names[0]} alone, an array, but returned "
                                f"{kind_of(value)} of length {len(value)}")
    items = (value,) if function in SINGLE_VALUE else expect_tuple(value, names, function)
    validated = []
    for spec, item in zip(specs, items):
        if spec == "cache":
            validated.append(Cache(item, sizes) if isinstance(item, Handle) else None)
            continue
        name, dims = spec.split(":")
        validated.append(expect_array(item, shape_of(dims, sizes), f"{name} returned by {function}",
                                      symbolic_shape(dims), allow_unit_axes))
    return tuple(validated)


def first_output(function: str, value: Any, args: tuple, allow_unit_axes: bool = False) -> Any:
    """What finite differences read of one forward result: the loss of a function returning (loss, grads);
    else the arrays it returns without the cache, one alone as itself (h, next_h) and several as a tuple
    (the LSTM step's (next_h, next_c))."""
    if function in VALIDATORS:
        return VALIDATORS[function](value, args)[0]
    validated = validate_returns(function, value, call_sizes(function, args), allow_unit_axes)
    arrays = tuple(item for spec, item in zip(RETURNS[function], validated) if spec != "cache")
    return arrays[0] if len(arrays) == 1 else arrays


def validate_clip(value: Any, args: tuple) -> tuple[dict[str, np.ndarray], float]:
    """clip_grad_norm's (clipped, total_norm) for ``args`` = (grads, max_norm)."""
    grads = args[0]
    clipped, total_norm = expect_tuple(value, ("clipped", "total_norm"), "clip_grad_norm")
    expect_dict(clipped, set(grads), "clipped returned by clip_grad_norm")
    for name, grad in grads.items():
        expect_array(clipped[name], grad.shape, f"clipped[{name!r}] returned by clip_grad_norm",
                     f"the shape of grads[{name!r}]")
    return clipped, expect_float(total_norm, "total_norm returned by clip_grad_norm")


def validate_classifier(value: Any, args: tuple) -> tuple[float, dict[str, np.ndarray]]:
    loss, grads = expect_tuple(value, ("loss", "grads"), "rnn_classifier_loss")
    loss = expect_float(loss, "loss returned by rnn_classifier_loss")
    expect_dict(grads, set(CLASSIFIER_GRADIENTS), "grads returned by rnn_classifier_loss")
    shapes = dict(zip(("x", "y", "h0", "Wx", "Wh", "b", "W2", "b2"), (np.shape(a) for a in args)))
    for name in CLASSIFIER_GRADIENTS:
        expect_array(grads[name], shapes[name], f"grads[{name!r}] returned by rnn_classifier_loss",
                     f"the shape of {name}")
    return loss, grads


def validate_softmax_loss(value: Any, args: tuple) -> tuple[float, np.ndarray]:
    """temporal_softmax_loss's (loss, dx) for ``args`` = (x, y, mask): dx of x's shape (N, T, V)."""
    loss, dx = expect_tuple(value, ("loss", "dx"), "temporal_softmax_loss")
    return (expect_float(loss, "loss returned by temporal_softmax_loss"),
            expect_array(dx, np.shape(args[0]), "dx returned by temporal_softmax_loss", "(N, T, V)"))


def validate_captioning_loss(value: Any, args: tuple) -> tuple[float, dict[str, np.ndarray]]:
    """CaptioningRNN.loss's (loss, grads) for ``args`` = (model, params, features, captions): grads has
    the keys of params, each of its parameter's shape."""
    params = args[1]
    loss, grads = expect_tuple(value, ("loss", "grads"), "CaptioningRNN.loss")
    loss = expect_float(loss, "loss returned by CaptioningRNN.loss")
    expect_dict(grads, set(params), "grads returned by CaptioningRNN.loss")
    for name, param in params.items():
        expect_array(grads[name], np.shape(param), f"grads[{name!r}] returned by CaptioningRNN.loss",
                     f"the shape of params[{name!r}] ({CAPTIONING_PARAMS.get(name, '')})")
    return loss, grads


def validate_captions(value: Any, args: tuple) -> tuple[np.ndarray]:
    """CaptioningRNN.sample's captions for ``args`` = (model, params, features, max_length): an integer
    array (N, max_length) of word indices 0 … V − 1 (one-tuple, as every validated result)."""
    N, V = np.shape(args[2])[0], len(args[0]["word_to_idx"])
    return (expect_indices(value, (N, int(args[3])), V, "captions returned by CaptioningRNN.sample",
                           "(N, max_length)"),)


def validate_batches(value: Any, args: tuple) -> np.ndarray:
    """tbptt_batches' array for ``args`` = (series, batch_size, window)."""
    return expect_array(value, batches_shape(*args), "batches returned by tbptt_batches",
                        "(num_windows, batch_size, window, *features)")


#: The validators of the functions whose results are not sized by the letters N, T, D, H (the others
#: are ``RETURNS``'), each given the result and the call's arguments.
VALIDATORS: dict[str, Callable[[Any, tuple], Any]] = {
    "clip_grad_norm": validate_clip,
    "rnn_classifier_loss": validate_classifier,
    "tbptt_batches": validate_batches,
    "temporal_softmax_loss": validate_softmax_loss,
    "CaptioningRNN.loss": validate_captioning_loss,
    "CaptioningRNN.sample": validate_captions,
}


def batches_shape(series: np.ndarray, batch_size: int, window: int) -> tuple[int, ...]:
    """(num_windows, batch_size, window, *features), num_windows = (L // batch_size) // window."""
    return ((len(series) // batch_size) // window, batch_size, window, *series.shape[1:])


#: The arguments that reach the submission as plain Python numbers, whatever number a check passed (a numpy
#: int or float would arrive as a numpy scalar): per function, {position: int or float}.
PLAIN_NUMBERS: dict[str, dict[int, type]] = {
    "rnn_backward_truncated": {2: int},
    "clip_grad_norm": {1: float},
    "tbptt_batches": {1: int, 2: int},
    "CaptioningRNN.sample": {3: int},
}


def plain_numbers(function: str, args: Sequence) -> tuple:
    """``args`` of ``function`` with its ``PLAIN_NUMBERS`` made plain ints or floats."""
    kinds = PLAIN_NUMBERS.get(function, {})
    return tuple(kinds[i](arg) if i in kinds else arg for i, arg in enumerate(args))
