"""The worker's side of PyTorch submissions: numpy arrays in, tensors to the student's code, plain data out.

Imported by the worker before its lock-down, and only for an assignment that preloads torch
(``checks.engine.isolation.worker.preload``), which then sends every "torch_*" request here. The grader
never receives a tensor: each output becomes a detached numpy copy with its torch dtype's name,
``requires_grad`` and whether it has a ``grad_fn`` (``describe``). Requests and their values
(answers are those of a "call": ``{"value"}`` | ``{"raised"}`` | ``{"not_implemented"}``):

    {"op": "torch_call", "fn", "args", "grad_of": [positions], "upstream": [arrays] | None}
        -> {"outputs": [output, ...], "grads": [array | None, ...]}   (grads only with upstream)
         | {"outputs": [...], "backward_error": str}
    {"op": "torch_map", "fn", "args_list"}        -> [[output, ...], ...]: one list per argument list, no grad
    {"op": "torch_module", "fn": cls, "init", "params", "input", "hx", "upstream", "double"}
        -> {"parameters": {name: {"shape", "dtype"}}, "outputs": [...], "grads": {"input", "hx", name...}}
         | {"parameters", "parameter_problem": str} | {..., "backward_error": str}
    {"op": "torch_module_map", "fn": cls, "init", "double", "args_list": [{"params", "input", "hx"}, ...]}
        -> [[output, ...] | {"parameter_problem": str}, ...]

where an output is ``{"array", "dtype", "requires_grad", "has_grad_fn"}`` or ``{"not_a_tensor": type name}``.
With ``upstream`` (one array per output), L = Σ_k ⟨out_k, upstream_k⟩ and the gradients are
``torch.autograd.grad(L, [inputs at grad_of], allow_unused=True)``: exactly what ``L.backward()``
leaves in ``.grad``, without touching the student's tensors. If autograd refuses (an in-place write it
rejects, an output cut from the graph), its own message is sent as ``backward_error``.

How the student's code failed is told in the worker's words (``exception_text``, ``submission_location``
of ``checks.engine.isolation.worker``), which ``prepare`` receives: importing the worker from here
would make an import cycle, and, the worker running as ``__main__``, a second copy of it.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np
import torch  # imported here, before the lock-down, on purpose

from checks.engine.isolation.contract_functions import TORCH_MODULES  # the nn.Module classes a request may build

_explain: dict[str, Callable] = {}  # "exception_text", "submission_location": the worker's own


class BackwardRefused(Exception):
    """Autograd could not compute the gradients asked for; the message is autograd's (or why not)."""


def prepare(exception_text: Callable[[BaseException], str] | None = None,
            submission_location: Callable[[BaseException, Path], str] | None = None) -> None:
    """Pin torch's thread pools to one thread each, before the lock-down caps the worker's threads (a
    grade's worker may have one core); keep the worker's way of telling a student's error."""
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or the pool already started: it then has what it has
        pass
    if exception_text is not None and submission_location is not None:
        _explain.update(exception_text=exception_text, submission_location=submission_location)


def outcome(module: ModuleType, request: dict, origin: Path) -> dict:
    """How a "torch_*" request ended: its value, what the student's code raised, or that it is not implemented."""
    name, op = request.get("fn"), request.get("op")
    target = _target(module, op, name)
    if target is None:
        return {"not_implemented": str(name)}
    try:
        return {"value": OPS[op](target, request)}
    except NotImplementedError:
        return {"not_implemented": str(name)}
    except MemoryError:
        return {"raised": f"memory limit exceeded in {name}"}
    except RuntimeError as exc:
        if "can't allocate memory" in str(exc):  # torch's allocator says so with a RuntimeError, not a MemoryError
            return {"raised": f"memory limit exceeded in {name}"}
        return {"raised": _raised_text(name, exc, origin)}
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        return {"raised": _raised_text(name, exc, origin)}


