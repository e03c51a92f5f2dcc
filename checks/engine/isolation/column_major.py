"""deeplearning.ai's column-major functions (``--assignment dlai-c5w1``), as the grading process sees them.

``ColumnMajor(sub)`` is a view of a ``Submission`` with one method per function of
``COLUMN_MAJOR_FUNCTIONS``. rnn_forward, rnn_backward, lstm_forward and lstm_backward share the row-vector
contract's names but not its signatures, so a check never calls ``sub.rnn_forward``: it calls
``ColumnMajor(sub).rnn_forward(x, a0, parameters)``, which goes to the worker through ``Submission.send`` (the
same charging of faults) and validates the reply here, before any check compares a value.

Shapes, in the course's letters: n_x input features, n_a hidden units, n_y outputs, m examples, T_x steps.

    rnn_cell_forward(xt, a_prev, parameters)            -> (a_next (n_a, m), yt_pred (n_y, m), cache)
    rnn_forward(x, a0, parameters)                      -> (a (n_a, m, T_x), y_pred (n_y, m, T_x), caches)
    lstm_cell_forward(xt, a_prev, c_prev, parameters)   -> (a_next, c_next (n_a, m), yt_pred (n_y, m), cache)
    lstm_forward(x, a0, parameters)                     -> (a, y (n_y, m, T_x), c (n_a, m, T_x), caches)
    rnn_cell_backward(da_next, cache)                   -> {dxt, da_prev, dWax, dWaa, dba}
    rnn_backward(da, caches)                            -> {dx, da0, dWax, dWaa, dba}
    lstm_cell_backward(da_next, dc_next, cache)         -> {dxt, da_prev, dc_prev, dWf, dbf, …, dWo, dbo}
    lstm_backward(da, caches)                           -> {dx, da0, dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo}

Every array must be a finite float64 ``numpy.ndarray`` of exactly its shape (a bias gradient is (n_a, 1), summed
with keepdims); a gradient dict must hold exactly the course's keys. The caches stay in the worker
(``Handle``s), each handed back once to the matching backward.

One check needs a cache's values: the σ identities of lstm_cell_backward are judged on the student's own gates,
which only the cache holds. ``ColumnMajor.lstm_cell_cache`` calls lstm_cell_forward once more with the whole
tuple returned as plain data, and validates the cache as the course documents it:

    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot  (each n_a, m),  xt (n_x, m),  parameters (dict))

That layout is required, not a guess: the course's notebook prints ``cache[1][3]`` and ``len(cache)`` in its test
of lstm_cell_forward, and the backward it hands out unpacks the cache by position. Another layout fails with a
message that says so (``LSTM_CACHE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from checks.engine.isolation.contract import SubmissionRaised
from checks.engine.isolation.protocol import Handle
from checks.engine.isolation.validation import ContractViolation, expect_array, expect_dict, expect_tuple, kind_of

_GATE_GRADIENTS = tuple(f"{kind}:{shape}" for k in "fico" for kind, shape in ((f"dW{k}", "n_a n_a+n_x"),
                                                                              (f"db{k}", "n_a 1")))

#: What each forward returns, "name:SHAPE" in the course's letters; "cache" stays in the worker.
FORWARD_RETURNS: dict[str, tuple[str, ...]] = {
    "rnn_cell_forward": ("a_next:n_a m", "yt_pred:n_y m", "cache"),
    "rnn_forward": ("a:n_a m T_x", "y_pred:n_y m T_x", "caches"),
    "lstm_cell_forward": ("a_next:n_a m", "c_next:n_a m", "yt_pred:n_y m", "cache"),
    "lstm_forward": ("a:n_a m T_x", "y:n_y m T_x", "c:n_a m T_x", "caches"),
}

#: The keys of each backward's gradient dict, with their shapes, in the course's order.
GRADIENTS: dict[str, tuple[str, ...]] = {
    "rnn_cell_backward": ("dxt:n_x m", "da_prev:n_a m", "dWax:n_a n_x", "dWaa:n_a n_a", "dba:n_a 1"),
    "rnn_backward": ("dx:n_x m T_x", "da0:n_a m", "dWax:n_a n_x", "dWaa:n_a n_a", "dba:n_a 1"),
    "lstm_cell_backward": ("dxt:n_x m", "da_prev:n_a m", "dc_prev:n_a m", *_GATE_GRADIENTS),
    "lstm_backward": ("dx:n_x m T_x", "da0:n_a m", *_GATE_GRADIENTS),
}

#: Each backward's forward, whose cache it is given.
FORWARD_OF = {"rnn_cell_backward": "rnn_cell_forward", "rnn_backward": "rnn_forward",
              "lstm_cell_backward": "lstm_cell_forward", "lstm_backward": "lstm_forward"}

#: The arguments of each forward, in call order (finite differences move them by name).
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "rnn_cell_forward": ("xt", "a_prev", "parameters"),
    "rnn_forward": ("x", "a0", "parameters"),
    "lstm_cell_forward": ("xt", "a_prev", "c_prev", "parameters"),
    "lstm_forward": ("x", "a0", "parameters"),
}

#: The outputs a backward differentiates: the upstream gradients it takes are theirs (y is never differentiated).
DIFFERENTIATED = {"rnn_cell_forward": ("a_next",), "rnn_forward": ("a",), "lstm_cell_forward": ("a_next", "c_next"),
                  "lstm_forward": ("a",)}

#: lstm_cell_forward's cache, by position, as the course documents it (module docstring).
LSTM_CACHE = ("a_next:n_a m", "c_next:n_a m", "a_prev:n_a m", "c_prev:n_a m", "ft:n_a m", "it:n_a m", "cct:n_a m",
              "ot:n_a m", "xt:n_x m", "parameters")

UNDEFINED_NAME = re.compile(r"NameError: name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


@dataclass(frozen=True)
class Cache:
    """The grader's stand-in for a column-major cache: a one-use handle, and the sizes of the forward that made it."""

    handle: Handle
    sizes: dict[str, int]


