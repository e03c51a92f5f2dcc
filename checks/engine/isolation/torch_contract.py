"""The grader's view of a PyTorch submission: the worker's torch replies, validated into typed results.

``TorchView(sub)`` sends the "torch_*" requests of ``checks.engine.isolation.torch_calls`` through
``Submission.send`` (so a hang, a crash or a stub is charged as for any contract call) and checks every
field of the reply before a check reads it: a reply is the submission's data, so a forged field (an int
where an array is due, a grad of the wrong shape, a dtype name nobody knows) raises ``ContractViolation``,
a failure of the check, never a grader error. The grader never receives a tensor: each output arrives as
a ``TensorOut`` (a numpy copy, torch's dtype name, ``requires_grad``, whether it has a ``grad_fn``), or a
``NotATensor`` naming what the student returned instead.

    call(fn, args, grad_of=(), upstream=None) -> TorchResult(outputs, grads, backward_error)
    call_many(fn, args_list)                  -> [outputs, ...]             (no grad: finite differences)
    module(cls, init, params, input, hx=None, upstream=None, double=True) -> ModuleResult
    module_many(cls, init, calls, double=True) -> [outputs | parameter problem (str), ...]

A torch call is kept out of the submission's trace (``Submission.recording``): the trace is replayed on
the NumPy reference and its misconception models by function name, and CS231n's torch functions share
the NumPy contract's names but not its returns. A failing torch check shows its example's arguments and
message; it is never diagnosed by a model of the NumPy function of the same name, nor given a script
that would replay it as one.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

from checks.engine.isolation.contract import Submission
from checks.engine.isolation.validation import ContractViolation

#: torch's dtypes by the name the worker sends (torch's, without "torch."); bfloat16 travels as float64 values.
TORCH_DTYPES: dict[str, str] = {name: name for name in (
    "float64", "float32", "float16", "complex128", "complex64", "bool",
    "int8", "int16", "int32", "int64", "uint8")} | {"bfloat16": "float64"}
MAX_OUTPUTS = 64  # past any graded function's outputs, and past a list of T steps' tensors returned by mistake
OUTPUT_KEYS = frozenset({"array", "dtype", "requires_grad", "has_grad_fn"})
MODULE_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

#: The arguments of CS231n 2025's functions (``cs231n/rnn_layers_pytorch.py``), named for messages.
TORCH_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "rnn_step_forward": ("x", "prev_h", "Wx", "Wh", "b"),
    "rnn_forward": ("x", "h0", "Wx", "Wh", "b"),
    "word_embedding_forward": ("x", "W"),
    "lstm_step_forward": ("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
    "lstm_forward": ("x", "h0", "Wx", "Wh", "b"),
}


@dataclass(frozen=True, eq=False)  # holds an array: compared by identity
class TensorOut:
    """One tensor the student's code returned: a detached copy of its values, torch's dtype name
    ("float64"), and whether it requires grad and has a grad_fn (is part of autograd's graph)."""

    array: np.ndarray
    dtype: str
    requires_grad: bool
    has_grad_fn: bool


@dataclass(frozen=True)
class NotATensor:
    """An output that was not a tensor: the name of its type ("tuple", "ndarray", "NoneType")."""

    type_name: str


Output = TensorOut | NotATensor


@dataclass(frozen=True, eq=False)
class TorchResult:
    """A function's outputs in order; with an upstream, the gradients of Σ_k ⟨out_k, upstream_k⟩ with respect to
    the arguments at ``grad_of`` (None where none reached), or autograd's message if it refused."""

    outputs: tuple[Output, ...]
    grads: tuple[np.ndarray | None, ...] | None = None
    backward_error: str | None = None


@dataclass(frozen=True, eq=False)
class ModuleResult:
    """A cell's run: its parameters as the student's constructor built them ({name: (shape, dtype)}), why the
    grader's could not be copied in (then nothing ran), its outputs, and with an upstream the gradients of
    input, hx (a list) and every parameter by name, or autograd's message."""

    parameters: dict[str, tuple[tuple[int, ...], str]]
    parameter_problem: str | None = None
    outputs: tuple[Output, ...] = ()
    grads: dict[str, Any] | None = None
    backward_error: str | None = None


class TorchView:
    """A PyTorch submission's functions and cells, as typed, validated results (see the module's docstring)."""

    def __init__(self, sub: Submission) -> None:
        if "torch" not in getattr(sub, "preloaded", ()):
            # The grader's mistake, never the student's: a worker without torch would call the functions with
            # numpy arrays. Raised by the check's own code, so a grader error (exit 2).
            raise RuntimeError("a PyTorch check ran in a worker that did not preload torch: the assignment's table "
                               'must say [course] requires = ["torch"]')
        self.sub = sub

    def call(self, fn: str, args: Sequence[Any], grad_of: Sequence[int] = (),
             upstream: Sequence[np.ndarray] | None = None) -> TorchResult:
        """``fn(*args)``, arrays as tensors of their dtype, those at ``grad_of`` requiring grad.

        - args: ndarrays (float64 for values, int64 for indices) or numbers
        - upstream: one array per output, or None for no backward
        """
        message = {"op": "torch_call", "fn": fn, "args": list(args), "grad_of": sorted(set(grad_of)),
                   "upstream": None if upstream is None else list(upstream)}
        value = self._send(message, fn, arguments_text(fn, args))
        expect(type(value) is dict, f"the worker's reply to {fn} is not a dict")
        outputs = parsed_outputs(value.get("outputs"), fn)
        if upstream is None:
            return TorchResult(outputs)
        if "backward_error" in value:
            return TorchResult(outputs, backward_error=text(value["backward_error"], "backward_error"))
        shapes = [np.shape(args[k]) for k in sorted(set(grad_of))]
        return TorchResult(outputs, grads=parsed_grads(value.get("grads"), shapes, fn))

    def call_many(self, fn: str, args_list: Sequence[Sequence[Any]]) -> list[tuple[Output, ...]]:
        """The outputs of ``fn`` on every argument list, in one round trip, without gradients."""
        message = {"op": "torch_map", "fn": fn, "args_list": [list(args) for args in args_list]}
        value = self._send(message, fn, arguments_text(fn, args_list[0]) if args_list else "")
        expect(type(value) is list and len(value) == len(args_list),
               f"the worker's reply to {fn} must list {len(args_list)} calls' outputs")
        return [parsed_outputs(outputs, fn) for outputs in value]

    def module(self, cls: str, init: dict, params: dict[str, np.ndarray], input: np.ndarray,
               hx: np.ndarray | Sequence[np.ndarray] | None = None, upstream: Sequence[np.ndarray] | None = None,
               double: bool = True) -> ModuleResult:
        """``cls(**init)``, in float64 if ``double``, its parameters set to ``params``, called as ``module(input, hx)``
        (``module(input)`` for hx None; hx a pair (h, c) for the LSTM cell)."""
        hx_data = list(hx) if isinstance(hx, (list, tuple)) else hx
        message = {"op": "torch_module", "fn": cls, "cls": cls, "init": dict(init), "params": dict(params),
                   "input": input, "hx": hx_data, "upstream": None if upstream is None else list(upstream),
                   "double": double}
        value = self._send(message, cls, f"input of shape {np.shape(input)}")
        expect(type(value) is dict, f"the worker's reply to {cls} is not a dict")
        parameters = parsed_parameters(value.get("parameters"), cls)
        if "parameter_problem" in value:
            return ModuleResult(parameters, parameter_problem=text(value["parameter_problem"], "parameter_problem"))
        outputs = parsed_outputs(value.get("outputs"), cls)
        if upstream is None:
            return ModuleResult(parameters, outputs=outputs)
        if "backward_error" in value:
            return ModuleResult(parameters, outputs=outputs,
                                backward_error=text(value["backward_error"], "backward_error"))
        hx_shapes = [] if hx_data is None else [np.shape(h) for h in (hx_data if type(hx_data) is list else [hx_data])]
        shapes = {"input": np.shape(input), **{name: np.shape(array) for name, array in params.items()}}
        return ModuleResult(parameters, outputs=outputs, grads=parsed_module_grads(value.get("grads"), shapes,
                                                                                   hx_shapes, cls))

    def module_many(self, cls: str, init: dict, calls: Sequence[dict], double: bool = True) -> list:
        """Many forwards of one cell, each ``{"params", "input", "hx"}``: its outputs, or why its parameters
        could not be copied in (a str)."""
        message = {"op": "torch_module_map", "fn": cls, "cls": cls, "init": dict(init), "double": double,
                   "args_list": [dict(call) for call in calls]}
        value = self._send(message, cls, f"input of shape {np.shape(calls[0]['input'])}" if calls else "")
        expect(type(value) is list and len(value) == len(calls),
               f"the worker's reply to {cls} must list {len(calls)} calls' outputs")
        return [text(item["parameter_problem"], "parameter_problem")
                if type(item) is dict and set(item) == {"parameter_problem"} else parsed_outputs(item, cls)
                for item in value]

    def _send(self, message: dict, function: str, inputs: str) -> Any:
        with untraced(self.sub):
            return self.sub.send(message, function, inputs).value


@contextmanager
def untraced(sub: Submission) -> Iterator[None]:
    """In the block, calls are not noted in the submission's trace (see the module's docstring: a torch call
    replayed as the NumPy function of the same name would be judged, diagnosed and scripted wrongly)."""
    previous, sub.trace = sub.trace, None
    try:
        yield
    finally:
        sub.trace = previous


def arguments_text(fn: str, args: Sequence[Any]) -> str:
    """The arguments' shapes, in words for a report: "x (2, 3), prev_h (2, 4), ..."."""
    names = TORCH_ARGUMENTS.get(fn, ())
    return ", ".join(f"{names[k] if k < len(names) else f'argument {k}'} {tuple(np.shape(arg))}"
                     for k, arg in enumerate(args) if isinstance(arg, np.ndarray))


# -- validation of the worker's reply ----------------------------------------------------------------


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


def text(value: Any, field: str) -> str:
    expect(type(value) is str, f"the worker's reply has a {field} that is not text")
    return value[:2000]


def parsed_outputs(outputs: Any, fn: str) -> tuple[Output, ...]:
    """The reply's list of described outputs, each a TensorOut or NotATensor, every field checked."""
    expect(type(outputs) is list and 1 <= len(outputs) <= MAX_OUTPUTS,
           f"{fn} returned {len(outputs) if type(outputs) is list else 'no'} values (a tuple or list); the grader "
           f"reads 1 to {MAX_OUTPUTS}")
    return tuple(parsed_output(output, fn) for output in outputs)


def parsed_output(output: Any, fn: str) -> Output:
    expect(type(output) is dict, f"the worker described an output of {fn} with something that is not a dict")
    if set(output) == {"not_a_tensor"}:
        return NotATensor(text(output["not_a_tensor"], "type name"))
    expect(set(output) == OUTPUT_KEYS, f"the worker described an output of {fn} with the fields {sorted(output)}")
    array, dtype = output["array"], output["dtype"]
    expect(type(dtype) is str and dtype in TORCH_DTYPES, f"{fn} returned a tensor of an unknown dtype")
    expect(type(array) is np.ndarray and array.dtype.name == TORCH_DTYPES[dtype],
           f"the worker sent the values of a {dtype} tensor of {fn} as something else")
    expect(type(output["requires_grad"]) is bool and type(output["has_grad_fn"]) is bool,
           f"the worker's requires_grad or has_grad_fn for {fn} is not a bool")
    return TensorOut(array, dtype, output["requires_grad"], output["has_grad_fn"])


def parsed_grad(grad: Any, shape: tuple[int, ...], what: str) -> np.ndarray | None:
    """One gradient: None (no gradient reached it) or a float array of its argument's shape."""
    if grad is None:
        return None
    expect(type(grad) is np.ndarray and grad.dtype.kind == "f" and grad.shape == tuple(shape),
           f"autograd's gradient of {what} must be a float array of shape {tuple(shape)}")
    return grad


def parsed_grads(grads: Any, shapes: list[tuple[int, ...]], fn: str) -> tuple[np.ndarray | None, ...]:
    expect(type(grads) is list and len(grads) == len(shapes), f"the worker's gradients of {fn} must be "
                                                              f"{len(shapes)} arrays")
    return tuple(parsed_grad(grad, shape, f"{fn}'s argument {k}") for k, (grad, shape) in enumerate(zip(grads, shapes)))


def parsed_parameters(parameters: Any, cls: str) -> dict[str, tuple[tuple[int, ...], str]]:
    """{name: (shape, dtype)} of the cell's own parameters, as its constructor built them."""
    expect(type(parameters) is dict and len(parameters) <= 64, f"the worker's list of {cls}'s parameters is not a dict")
    found = {}
    for name, description in parameters.items():
        expect(type(description) is dict and set(description) == {"shape", "dtype"}, f"{cls}'s parameter {name!r} "
                                                                                    "is described wrongly")
        shape, dtype = description["shape"], description["dtype"]
        expect(type(shape) is list and all(type(n) is int and n >= 0 for n in shape) and dtype in TORCH_DTYPES,
               f"{cls}'s parameter {name[:40]!r} has a malformed shape or dtype")
        found[name] = (tuple(shape), dtype)
    return found


def parsed_module_grads(grads: Any, shapes: dict[str, tuple[int, ...]], hx_shapes: list[tuple[int, ...]],
                        cls: str) -> dict[str, Any]:
    """{"input": array | None, "hx": [array | None, ...], parameter name: array | None}, every shape checked."""
    expect(type(grads) is dict and set(grads) == {"hx", *shapes}, f"the worker's gradients of {cls} must name the "
                                                                  f"input, hx and the parameters {sorted(shapes)}")
    hx = grads["hx"]
    expect(type(hx) is list and len(hx) == len(hx_shapes), f"the worker's gradients of {cls}'s hx must be "
                                                           f"{len(hx_shapes)} arrays")
    return {"hx": [parsed_grad(grad, shape, f"{cls}'s hx") for grad, shape in zip(hx, hx_shapes)],
            **{name: parsed_grad(grads[name], shape, f"{cls}'s {name}") for name, shape in shapes.items()}}