def _target(module: ModuleType, op: Any, name: Any) -> Any:
    """The student's function (or nn.Module class) the request names, or None if there is none."""
    if op not in OPS or type(name) is not str:
        return None
    if op.startswith("torch_module") and name not in TORCH_MODULES:
        return None
    found = getattr(module, name, None)
    if op.startswith("torch_module"):
        return found if isinstance(found, type) else None
    return found if callable(found) else None


def _raised_text(name: str, exc: BaseException, origin: Path) -> str:
    if not _explain:
        return f"{name} raised {type(exc).__name__}: {str(exc)[:500]}"
    return f"{name} raised {_explain['exception_text'](exc)} ({_explain['submission_location'](exc, origin)})"


# -- tensors in, plain data out --------------------------------------------------------------------


def as_tensor(value: Any, requires_grad: bool = False) -> Any:
    """An ndarray as a fresh tensor of the same dtype (float64 -> torch.float64, int64 -> torch.long);
    lists and tuples of them element by element; anything else (a number) as it is."""
    if type(value) is np.ndarray:
        tensor = torch.from_numpy(np.array(value, copy=True))
        return tensor.requires_grad_(True) if requires_grad and tensor.is_floating_point() else tensor
    if type(value) in (list, tuple):
        return type(value)(as_tensor(item, requires_grad) for item in value)
    return value


def describe(output: Any) -> dict:
    """One output for the grader: a detached numpy copy, its torch dtype's name, requires_grad, grad_fn."""
    if not isinstance(output, torch.Tensor):
        return {"not_a_tensor": type(output).__name__}
    tensor = output.detach().cpu().resolve_conj()
    dtype = str(output.dtype).removeprefix("torch.")
    try:
        array = np.array(tensor.numpy(), copy=True)
    except (TypeError, RuntimeError):  # bfloat16 and the like have no numpy dtype: the values travel as float64
        array = tensor.to(torch.float64).numpy().copy()
    return {"array": array, "dtype": dtype, "requires_grad": bool(output.requires_grad),
            "has_grad_fn": output.grad_fn is not None}


def outputs_of(result: Any) -> list:
    """A function's result as its list of outputs: a tuple or list is several, anything else one."""
    return list(result) if type(result) in (tuple, list) else [result]


def gradients(outputs: list, upstream: list, inputs: list) -> list:
    """d/d inputs of L = Σ_k ⟨outputs_k, upstream_k⟩, as numpy arrays (None where no gradient reached).

    Raises BackwardRefused with autograd's message if autograd cannot compute them."""
    if len(upstream) != len(outputs) or not all(isinstance(out, torch.Tensor) for out in outputs):
        raise BackwardRefused(f"expected {len(upstream)} tensor output(s) to take gradients of, got "
                              f"{', '.join(type(out).__name__ for out in outputs)}")
    try:
        loss = sum((out * torch.from_numpy(np.array(up, copy=True))).sum() for out, up in zip(outputs, upstream))
        found = torch.autograd.grad(loss, inputs, allow_unused=True)
    except RuntimeError as exc:
        raise BackwardRefused(str(exc)[:1000]) from None
    return [None if grad is None else grad.detach().cpu().numpy().copy() for grad in found]


# -- functions ----------------------------------------------------------------------------------------


def torch_call(function: Callable, request: dict) -> dict:
    """``function(*args)`` with the arguments at ``grad_of`` requiring grad; its outputs, and with
    ``upstream`` the gradients of ⟨outputs, upstream⟩ with respect to those arguments."""
    grad_of = set(request.get("grad_of") or ())
    args = [as_tensor(arg, k in grad_of) for k, arg in enumerate(request["args"])]
    outputs = outputs_of(function(*args))
    value: dict[str, Any] = {"outputs": [describe(out) for out in outputs]}
    if request.get("upstream") is not None:
        inputs = [args[k] for k in sorted(grad_of)]
        try:
            value["grads"] = gradients(outputs, request["upstream"], inputs)
        except BackwardRefused as refused:
            value["backward_error"] = str(refused)
    return value


