"""Reproduction scripts: one standalone file per failing check, needing only Python and numpy.

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
(float32 inside) fails there even when every value is close to the reference's.
"""

from __future__ import annotations

import base64
import inspect
import os
import textwrap
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from checks.engine.isolation import caller_chain
from checks.engine.isolation.contract import parameter_names
from checks.engine.isolation.contract_returns import OUTPUT_NAMES, RETURNS
from checks.engine.run.counterexample import Counterexample, problem_sizes, sizes_text
from checks.engine.inputs.intake import REPRO_SCRIPT_MARKER
from checks.engine.run.results import CheckResult, Grade
from checks.engine.run.runner import best_effort
from checks.gradcheck import EPS, FD_ATOL, FD_RTOL
from checks.engine.isolation.trace import CacheRef, Call, Trace, replay
from checks.registry import Check
from checks.verdicts import RTOL, TINY

MARKER = REPRO_SCRIPT_MARKER  # the first line of every script (and no such file is ever graded)
TIME_LIMIT = 60  # seconds per call before the script calls it a hang
LITERAL_LIMIT = 24  # arrays with at most this many entries are written as literals
NEAR = 1e-5  # a call whose arguments all lie this close to an earlier call's repeats it (finite differences)
CACHE = "CACHE"  # in an expected result: the submission's cache, kept for later calls, not compared
# The script tells where your code raised with the worker's own functions, copied in.
CALLER_CHAIN_SOURCE = "\n\n".join(inspect.getsource(f) for f in (
    caller_chain.caller_chain, caller_chain.is_own, caller_chain.is_within, caller_chain.frame_text))


# The results of the functions whose results RETURNS does not list (validated in checks.engine.isolation.contract).
class NotReproducible(Exception):
    """The example holds something a script cannot rebuild (a value that never crossed as plain data)."""


def script_for(check: Check, example: Counterexample, reference: Any = None, time_limit: int = TIME_LIMIT) -> str:
    """The text of a standalone script that reproduces ``check``'s failure on ``example``.

    ``reference`` is the module whose results are expected (default: the course's ``reference``).
    Raises NotReproducible if the example cannot be written as plain Python and numpy.
    """
    if reference is None:
        import reference
    calls, finite_differences = calls_to_replay(example.trace)
    expected = []
    for call, result, error in replay(Trace(calls), lambda name: getattr(reference, name)):
        if error is not None:
            raise NotReproducible(f"the reference raised on {call.function}: {error}")
        expected.append(result)
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
        "# Steps whose gradients are checked by finite differences of your own forward: (forward, backward or None).",
        f"FINITE_DIFFERENCES = {finite_differences!r}", "",
        "if __name__ == \"__main__\":", "    sys.exit(main(sys.argv[1:]))", "",
    ])


def runtime(reference: Any, calls: Sequence[Call], time_limit: int) -> str:
    """The script's fixed code, with the grader's tolerances and the names of the functions' arguments and results."""
    parameters = {call.function: parameter_names(call.function) for call in calls}
    return RUNTIME.format(rtol=repr(RTOL), tiny=repr(TINY), time_limit=int(time_limit), outputs=output_names(),
                          fd_eps=repr(EPS), fd_rtol=repr(FD_RTOL), fd_atol=repr(FD_ATOL), parameters=table(parameters),
                          chain_ends=caller_chain.CHAIN_ENDS, arrow=caller_chain.ARROW, caller_chain=CALLER_CHAIN_SOURCE)


class ReproFolderError(Exception):
    """--repro-dir cannot be used: it cannot be written, or holds a file rnn-grade did not write."""


def attach_scripts(grade: Grade, folder: Path | None = None, shown_from: Path | None = None) -> None:
    """Give every failing check with an example its ``repro_script``; with ``folder``, write
    ``folder/<check>.py`` too and set ``repro_path``: relative to ``shown_from`` if given (class
    grading: the submission's own report folder, so its report is the same wherever OUT is).

    Nothing is written over a file rnn-grade did not write (ReproFolderError). A check whose
    example cannot be scripted (or a self-check, which has no reference) gets no script.
    """
    for result in grade.results:
        result.repro_script = script_or_nothing(result)
    for result in grade.results:
        if result.repro_script and folder is not None:
            path = script_path(folder, result.check.name)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(result.repro_script, encoding="utf-8")
            except OSError as error:
                raise ReproFolderError(f"could not write {path}: {error.strerror or error}") from None
            result.repro_path = str(path.relative_to(shown_from) if shown_from is not None else path)


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


