"""The fixed parts of a PyTorch check's reproduction script (``checks.engine.run.repro_torch``), as text.

HEADER is the script's docstring, imports and the grader's tolerances (a format string); COMMON its code
for any PyTorch check: loading the submission, finding a function or class, the grader's comparison.
For cs231n-pytorch (``repro_torch``): FUNCTION_CONSTANTS, the causes' sentences (a format string);
FUNCTIONS, calling a function on fresh tensors with a time limit and the three properties (forward values,
autograd against finite differences, float64 kept); FOOTER, the example. ``repro_torch_cells`` adds its
own code for nn.Module cells. COMMON and FUNCTIONS are not formatted. Scripts need only torch and numpy.
"""

from checks.engine.inputs.intake import REPRO_SCRIPT_MARKER
from checks.engine.run.repro_runtime import CALLING, LOADING
from checks.engine.isolation.contract_functions import COURSE_MODULES
from checks.gradcheck import EPS, FD_ATOL, FD_RTOL
from checks.registry import Check
from checks.verdicts import RTOL, TINY

TIME_LIMIT = 60  # seconds per call of the student's code before the script calls it a hang

HEADER = '''{marker}
"""Reproduces the failing check {name} ({group}) of rnn-grade.

The property: {description}
{sizes}
Run it on your submission (your .py file, a folder with __init__.py, or your notebook):

    python {name}.py SUBMISSION

It needs only torch and numpy. It runs your code on the exact inputs of the failing example and
checks the property itself: {how}

Exit status: 0 the property holds on this example, 1 it does not (shown below), 2 bad usage.
"""
import base64
import importlib
import importlib.util
import linecache
import signal
import sys
import traceback
import types
from pathlib import Path

import numpy as np
import torch

RTOL, TINY = {rtol!r}, {tiny!r}  # |got - expected| <= RTOL * (|expected| + max |expected|) + TINY
FD_EPS, FD_RTOL, FD_ATOL = {eps!r}, {fd_rtol!r}, {fd_atol!r}  # finite differences as the grader takes them
TIME_LIMIT = {time_limit!r}  # seconds per call
COURSE_MODULES = {course_modules!r}  # where a course's package keeps its functions
'''

def header_text(check: Check, sizes: str, how: str) -> str:
    """The script's docstring, imports and the grader's tolerances (``HEADER``), for ``check``; ``sizes`` a sentence
    or "", ``how`` what the script checks."""
    return HEADER.format(marker=REPRO_SCRIPT_MARKER, name=check.name, group=check.group, description=check.description,
                         sizes=sizes, how=how, rtol=RTOL, tiny=TINY, eps=EPS, fd_rtol=FD_RTOL, fd_atol=FD_ATOL,
                         time_limit=TIME_LIMIT, course_modules=tuple(COURSE_MODULES))


#: The causes' sentences of cs231n-pytorch's checks (checks.torch_functions), for its scripts.
FUNCTION_CONSTANTS = '''IN_PLACE = {in_place!r}
CUT = {cut!r}
CUT_SOMEWHERE = {cut_somewhere!r}
FLOAT32 = {float32!r}
GATE_ORDER = {gate_order!r}
'''

#: What every PyTorch script runs: loading the submission, finding a function or class, the grader's comparison.
COMMON = '''

class Failure(Exception):
    """The property does not hold: the message says why."""


def array(dtype, shape, chunks):
    """An array rebuilt exactly from base64 of its bytes."""
    return np.frombuffer(base64.b64decode("".join(chunks)), dtype=dtype).reshape(shape).copy()


''' + LOADING + '''

def find(module, name):
    """Your function `name`: in your file, or in one of your package's course modules (rnn_layers_pytorch.py)."""
    found = getattr(module, name, None)
    for course_module in COURSE_MODULES if found is None and hasattr(module, "__path__") else ():
        if not (Path(module.__path__[0]) / (course_module.replace(".", "/") + ".py")).is_file():
            continue
        try:  # as the grader: a module that fails to import defines nothing
            found = getattr(importlib.import_module(f"{module.__name__}.{course_module}"), name, None)
        except Exception as error:
            print(f"{course_module}.py could not be imported ({type(error).__name__}: {error}), so it defines nothing")
        if found is not None:
            break
    return found


''' + CALLING + '''


'''

