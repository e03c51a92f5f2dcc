"""The fixed parts of a standalone reproduction script (``checks.engine.run.repro``), as format strings.

HEADER is the script's docstring; RUNTIME its code: loading the submission, calling each step with a
time limit, comparing with the expected results at the grader's tolerance, checking that no argument
was modified, finite differences of the submission's own forward, and telling where its code raised.
The script needs only Python and numpy, so everything it runs is written out here, as text.
"""

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

#: Loading the submission (a .py file, a folder with __init__.py, or a notebook read as rnn-grade reads it), and the
#: command line that names it. Plain text (not a format string), shared by every kind of script (``repro``,
#: ``repro_torch_runtime``, ``repro_column_major``).
LOADING = '''def load(path):
    """Import your submission from a .py file, a folder with __init__.py, or a notebook (.ipynb)."""
    path = Path(path).resolve()
    if path.suffix == ".ipynb":
        return load_notebook(path)
    init = path / "__init__.py" if path.is_dir() else path
    places = [str(path)] if path.is_dir() else None
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, init, submodule_search_locations=places)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def load_notebook(path):
    """Your notebook's definitions, read as rnn-grade reads them (its top-level def, class, import and constant
    cells; nothing else is run), with rnn-grade's own reader, which needs rnn-grade installed."""
    try:
        from checks.engine.inputs.notebook import read_notebook
    except ImportError:
        sys.exit("This script reads a notebook with rnn-grade's reader, which is not installed here "
                 "(pip install rnn-grade). Or export your notebook as a .py file and pass that file.")
    sys.path.insert(0, str(path.parent))
    module = types.ModuleType(path.stem)
    module.__file__ = str(path)
    sys.modules[path.stem] = module
    source, name = read_notebook(path.read_bytes(), path.name).source, f"{path}.py"  # the module read from it
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)  # its lines, in tracebacks
    exec(compile(source, name, "exec"), vars(module))
    return module


def usage_problem(argv):
    """Why the command line cannot be run (bad usage, exit 2), or None."""
    if len(argv) != 1:
        return f"usage: python {sys.argv[0]} SUBMISSION   (your .py file, a folder with __init__.py, or your notebook)"
    submission = Path(argv[0])
    if not (submission.is_file() or (submission / "__init__.py").is_file()):
        return f"{submission}: no such .py file, folder with __init__.py or notebook"
    return None
'''

#: Calling the student's code with a time limit, and the grader's comparison (needs TIME_LIMIT, RTOL, TINY, signal
#: and numpy): plain text, shared by the scripts that check a property themselves (``repro_torch_runtime``,
#: ``repro_column_major_runtime``).
CALLING = '''def on_alarm(signum, frame):
    raise TimeoutError(f"your code did not return within {TIME_LIMIT} s")


def limited(function, *args, **kwargs):
    """function(*args, **kwargs), stopped after TIME_LIMIT seconds (where the system has alarms)."""
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TIME_LIMIT)
    try:
        return function(*args, **kwargs)
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)


def mismatch(got, expected):
    """None if got equals expected within the grader's tolerance, else where it differs most."""
    scale = float(np.max(np.abs(expected), initial=0.0))
    error, allowed = np.abs(got - expected), RTOL * (np.abs(expected) + scale) + TINY
    if np.all(error <= allowed):
        return None
    worst = np.unravel_index(np.argmax(np.where(np.isnan(error), np.inf, error - allowed)), error.shape)
    return (f"off by up to {float(np.nanmax(error, initial=0.0)):.3g} at index {tuple(int(i) for i in worst)}: "
            f"expected {float(expected[worst]):.9g}, got {float(got[worst]):.9g} (relative tolerance {RTOL:g})")
'''

