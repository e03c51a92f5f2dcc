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
from checks.engine.isolation.validation import expect_array, expect_dict, expect_float, expect_tuple

_BACKWARD = ("dx:N T D", "dh0:N H", "dWx:D H", "dWh:H H", "db:H")

# What each array-returning function returns, "name:SHAPE" in the letters N, T, D, H ("2H" for
# the bidirectional width); "cache" is the opaque cache, which never leaves the worker.
RETURNS: dict[str, tuple[str, ...]] = {
    "rnn_step_forward": ("next_h:N H", "cache"),
    "rnn_step_backward": ("dx:N D", "dprev_h:N H", "dWx:D H", "dWh:H H", "db:H"),
    "rnn_forward": ("h:N T H", "cache"),
    "rnn_backward": _BACKWARD,
    "rnn_backward_truncated": _BACKWARD,
    "birnn_forward": ("h:N T 2H", "cache"),
    "birnn_backward": ("dx:N T D", "dh0_f:N H", "dWx_f:D H", "dWh_f:H H", "db_f:H",
                       "dh0_b:N H", "dWx_b:D H", "dWh_b:H H", "db_b:H"),
}

CLASSIFIER_GRADIENTS = ("x", "h0", "Wx", "Wh", "b", "W2", "b2")

#: The names of each function's results, in order: RETURNS's, and those of the three functions
#: whose results are not arrays sized by the letters (diagnosis and reproduction scripts name them).
OUTPUT_NAMES: dict[str, tuple[str, ...]] = {
    **{function: tuple(spec.split(":")[0] for spec in specs) for function, specs in RETURNS.items()},
    "clip_grad_norm": ("clipped", "total_norm"),
    "rnn_classifier_loss": ("loss", "grads"),
    "tbptt_batches": ("batches",),
}

# Argument names of the functions that finite differences evaluate many times.
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "rnn_step_forward": ("x", "prev_h", "Wx", "Wh", "b"),
    "rnn_forward": ("x", "h0", "Wx", "Wh", "b"),
    "birnn_forward": ("x", "h0_f", "Wx_f", "Wh_f", "b_f", "h0_b", "Wx_b", "Wh_b", "b_b"),
    "rnn_classifier_loss": ("x", "y", "h0", "Wx", "Wh", "b", "W2", "b2"),
}


@dataclass(frozen=True)
class Cache:
    """The grader's stand-in for a cache: a one-use handle, and the sizes it was made with."""

    handle: Handle
    sizes: dict[str, int]


def sizes_of(x: np.ndarray, h: np.ndarray) -> dict[str, int]:
    """The letters N, T, D, H (and 2H) from an input x of shape (N, D) or (N, T, D) and a state (N, H)."""
    N, H = h.shape
    return {"N": N, "T": x.shape[1] if x.ndim == 3 else 1, "D": x.shape[-1], "H": H, "2H": 2 * H}


def letters(function: str, sizes: dict[str, int]) -> str:
    """'N=2, T=300, D=3, H=2': the sizes of a call, in the contract's letters (no T for a single step)."""
    names = ("N", "D", "H") if function.startswith("rnn_step") else ("N", "T", "D", "H")
    return ", ".join(f"{name}={sizes[name]}" for name in names if name in sizes)


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
        if function in ARGUMENTS:
            return letters(function, sizes_of(args[0], args[1]))
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
    items = expect_tuple(value, names, function)
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
    if function == "rnn_classifier_loss":
        return validate_classifier(value, args)[0]
    return validate_returns(function, value, sizes_of(args[0], args[1]), allow_unit_axes)[0]


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
}


def batches_shape(series: np.ndarray, batch_size: int, window: int) -> tuple[int, ...]:
    """(num_windows, batch_size, window, *features), num_windows = (L // batch_size) // window."""
    return ((len(series) // batch_size) // window, batch_size, window, *series.shape[1:])
