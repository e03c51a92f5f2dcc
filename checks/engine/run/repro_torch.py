"""Reproduction scripts for the PyTorch checks of ``--assignment cs231n-pytorch``: needing only torch and numpy.

A torch check's calls go through ``TorchView``, outside the row-vector contract's trace, so there is no
trace to replay (``checks.engine.run.repro.script_for``). Instead the script checks the check's property
itself, on the failing example's exact inputs, rebuilt from ``Counterexample.arguments`` (p: the
problem, seed: the probe's seed) through the same case builders as the check (``checks.torch_problems``)::

    python <check>.py SUBMISSION        # a .py file, or a folder (CS231n's cs231n/ with rnn_layers_pytorch.py)

- forward = reference: the outputs, as tensors of the right number and shape, equal the expected ones
  computed here (the course's reference, or the lecture's definitions for a self-check's stand-in) and
  embedded, |got − expected| ≤ RTOL·(|expected| + max|expected|) + TINY (``checks.verdicts``). For the
  LSTM, the outputs of torch.nn's gate order are embedded too, to name that mistake as the check does;
- gradients = finite differences: autograd's gradients of L = Σ_k ⟨output_k, upstream_k⟩ through the
  student's forward, against central differences of the same forward in float64 along the check's own
  random direction (``checks.gradcheck.joint_direction`` of its seed, embedded), with the check's tolerance;
  then each input alone, to say which gradient is wrong. Before any number, as the check: float64 outputs,
  a grad_fn, and autograd's refusal translated (an in-place write, a cut graph);
- float64 kept: each implemented function's outputs are float64 from float64 inputs.

Exit status: 0 the property holds on this example, 1 it fails (the message says why), 2 bad usage.
``has_torch_script`` and ``torch_script_for`` serve ``checks.engine.run.repro.script_or_reason`` for both
PyTorch assignments: torch-cells' checks are written by ``repro_torch_cells``. Arrays are written by ``checks.engine.run.repro_values`` (exact: repr of floats, base64 of bytes).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from checks.engine.run.counterexample import Counterexample, problem_sizes, sizes_text
from checks.engine.run.repro_torch_cells import cell_script_for, has_cell_script
from checks.engine.run.repro_torch_runtime import COMMON, FOOTER, FUNCTION_CONSTANTS, FUNCTIONS, header_text
from checks.engine.run.repro_values import Names, NotReproducible, literal
from checks.forward import lecture_step
from checks.gradcheck import joint_direction
from checks.registry import Check
from checks.torch_functions import CUT, CUT_SOMEWHERE, FLOAT32, GATE_ORDER, IN_PLACE
from checks.torch_problems import (TorchCase, embedding_case, lecture_lstm, lecture_lstm_step, lstm_case,
                                   lstm_step_case, rnn_case, rnn_step_case, torch_gate_order)

HOW = {
    "forward": "it compares your outputs with the expected ones, embedded below, with the grader's tolerance.",
    "gradients": ("it compares autograd's gradients through your forward with central finite differences "
                  "of the same forward, in float64, along the check's own random direction, with the grader's "
                  "tolerance."),
    "float64": "it checks that your functions return float64 tensors from float64 inputs.",
}

# -- what each check's script embeds ----------------------------------------------------------------------

CASES: dict[str, Callable] = {"rnn_step_forward": rnn_step_case, "rnn_forward": rnn_case,
                              "word_embedding_forward": embedding_case, "lstm_step_forward": lstm_step_case,
                              "lstm_forward": lstm_case}


def reference_outputs(case: TorchCase) -> dict[str, np.ndarray]:
    """The course's reference on the case's arguments: {output name: array}, its cache left out."""
    try:
        import reference
    except ImportError:
        raise NotReproducible("the course's reference is not installed here") from None
    results = getattr(reference, case.function)(*case.arguments.values())
    return {name: value for (name, _), value in zip(case.outputs, results)}


def lecture_outputs(case: TorchCase) -> dict[str, np.ndarray]:
    """The lecture's definitions on the case's arguments (a self-check's stand-ins: no solution), by output name.

    rnn_forward's check runs each step from the student's own previous h; here the whole recurrence from h0,
    which a correct forward matches just as closely (float64 rounding only) and a wrong step misses."""
    args = case.arguments
    if case.function == "rnn_step_forward":
        return {"next_h": lecture_step(*args.values())}
    if case.function == "rnn_forward":
        h, states = args["h0"], []
        for t in range(args["x"].shape[1]):
            h = lecture_step(args["x"][:, t], h, args["Wx"], args["Wh"], args["b"])
            states.append(h)
        return {"h": np.stack(states, axis=1)}
    if case.function == "word_embedding_forward":
        return {"out": args["W"][args["x"]]}
    return torch_nn_order(case, swap=False)


def torch_nn_order(case: TorchCase, swap: bool = True) -> dict[str, np.ndarray]:
    """The lecture's LSTM on the case (with ``swap``, on parameters whose blocks o and g are swapped: the outputs
    of an LSTM reading CS231n's blocks in torch.nn's order i, f, g, o, as ``gate_order_note``), by output name."""
    args = dict(case.arguments)
    if swap:
        args.update({name: torch_gate_order(args[name]) for name in ("Wx", "Wh", "b")})
    if case.function == "lstm_step_forward":
        return dict(zip(("next_h", "next_c"), lecture_lstm_step(*args.values())))
    return {"h": lecture_lstm(*args.values())}


def case_entry(case: TorchCase, expected: Callable | None = None, between_steps: bool = False) -> dict[str, Any]:
    """One entry of the script's CASES."""
    entry: dict[str, Any] = {"function": case.function, "arguments": dict(case.arguments),
                             "constants": tuple(case.constants), "upstream": tuple(case.upstream),
                             "outputs": tuple((name, tuple(int(n) for n in shape)) for name, shape in case.outputs),
                             "between_steps": between_steps}
    if expected is not None:
        entry["expected"] = expected(case)
        if case.function.startswith("lstm"):
            entry["torch_nn_order"] = torch_nn_order(case)
    return entry