def names(specs: Sequence[str]) -> tuple[str, ...]:
    """The names of "name:SHAPE" specs, in order."""
    return tuple(spec.split(":")[0] for spec in specs)


def forward_sizes(function: str, args: Sequence) -> dict[str, int]:
    """The letters of a forward call: n_x and m from x (or xt), T_x from x, n_a from a_prev (or a0), n_y from
    the output weights (Wya for the RNN, Wy for the LSTM) of the parameters dict."""
    x, a, parameters = args[0], args[1], args[-1]
    n_x, m = np.shape(x)[:2]
    output = parameters["Wya"] if function.startswith("rnn") else parameters["Wy"]
    n_a = np.shape(a)[0]
    sizes = {"n_x": n_x, "m": m, "n_a": n_a, "n_y": np.shape(output)[0], "n_a+n_x": n_a + n_x, "1": 1}
    if np.ndim(x) == 3:
        sizes["T_x"] = np.shape(x)[2]
    return sizes


def in_words(sizes: dict[str, int]) -> str:
    """'n_x=3, n_a=2, n_y=2, m=4, T_x=5': a call's sizes in the course's letters."""
    return ", ".join(f"{k}={sizes[k]}" for k in ("n_x", "n_a", "n_y", "m", "T_x") if k in sizes)


def shape_of(spec: str, sizes: dict[str, int]) -> tuple[tuple[int, ...], str]:
    """(the shape, its symbolic form "(n_a, m)") of a "name:SHAPE" spec."""
    letters = spec.split(":")[1].split()
    return tuple(sizes[letter] for letter in letters), f"({', '.join(letters)})"


def validate_forward(function: str, value: Any, sizes: dict[str, int], allow_unit_axes: bool = False) -> tuple:
    """A forward's returned tuple, every array checked; its cache (a Handle) wrapped in a ``Cache``."""
    specs = FORWARD_RETURNS[function]
    items = expect_tuple(value, names(specs), function)
    checked = []
    for spec, item in zip(specs, items):
        if spec.startswith("cache"):
            if type(item) is not Handle:
                raise ContractViolation(f"{function} must return ({', '.join(names(specs))}), with the cache last")
            checked.append(Cache(item, sizes))
        else:
            checked.append(checked_item(function, spec, item, sizes, allow_unit_axes))
    return tuple(checked)


def validate_gradients(function: str, value: Any, sizes: dict[str, int], allow_unit_axes: bool = False) -> dict:
    """A backward's gradient dict, with exactly the course's keys, every array checked (dba is (n_a, 1))."""
    specs = GRADIENTS[function]
    gradients = expect_dict(value, set(names(specs)), f"the gradients dict returned by {function}")
    checked = {}
    for spec in specs:
        name = spec.split(":")[0]
        shape, dims = shape_of(spec, sizes)
        checked[name] = expect_array(gradients[name], shape, f"gradients[{name!r}] returned by {function}", dims,
                                     allow_unit_axes)
    return checked