def script_or_nothing(result: CheckResult) -> str:
    """The failing check's script, or "" (a fault here must not cost the grade: the staff is told)."""
    if result.passed or result.example is None:
        return ""
    with best_effort(result.feedback_left_out, f"the reproduction script of {result.check.name}"):
        try:
            return script_for(result.check, result.example)
        except (NotReproducible, ImportError):  # ImportError: no reference (a student's self-check)
            return ""
    return ""


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
    if calls[forward].function == "rnn_classifier_loss":
        return forward, None
    backward = next((i for i, call in enumerate(calls) if forward in cache_sources(call)), None)
    return (forward, backward) if backward is not None else None


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
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and bool(np.all(np.abs(a - b) <= NEAR)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(near(a[key], b[key]) for key in a)
    return type(a) is type(b) and a == b


# -- writing values as Python --------------------------------------------------------------------


class Names:
    """Module-level names for the arrays of a script, each distinct array defined once."""

    def __init__(self) -> None:
        self.definitions: list[str] = []
        self._by_content: dict[tuple, str] = {}
        self._taken: set[str] = set()

    def array(self, value: np.ndarray, wanted: str) -> str:
        key = (value.dtype.str, value.shape, value.tobytes())
        if key not in self._by_content:
            name = self._fresh(wanted)
            self._by_content[key] = name
            self.definitions.append(f"{name} = {array_literal(value)}")
        return self._by_content[key]

    def _fresh(self, wanted: str) -> str:
        name, number = wanted, 2
        while name in self._taken:
            name, number = f"{wanted}_{number}", number + 1
        self._taken.add(name)
        return name


def literal(value: Any, names: Names, wanted: str) -> str:
    """``value`` as Python source that rebuilds it exactly (arrays through ``names``)."""
    if isinstance(value, np.ndarray):
        return names.array(value, wanted)
    if isinstance(value, CacheRef):
        return f"Cache({value.call}, {value.position})"
    if isinstance(value, dict) and all(type(key) is str for key in value):
        items = ", ".join(f"{key!r}: {literal(item, names, f'{wanted}_{key}')}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, (tuple, list)):
        items = [literal(item, names, f"{wanted}_{i}") for i, item in enumerate(value)]
        return f"({', '.join(items)}{',' if len(items) == 1 else ''})" if isinstance(value, tuple) \
            else f"[{', '.join(items)}]"
    if isinstance(value, (bool, int, str)) or value is None:
        return repr(value)
    if isinstance(value, (float, np.floating)):
        return number_literal(float(value))
    raise NotReproducible(f"a value of type {type(value).__name__} cannot be written into a script")


def number_literal(value: float) -> str:
    if np.isnan(value):
        return "float('nan')"
    if np.isinf(value):
        return "float('inf')" if value > 0 else "-float('inf')"
    return repr(value)  # the shortest text that reads back as exactly this float


def array_literal(value: np.ndarray) -> str:
    """Small arrays as nested lists of exact floats; larger ones as base64 of their little-endian bytes."""
    dtype = value.dtype.newbyteorder("<")
    if value.dtype.kind not in "fiub":
        raise NotReproducible(f"an array of dtype {value.dtype} cannot be written into a script")
    if value.size <= LITERAL_LIMIT and value.ndim > 0:
        entries = nested(value.tolist(), number_literal if value.dtype.kind == "f" else repr)
        return f"np.array({entries})" if dtype.str == "<f8" else f"np.array({entries}, dtype={dtype.str!r})"
    data = base64.b64encode(value.astype(dtype).tobytes()).decode("ascii")
    lines = textwrap.wrap(data, 96)
    text = "\n".join(f"    {line!r}" for line in lines)
    return f"array({dtype.str!r}, {value.shape!r}, (\n{text}\n))"


def nested(entries: Any, write: Callable[[Any], str]) -> str:
    if isinstance(entries, list):
        return "[" + ", ".join(nested(entry, write) for entry in entries) + "]"
    return write(entries)


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
    return f"({call.function!r}, ({', '.join(arguments)}{',' if len(arguments) == 1 else ''}), {expected}),"


def sizes_sentence(arguments: dict[str, Any]) -> str:
    """'The example's sizes: N = 1, T = 2, D = 1, H = 1.' when it has an RNN problem, else ''."""
    sizes = problem_sizes(arguments)
    return f"\nThe example's sizes: {sizes_text(sizes)}.\n" if sizes else ""


# -- the script's fixed parts ---------------------------------------------------------------------

HEADER = '''{marker}
"""Reproduces the failing check {name} ({group}) of rnn-grade.

The property: {description}
{sizes}
Run it on your submission (your .py file, or a folder with __init__.py):

    python {name}.py SUBMISSION

It needs only Python and numpy. It calls your functions on the exact inputs of the failing
example, one step at a time, and compares each result with the course's reference solution on
the same call, with the grader's tolerance. It also checks that your functions leave their
arguments unchanged.

Exit status: 0 every result is correct, 1 something is wrong (shown below), 2 bad usage.
"""'''

RUNTIME = '''
import base64
import copy
import importlib.util
import signal
import sys
import traceback
from pathlib import Path

import numpy as np

RTOL, TINY = {rtol}, {tiny}  # |got - expected| <= RTOL * (|expected| + max |expected|) + TINY
TIME_LIMIT = {time_limit}  # seconds per call
# Finite differences as the grader takes them (checks.gradcheck): step, tolerance, probes per input.
FD_EPS, FD_RTOL, FD_ATOL, FD_PROBES = {fd_eps}, {fd_rtol}, {fd_atol}, 3
CACHE = "the cache"  # the reference's cache is not compared: yours is kept for later steps
SHOWN = 5  # worst entries shown per wrong array


class Cache:
    """The cache your own function returned at step `step`, position `position` of its result."""

    def __init__(self, step, position):
        self.step, self.position = step, position

    def __repr__(self):
        return f"your cache from step {{self.step + 1}}"


def array(dtype, shape, chunks):
    """An array rebuilt exactly from base64 of its bytes."""
    return np.frombuffer(base64.b64decode("".join(chunks)), dtype=dtype).reshape(shape).copy()


def load(path):
    """Import your submission from a .py file, or from a folder with __init__.py."""
    path = Path(path).resolve()
    init = path / "__init__.py" if path.is_dir() else path
    places = [str(path)] if path.is_dir() else None
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, init, submodule_search_locations=places)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def differences(got, expected, name):
    """Sentences saying where `got` is not `expected` (empty if it matches)."""
    if expected is CACHE:
        return []
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return [f"{{name}} should be a tuple of {{len(expected)}} items, but is {{describe(got)}}"]
        labels = OUTPUTS.get(name, [f"{{name}}[{{i}}]" for i in range(len(expected))])
        return [line for label, g, e in zip(labels, got, expected) for line in differences(g, e, label)]
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return [f"{{name}} should be a dict with keys {{sorted(expected)}}, but is {{describe(got)}}"]
        return [line for key in expected for line in differences(got[key], expected[key], f"{{name}}[{{key!r}}]")]
    if isinstance(expected, float):
        if isinstance(got, np.ndarray) and got.shape == () and got.dtype == np.float64:
            got = got[()]
        if type(got) not in (float, np.float64):
            return [f"{{name}} should be a float, but is {{describe(got)}}"]
        if not abs(got - expected) <= RTOL * 2 * abs(expected) + TINY:
            return [f"{{name}}: expected {{expected!r}}, got {{float(got)!r}}"]
        return []
    if not isinstance(got, np.ndarray) or got.dtype != np.float64:
        return [f"{{name}} should be a float64 numpy array, but is {{describe(got)}}"]
    if got.shape != expected.shape:
        return [f"{{name}} has shape {{got.shape}}, expected {{expected.shape}}"]
    error = np.abs(got - expected)
    allowed = RTOL * (np.abs(expected) + np.max(np.abs(expected), initial=0.0)) + TINY
    wrong = ~(error <= allowed)  # NaN counts as wrong
    if not wrong.any():
        return []
    lines = [f"{{name}}: {{how_many_wrong(int(wrong.sum()), wrong.size, 'entry', 'entries')}}; the worst:"]
    badness = np.where(np.isnan(error), np.inf, error - allowed)
    for flat in np.argsort(-badness, axis=None, kind="stable")[:min(SHOWN, int(wrong.sum()))]:
        index = np.unravel_index(flat, got.shape)
        where = "[" + ", ".join(map(str, index)) + "]"
        lines.append(f"    {{name}}{{where}}: expected {{float(expected[index])!r}}, got {{float(got[index])!r}}")
    return lines


def how_many_wrong(wrong, total, noun, nouns):
    """"1 entry of 6 is wrong", "2 entries of 6 are wrong", "all 6 entries are wrong", "the entry is wrong"."""
    if total == 1:
        return f"the {{noun}} is wrong"
    if wrong == total:
        return f"all {{total}} {{nouns}} are wrong"
    return f"1 {{noun}} of {{total}} is wrong" if wrong == 1 else f"{{wrong}} {{nouns}} of {{total}} are wrong"


def describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of dtype {{value.dtype}} and shape {{value.shape}}"
    return f"a {{type(value).__name__}}"


def modified(before, after, name):
    """Sentences naming the arguments your function changed."""
    if isinstance(before, dict):
        return [line for key in before for line in modified(before[key], after.get(key), f"{{name}}[{{key!r}}]")] \\
            if isinstance(after, dict) and set(after) == set(before) else [f"{{name}}: its keys were changed"]
    if isinstance(before, np.ndarray):
        same = isinstance(after, np.ndarray) and after.shape == before.shape and \\
            np.array_equal(after, before, equal_nan=True)
        return [] if same else [f"{{name}} was modified; work on a copy instead"]
    return []


class Hang(Exception):
    pass


def on_alarm(signum, frame):
    raise Hang()


# Where your code raised, told as rnn-grade tells it (checks/engine/isolation/caller_chain.py).
CHAIN_ENDS, ARROW = {chain_ends!r}, {arrow!r}

{caller_chain}

def where_in(error, submission):
    """Your functions on the stack of `error`, outermost first, and your line that raised:
    'rnn_forward line 108 → rnn_step_forward line 37: next_h = np.tanh(a)' ('' if none)."""
    root = str(Path(submission).resolve().parent if Path(submission).is_file() else Path(submission).resolve())
    return caller_chain(error, root, outside=(__file__,))  # this script may sit beside your file


def timed(function, arguments):
    """function(*arguments), raising Hang after TIME_LIMIT seconds (where the system has alarms)."""
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TIME_LIMIT)
    try:
        return function(*arguments)
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)


def finite_difference_problems(module, forward, backward, results):
    """Your gradients against central differences of your own forward, along random ±1 directions v:
    <gradient, v> must equal (L(θ + εv) − L(θ − εv)) / 2ε, for L = Σ output ⊙ upstream (or the loss)."""
    function, arguments, _ = STEPS[forward]
    if results[forward] is None or (backward is not None and results[backward] is None):
        return []  # the call raised: already reported
    if backward is None:  # a loss: the gradients come with it, by parameter name
        gradients = {{i: results[forward][1].get(name) for i, name in enumerate(PARAMETERS[function])
                     if isinstance(results[forward][1], dict) and name in results[forward][1]}}
        labels, upstream = {{i: f"grads[{{name!r}}]" for i, name in enumerate(PARAMETERS[function])}}, None
    else:
        gradients, labels = dict(enumerate(results[backward])), dict(enumerate(OUTPUTS[STEPS[backward][0]]))
        upstream = STEPS[backward][1][0]
    rng, problems = np.random.default_rng(0), []
    for i, gradient in gradients.items():
        for _ in range(FD_PROBES):
            v = rng.choice([-1.0, 1.0], size=np.shape(arguments[i]))
            try:
                backprop = float(np.sum(gradient * v))
                (plus, plus_size), (minus, minus_size) = (
                    objective(timed(getattr(module, function), [*arguments[:i], point, *arguments[i + 1:]]), upstream)
                    for point in (arguments[i] + FD_EPS * v, arguments[i] - FD_EPS * v))
            except Exception:
                break  # a shape or a crash, already reported
            difference = (plus - minus) / (2 * FD_EPS)
            if abs(difference - backprop) > FD_RTOL * (abs(difference) + abs(backprop)) + \
                    FD_ATOL * (1 + max(plus_size, minus_size)):
                problems.append(f"{{labels[i]}}: along a random ±1 direction v, <{{labels[i]}}, v> = "
                                f"{{backprop!r}} but finite differences of your own {{function}} give {{difference!r}}")
                break
    return problems


def objective(output, upstream):
    """(L, Σ|terms of L|): L = Σ output[0] ⊙ upstream, or the loss output[0] itself."""
    if upstream is None:
        return float(output[0]), abs(float(output[0]))
    terms = output[0] * upstream
    return float(np.sum(terms)), float(np.sum(np.abs(terms)))


def run_step(module, number, function, arguments, results, submission):
    """Call one function of yours; return the lines saying what is wrong (empty: all right)."""
    if not callable(getattr(module, function, None)):
        return [f"your submission has no function {{function}}"]
    given = tuple(results[a.step][a.position] if isinstance(a, Cache) else copy.deepcopy(a) for a in arguments)
    try:
        results.append(timed(getattr(module, function), given))
    except Hang:
        results.append(None)
        return [f"{{function}} did not finish within {{TIME_LIMIT}} s (an endless loop?)"]
    except Exception as error:
        results.append(None)
        where = where_in(error, submission)
        return [f"{{function}} raised {{type(error).__name__}}: {{error}}", *([f"    at {{where}}"] if where else [])]
    names = PARAMETERS.get(function, ())
    problems = [line for i, (before, after) in enumerate(zip(arguments, given)) if not isinstance(before, Cache)
                for line in modified(before, after, names[i] if i < len(names) else f"argument {{i + 1}}")]
    return problems + differences(results[-1], STEPS[number][2], function)


OUTPUTS = {outputs}  # the names of each function's results

PARAMETERS = {parameters}  # the names of each function's arguments


def main(argv):
    if len(argv) != 1:
        print(f"usage: python {{sys.argv[0]}} SUBMISSION   (your .py file, or a folder with __init__.py)",
              file=sys.stderr)
        return 2
    submission = Path(argv[0])
    if not (submission.is_file() or (submission / "__init__.py").is_file()):
        print(f"{{submission}}: no such .py file or folder with __init__.py", file=sys.stderr)
        return 2
    try:
        module = load(submission)
    except Exception as error:
        print(f"importing your submission raised {{type(error).__name__}}: {{error}}")
        where = where_in(error, submission)
        if where:
            print(f"    at {{where}}")
        return 1
    results, failed = [], 0
    for number, (function, arguments, _) in enumerate(STEPS):
        problems = run_step(module, number, function, arguments, results, submission)
        shown = ", ".join(repr(a) if isinstance(a, Cache) else name for name, a in
                          zip(PARAMETERS.get(function, ()), arguments))
        print(f"step {{number + 1}}: {{function}}({{shown}}): {{'WRONG' if problems else 'correct'}}")
        for line in problems:
            print(f"    {{line}}")
        failed += bool(problems)
    for forward, backward in FINITE_DIFFERENCES:
        problems = finite_difference_problems(module, forward, backward, results)
        verdict = "WRONG" if problems else "correct"
        print(f"your gradients of step {{forward + 1}}, against finite differences: {{verdict}}")
        for line in problems:
            print(f"    {{line}}")
        failed += bool(problems)
    if failed:
        total = len(STEPS) + len(FINITE_DIFFERENCES)
        verdict = how_many_wrong(failed, total, "comparison", "comparisons")
        print(f"{{verdict[0].upper()}}{{verdict[1:]}}: the check fails on your code.")
        return 1
    steps = "The step is correct (as the reference computes it)" if len(STEPS) == 1 else \
        f"All {{len(STEPS)}} steps are correct (as the reference computes them)"
    print(steps
          + (", and so are your gradients against finite differences." if FINITE_DIFFERENCES else "."))
    return 0

'''
