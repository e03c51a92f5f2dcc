"""The student's nn.Module cell, called through the worker, for the torch-cells checks (checks/torch_cells.py).

How a cell is called. The worker, in the submission's process, builds ``p.cell`` from plain data as
``Cell(**p.init)``, converts it to float64 (``.double()``), copies the grader's weights into its parameters by name,
calls it as ``cell(input, hx)`` (or ``cell(input)``), and sends back detached numpy copies of its outputs with
their dtype, and, for L = ⟨h', dh⟩ (+ ⟨c', dc⟩), autograd's gradients of the input, of each tensor of hx and of
every parameter (``checks.engine.isolation.torch_calls``); ``TorchView`` validates the reply. Here:

- ``run_cell``: one call, torch's refusals to mix shapes or dtypes given a hint in plain words;
- ``run_as_built``: the same, on weights of the cell's own parameters if torch.nn's cannot be copied in
  (``own_parameters``), for the checks of what a cell does with any weights;
- ``run_unbatched``: one call on the problem's first row, input (D,) and hx (H,);
- ``outputs_of``: the reply's outputs by name, h' (and c'), once they are as many floating-point tensors as
  torch.nn returns;
- ``cell_grads``: the reply's gradients by the oracle's names (checks/torch_nn_oracle.py);
- ``evaluator``: many forwards in one round trip, for gradcheck's finite differences.

Everything that comes back is the submission's, hostile data: ``TorchView`` has validated its form, and
``outputs_of`` what it means (the outputs torch.nn would return) before anything is compared.
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

from checks.engine.isolation.contract import SubmissionRaised
from checks.engine.isolation.torch_contract import ModuleResult, NotATensor, TensorOut, TorchView
from checks.torch_cell_messages import sizes_in_words
from checks.torch_cell_problems import CellProblem
from checks.torch_nn_oracle import OUTPUT_NAMES

#: At most this many parameter entries are made for a cell whose parameters are not torch.nn's: the largest
#: legitimate cell drawn has 4·5·(5 + 5) + 2·4·5 = 240.
OWN_PARAMETER_LIMIT = 4096


def run_cell(sub, p: CellProblem, hx: bool = True, gradients: bool = True,
             params: dict[str, np.ndarray] | None = None) -> ModuleResult:
    """The student's ``p.cell`` built with ``p.init``, in float64, with ``p.params`` (or ``params``) copied in,
    called on p.input and p.hx (no hx if ``hx`` is False); with ``gradients``, autograd's gradients of
    L = Σ_k ⟨output_k, upstream_k⟩. One round trip; the reply validated by ``TorchView``."""
    try:
        return TorchView(sub).module(p.cell, p.init, p.params if params is None else params, p.input,
                                     p.hx if hx else None, p.upstream if gradients else None)
    except SubmissionRaised as error:
        raise SubmissionRaised(f"{error}{shape_hint(p, str(error))}{dtype_hint(str(error))}") from None


def run_unbatched(sub, p: CellProblem) -> ModuleResult:
    """The student's cell, as ``run_cell`` builds it, called on the first row of p.input (D,) and of h (and c)
    (H,), unbatched, without gradients. One round trip; what it raises is told as raised, with no hint."""
    return TorchView(sub).module(p.cell, p.init, p.params, p.input[0], p.h[0] if p.c is None else [p.h[0], p.c[0]])


def dtype_hint(raised: str) -> str:
    """A hint for torch's refusal to mix dtypes ("to have the same dtype", "expected scalar type"); else ""."""
    if "same dtype" not in raised and "expected scalar type" not in raised:
        return ""
    return ("\n  The input, hx and every parameter are float64 here: a tensor made without dtype= (torch.zeros(N, H) "
            "is float32) cannot meet them; make it with dtype=input.dtype, as torch.nn's cells do.")


def shape_hint(p: CellProblem, raised: str) -> str:
    """A hint for a product of mismatched shapes when input_size ≠ hidden_size, where an untransposed weight
    fails (torch's words: "shapes cannot be multiplied"); else ""."""
    _, D, H = p.sizes
    if D == H or "cannot be multiplied" not in raised:
        return ""
    return (f"\n  With input_size={D} ≠ hidden_size={H}: check that you multiply by the transposed weights, "
            "input @ weight_ih.T and h @ weight_hh.T: torch.nn stores weight_ih as (k·hidden_size, input_size).")


def run_as_built(sub, p: CellProblem, hx: bool = True, gradients: bool = True,
                 params: dict[str, np.ndarray] | None = None) -> tuple[ModuleResult, dict[str, np.ndarray]]:
    """``run_cell``, and the weights it ran with: torch.nn's (or ``params``), or, if the cell's parameters differ
    from those (a missing bias_hh), weights of its own parameters' names and shapes (``own_parameters``), in a
    second round trip. The checks of what a cell does with any weights (gradcheck, hx=None, dtype) judge it so:
    a cell that cannot take torch.nn's weights is charged for it by the checks that compare with torch.nn."""
    params = p.params if params is None else params
    run = run_cell(sub, p, hx, gradients, params)
    if run.parameter_problem is None:
        return run, params
    own = own_parameters(p, run.parameters)
    return run_cell(sub, p, hx, gradients, own), own


