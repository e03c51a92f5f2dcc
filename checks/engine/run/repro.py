"""Reproduction scripts: one standalone file per failing check, needing only Python and numpy.

(Where the course's reference is not installed, a student's self-check, there is nothing to compare
with: ``attach_scripts`` writes ``checks.engine.run.repro_property``'s scripts instead, which run the
check itself again on the example. The values are written by ``repro_values``; the script's fixed
code is ``repro_runtime``.)

``script_for(check, example)`` turns a failing example (``checks.engine.run.counterexample``) into a
script a student runs anywhere::

    python <check>.py SUBMISSION        # a .py file, or a folder with __init__.py

It rebuilds the exact inputs (float literals written with ``repr``, which round-trips; larger
arrays as base64 of their bytes), calls the submission's functions as the check did (a cache
passed on as ``Cache(call, position)``: the submission's own cache from that earlier call), and
compares every result with the reference's result on the same call, embedded as a literal, with
the grader's tolerance (``checks.verdicts``): exact shape, float64, and
|got − expected| ≤ RTOL·(|expected| + max|expected|) + TINY. It also checks that no argument was
modified, reports an exception with the chain of the submission's frames as the grader does
(``checks.engine.isolation.caller_chain``, copied in), and stops a call after a time limit.
Exit status: 0 every result matches, 1 something differs, 2 bad usage.

What is replayed: every call of the example except those that repeat an earlier call of the same
function at (nearly) the same arguments: the perturbed forwards of finite differences. Instead,
the script compares that forward and its backward with the reference, and takes central
differences of the student's own forward itself, along random ±1 directions, with the grader's
tolerance (``checks.gradcheck``): a forward whose rounding is too coarse for finite differences
(float32 inside) fails there even when every value is close to the reference's. The objective is
L = Σ_k Σ output_k ⊙ upstream_k over the forward's arrays and the backward's upstream gradients
(the LSTM step: next_h ⊙ dnext_h + next_c ⊙ dnext_c), or the loss itself; each gradient is matched
to the forward's argument it is the gradient of by the contract's names (``gradient_map``: dθ is
θ's, grads[θ] too; CaptioningRNN's grads[θ] is params[θ]'s), so the embedding's dW is W's and its
integer x, like the softmax loss's y and mask, is never perturbed.

CaptioningRNN's methods ("CaptioningRNN.loss", "CaptioningRNN.sample") are called as the grader's
worker calls them: on a fresh ``CaptioningRNN(**model, dtype=np.float64)`` whose ``params`` are
updated with the example's, then the method on the remaining arguments.
"""

from __future__ import annotations

import inspect
import os
import textwrap
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from checks.engine.isolation import caller_chain
from checks.engine.isolation.contract import parameter_names
from checks.engine.isolation.contract_returns import OUTPUT_NAMES, RETURNS
from checks.engine.run.counterexample import Counterexample, problem_sizes, sizes_text
from checks.engine.inputs.intake import REPRO_SCRIPT_MARKER
from checks.engine.run.results import CheckResult, Grade
from checks.engine.run.assignments import reference_installed
from checks.engine.run.repro_property import property_script_for
from checks.engine.run.repro_runtime import HEADER, LOADING, RUNTIME
from checks.engine.run.repro_values import Names, NotReproducible, literal
from checks.engine.run.runner import best_effort
from checks.gradcheck import EPS, FD_ATOL, FD_RTOL
from checks.engine.isolation.trace import CacheRef, Call, Trace, replay
from checks.registry import Check
from checks.verdicts import RTOL, TINY

MARKER = REPRO_SCRIPT_MARKER  # the first line of every script (and no such file is ever graded)
TIME_LIMIT = 60  # seconds per call before the script calls it a hang
NEAR = 1e-5  # a call whose arguments all lie this close to an earlier call's repeats it (finite differences)
NOT_IMPLEMENTED = "not implemented:"  # how a check's message starts when it needs a missing function
CACHE = "CACHE"  # in an expected result: the submission's cache, kept for later calls, not compared
# The script tells where your code raised with the worker's own functions, copied in.
CALLER_CHAIN_SOURCE = "\n\n".join(inspect.getsource(f) for f in (
    caller_chain.caller_chain, caller_chain.is_own, caller_chain.is_within, caller_chain.frame_text))


