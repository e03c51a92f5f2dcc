"""Reproduction scripts for the nn.Module cells of ``--assignment torch-cells`` (checks/torch_cells.py).

As ``repro_torch``'s: the script checks the check's property itself, on the failing example's exact inputs
(``Counterexample.arguments``: p, a ``CellProblem``, and seed for gradcheck), needing only torch and numpy.
torch.nn is the oracle, as in the grader: the script builds torch.nn.RNNCell or torch.nn.LSTMCell in float64,
copies the example's weights in, and compares the student's cell, built as ``Cell(**init).double()`` with
the same weights copied in by name (as the worker does), with it:

- parameters: exactly torch.nn's names and shapes;
- outputs and autograd's gradients (input, hx, every parameter) equal torch.nn's, with the grader's
  tolerance (``checks.verdicts``); a CS231n-order LSTM and weights used untransposed are named;
- gradcheck: autograd's gradients against central differences of the cell's own forward, in float64, along
  the check's own random direction (embedded), with ``checks.gradcheck``'s tolerance;
- hx=None means zeros; float64 kept; bias=False; unbatched input.

The grader judges gradcheck, hx=None and float64 on a cell whose parameters are not torch.nn's with weights of
its own; the script gives every cell torch.nn's weights, and says so when they cannot be copied in.
"""

from __future__ import annotations

from typing import Any

from checks.engine.run.counterexample import Counterexample
from checks.engine.run.repro_torch_runtime import COMMON, header_text
from checks.engine.run.repro_values import Names, NotReproducible, literal
from checks.gradcheck import joint_direction
from checks.registry import Check
from checks.torch_cell_messages import CUT_GRAPH
from checks.torch_nn_oracle import OUTPUT_NAMES

#: Each check's name after its cell's prefix (rnn_cell_, lstm_cell_), and the property its script checks.
PROPERTIES = {
    "has_torch_nn_parameters": "parameters", "matches_torch_nn": "matches", "gradients_match_torch_nn": "gradients",
    "gradients_match_finite_differences": "gradcheck", "without_hx_starts_from_zeros": "zero_state",
    "keeps_float64": "float64", "without_bias_matches_torch_nn": "without_bias", "accepts_unbatched_input": "unbatched",
}
CELLS = {"rnn_cell_": "RNNCell", "lstm_cell_": "LSTMCell"}

HOW = {
    "parameters": "it builds your cell and compares its parameters with torch.nn's names and shapes.",
    "matches": "it compares your cell's outputs with torch.nn's cell given the same weights.",
    "gradients": "it compares autograd's gradients through your cell with those through torch.nn's cell.",
    "gradcheck": ("it compares autograd's gradients through your cell with central finite differences of your "
                  "own cell, in float64, along the check's own random direction."),
    "zero_state": "it compares your cell called as cell(input) with your cell given hx = zeros.",
    "float64": "it checks that your cell returns float64 tensors from float64 inputs and weights.",
    "without_bias": "it builds your cell with bias=False and compares it with torch.nn's, parameters and outputs.",
    "unbatched": "it compares your cell on an unbatched input (input_size,) with torch.nn's cell.",
}