#: cs231n-pytorch's functions: calling one on tensors, and the three properties.
FUNCTIONS = '''

def call(function, arguments, grad_of=()):
    """Your function on fresh tensors of `arguments` (those named in grad_of require grad, as the grader's):
    (its outputs as a list, the input tensors by name)."""
    inputs = {name: torch.from_numpy(np.array(value, copy=True)) for name, value in arguments.items()}
    for name in grad_of:
        inputs[name].requires_grad_(True)
    result = limited(function, *inputs.values())
    return (list(result) if type(result) in (tuple, list) else [result]), inputs


def checked_outputs(case, outputs):
    """The outputs, tensors of the expected number and shapes; else Failure, worded as the grader's."""
    fn, expected = case["function"], case["outputs"]
    if len(outputs) != len(expected):
        wanted = " and ".join(name for name, _ in expected)
        raise Failure(f"{fn} returned {len(outputs)} values; CS231n's PyTorch {fn} returns {wanted}"
                      + (" alone (a tensor, not a tuple)" if len(expected) == 1 else ""))
    for output, (name, shape) in zip(outputs, expected):
        if not isinstance(output, torch.Tensor):
            raise Failure(f"{fn} returned a {type(output).__name__} as {name}, where a torch tensor is due")
        if tuple(output.shape) != tuple(shape):
            raise Failure(f"{name} from {fn} has shape {tuple(output.shape)}, expected {tuple(shape)}")
    return outputs


def values(output):
    return output.detach().to(torch.float64).numpy().copy()


def check_forward(module, case):
    """Your outputs on the example equal the expected ones."""
    outputs = checked_outputs(case, call(find(module, case["function"]), case["arguments"])[0])
    got = {name: values(out) for (name, _), out in zip(case["outputs"], outputs)}
    wrong = [f"{name}: {text}" for name in got if (text := mismatch(got[name], case["expected"][name]))]
    other = case.get("torch_nn_order")
    if wrong and other is not None and all(mismatch(got[name], other[name]) is None for name in got):
        wrong.insert(0, GATE_ORDER)
    if wrong:
        raise Failure("\\n".join(wrong))


def weighted_sum(outputs, upstream):
    """L = sum_k <output_k, upstream_k>, and sum |terms| (the scale of its rounding)."""
    terms = [values(out) * up for out, up in zip(outputs, upstream)]
    return sum(float(np.sum(t)) for t in terms), sum(float(np.sum(np.abs(t))) for t in terms)


def directional(module, case, gradients, direction):
    """(autograd's <g, v>, the central difference along v, the error allowed), as the grader computes them."""
    function, arguments = find(module, case["function"]), case["arguments"]
    sides = []
    for sign in (1, -1):
        moved = {name: value + sign * (FD_EPS * direction[name]) if name in direction else value
                 for name, value in arguments.items()}
        with torch.no_grad():  # as the grader evaluates the perturbed forwards
            sides.append(weighted_sum(call(function, moved)[0], case["upstream"]))
    (plus, size_plus), (minus, size_minus) = sides
    fd = (plus - minus) / (2.0 * FD_EPS)
    bp = sum(float(np.sum(gradients[name] * v)) for name, v in direction.items())
    rounding = sum(float(np.sum(np.abs(gradients[name] * arguments[name]) * (v != 0))) for name, v in direction.items())
    return bp, fd, FD_RTOL * (abs(fd) + abs(bp)) + FD_ATOL * (1 + max(size_plus, size_minus) + rounding)


def refused(function, error):
    """Autograd's refusal, in plain words naming the cause, with autograd's own message last."""
    if "modified by an inplace operation" in error:
        cause = IN_PLACE
    elif "does not require grad" in error or "does not have a grad_fn" in error:
        cause = CUT
    else:
        cause = "autograd could not compute the gradients of your forward."
    return f"backward() through {function}: {cause}\\n  autograd said: {error.splitlines()[0].split(' Hint:')[0][:300]}"


def check_gradients(module, case):
    """Autograd's gradients through your forward equal central differences of it along DIRECTION."""
    fn, moved = case["function"], [name for name in case["arguments"] if name not in case["constants"]]
    outputs, inputs = call(find(module, fn), case["arguments"], moved)
    for (name, _), out in zip(case["outputs"], checked_outputs(case, outputs)):
        if out.dtype != torch.float64:
            dtype = str(out.dtype).replace("torch.", "")
            raise Failure(f"{fn}'s gradients cannot be checked in float64: " + FLOAT32.format(name=name, dtype=dtype))
        if out.grad_fn is None:
            raise Failure(f"{name} from {fn} has no grad_fn, so autograd cannot give any gradient: " + CUT)
    try:
        loss = sum((out * torch.from_numpy(up.copy())).sum() for out, up in zip(outputs, case["upstream"]))
        grads = torch.autograd.grad(loss, [inputs[name] for name in moved], allow_unused=True)
    except RuntimeError as error:
        raise Failure(refused(fn, str(error))) from None
    unreached = [name for name, grad in zip(moved, grads) if grad is None]
    gradients = {name: np.zeros_like(case["arguments"][name]) if grad is None else grad.detach().numpy().copy()
                 for name, grad in zip(moved, grads)}
    bp, fd, allowed = directional(module, case, gradients, DIRECTION)
    print(f"along the example's random direction v: <grad, v> = {bp:.9g}, (L(x+eps v) - L(x-eps v))/2eps = {fd:.9g}")
    if abs(fd - bp) <= allowed:
        return
    where = (f", in {fn} or in the step it calls (prev_h = next_h.detach() between steps, say)"
             if case["between_steps"] else "")
    lines = [CUT_SOMEWHERE.format(where=where)]
    if unreached:
        lines.append(f"No gradient reached {', '.join(unreached)} (autograd gave None).")
    for name in moved:  # each input alone: which gradients are wrong
        bp, fd, allowed = directional(module, case, gradients, {name: DIRECTION[name]})
        verdict = "correct" if abs(fd - bp) <= allowed else "WRONG"
        lines.append(f"  {name}.grad: {verdict}: along v, <{name}.grad, v> = {bp:.9g}, finite differences {fd:.9g}")
    raise Failure("\\n".join(lines))


def check_float64(module, case):
    """Each of your functions here returns float64 tensors from float64 inputs."""
    function = find(module, case["function"])
    if function is None:
        print(f"{case['function']}: not defined in your submission, not judged")
        return
    try:
        outputs = checked_outputs(case, call(function, case["arguments"])[0])
    except NotImplementedError:
        print(f"{case['function']}: not implemented yet, not judged")
        return
    for (name, _), out in zip(case["outputs"], outputs):
        if out.dtype != torch.float64:
            dtype = str(out.dtype).replace("torch.", "")
            raise Failure(f"{case['function']}: " + FLOAT32.format(name=name, dtype=dtype))


PROPERTIES = {"forward": check_forward, "gradients": check_gradients, "float64": check_float64}


def main(argv):
    problem = usage_problem(argv)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    submission = Path(argv[0])
    try:
        module = load(submission)
    except Exception:
        print("importing your submission raised:")
        traceback.print_exc(file=sys.stdout)
        return 1
    failed = 0
    for case in CASES:
        if PROPERTY != "float64" and find(module, case["function"]) is None:
            print(f"{case['function']}: your submission does not define it")
            return 1
        try:
            PROPERTIES[PROPERTY](module, case)
            print(f"{case['function']}: correct")
        except Failure as failure:
            failed += 1
            print(f"{case['function']}: WRONG\\n    " + str(failure).replace("\\n", "\\n    "))
        except Exception:
            failed += 1
            print(f"{case['function']}: WRONG: your code raised")
            traceback.print_exc(file=sys.stdout)
    print("The check fails on your code." if failed else "The property holds on this example.")
    return 1 if failed else 0
'''

FOOTER = '''
# -- the failing example {rule}
{definitions}

PROPERTY = {property!r}
# Each case: your function, its arguments in call order, those that get no gradient, the upstream gradient of
# each output, each output's name and shape, and (forward checks) the expected outputs.
CASES = {cases}
{direction}
if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''