def script_for(check: Check, example: Counterexample, reference: Any = None, time_limit: int = TIME_LIMIT) -> str:
    """The text of a standalone script that reproduces ``check``'s failure on ``example``.

    ``reference`` is the module whose results are expected (default: the course's ``reference``).
    Raises NotReproducible if the example cannot be written as plain Python and numpy.
    """
    if reference is None:
        import reference
    calls, pairs = calls_to_replay(example.trace)
    expected = []
    for call, result, error in replay(Trace(calls), lambda name: contract_function(reference, name)):
        if error is not None:
            raise NotReproducible(f"the reference raised on {call.function}: {error}")
        expected.append(result)
    finite_differences = [(forward, backward, gradient_map(calls, forward, backward, expected))
                          for forward, backward in pairs]
    names = Names()
    steps = [step_text(number, call, result, names, parameter_names(call.function))
             for number, (call, result) in enumerate(zip(calls, expected), start=1)]
    header = HEADER.format(marker=MARKER, name=check.name, group=check.group, description=check.description,
                           sizes=sizes_sentence(example.arguments))
    return "\n".join([
        header, runtime(reference, calls, time_limit),
        "# -- the failing example's inputs, and the reference's results " + "-" * 30,
        *names.definitions, "",
        "# Each step: (function, arguments, the reference's result on them).",
        "STEPS = [", *(textwrap.indent(step, "    ") for step in steps), "]", "",
        "# Steps whose gradients are checked by finite differences of your own forward: (forward step, its",
        "# backward step or None for a loss, [(gradient, where it is among the results, the forward's argument",
        "# it is the gradient of)]): results[step][position][key], arguments[position][key].",
        f"FINITE_DIFFERENCES = {fd_text(finite_differences)}", "",
        "if __name__ == \"__main__\":", "    sys.exit(main(sys.argv[1:]))", "",
    ])


def runtime(reference: Any, calls: Sequence[Call], time_limit: int) -> str:
    """The script's fixed code, with the grader's tolerances and the names of the functions' arguments and results."""
    parameters = {call.function: parameter_names(call.function) for call in calls}
    return RUNTIME.format(loading=LOADING, rtol=repr(RTOL), tiny=repr(TINY), time_limit=int(time_limit),
                          outputs=output_names(), fd_eps=repr(EPS), fd_rtol=repr(FD_RTOL), fd_atol=repr(FD_ATOL),
                          parameters=table(parameters),
                          chain_ends=caller_chain.CHAIN_ENDS, arrow=caller_chain.ARROW, caller_chain=CALLER_CHAIN_SOURCE)


class ReproFolderError(Exception):
    """--repro-dir cannot be used: it cannot be written, or holds a file rnn-grade did not write."""


def attach_scripts(grade: Grade, folder: Path | None = None, shown_from: Path | None = None) -> list[str]:
    """Give every failing check with an example its ``repro_script``; with ``folder``, write
    ``folder/<check>.py`` too and set ``repro_path``: relative to ``shown_from`` if given (class
    grading: the submission's own report folder, so its report is the same wherever OUT is).

    Where the course's reference is installed, a script compares with it (``script_for``: numpy
    only); where it is not (a student's self-check), it runs the check itself again on the example
    (``repro_property``). Nothing is written over a file rnn-grade did not write (ReproFolderError).
    Returns, with ``folder``, a sentence for each failing check that got no script, saying why.
    """
    with_reference = reference_installed()
    missing = []
    for result in grade.results:
        result.repro_script, why = script_or_reason(result, with_reference)
        if why and folder is not None:
            missing.append(f"no reproduction script for {result.check.name}: {why}")
    for result in grade.results:
        if result.repro_script and folder is not None:
            path = script_path(folder, result.check.name)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(result.repro_script, encoding="utf-8")
            except OSError as error:
                raise ReproFolderError(f"could not write {path}: {error.strerror or error}") from None
            result.repro_path = str(path.relative_to(shown_from) if shown_from is not None else path)
    return missing