CELL_CODE = '''

def label(name):
    """How a tensor is called: input, hx (hx[0] and hx[1] for the LSTM's h and c), weight_ih."""
    if name in ("h", "c") and len(STATE) == 2:
        return f"hx[{'hc'.index(name)}]"
    return "hx" if name == "h" else name


def parameter_problems(cell):
    """What differs between your cell's parameters and torch.nn's (PARAMS: names and shapes)."""
    own = {name: tuple(p.shape) for name, p in cell.named_parameters()}
    problems = [f"{name} is missing" for name in PARAMS if name not in own]
    problems += [f"{name} is not a parameter of torch.nn's cell" for name in own if name not in PARAMS]
    for name in (n for n in PARAMS if n in own and own[n] != PARAMS[n].shape):
        hint = ": the transpose of torch.nn's" if own[name] == PARAMS[name].shape[::-1] else ""
        problems.append(f"{name} has shape {own[name]}, expected {PARAMS[name].shape}{hint}")
    if any("." in name for name in own):
        problems.append("parameters named <layer>.weight belong to layers inside your cell (nn.Linear); torch.nn's "
                        "cells hold their weights themselves: self.weight_ih = nn.Parameter(torch.empty(...))")
    if "bias_hh" in PARAMS and "bias_hh" not in own:
        problems.append("torch.nn's cells add two biases, bias_ih and bias_hh")
    return problems


def build(cls, params):
    """A cell built as cls(**INIT), in float64, with the weights `params` copied in by name (as the grader does)."""
    cell = limited(cls, **INIT).double()
    problems = parameter_problems(cell)
    if problems:
        raise Failure(f"torch.nn's weights could not be copied into your {CELL}: " + "; ".join(problems))
    own = dict(cell.named_parameters())
    with torch.no_grad():
        for name, value in params.items():
            own[name].copy_(torch.from_numpy(value.copy()))
    return cell


def forward(cell, input_, state, grads=False):
    """cell(input, hx), or cell(input) if `state` is None: (the outputs by name, the tensors to differentiate)."""
    x = torch.from_numpy(input_.copy()).requires_grad_(grads)
    tensors = {name: torch.from_numpy(a.copy()).requires_grad_(grads) for name, a in (state or {}).items()}
    hx = tensors.get("h") if len(tensors) < 2 else (tensors["h"], tensors["c"])
    result = limited(cell, x) if state is None else limited(cell, x, hx)
    outputs = list(result) if type(result) in (tuple, list) else [result]
    if len(outputs) != len(OUTPUT_NAMES) or not all(isinstance(out, torch.Tensor) for out in outputs):
        got = ", ".join(type(out).__name__ for out in outputs)
        raise Failure(f"your {CELL} returned {len(outputs)} value(s) ({got}); torch.nn.{CELL} returns "
                      + ("h' alone, one tensor" if len(OUTPUT_NAMES) == 1 else "the tuple (h', c') of two tensors"))
    return dict(zip(OUTPUT_NAMES, outputs)), {"input": x, **tensors, **dict(cell.named_parameters())}


def arrays(outputs):
    return {name: out.detach().to(torch.float64).numpy().copy() for name, out in outputs.items()}


def refused(error):
    """Autograd's refusal, in plain words first."""
    if "modified by an inplace operation" in error:
        cause = ("an in-place write (h[:, ...] = ..., +=, .add_()) changed a tensor autograd had saved for the "
                 "backward pass; write into a new tensor instead")
    elif "does not require grad" in error or "does not have a grad_fn" in error:
        cause = f"your outputs are not connected to the input, hx or the weights: {CUT_GRAPH}"
    else:
        cause = "autograd could not differentiate your forward"
    return f"Backpropagating through your {CELL} failed: {cause}.\\n  autograd said: {error.splitlines()[0]}"


def gradients_of(outputs, targets):
    """Autograd's gradients of L = sum_k <output_k, upstream_k> for `targets` by name (None where none reached)."""
    try:
        loss = sum((out * torch.from_numpy(up.copy())).sum() for out, up in zip(outputs.values(), UPSTREAM))
        found = torch.autograd.grad(loss, list(targets.values()), allow_unused=True)
    except RuntimeError as error:
        raise Failure(refused(str(error))) from None
    return {name: None if g is None else g.detach().numpy().copy() for name, g in zip(targets, found)}


def torch_nn(params, input_=None, state=None):
    """torch.nn's cell given `params`, on INPUT and STATE (or those given): (outputs, gradients) by name."""
    outputs, targets = forward(build(getattr(torch.nn, CELL), params), INPUT if input_ is None else input_,
                               STATE if state is None else state, grads=True)
    return arrays(outputs), gradients_of(outputs, targets)


def compared(got, expected):
    """Lines naming each output (or gradient) of `got` that differs from `expected`."""
    return [f"{name}: {text}" for name in expected if (text := mismatch(got[name], expected[name]))]


def likely_cause(got):
    """A sentence naming the mistake if your outputs are torch.nn's on rearranged weights, else ""."""
    H, D = STATE["h"].shape[1], INPUT.shape[1]
    if CELL == "LSTMCell":
        order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
        if not compared(got, torch_nn({n: w[order] for n, w in PARAMS.items()})[0]):
            return "Your cell reads the gate blocks in CS231n's order i, f, o, g; torch.nn's order is i, f, g, o."
    if D == H:
        blocks = lambda W: np.concatenate([W[j * H:(j + 1) * H].T for j in range(W.shape[0] // H)])
        transposed = {n: blocks(w) if n.startswith("weight") else w for n, w in PARAMS.items()}
        if not compared(got, torch_nn(transposed)[0]):
            return ("Your cell uses the weights untransposed (input @ weight_ih): torch.nn computes "
                    "input @ weight_ih.T (likewise weight_hh).")
    return ""


def check_parameters(cls):
    problems = parameter_problems(limited(cls, **INIT))
    if problems:
        built = ", ".join(f"{key}={value!r}" for key, value in INIT.items())
        raise Failure(f"{CELL}({built}) should have exactly torch.nn's parameters:\\n  " + "\\n  ".join(problems))


def check_matches(cls):
    got = arrays(forward(build(cls, PARAMS), INPUT, STATE)[0])
    wrong = compared(got, torch_nn(PARAMS)[0])
    if wrong:
        cause = likely_cause(got)  # first, as the grader's message
        raise Failure("\\n".join(([cause] if cause else []) + wrong))


def check_without_bias(cls):
    check_parameters(cls)
    check_matches(cls)


def check_gradients(cls):
    outputs, targets = forward(build(cls, PARAMS), INPUT, STATE, grads=True)
    grads, (_, expected) = gradients_of(outputs, targets), torch_nn(PARAMS)
    wrong = [f"{label(n)}.grad: no gradient reached {label(n)}: your forward cuts it from the graph ({CUT_GRAPH})"
             if grads[n] is None else f"{label(n)}.grad: {mismatch(grads[n], expected[n])}"
             for n in expected if grads[n] is None or mismatch(grads[n], expected[n])]
    if wrong:
        raise Failure("\\n".join(wrong))


def objective(cls, values):
    """L = sum_k <output_k, upstream_k> of your cell's forward (no gradients) at `values`, and sum |terms|."""
    cell = build(cls, {name: values[name] for name in PARAMS})
    with torch.no_grad():
        outputs = arrays(forward(cell, values["input"], {n: values[n] for n in STATE})[0])
    terms = [outputs[name] * up for name, up in zip(OUTPUT_NAMES, UPSTREAM)]
    return sum(float(np.sum(t)) for t in terms), sum(float(np.sum(np.abs(t))) for t in terms)


def directional(cls, values, gradients, direction):
    """(autograd's <g, v>, the central difference along v, the error allowed), as the grader computes them."""
    sides = [objective(cls, {n: a + sign * (FD_EPS * direction[n]) if n in direction else a for n, a in values.items()})
             for sign in (1, -1)]
    (plus, size_plus), (minus, size_minus) = sides
    fd = (plus - minus) / (2.0 * FD_EPS)
    bp = sum(float(np.sum(gradients[n] * v)) for n, v in direction.items())
    rounding = sum(float(np.sum(np.abs(gradients[n] * values[n]) * (v != 0))) for n, v in direction.items())
    return bp, fd, FD_RTOL * (abs(fd) + abs(bp)) + FD_ATOL * (1 + max(size_plus, size_minus) + rounding)


def check_gradcheck(cls):
    outputs, targets = forward(build(cls, PARAMS), INPUT, STATE, grads=True)
    found = gradients_of(outputs, targets)
    values = {"input": INPUT, **STATE, **PARAMS}
    gradients = {n: np.zeros_like(values[n]) if found[n] is None else found[n] for n in values}
    bp, fd, allowed = directional(cls, values, gradients, DIRECTION)
    print(f"along the example's random direction v: <grad, v> = {bp:.9g}, (L(x+eps v) - L(x-eps v))/2eps = {fd:.9g}")
    if abs(fd - bp) <= allowed:
        return
    lines = ["Autograd's gradients disagree with central differences of your own cell:"]
    for name in values:  # each input alone: which gradients are wrong
        bp, fd, allowed = directional(cls, values, gradients, {name: DIRECTION[name]})
        verdict = "correct" if abs(fd - bp) <= allowed else "WRONG"
        lines.append(f"  {label(name)}.grad: {verdict}: along v, <grad, v> = {bp:.9g}, finite differences {fd:.9g}")
    cut = [label(n) for n in values if found[n] is None]
    if cut:
        lines.append(f"  No gradient reached {', '.join(cut)} at all: your forward cuts it from the graph ({CUT_GRAPH}).")
    raise Failure("\\n".join(lines))


def check_zero_state(cls):
    cell = build(cls, PARAMS)
    zeros = {name: np.zeros_like(a) for name, a in STATE.items()}
    try:
        without = arrays(forward(cell, INPUT, None)[0])
    except Exception:
        raise Failure("called with no hx, as cell(input), your cell raised:\\n" + traceback.format_exc()) from None
    wrong = compared(without, arrays(forward(cell, INPUT, zeros)[0]))
    if wrong:
        raise Failure("called as cell(input), with no hx, your cell should start from zeros as torch.nn's cells "
                      "do; compared with your own cell given hx = zeros:\\n" + "\\n".join(wrong))


def check_float64(cls):
    outputs = forward(build(cls, PARAMS), INPUT, STATE)[0]
    drifted = [f"{name} as {str(out.dtype).replace('torch.', '')}" for name, out in outputs.items()
               if out.dtype != torch.float64]
    if drifted:
        raise Failure(f"your {CELL} returned {', '.join(drifted)}, although the input, hx and every parameter are "
                      "float64: a .float(), or a tensor made without dtype= (torch.zeros(N, H) is float32)")


def check_unbatched(cls):
    rows = {name: a[0] for name, a in STATE.items()}
    got = arrays(forward(build(cls, PARAMS), INPUT[0], rows)[0])
    wrong = compared(got, torch_nn(PARAMS, INPUT[0], rows)[0])
    if wrong:
        raise Failure("on the unbatched input (input_size,) and hx (hidden_size,):\\n" + "\\n".join(wrong))


PROPERTIES = {"parameters": check_parameters, "matches": check_matches, "without_bias": check_without_bias,
              "gradients": check_gradients, "gradcheck": check_gradcheck, "zero_state": check_zero_state,
              "float64": check_float64, "unbatched": check_unbatched}


def main(argv):
    problem = usage_problem(argv)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    submission = Path(argv[0])
    try:
        cls = find(load(submission), CELL)
    except Exception:
        print("importing your submission raised:")
        traceback.print_exc(file=sys.stdout)
        return 1
    if not isinstance(cls, type):
        print(f"{CELL}: your submission does not define it as a class")
        return 1
    try:
        PROPERTIES[PROPERTY](cls)
    except Failure as failure:
        print(f"{CELL}: WRONG\\n    " + str(failure).replace("\\n", "\\n    "))
        print("The check fails on your code.")
        return 1
    except Exception as error:
        print(f"{CELL}: WRONG: your code raised")
        traceback.print_exc(file=sys.stdout)
        if "cannot be multiplied" in str(error) and INPUT.shape[-1] != STATE["h"].shape[-1]:
            print("With input_size != hidden_size: multiply by the transposed weights, input @ weight_ih.T and "
                  "h @ weight_hh.T: torch.nn stores weight_ih as (k*hidden_size, input_size).")
        if "same dtype" in str(error) or "expected scalar type" in str(error):
            print("Everything is float64 here: make new tensors with dtype=input.dtype, as torch.nn's cells do.")
        print("The check fails on your code.")
        return 1
    print(f"{CELL}: correct\\nThe property holds on this example.")
    return 0
'''