def differentiated(function: str, outputs: tuple) -> np.ndarray | tuple[np.ndarray, ...]:
    """The outputs of a validated forward that its backward differentiates: one array alone, two as a tuple."""
    kept = tuple(item for spec, item in zip(FORWARD_RETURNS[function], outputs)
                 if spec.split(":")[0] in DIFFERENTIATED[function])
    return kept[0] if len(kept) == 1 else kept


def undefined_name_hint(raised: str) -> str:
    """The raised text, and for a NameError the cause in plain words: a name from another notebook cell."""
    found = UNDEFINED_NAME.search(raised)
    if not found:
        return raised
    return (f"{raised}. Your function uses {found.group(1)}, which is neither one of its arguments nor defined in "
            f"your file. Your function is called with its own arguments, without the notebook's other cells, so "
            f"a variable set in another cell does not exist here: read everything from the function's arguments "
            f"(parameters[...], not a global such as {found.group(1)}).")


class ColumnMajor:
    """A submission's column-major functions, each call validated (module docstring)."""

    def __init__(self, sub) -> None:
        self.sub = sub

    # -- forwards ------------------------------------------------------------------------------------------------

    def rnn_cell_forward(self, xt, a_prev, parameters) -> tuple[np.ndarray, np.ndarray, Cache]:
        return self.forward("rnn_cell_forward", (xt, a_prev, parameters))

    def rnn_forward(self, x, a0, parameters) -> tuple[np.ndarray, np.ndarray, Cache]:
        return self.forward("rnn_forward", (x, a0, parameters))

    def lstm_cell_forward(self, xt, a_prev, c_prev, parameters) -> tuple[np.ndarray, np.ndarray, np.ndarray, Cache]:
        return self.forward("lstm_cell_forward", (xt, a_prev, c_prev, parameters))

    def lstm_forward(self, x, a0, parameters) -> tuple[np.ndarray, np.ndarray, np.ndarray, Cache]:
        return self.forward("lstm_forward", (x, a0, parameters))

    def lstm_cell_cache(self, xt, a_prev, c_prev, parameters) -> dict[str, Any]:
        """lstm_cell_forward's cache as plain data, validated as the course's tuple (``validate_lstm_cache``):
        {name: array} by ``LSTM_CACHE``'s names, each (n_a, m) but xt (n_x, m), and the parameters dict.

        The whole returned tuple comes back (``cache_at`` None): no handle is kept in the worker."""
        args = (xt, a_prev, c_prev, parameters)
        sizes = forward_sizes("lstm_cell_forward", args)
        message = {"op": "call", "fn": "lstm_cell_forward", "args": list(args), "cache_at": None}
        answer = self.send(message, "lstm_cell_forward", in_words(sizes))
        returned = expect_tuple(answer.value, names(FORWARD_RETURNS["lstm_cell_forward"]), "lstm_cell_forward")
        return validate_lstm_cache(returned[-1], sizes, self.sub.allow_unit_axes)

    # -- backwards -----------------------------------------------------------------------------------------------

    def rnn_cell_backward(self, da_next, cache: Cache) -> dict[str, np.ndarray]:
        return self.backward("rnn_cell_backward", (da_next,), cache)

    def rnn_backward(self, da, caches: Cache) -> dict[str, np.ndarray]:
        return self.backward("rnn_backward", (da,), caches)

    def lstm_cell_backward(self, da_next, dc_next, cache: Cache) -> dict[str, np.ndarray]:
        return self.backward("lstm_cell_backward", (da_next, dc_next), cache)

    def lstm_backward(self, da, caches: Cache) -> dict[str, np.ndarray]:
        return self.backward("lstm_backward", (da,), caches)

    # -- the calls -------------------------------------------------------------------------------------------------

    def forward(self, function: str, args: tuple) -> tuple:
        """``function(*args)``, validated: its arrays, and its cache as a ``Cache`` kept in the worker for one
        backward call (a check that calls no backward uses ``outputs``, which keeps none)."""
        sizes = forward_sizes(function, args)
        message = {"op": "call", "fn": function, "args": list(args), "cache_at": len(FORWARD_RETURNS[function]) - 1}
        answer = self.send(message, function, in_words(sizes))
        return validate_forward(function, answer.value, sizes, self.sub.allow_unit_axes)

    def outputs(self, function: str, args: tuple) -> tuple:
        """``function(*args)``'s validated arrays, None in the cache's place: the cache is dropped in the worker."""
        return self.evaluate(function, [args], differentiated_only=False)[0]

    def backward(self, function: str, upstream: tuple, cache: Cache) -> dict[str, np.ndarray]:
        """``function(*upstream, cache)``, its gradient dict validated against the sizes of the cache's forward."""
        message = {"op": "call", "fn": function, "args": [*upstream, cache.handle], "cache_at": None}
        answer = self.send(message, function, in_words(cache.sizes))
        return validate_gradients(function, answer.value, cache.sizes, self.sub.allow_unit_axes)

    def many(self, function: str, args_list: Sequence[tuple]) -> list:
        """The differentiated outputs (``DIFFERENTIATED``) of ``function`` on every argument tuple, in one round
        trip, each result validated; the caches are dropped in the worker. For finite differences."""
        return self.evaluate(function, args_list)

    def evaluate(self, function: str, args_list: Sequence[tuple], differentiated_only: bool = True) -> list:
        """``function`` on every argument tuple in one "map" round trip: each validated tuple (None for the cache),
        or only its differentiated outputs."""
        if not args_list:
            return []
        sizes = forward_sizes(function, args_list[0])
        message = {"op": "map", "fn": function, "args_list": [list(args) for args in args_list],
                   "cache_at": len(FORWARD_RETURNS[function]) - 1}
        answer = self.send(message, function, in_words(sizes))
        results = [validate_map_item(function, value, forward_sizes(function, args), self.sub.allow_unit_axes)
                   for value, args in zip(answer.value, args_list)]
        return [differentiated(function, r) for r in results] if differentiated_only else results

    def send(self, message: dict, function: str, inputs: str) -> Any:
        """``Submission.send``, kept out of the submission's trace, a NameError's message completed with its likely
        cause (a notebook global).

        The trace (``Submission.recording``) is replayed on the row-vector reference and its misconception
        models, and its calls are shown with the row-vector contract's argument names: rnn_forward(x, h0, Wx, …)
        is not the course's rnn_forward(x, a0, parameters). A column-major call noted there would be diagnosed
        and shown wrongly, so none is: a failing example is shown by its drawn sizes and values instead."""
        previous, self.sub.trace = self.sub.trace, None
        try:
            return self.sub.send(message, function, inputs)
        except SubmissionRaised as raised:
            raise SubmissionRaised(undefined_name_hint(str(raised))) from None
        finally:
            self.sub.trace = previous