RUNTIME = '''
import base64
import copy
import importlib.util
import linecache
import signal
import sys
import traceback
import types
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


class Captions:
    """The reference's sampled captions (N, max_length). Yours must equal them up to each row's first
    <END>; after it a caption may go on as the reference's does, then hold <NULL> to the end (a sampler
    that stopped), as the grader allows."""

    def __init__(self, words, end, null):
        self.words, self.end, self.null = words, end, null


def array(dtype, shape, chunks):
    """An array rebuilt exactly from base64 of its bytes."""
    return np.frombuffer(base64.b64decode("".join(chunks)), dtype=dtype).reshape(shape).copy()


{loading}

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
    if isinstance(expected, Captions):
        return caption_differences(got, expected, name)
    if isinstance(expected, float):
        if isinstance(got, np.ndarray) and got.shape == () and got.dtype == np.float64:
            got = got[()]
        if type(got) not in (float, np.float64):
            return [f"{{name}} should be a float, but is {{describe(got)}}"]
        if not abs(got - expected) <= RTOL * 2 * abs(expected) + TINY:
            return [f"{{name}}: expected {{expected!r}}, got {{float(got)!r}}"]
        return []
    integers = expected.dtype.kind in "iu"  # word indices (sampled captions): compared exactly
    if not isinstance(got, np.ndarray) or (got.dtype.kind not in "iu" if integers else got.dtype != np.float64):
        kind = "an integer" if integers else "a float64"
        return [f"{{name}} should be {{kind}} numpy array, but is {{describe(got)}}"]
    if got.shape != expected.shape:
        return [f"{{name}} has shape {{got.shape}}, expected {{expected.shape}}"]
    if integers:
        return wrong_entries(name, got, expected, got != expected, (got != expected).astype(float), int)
    error = np.abs(got - expected)
    allowed = RTOL * (np.abs(expected) + np.max(np.abs(expected), initial=0.0)) + TINY
    wrong = ~(error <= allowed)  # NaN counts as wrong
    return wrong_entries(name, got, expected, wrong, np.where(np.isnan(error), np.inf, error - allowed), float)


def caption_differences(got, expected, name):
    """Sentences saying where your sampled captions `got` are not the reference's (Captions)."""
    words = expected.words
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "iu":
        return [f"{{name}} should be an integer numpy array, but is {{describe(got)}}"]
    if got.shape != words.shape:
        return [f"{{name}} has shape {{got.shape}}, expected {{words.shape}}"]
    wrong = got != words
    for n in range(len(words)):
        ends = np.flatnonzero(words[n] == expected.end)
        if ends.size and not wrong[n, :ends[0] + 1].any() and wrong[n, ends[0] + 1:].any():
            stop = ends[0] + 1 + int(np.argmax(wrong[n, ends[0] + 1:]))  # where yours leaves the reference's
            wrong[n, stop:] = got[n, stop:] != expected.null
    return wrong_entries(name, got, words, wrong, wrong.astype(float), int)


def wrong_entries(name, got, expected, wrong, badness, kind):
    """The count of wrong entries and the worst (largest badness) of them, expected against got."""
    if not wrong.any():
        return []
    lines = [f"{{name}}: {{how_many_wrong(int(wrong.sum()), wrong.size, 'entry', 'entries')}}; the worst:"]
    for flat in np.argsort(-badness, axis=None, kind="stable")[:min(SHOWN, int(wrong.sum()))]:
        index = np.unravel_index(flat, got.shape)
        where = "[" + ", ".join(map(str, index)) + "]"
        lines.append(f"    {{name}}{{where}}: expected {{kind(expected[index])!r}}, got {{kind(got[index])!r}}")
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


def finite_difference_problems(module, forward, backward, gradients, results):
    """Your gradients against central differences of your own forward, along random ±1 directions v:
    <gradient, v> must equal (L(θ + εv) − L(θ − εv)) / 2ε, for L = Σ_k Σ output_k ⊙ upstream_k over
    the forward's arrays and the backward's upstream gradients (those before the cache), or the loss."""
    function, arguments, _ = STEPS[forward]
    if results[forward] is None or (backward is not None and results[backward] is None):
        return []  # the call raised: already reported
    upstream = None
    if backward is not None:
        given = STEPS[backward][1]
        upstream = given[:next((k for k, a in enumerate(given) if isinstance(a, Cache)), len(given))]
    rng, problems = np.random.default_rng(0), []
    for label, where, argument in gradients:
        try:
            gradient, value = at(results, where), at(arguments, argument)
        except (KeyError, IndexError, TypeError):
            continue  # a missing gradient: already reported
        for _ in range(FD_PROBES):
            v = rng.choice([-1.0, 1.0], size=np.shape(value))
            try:
                backprop = float(np.sum(gradient * v))
                (plus, plus_size), (minus, minus_size) = (
                    objective(timed(function_of(module, function), perturbed(arguments, argument, point)), upstream)
                    for point in (value + FD_EPS * v, value - FD_EPS * v))
            except Exception:
                break  # a shape or a crash, already reported
            difference = (plus - minus) / (2 * FD_EPS)
            if abs(difference - backprop) > FD_RTOL * (abs(difference) + abs(backprop)) + \
                    FD_ATOL * (1 + max(plus_size, minus_size)):
                problems.append(f"{{label}}: along a random ±1 direction v, <{{label}}, v> = "
                                f"{{backprop!r}} but finite differences of your own {{function}} give {{difference!r}}")
                break
    return problems


def at(values, place):
    """values[place[0]][place[1]]...: a result, an argument, or an entry of a dict among them."""
    for key in place:
        values = values[key]
    return values


def perturbed(arguments, place, point):
    """A copy of the arguments with the one at `place` (an argument, or an entry of a dict argument) set to `point`."""
    changed = copy.deepcopy(list(arguments))
    holder = at(changed, place[:-1])
    holder[place[-1]] = point
    return changed


def objective(output, upstream):
    """(L, Σ|terms of L|): L = Σ_k Σ output[k] ⊙ upstream[k], or the loss output[0] itself."""
    if upstream is None:
        return float(output[0]), abs(float(output[0]))
    terms = [np.asarray(out) * up for out, up in zip(output, upstream)]
    return float(sum(np.sum(t) for t in terms)), float(sum(np.sum(np.abs(t)) for t in terms))


def function_of(module, name):
    """Your function `name`; for a method "CaptioningRNN.loss", a function of (model, params, *arguments)
    that calls it as the grader does: on a fresh CaptioningRNN(**model, dtype=np.float64) whose params
    are updated with `params`. None if your submission has none."""
    if "." not in name:
        found = getattr(module, name, None)
        return found if callable(found) else None
    class_name, method = name.split(".", 1)
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not callable(getattr(cls, method, None)):
        return None

    def call(model, params, *arguments):
        obj = cls(**model, dtype=np.float64)
        if not isinstance(getattr(obj, "params", None), dict):
            raise TypeError(f"{{class_name}}'s constructor must set self.params to a dict of the model's arrays")
        obj.params.update(params)
        return getattr(obj, method)(*arguments)
    return call


def run_step(module, number, function, arguments, results, submission):
    """Call one function of yours; return the lines saying what is wrong (empty: all right)."""
    if function_of(module, function) is None:
        return [f"your submission has no function {{function}}"]
    given = tuple(results[a.step][a.position] if isinstance(a, Cache) else copy.deepcopy(a) for a in arguments)
    try:
        results.append(timed(function_of(module, function), given))
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
    expected, names = STEPS[number][2], OUTPUTS.get(function, ())
    # One result, not a tuple (the embedding's dW, sampled captions): named as the contract names it.
    label = names[0] if len(names) == 1 and not isinstance(expected, tuple) else function
    return problems + differences(results[-1], expected, label)


OUTPUTS = {outputs}  # the names of each function's results

PARAMETERS = {parameters}  # the names of each function's arguments


def main(argv):
    problem = usage_problem(argv)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    submission = Path(argv[0])
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
    for forward, backward, gradients in FINITE_DIFFERENCES:
        problems = finite_difference_problems(module, forward, backward, gradients, results)
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