FOOTER = '''
# -- the failing example {rule}
CUT_GRAPH = {cut_graph!r}
CELL = {cell!r}
OUTPUT_NAMES = {output_names!r}  # what torch.nn's cell returns
PROPERTY = {property!r}
INIT = {init}  # your cell is built as {cell}(**INIT)
INPUT = {input}
STATE = {state}  # hx: h (and c, for the LSTM)
PARAMS = {params}  # torch.nn's weights, copied into both cells
UPSTREAM = {upstream}  # L = sum_k <output_k, upstream_k>
{direction}
if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


def cell_and_property(name: str) -> tuple[str, str] | None:
    """("RNNCell" or "LSTMCell", the property) of a torch-cells check's name, or None for another check."""
    prefix = next((prefix for prefix in CELLS if name.startswith(prefix)), None)
    if prefix is None or name[len(prefix):] not in PROPERTIES:
        return None
    return CELLS[prefix], PROPERTIES[name[len(prefix):]]


def has_cell_script(check: Check) -> bool:
    """True if ``check`` is a torch-cells check (checks.torch_cells) this module writes scripts for."""
    return check.function.__module__ == "checks.torch_cells" and cell_and_property(check.name) is not None


def cell_script_for(check: Check, example: Counterexample) -> str:
    """The text of a standalone script (torch and numpy only) checking ``check``'s property on ``example``.

    Raises NotReproducible if the example is not a CellProblem of the check's cell."""
    cell, kind = cell_and_property(check.name) or ("", "")
    p = example.arguments.get("p")
    if getattr(p, "cell", None) != cell:
        raise NotReproducible("its example is not one of the check's cell problems")
    names = Names()
    direction = ""
    if kind == "gradcheck":
        v = joint_direction({"input": p.input, **p.state, **p.params}, example.arguments["seed"])
        direction = ("# The random direction v of the check's finite differences (checks.gradcheck.joint_direction "
                     f"of its seed).\nDIRECTION = {dict_text(v, names, 'v_')}\n")
    N, D, H = p.sizes
    sizes = f"\nThe example's sizes: N={N}, input_size={D}, hidden_size={H}{'' if p.has_bias else ', bias=False'}.\n"
    footer = FOOTER.format(
        rule="-" * 80, cut_graph=CUT_GRAPH, cell=cell, output_names=OUTPUT_NAMES[cell], property=kind, init=repr(p.init),
        input=literal(p.input, names, "input_"), state=dict_text(p.state, names, ""),
        params=dict_text(p.params, names, ""), upstream="(" + "".join(f"{literal(up, names, name)}, " for up, name in zip(p.upstream, ("dh", "dc"))) + ")", direction=direction)
    return (header_text(check, sizes, HOW[kind]) + COMMON + CELL_CODE + "\n# -- the example's arrays\n"
            + "\n".join(names.definitions) + "\n" + footer)


def dict_text(arrays: dict[str, Any], names: Names, prefix: str) -> str:
    """{name: array} as Python source, each array named ``prefix + name``."""
    return "{" + ", ".join(f"{name!r}: {literal(value, names, prefix + name)}" for name, value in arrays.items()) + "}"