def validate_map_item(function: str, value: Any, sizes: dict[str, int], allow_unit_axes: bool) -> tuple:
    """One value of a "map" answer: the forward's tuple whose cache the worker dropped (None in its place)."""
    specs = FORWARD_RETURNS[function]
    items = expect_tuple(value, names(specs), function)
    return tuple(checked_item(function, spec, item, sizes, allow_unit_axes) for spec, item in zip(specs, items))


def checked_item(function: str, spec: str, item: Any, sizes: dict[str, int], allow_unit_axes: bool) -> Any:
    """One returned item checked against its spec (a cache, in a map, is None: nothing to check)."""
    if spec.startswith("cache"):
        return None
    shape, dims = shape_of(spec, sizes)
    return expect_array(item, shape, f"{spec.split(':')[0]} returned by {function}", dims, allow_unit_axes)


def validate_lstm_cache(cache: Any, sizes: dict[str, int], allow_unit_axes: bool = False) -> dict[str, Any]:
    """The cache lstm_cell_forward returned, as the course's tuple ``LSTM_CACHE``: {name: value}, every array checked
    (float64, finite, its shape), the parameters a dict. Raises ContractViolation, naming the position, otherwise."""
    layout = f"({', '.join(names(LSTM_CACHE))})"
    if type(cache) not in (tuple, list) or len(cache) != len(LSTM_CACHE):
        length = f" of length {len(cache)}" if type(cache) in (tuple, list) else ""
        raise ContractViolation(f"the cache returned by lstm_cell_forward must be the course's tuple {layout}, but is "
                                f"{kind_of(cache)}{length}: the course's tests and its lstm_cell_backward read the "
                                "cache by position")
    checked = {}
    for k, (spec, item) in enumerate(zip(LSTM_CACHE, cache)):
        name = spec.split(":")[0]
        where = f"cache[{k}] ({name}) returned by lstm_cell_forward"
        if name == "parameters":
            checked[name] = expect_dict(item, None, where)
        else:
            shape, dims = shape_of(spec, sizes)
            checked[name] = expect_array(item, shape, where, dims, allow_unit_axes)
    return checked