def own_parameters(p: CellProblem, built: dict[str, tuple[tuple[int, ...], str]]) -> dict[str, np.ndarray]:
    """Weights for the parameters the cell built ({name: (shape, dtype)}): torch.nn's array where name and shape
    agree, else uniform in ±1/sqrt(hidden_size) (torch.nn's initialisation), from a seed made of the problem's
    input, so the same problem gets the same weights. Fails if the cell holds implausibly many entries, or a
    parameter named as one of the call's other tensors (input, hx, h, c)."""
    taken = sorted(set(built) & {"input", "hx", "h", "c"})  # the names of the call's other tensors, here
    if taken:
        raise AssertionError(f"your {p.cell} has a parameter named {taken[0]!r}, which is also the name of one of "
                             "its inputs here; torch.nn's cells name theirs weight_ih, weight_hh, bias_ih, bias_hh.")
    if sum(int(np.prod(shape)) for shape, _ in built.values()) > OWN_PARAMETER_LIMIT:
        raise AssertionError(f"your {p.cell} holds more than {OWN_PARAMETER_LIMIT} parameter entries for "
                             f"{sizes_in_words(p)}; torch.nn's holds {sum(a.size for a in p.params.values())}.")
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(p.input.tobytes()).digest()[:8], "little"))
    bound = 1 / np.sqrt(p.sizes[2])
    return {name: p.params[name] if name in p.params and p.params[name].shape == shape
            else rng.uniform(-bound, bound, size=shape) for name, (shape, _) in built.items()}


def outputs_of(run: ModuleResult | str | tuple, p: CellProblem) -> dict[str, TensorOut]:
    """The run's outputs (or those of one forward of ``TorchView.module_many``: a tuple, or a str saying why the
    weights could not be copied in) by name, h' (and c'), after checking there are as many floating-point
    tensors as torch.nn returns; fails naming the weights that could not be copied, or what came instead."""
    if not isinstance(run, ModuleResult):
        run = ModuleResult({}, parameter_problem=run) if isinstance(run, str) else ModuleResult({}, outputs=run)
    if run.parameter_problem is not None:
        raise AssertionError(f"torch.nn's weights could not be copied into your {p.cell}: {run.parameter_problem}. "
                             f"This check compares your {p.cell} with torch.nn's given the same weights, so it "
                             "could not run: give your cell torch.nn's parameters (see its parameters check).")
    names = OUTPUT_NAMES[p.cell]
    wanted = "h' alone, one tensor" if len(names) == 1 else "the tuple (h', c') of two tensors"
    if len(run.outputs) != len(names) or not all(isinstance(out, TensorOut) for out in run.outputs):
        got = ", ".join(f"a {out.type_name}" if isinstance(out, NotATensor) else "a tensor" for out in run.outputs)
        raise AssertionError(f"your {p.cell} returned {len(run.outputs)} value(s) ({got}); torch.nn.{p.cell} "
                             f"returns {wanted}.")
    outputs = dict(zip(names, run.outputs))
    not_float = {name: out.dtype for name, out in outputs.items() if out.array.dtype.kind != "f"}
    if not_float:
        raise AssertionError(f"your {p.cell} returned {', '.join(f'{n} as {d}' for n, d in not_float.items())}; "
                             f"torch.nn.{p.cell} returns floating-point tensors of the input's dtype.")
    return outputs


def arrays(outputs: dict[str, TensorOut]) -> dict[str, np.ndarray]:
    """The arrays of ``outputs_of``'s tensors, by the same names: h' (N, H) (and c' (N, H))."""
    return {name: out.array for name, out in outputs.items()}


def cell_grads(run: ModuleResult, p: CellProblem) -> dict[str, np.ndarray | None]:
    """The run's gradients by the names of ``torch_nn_cell``: "input" (N, D), "h" (and "c") (N, H), then each
    parameter's, of its shape; None where no gradient reached a tensor."""
    return {"input": run.grads["input"], **dict(zip(p.state, run.grads["hx"])),
            **{name: grad for name, grad in run.grads.items() if name not in ("input", "hx")}}


def evaluator(sub, p: CellProblem, names: tuple[str, ...]) -> Callable[[list[dict]], list]:
    """Runs the student's cell (no gradients) on many argument dicts {"input", "h", ("c"), the parameters
    ``names``} in one round trip; each forward's outputs, one array (RNN) or a tuple (LSTM)."""
    def evaluate_many(calls: list[dict]) -> list:
        args_list = [{"params": {n: call[n] for n in names}, "input": call["input"],
                      "hx": call["h"] if p.c is None else [call["h"], call["c"]]} for call in calls]
        runs = [outputs_of(run, p) for run in TorchView(sub).module_many(p.cell, p.init, args_list)]
        return [tuple(out.array for out in run.values()) if p.c is not None else run["h'"].array for run in runs]
    return evaluate_many
