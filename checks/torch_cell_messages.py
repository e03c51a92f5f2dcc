"""What a student reads about their nn.Module cell in the torch-cells checks (checks/torch_cells.py).

Every name is the one the student's code uses: the cell's tensors as torch.nn's call takes them (input, hx, or
hx[0] and hx[1] for the LSTM's h and c), gradients as autograd leaves them (input.grad, weight_ih.grad), sizes
as torch.nn's constructor names them (input_size, hidden_size). A cause is named only on evidence:
``likely_cause`` names a mistake only if the student's outputs equal torch.nn's on the weights that mistake
rearranges (with random weights no other cell meets those); ``parameter_problems`` and ``backward_refused`` read
what the worker reported (the parameters built, autograd's own error).
"""

from __future__ import annotations

import numpy as np

from checks.torch_cell_problems import GATE_COUNT, CellProblem, cs231n_gate_order
from checks.torch_nn_oracle import torch_nn_cell
from checks.verdicts import mismatch

#: How each cell's weights are made of hidden_size rows, for the message of a cell with other parameters.
BLOCKS = {"RNNCell": "one block", "LSTMCell": "four gate blocks, i, f, g, o,"}
#: Why no gradient reaches a tensor: what makes a copy autograd cannot see through.
CUT_GRAPH = ("a .detach(), .data, .numpy() or torch.tensor(...) on the way makes a copy that autograd cannot see "
             "through")


def tensor_label(p: CellProblem, name: str) -> str:
    """How a tensor is called in a message: input, hx (hx[0] and hx[1] for the LSTM's h and c), weight_ih."""
    if name in ("h", "c") and p.c is not None:
        return f"hx[{'hc'.index(name)}]"
    return "hx" if name == "h" else name


def grad_label(p: CellProblem, name: str) -> str:
    """How a gradient is called in a message: input.grad, hx.grad (hx[0].grad, hx[1].grad), weight_ih.grad."""
    return f"{tensor_label(p, name)}.grad"


def sizes_in_words(p: CellProblem) -> str:
    """The problem's sizes as a student reads them: "N=2, input_size=3, hidden_size=2" (", bias=False")."""
    N, D, H = p.sizes
    return f"N={N}, input_size={D}, hidden_size={H}" + ("" if p.has_bias else ", bias=False")


def describe_shapes(shapes: dict[str, tuple]) -> str:
    """Shapes by name as a student reads them: "weight_ih (2, 3), bias_ih (2,)"."""
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in shapes.items())


def parameter_problems(built: dict[str, tuple[tuple[int, ...], str]], expected: dict[str, tuple]) -> list[str]:
    """What differs between the parameters built ({name: (shape, dtype)}) and those expected ({name: shape})."""
    problems = [f"{name} is missing" for name in expected if name not in built]
    problems += [f"{name} is not a parameter of torch.nn's cell" for name in built if name not in expected]
    for name, shape in expected.items():
        if name in built and built[name][0] != shape:
            hint = (": the transpose of torch.nn's, which stores the weights (rows = gates, columns = inputs) and "
                    "multiplies by their transpose" if built[name][0] == shape[::-1] else "")
            problems.append(f"{name} has shape {built[name][0]}, expected {shape}{hint}")
    if any("." in name for name in built):
        problems.append("parameters named <layer>.weight belong to layers inside your cell (nn.Linear); "
                        "torch.nn's cells hold their weights themselves: self.weight_ih = "
                        "nn.Parameter(torch.empty(…)), and so on")
    if "bias_hh" in expected and "bias_hh" not in built:
        problems.append("torch.nn's cells add two biases, bias_ih and bias_hh (a = input·W_ihᵀ + b_ih + "
                        "h·W_hhᵀ + b_hh): a single bias cannot take torch.nn's weights (or load its state_dict)")
    return problems


def likely_cause(p: CellProblem, actual: dict[str, np.ndarray]) -> str:
    """A sentence naming the mistake, if the outputs equal torch.nn's on rearranged weights (its gate blocks
    reordered, its weights transposed: with random weights no other cell meets those), or ""."""
    equal = lambda q: all(mismatch(actual[n], e) is None for n, e in torch_nn_cell(q).outputs.items())  # noqa: E731
    if p.cell == "LSTMCell" and equal(cs231n_gate_order(p)):
        return ("Your cell reads the gate blocks in CS231n's order i, f, o, g; torch.nn's order is i, f, g, o: "
                "rows 2H:3H of weight_ih, weight_hh and the biases are the candidate g (tanh), rows 3H:4H the "
                "output gate o (σ).")
    transposed = with_weights_transposed(p)
    if transposed is not None and equal(transposed):
        return ("Your cell uses the weights untransposed (input @ weight_ih): torch.nn stores weight_ih as "
                "(k·hidden_size, input_size) and computes input @ weight_ih.T (likewise weight_hh); yours only "
                "runs when input_size = hidden_size.")
    return ""


def with_weights_transposed(p: CellProblem) -> CellProblem | None:
    """For a square cell (D = H): p with each (kH, H) block of weight_ih and weight_hh transposed, which a cell
    computing input·W_ih instead of input·W_ihᵀ meets with p's weights; None if D ≠ H (that cell then crashes)."""
    _, D, H = p.sizes
    if D != H:
        return None
    k = GATE_COUNT[p.cell]
    blocks = lambda W: np.concatenate([W[j * H:(j + 1) * H].T for j in range(k)])  # noqa: E731
    return p._replace(weight_ih=blocks(p.weight_ih), weight_hh=blocks(p.weight_hh))


def backward_refused(p: CellProblem, error: str) -> str:
    """Autograd's refusal, in plain words first."""
    if "modified by an inplace operation" in error:
        cause = ("an in-place write (h[:, …] = …, +=, .add_()) changed a tensor autograd had saved for the "
                 "backward pass; write into a new tensor instead")
    elif "does not require grad" in error or "does not have a grad_fn" in error:
        cause = f"your outputs are not connected to the input, hx or the weights: {CUT_GRAPH}"
    else:
        cause = "autograd could not differentiate your forward"
    return f"Backpropagating through your {p.cell} failed: {cause}.\n  autograd said: {error}"