def script_files(grade: Grade, folder_name: str) -> dict[str, str]:
    """Class grading: ``attach_scripts`` without writing anything: ``{"<folder_name>/<check>.py": script}``
    for each failing check with a script, whose ``repro_path`` is set to that path (relative to the
    submission's report folder, where the caller writes them: here, or on a cluster's client).
    """
    attach_scripts(grade)
    files = {}
    for result in grade.results:
        if result.repro_script:
            result.repro_path = f"{folder_name}/{result.check.name}.py"
            files[result.repro_path] = result.repro_script
    return files


def script_or_reason(result: CheckResult, with_reference: bool) -> tuple[str, str]:
    """(the failing check's script, "") or ("", why it has none); ("", "") for a passing check, and for
    one that failed because functions are not implemented (nothing to reproduce, nothing to say).
    A fault here must not cost the grade: the staff is told (``best_effort``)."""
    if result.passed or result.message.startswith(NOT_IMPLEMENTED):
        return "", ""  # a missing function: there is no failure to reproduce
    if result.example is None:
        return "", "no single failing example was kept (the failure did not repeat, or the search for one stopped)"
    with best_effort(result.feedback_left_out, f"the reproduction script of {result.check.name}"):
        try:
            if result.check.function.__module__.startswith("checks.torch_"):  # a PyTorch check's, loaded for it only
                from checks.engine.run.repro_torch import has_torch_script, torch_script_for

                if has_torch_script(result.check):  # its property, checked in torch and numpy
                    return torch_script_for(result.check, result.example), ""
            if result.check.function.__module__ == "checks.dlai":  # dlai-c5w1's, loaded for it only
                from checks.engine.run.repro_column_major import column_major_script_for, has_column_major_script

                if has_column_major_script(result.check):  # its property, checked in numpy
                    return column_major_script_for(result.check, result.example), ""
            if not result.example.trace.calls:  # another API's view (column_major, torch_contract) keeps its calls out
                return "", ("a script replays the row-vector contract's calls, and this check calls another API's "
                            "functions")
            if with_reference:
                return script_for(result.check, result.example), ""
            return property_script_for(result.check, result.example), ""
        except NotReproducible as reason:
            return "", str(reason)
    return "", "writing it failed (the course staff is told why in the report's notes)"


