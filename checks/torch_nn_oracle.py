"""The oracle of the torch-cells checks (checks/torch_cells.py): torch.nn's own cells, given the grader's weights.

``torch_nn_cell`` builds torch.nn.RNNCell or torch.nn.LSTMCell as the problem says, in float64, copies the
problem's weights into it and calls it, here in the grading process: never in the worker, where a submission
could patch torch.nn. It is an oracle independent of this project's own NumPy reference, which it agrees with to
1e-12, outputs and gradients (tests/test_checks_torch_cells.py). For input (N, D), h and c (N, H), and weights
stored (kH, ·) and applied transposed (k = 1, or 4 for the LSTM, gate blocks i, f, g, o):

    RNNCell:   h' = tanh(input·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)
    LSTMCell:  a = input·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh = [a_i a_f a_g a_o]
               c' = σ(a_f) ⊙ c + σ(a_i) ⊙ tanh(a_g)      h' = σ(a_o) ⊙ tanh(c')

and the gradients of L = Σ_k ⟨output_k, upstream_k⟩ = ⟨h', dh⟩ (+ ⟨c', dc⟩) by autograd.

torch is imported when the oracle is first called, not with this module: loading the checks costs no torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from checks.torch_cell_problems import CellProblem

#: What torch.nn's cells return, by name: RNNCell h', LSTMCell the tuple (h', c').
OUTPUT_NAMES = {"RNNCell": ("h'",), "LSTMCell": ("h'", "c'")}


class Expected(NamedTuple):
    """torch.nn's outputs by name ("h'", "c'") and its gradients by name ("input", "h", "c", "weight_ih", …)."""

    outputs: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]


def torch_nn_cell(p: CellProblem, hx: bool = True, unbatched: bool = False) -> Expected:
    """torch.nn.RNNCell or torch.nn.LSTMCell built with ``p.init``, in float64, ``p.params`` copied in, called on
    p.input and p.hx (or with no hx; or on the first row of each, unbatched: input (D,), h and c (H,)), and
    the gradients of L = Σ_k ⟨output_k, upstream_k⟩ with respect to the input, h, c and every parameter."""
    import torch

    row = (lambda a: a[0]) if unbatched else (lambda a: a)
    module = getattr(torch.nn, p.cell)(**p.init).double()
    with torch.no_grad():
        for name, value in p.params.items():
            getattr(module, name).copy_(torch.from_numpy(value))
    x = torch.tensor(row(p.input), requires_grad=True)
    state = {name: torch.tensor(row(a), requires_grad=True) for name, a in p.state.items()}
    hx_tensors = state["h"] if p.c is None else (state["h"], state["c"])
    result = module(x, hx_tensors) if hx else module(x)
    outputs = result if isinstance(result, tuple) else (result,)
    L = sum((out * torch.from_numpy(row(up))).sum() for out, up in zip(outputs, p.upstream))
    targets = {"input": x, **(state if hx else {}), **dict(module.named_parameters())}
    grads = torch.autograd.grad(L, list(targets.values()))
    return Expected({name: out.detach().numpy() for name, out in zip(OUTPUT_NAMES[p.cell], outputs)},
                    {name: g.numpy() for name, g in zip(targets, grads)})