def forward(function: str, expected: Callable) -> Callable:
    """A forward check's builder: its one case, with the outputs ``expected(case)`` gives; no direction."""
    return lambda arguments: ("forward", [case_entry(CASES[function](arguments["p"]), expected)], None)


def gradients(function: str, between_steps: bool = False) -> Callable:
    """A gradient check's builder: its one case, and the check's direction v over the arguments that move (the
    word indices do not): ``joint_direction`` of the example's seed, the one the check's probe took."""
    def build(arguments: dict[str, Any]) -> tuple:
        case = CASES[function](arguments["p"])
        moved = {name: value for name, value in case.arguments.items() if name not in case.constants}
        return "gradients", [case_entry(case, between_steps=between_steps)], joint_direction(moved, arguments["seed"])
    return build


def float64(*functions: str) -> Callable:
    """A dtype check's builder: one case per function it judges, on the same problem; no direction."""
    return lambda arguments: ("float64", [case_entry(CASES[f](arguments["p"])) for f in functions], None)


#: Each cs231n-pytorch check (checks.torch_functions): arguments -> (property, cases, direction or None).
TORCH_FUNCTION_SCRIPTS: dict[str, Callable[[dict[str, Any]], tuple]] = {
    "torch_rnn_step_forward_matches_reference": forward("rnn_step_forward", reference_outputs),
    "torch_rnn_forward_matches_reference": forward("rnn_forward", reference_outputs),
    "torch_word_embedding_forward_matches_reference": forward("word_embedding_forward", reference_outputs),
    "torch_lstm_step_forward_matches_reference": forward("lstm_step_forward", reference_outputs),
    "torch_lstm_forward_matches_reference": forward("lstm_forward", reference_outputs),
    "torch_rnn_step_forward_follows_the_definition": forward("rnn_step_forward", lecture_outputs),
    "torch_rnn_forward_follows_the_definition": forward("rnn_forward", lecture_outputs),
    "torch_word_embedding_forward_follows_the_definition": forward("word_embedding_forward", lecture_outputs),
    "torch_lstm_step_forward_follows_the_definition": forward("lstm_step_forward", lecture_outputs),
    "torch_lstm_forward_follows_the_definition": forward("lstm_forward", lecture_outputs),
    "torch_rnn_step_gradients_match_finite_differences": gradients("rnn_step_forward"),
    "torch_rnn_forward_gradients_match_finite_differences": gradients("rnn_forward", between_steps=True),
    "torch_word_embedding_gradient_matches_finite_differences": gradients("word_embedding_forward"),
    "torch_lstm_step_gradients_match_finite_differences": gradients("lstm_step_forward"),
    "torch_lstm_forward_gradients_match_finite_differences": gradients("lstm_forward", between_steps=True),
    "torch_rnn_functions_keep_float64": float64("rnn_step_forward", "rnn_forward"),
    "torch_word_embedding_keeps_float64": float64("word_embedding_forward"),
    "torch_lstm_functions_keep_float64": float64("lstm_step_forward", "lstm_forward"),
}