def prepare_folder(folder: Path, check_names: Iterable[str]) -> Path:
    """Create ``folder`` if needed, and make sure every ``<check>.py`` it could get is rnn-grade's to write."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReproFolderError(f"--repro-dir {folder}: cannot create it: {error.strerror or error}") from None
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ReproFolderError(f"--repro-dir {folder}: not a folder this user can write to")
    for name in check_names:
        script_path(folder, name)
    return folder


def script_path(folder: Path, check_name: str) -> Path:
    """``folder/<check>.py``, refused if it exists and rnn-grade did not write it."""
    path = folder / f"{check_name}.py"
    if path.exists() and not written_by_us(path):
        raise ReproFolderError(f"--repro-dir: {path} exists and was not written by rnn-grade; refusing to "
                               "overwrite it (move it, or give another folder)")
    return path


def written_by_us(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as file:
            return file.readline().rstrip("\n") == MARKER
    except (OSError, UnicodeDecodeError):
        return False


# -- choosing the calls --------------------------------------------------------------------------


def calls_to_replay(trace: Trace) -> tuple[list[Call], list[tuple[int, int | None]]]:
    """The trace's calls without near-repeats (kept when a later kept call needs their cache), and
    the finite differences they stood for: (forward step, its backward step or None for a loss).

    CacheRefs are renumbered to the positions of the kept calls.
    """
    calls = trace.calls
    repeated = [next((j for j in range(index) if is_near_repeat(call, calls[j])), None)
                for index, call in enumerate(calls)]
    keep = [False] * len(calls)
    for index in range(len(calls) - 1, -1, -1):
        needed = any(keep[later] and index in cache_sources(calls[later]) for later in range(index + 1, len(calls)))
        keep[index] = needed or repeated[index] is None
    position = {old: new for new, old in enumerate(i for i in range(len(calls)) if keep[i])}
    kept = [Call(call.function, tuple(renumber(arg, position) for arg in call.args))
            for call, kept in zip(calls, keep) if kept]
    bases = sorted({position[j] for i, j in enumerate(repeated) if j is not None and not keep[i] and j in position})
    return kept, [pair for base in bases if (pair := finite_difference_pair(kept, base))]


def finite_difference_pair(calls: list[Call], forward: int) -> tuple[int, int | None] | None:
    """(forward, the backward that takes its cache) for a forward; (forward, None) for a loss; else None."""
    if calls[forward].function in LOSSES:
        return forward, None
    backward = next((i for i, call in enumerate(calls) if forward in cache_sources(call)), None)
    return (forward, backward) if backward is not None else None


# The functions that return (loss, gradients): their gradients come with the loss, checked against it.
LOSSES = frozenset(function for function, names in OUTPUT_NAMES.items() if names[0] == "loss")

Place = tuple  # where a value is among nested results or arguments: (position, key, ...)


def gradient_map(calls: list[Call], forward: int, backward: int | None,
                 expected: list[Any]) -> list[tuple[str, Place, Place]]:
    """[(the gradient's name, where it is among the results, where its argument is among the forward's)].

    By the contract's names: a backward's gradient dθ is the gradient of the forward's argument θ
    (the embedding's dW of W; its x is word indices, never perturbed); a loss's gradients are its
    second result: the array dθ (temporal_softmax_loss's dx, of x: y and mask are constant), or a dict
    whose key θ is the argument θ (the classifier) or the entry θ of the argument params (CaptioningRNN).
    Raises NotReproducible for a gradient with no such argument, rather than check it against the wrong one.
    """
    arguments = parameter_names(calls[forward].function)
    if backward is not None:
        names = OUTPUT_NAMES[calls[backward].function]
        if not isinstance(expected[backward], tuple):  # one gradient returned alone (the embedding's dW)
            return [(names[0], (backward,), argument_of(names[0], arguments))]
        return [(name, (backward, i), argument_of(name, arguments)) for i, name in enumerate(names)]
    gradients, label = expected[forward][1], OUTPUT_NAMES[calls[forward].function][1]
    if not isinstance(gradients, dict):
        return [(label, (forward, 1), argument_of(label, arguments))]
    return [(f"{label}[{key!r}]", (forward, 1, key), argument_named(key, arguments, calls[forward].args))
            for key in gradients]


def argument_named(key: str, arguments: Sequence[str], values: tuple) -> Place:
    """The place of the argument ``key``, or of the entry ``key`` of the argument params (CaptioningRNN's)."""
    if key in arguments:
        return (list(arguments).index(key),)
    if "params" in arguments and key in values[list(arguments).index("params")]:
        return (list(arguments).index("params"), key)
    return unmatched(key)


def argument_of(gradient: str, arguments: Sequence[str]) -> Place:
    """The place of the argument θ that the gradient named dθ belongs to."""
    if gradient.startswith("d") and gradient[1:] in arguments:
        return (list(arguments).index(gradient[1:]),)
    return unmatched(gradient)


def unmatched(gradient: str) -> Place:
    raise NotReproducible(f"the gradient {gradient} matches no argument of its forward by name")


def fd_text(finite_differences: list) -> str:
    """FINITE_DIFFERENCES as Python source, one finite-difference check a line."""
    if not finite_differences:
        return "[]"
    entries = [f"    ({forward!r}, {backward!r}, [\n" + "".join(f"        {gradient!r},\n" for gradient in gradients)
               + "    ]),\n" for forward, backward, gradients in finite_differences]
    return "[\n" + "".join(entries) + "]"


def contract_function(module: Any, name: str) -> Any:
    """``module``'s function ``name``; for "Class.method", a function of (model, params, *arguments)
    calling the method on a fresh ``Class(**model, dtype=np.float64)`` whose params are updated with
    ``params``, as the grader's worker calls it. The constructor's random draws leave np.random as it was."""
    if "." not in name:
        return getattr(module, name)
    class_name, method = name.split(".", 1)

    def call(model: dict, params: dict, *args: Any) -> Any:
        state = np.random.get_state()
        try:
            obj = getattr(module, class_name)(**model, dtype=np.float64)
        finally:
            np.random.set_state(state)
        obj.params.update(params)
        return getattr(obj, method)(*args)
    return call


def cache_sources(call: Call) -> set[int]:
    return {arg.call for arg in call.args if isinstance(arg, CacheRef)}


def renumber(arg: Any, position: dict[int, int]) -> Any:
    return CacheRef(position[arg.call], arg.position) if isinstance(arg, CacheRef) else arg


def is_near_repeat(call: Call, earlier: Call) -> bool:
    """Same function, and every argument equal or (arrays) within NEAR of the earlier call's."""
    return call.function == earlier.function and len(call.args) == len(earlier.args) and all(
        near(a, b) for a, b in zip(call.args, earlier.args))


def near(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype):
            return False
        # Only floats are perturbed: indices and masks (int, bool) repeat exactly or not at all.
        return bool(np.all(np.abs(a - b) <= NEAR)) if a.dtype.kind == "f" else bool(np.array_equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(near(a[key], b[key]) for key in a)
    return type(a) is type(b) and a == b


def expected_literal(function: str, result: Any, names: Names, call_number: int) -> str:
    """The reference's result, with its cache as CACHE and arrays named after the contract's outputs."""
    specs = RETURNS.get(function)
    if specs and isinstance(result, tuple):
        items = [CACHE if spec == "cache" else literal(item, names, f"{spec.split(':')[0]}_{call_number}")
                 for spec, item in zip(specs, result)]
        return "(" + ", ".join(items) + ")"
    return literal(result, names, f"expected_{call_number}")


def output_names() -> str:
    """{function: [its results' names]} as Python source, from the contract's OUTPUT_NAMES table."""
    return table({function: list(names) for function, names in OUTPUT_NAMES.items()})


def table(names: dict[str, list[str]]) -> str:
    """{function: [names]} as Python source, one function a line."""
    return "{\n" + "".join(f"    {function!r}: {labels!r},\n" for function, labels in names.items()) + "}"


def step_text(number: int, call: Call, result: Any, names: Names, parameters: Sequence[str]) -> str:
    """One entry of the script's STEPS: (function, arguments, the reference's result), step ``number``."""
    labels = list(parameters) + [f"arg{i}" for i in range(len(parameters), len(call.args))]
    arguments = [literal(arg, names, label) for arg, label in zip(call.args, labels)]
    expected = expected_literal(call.function, result, names, number)
    if call.function == "CaptioningRNN.sample":  # after <END>, a caption may go on or hold <NULL> (Captions)
        words = call.args[0]["word_to_idx"]
        expected = f"Captions({expected}, end={words['<END>']!r}, null={words['<NULL>']!r})"
    return f"({call.function!r}, ({', '.join(arguments)}{',' if len(arguments) == 1 else ''}), {expected}),"


def sizes_sentence(arguments: dict[str, Any]) -> str:
    """'The example's sizes: N = 1, T = 2, D = 1, H = 1.' when it has an RNN problem, else ''."""
    sizes = problem_sizes(arguments)
    return f"\nThe example's sizes: {sizes_text(sizes)}.\n" if sizes else ""