def torch_map(function: Callable, request: dict) -> list:
    """Each argument list's outputs, without gradients (finite differences in one round trip)."""
    with torch.no_grad():
        return [[describe(out) for out in outputs_of(function(*as_tensor(list(args))))]
                for args in request["args_list"]]


# -- nn.Module cells ------------------------------------------------------------------------------------


def built_module(cls: type, request: dict) -> tuple[Any, dict]:
    """``cls(**init)``, and its parameters as it built them ({name: {"shape", "dtype"}}); in float64 if ``double``."""
    init = request.get("init") or {}
    module = cls(**init)
    parameters = {name: {"shape": list(p.shape), "dtype": str(p.dtype).removeprefix("torch.")}
                  for name, p in module.named_parameters()}
    if request.get("double"):
        module = module.double()
    return module, parameters


def copy_parameters(module: Any, params: dict) -> str | None:
    """Copy the grader's arrays into the module's parameters; why not (a missing, extra or ill-shaped one), or None."""
    own = dict(module.named_parameters())
    missing, extra = sorted(set(params) - set(own)), sorted(set(own) - set(params))
    if missing or extra:
        return (f"expected the parameters {', '.join(sorted(params))}; "
                + "; ".join(part for part in (f"missing: {', '.join(missing)}" if missing else "",
                                              f"unexpected: {', '.join(extra)}" if extra else "") if part))
    for name, array in params.items():
        if tuple(own[name].shape) != tuple(np.shape(array)):
            return f"parameter {name} has shape {tuple(own[name].shape)}, expected {tuple(np.shape(array))}"
    with torch.no_grad():
        for name, array in params.items():
            own[name].copy_(torch.from_numpy(np.array(array, copy=True)))
    return None


def forward_module(module: Any, input_array: Any, hx_array: Any, requires_grad: bool) -> tuple[list, Any, Any]:
    """``module(input, hx)`` (``module(input)`` when hx is None): (outputs, the input tensor, the hx tensors)."""
    x = as_tensor(input_array, requires_grad)
    hx = as_tensor(hx_array, requires_grad)
    result = module(x) if hx is None else module(x, tuple(hx) if type(hx) is list else hx)
    return outputs_of(result), x, hx


def torch_module(cls: type, request: dict) -> dict:
    """Build the cell, copy the grader's parameters in, run it once; with ``upstream``, the gradients of
    ⟨outputs, upstream⟩ with respect to the input, each tensor of hx and every parameter."""
    module, parameters = built_module(cls, request)
    value: dict[str, Any] = {"parameters": parameters}
    problem = copy_parameters(module, request.get("params") or {})
    if problem is not None:
        value["parameter_problem"] = problem
        return value
    outputs, x, hx = forward_module(module, request["input"], request.get("hx"), True)
    value["outputs"] = [describe(out) for out in outputs]
    if request.get("upstream") is not None:
        hx_list = [] if hx is None else (list(hx) if type(hx) in (list, tuple) else [hx])
        names = list(dict(module.named_parameters()))
        inputs = [x, *hx_list, *dict(module.named_parameters()).values()]
        try:
            found = gradients(outputs, request["upstream"], inputs)
            value["grads"] = {"input": found[0], "hx": found[1:1 + len(hx_list)],
                              **dict(zip(names, found[1 + len(hx_list):]))}
        except BackwardRefused as refused:
            value["backward_error"] = str(refused)
    return value


def torch_module_map(cls: type, request: dict) -> list:
    """Many forwards of one cell, each with its own parameters, input and hx, without gradients."""
    module, _ = built_module(cls, request)
    results: list = []
    for call in request["args_list"]:
        problem = copy_parameters(module, call.get("params") or {})
        if problem is not None:
            results.append({"parameter_problem": problem})
            continue
        with torch.no_grad():
            outputs, _, _ = forward_module(module, call["input"], call.get("hx"), False)
        results.append([describe(out) for out in outputs])
    return results


OPS: dict[str, Callable[[Any, dict], Any]] = {
    "torch_call": torch_call, "torch_map": torch_map,
    "torch_module": torch_module, "torch_module_map": torch_module_map,
}