def case_text(entry: dict[str, Any], names: Names, several: bool) -> str:
    """One case of the script's CASES as Python source, its arrays named after the arguments and outputs."""
    prefix = f"{entry['function']}_" if several else ""
    outputs = [name for name, _ in entry["outputs"]]
    wanted = {"arguments": lambda key: f"{prefix}{key}", "upstream": lambda i: f"{prefix}d{outputs[i]}",
              "expected": lambda key: f"{prefix}expected_{key}", "torch_nn_order": lambda key: f"{prefix}torch_nn_{key}"}
    items = []
    for key, value in entry.items():
        if key in wanted and isinstance(value, dict):
            value_text = "{" + ", ".join(f"{k!r}: {literal(v, names, wanted[key](k))}" for k, v in value.items()) + "}"
        elif key in wanted:
            value_text = "(" + "".join(f"{literal(v, names, wanted[key](i))}, " for i, v in enumerate(value)) + ")"
        else:
            value_text = literal(value, names, key)
        items.append(f"{key!r}: {value_text}")
    return "{" + ",\n     ".join(items) + "}"


def has_torch_script(check: Check) -> bool:
    """True if ``check`` is a PyTorch check this module (or ``repro_torch_cells``) writes scripts for."""
    return check.name in TORCH_FUNCTION_SCRIPTS or has_cell_script(check)


def torch_script_for(check: Check, example: Counterexample) -> str:
    """The text of a standalone script (torch and numpy only) checking ``check``'s property on ``example``.

    Raises NotReproducible if the example cannot be written as plain Python, torch and numpy."""
    if has_cell_script(check):
        return cell_script_for(check, example)
    try:
        kind, cases, direction = TORCH_FUNCTION_SCRIPTS[check.name](example.arguments)
    except (KeyError, TypeError, AttributeError) as error:  # an example not drawn as the check draws its own
        raise NotReproducible(f"its example is not one this script can rebuild ({type(error).__name__})") from None
    names = Names()
    cases_text = "[\n" + "".join(f"    {case_text(case, names, len(cases) > 1)},\n" for case in cases) + "]"
    direction_text = "" if direction is None else (
        "# The random direction v of the check's finite differences (checks.gradcheck.joint_direction of its seed)."
        f"\nDIRECTION = {literal(direction, names, 'v')}\n")
    sizes = problem_sizes(example.arguments)
    sizes_sentence = f"\nThe example's sizes: {sizes_text(sizes)}.\n" if sizes else ""
    constants = FUNCTION_CONSTANTS.format(in_place=IN_PLACE, cut=CUT, cut_somewhere=CUT_SOMEWHERE, float32=FLOAT32,
                                          gate_order=GATE_ORDER)
    footer = FOOTER.format(rule="-" * 80, definitions="\n".join(names.definitions), property=kind, cases=cases_text,
                           direction=direction_text)
    return header_text(check, sizes_sentence, HOW[kind]) + constants + COMMON + FUNCTIONS + footer + "\n"
