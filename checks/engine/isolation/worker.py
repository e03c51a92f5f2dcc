"""The worker process: imports one submission and runs its functions on request.

This module is the only code that ever imports student code. It runs in its own process, started by
``boundary.Worker``, and talks to the grading process over two pipes (``protocol``). Its standard output
and error are a capture pipe, so a student's ``print`` can never corrupt the protocol.

The grader's hello carries the submission's path and the plan of what the worker may touch and consume.
The worker caps its memory, confines itself (``lockdown``: namespaces, Landlock, seccomp, and caps on its
scratch folder's size, its processes and threads, a file's size and CPU time; by then everything it will
need is imported, at the top of this module), replies with the layers it could apply, and only then
imports the submission and replies with its functions (or why it could not be imported).

Each contract function the submission defines is then wrapped where student code looks it up, so
that entering it is recorded (``record_entries``): every answer to a call or map carries
``"entered"``, the other contract functions that call ran (absent when none). It is the evidence
that a wrong ``rnn_backward`` really called a wrong ``rnn_step_backward`` (``checks.engine.run.root_cause``),
and that a call reached a function the hello's ``"condemned"`` lists (it hung: entering it raises at once).

Requests (decoded dicts) and their answers:

    {"op": "call", "fn", "args", "cache_at"}    -> {"value": ...} | {"raised": ...} | {"not_implemented": fn},
                                                   each with {"entered": [names]} if it entered others
    {"op": "map",  "fn", "args_list", "cache_at"} -> {"values": [...]} | {"raised": ...} | ..., with
                                                   "entered" for all its calls together
    {"op": "batch", "calls": [{"fn", "args", "cache_at", "keep_cache", "caches_of"}, ...]}
                                                -> {"answers": [one "call" answer per call run]}

``cache_at`` names the position of the cache in a forward function's returned tuple. On "call" the
cache stays here and a ``Handle`` goes back; on "map" (many perturbed forwards for finite
differences) it is dropped. A handle passed back as an argument is consumed: a cache is used by
exactly one backward call, so code that pops from its cache is graded fairly.

"batch" runs several calls of one example in one round trip (a forward, the backward of its cache,
perturbed forwards): each is answered exactly as the "call" of the same function would be, in
order, stopping after the first that does not return a value. ``caches_of`` lists
[argument position, earlier call number] pairs: that argument is the cache the earlier call
returned (consumed, as by any backward). A call's cache is kept only if ``keep_cache``.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import itertools
import os
import resource
import sys
import sysconfig
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any, Callable

import numpy as np

from checks.engine.isolation.caller_chain import caller_chain
from checks.engine.isolation.confinement import Plan
from checks.engine.isolation.contract_functions import CONTRACT_CLASSES, RECORDED_FUNCTIONS
from checks.engine.isolation.course_package import gather_course_modules
from checks.engine.isolation.hung_stack import note_entry, watch_for_hangs
from checks.engine.isolation.lockdown import lock_down
from checks.engine.isolation.protocol import PROGRESS, Handle, read_message, write_message

SUBMISSION_MODULE = "submission"
HARNESS = (str(Path(__file__).parents[1]),)  # checks/, as its frames name it: never the student's code
_handle_numbers = itertools.count(1)
_progress: list[int | None] = [None]  # the file where note_progress writes (None: in the grader's process)
_entered: set[str] = set()  # the contract functions entered since the running call began (record_entries)
_condemned: set[str] = set()  # the contract functions that hung or crashed twice: entering one raises NotEntered
_torch_calls: list[ModuleType | None] = [None]  # checks.engine.isolation.torch_calls, once preload imported torch


def main() -> None:
    requests = os.fdopen(int(sys.argv[1]), "rb")
    responses = os.fdopen(int(sys.argv[2]), "wb")
    _progress[0] = int(sys.argv[3])
    watch_for_hangs(_progress[0], int(sys.argv[4]))  # while the grader still trusts this process: see hung_stack
    hello = read_message(requests)
    _condemned.update(name for name in hello.get("condemned", []) if name in RECORDED_FUNCTIONS)
    preload(hello.get("preload", []))
    limit_memory(hello.get("memory_limit"))
    confinement = lock_down(Plan.from_data(hello["plan"]))
    write_message(responses, {"confinement": confinement.as_data()})  # before any student code runs
    policy = ImportPolicy(hello.get("allowed_packages", []), course_modules=bool(hello.get("paths")))
    policy.install()
    module, import_error, missing = load_submission(Path(hello["submission"]), hello.get("paths", []), policy)
    write_message(responses, {"import_error": import_error, "missing_module": missing,
                              "functions": public_functions(module)})
    if module is None:
        return
    record_entries(module)
    serve(module, submission_root(Path(hello["submission"])), requests, responses)


def preload(packages: list) -> None:
    """Import what the assignment's API needs before the lock-down: torch's import reads hundreds of files and
    starts thread pools, which a confined worker may not do. Its worker-side calls
    (``checks.engine.isolation.torch_calls``) come with it; a grade without torch never imports either."""
    if "torch" in packages:
        from checks.engine.isolation import torch_calls  # imports torch

        torch_calls.prepare(exception_text, submission_location)  # the worker's words for a student's error
        _torch_calls[0] = torch_calls


class ImportPolicy:
    """What a submission may import: the standard library, numpy, the packages the course allows
    (``--allow-package``, each at the place the grader found it), its own files and the course's
    ``--path`` folders. Nothing else of site-packages, and never the grader's own packages.

    A meta path finder, placed first. It is the rule whether or not the kernel confines the worker
    (where it does, a file outside the rule could not be read anyway), so a grade does not depend
    on the machine. ``from reference import *`` would otherwise hand a submission the answers. The
    grader's modules the worker imported itself are in ``sys.modules``, which no finder is asked about.
    """

    FORBIDDEN = {"reference": "the grader's reference solution", "checks": "the grader's own modules"}
    STANDARD_FINDERS = (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter,
                        importlib.machinery.PathFinder)

    def __init__(self, packages: list[dict], course_modules: bool) -> None:
        self.packages = {package["name"]: package for package in packages}  # {"name", "origin", "search"}
        self.course_modules = course_modules

    def install(self) -> None:
        """Be the first finder; keep only the standard ones after it, and only the standard library's
        folders on sys.path (site-packages, and what .pth files added, go)."""
        sys.meta_path[:] = [self, *(finder for finder in sys.meta_path if finder in self.STANDARD_FINDERS)]
        sys.path[:] = [entry for entry in sys.path if is_standard_library(entry)]
        importlib.invalidate_caches()  # folder listings cached before the lock-down

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        package = name.partition(".")[0]
        if package in self.FORBIDDEN:
            raise ImportError(f"{self.FORBIDDEN[package]} ({name!r}) cannot be imported by a submission")
        if path is None and name in self.packages:
            found = self.packages[name]
            if found["origin"] is None:  # a namespace package
                spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
                spec.submodule_search_locations = list(found["search"])
                return spec
            return importlib.util.spec_from_file_location(name, found["origin"],
                                                          submodule_search_locations=found["search"])
        return None

    def __str__(self) -> str:
        """What may be imported, in words for a student: "numpy and the Python standard library"."""
        names = ["numpy", *self.packages, "the Python standard library"]
        if self.course_modules:
            names.append("the modules the course provides")
        return ", ".join(names[:-1]) + " and " + names[-1]


def is_standard_library(entry: str) -> bool:
    """True for the standard library's folders on sys.path (and its zip file, if any)."""
    version = f"python{sys.version_info.major}{sys.version_info.minor}.zip"
    folders = (sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"), sysconfig.get_config_var("DESTSHARED"))
    return os.path.realpath(entry) in {os.path.realpath(f) for f in folders if f} or os.path.basename(entry) == version


def limit_memory(limit_bytes: int | None) -> None:
    """Cap the address space, so a runaway allocation fails here instead of hurting the machine."""
    if limit_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def load_submission(path: Path, extra_paths: list[str],
                    allowed: ImportPolicy) -> tuple[ModuleType | None, str | None, str | None]:
    """Import the submission file or package: (module, None, None), or (None, a student-readable
    reason, the name of the missing module if that was the reason)."""
    is_package = path.is_dir()
    init = path / "__init__.py" if is_package else path
    # Sibling modules (a student's helpers) and course-provided folders must be importable.
    sys.path[:0] = [*extra_paths, str(path.parent)]
    spec = importlib.util.spec_from_file_location(
        SUBMISSION_MODULE, init, submodule_search_locations=[str(path)] if is_package else None
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[SUBMISSION_MODULE] = module
    try:
        spec.loader.exec_module(module)
        if is_package:
            gather_course_modules(module, path, lambda exc: explain_import_failure(exc, path, allowed))
    except BaseException as exc:  # noqa: BLE001 - any failure at import is the submission's
        missing = exc.name if isinstance(exc, ModuleNotFoundError) and type(exc.name) is str else None
        return None, explain_import_failure(exc, path, allowed), missing
    finally:
        flush_output()
    return module, None, None


def explain_import_failure(exc: BaseException, path: Path, allowed: ImportPolicy) -> str:
    """Why the import failed, for the student (what to do about a missing module is the instructor's)."""
    if isinstance(exc, SyntaxError):
        where = f"{Path(exc.filename or path).name}, line {exc.lineno}"
        code = (exc.text or "").rstrip()
        return f"SyntaxError in {where}: {exc.msg}" + (f"\n    {code.strip()}" if code else "")
    if isinstance(exc, ModuleNotFoundError):
        return (f"the submission imports module {exc.name!r}, which this assignment does not provide: only "
                f"{allowed} may be imported ({submission_location(exc, submission_root(path))})")
    return f"importing the submission raised {exception_text(exc)} ({submission_location(exc, submission_root(path))})"


def public_functions(module: ModuleType | None) -> list[str]:
    """The module's public callables, and "Class.method" for each contract method its contract classes define."""
    if module is None:
        return []
    names = {name for name, value in vars(module).items() if callable(value) and not name.startswith("_")}
    for cls, methods in CONTRACT_CLASSES.items():
        if isinstance(vars(module).get(cls), type):
            names.update(f"{cls}.{method}" for method in methods if defined_method(vars(module)[cls], method))
    return sorted(names)


def defined_method(cls: type, method: str) -> Callable | None:
    """``cls``'s attribute ``method`` if it is callable, else None; whatever looking it up raises (a
    metaclass's ``__getattr__`` is the submission's code) means it has none."""
    try:
        found = getattr(cls, method, None)
        return found if callable(found) else None
    except Exception:  # noqa: BLE001 - a hostile class only loses that method
        return None


def record_entries(module: ModuleType) -> None:
    """Wrap each contract function ``module`` defines so that entering it is noted in ``_entered``.

    The wrapper goes where student code looks the function up when it runs: the module's namespace,
    and each contract function's and contract class method's own globals (a package's ``__init__`` that
    does ``from .layers import *`` has functions that look names up in ``layers``; CS231n's
    ``CaptioningRNN`` looks them up in ``classifiers/rnn.py``). A name is replaced only where it is
    that very function, so nothing else changes. A function held some other way (a closure, a
    default argument, another name) is not recorded: then nothing is said of it, the safe direction.
    """
    try:
        namespace = vars(module)
        originals = {name: function for name in RECORDED_FUNCTIONS
                     if type(function := namespace.get(name)) is FunctionType}
        recorded = {name: entry_recorded(name, function) for name, function in originals.items()}
        methods = [method for cls in CONTRACT_CLASSES if isinstance(namespace.get(cls), type)
                   for method in vars(namespace[cls]).values() if type(method) is FunctionType]
        scopes = {id(scope): scope for scope in (namespace, *(f.__globals__ for f in (*originals.values(), *methods)))}
        for scope in scopes.values():
            for name, function in originals.items():
                if scope.get(name) is function:
                    scope[name] = recorded[name]
    except BaseException:  # noqa: BLE001 - a hostile namespace loses only the record of entries, never a grade
        pass


class NotEntered(BaseException):
    """Entering a condemned function; not an Exception, which a student's ``except Exception`` would swallow."""


def entry_recorded(name: str, function: FunctionType) -> Callable:
    """``function``, noting ``name`` in ``_entered`` and counting it (``hung_stack.note_entry``) when entered:
    the same result, the same exceptions, unless ``name`` is condemned (then NotEntered at once). Its one
    extra frame is in this file, which caller chains leave out as the grader's (``HARNESS``)."""
    index = RECORDED_FUNCTIONS.index(name)
    @functools.wraps(function)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        _entered.add(name)
        if name in _condemned:
            raise NotEntered(f"{name} is not called again")
        note_entry(index)
        return function(*args, **kwargs)

    return recorded


def submission_root(path: Path) -> Path:
    """The folder whose files count as the submission's own when locating an error."""
    return path if path.is_dir() else path.parent


def serve(module: ModuleType, origin: Path, requests: Any, responses: Any) -> None:
    caches: dict[int, Any] = {}
    while True:
        try:
            request = read_message(requests)
        except EOFError:
            return
        answer = answer_request(module, request, caches, origin)
        flush_output()
        write_message(responses, answer)


def answer_request(module: ModuleType, request: dict, caches: dict[int, Any], origin: Path) -> dict:
    if request["op"] == "batch":
        return {"answers": answer_batch(module, request["calls"], caches, origin)}
    _entered.clear()
    if request["op"].startswith("torch_") and _torch_calls[0] is not None:
        answer = _torch_calls[0].outcome(module, request, origin)
    else:
        answer = outcome(module, request, caches, origin)
    entered = sorted(_entered - {request["fn"]})  # a function calling itself enters nothing else
    if entered:
        answer["entered"] = entered
    return answer


def outcome(module: ModuleType, request: dict, caches: dict[int, Any], origin: Path) -> dict:
    """How a "call" or "map" request ended: its value(s), what it raised, or that it is not implemented."""
    name = request["fn"]
    function = contract_callable(module, name)
    if not callable(function):
        return {"not_implemented": name}
    try:
        if request["op"] == "map":
            return {"values": [call(function, args, request.get("cache_at"), None) for args in request["args_list"]]}
        if request.get("return_arguments"):
            value, arguments = call_returning_arguments(function, request["args"], request.get("cache_at"), caches)
            return {"value": value, "arguments_after": arguments}
        return {"value": call(function, request["args"], request.get("cache_at"), caches)}
    except NotImplementedError:
        return {"not_implemented": name}
    except MemoryError:
        return {"raised": f"memory limit exceeded in {name}"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        return {"raised": f"{name} raised {exception_text(exc)} ({submission_location(exc, origin)})"}


def contract_callable(module: ModuleType, name: str) -> Any:
    """The submission's function ``name``; for "Class.method", a function of (constructor keywords, params,
    *arguments) that calls that method of a fresh object (``call_method``). None if there is none."""
    if "." not in name:
        return getattr(module, name, None)
    class_name, method = name.split(".", 1)
    cls = vars(module).get(class_name)
    if not isinstance(cls, type) or defined_method(cls, method) is None:
        return None
    return functools.partial(call_method, cls, method)


def call_method(cls: type, method: str, keywords: dict, params: dict, *args: Any) -> Any:
    """``cls(**keywords, dtype=np.float64).method(*args)``, with the object's ``params`` set to the grader's.

    The constructor draws the student's own random initialisation; every entry of ``params`` then
    replaces it, so the result depends only on the grader's arrays. The dict itself is kept (updated,
    not replaced), in case the constructor handed it to something else."""
    model = cls(**keywords, dtype=np.float64)
    if type(getattr(model, "params", None)) is not dict:
        raise TypeError(f"{cls.__name__}'s constructor must set self.params to a dict of the model's arrays")
    model.params.update(params)
    return getattr(model, method)(*args)


def answer_batch(module: ModuleType, calls: list[dict], caches: dict[int, Any], origin: Path) -> list[dict]:
    """Answer each call as a "call" request, earlier results' caches in place of ``caches_of``
    arguments; stop after the first answer that is not a value."""
    answers: list[dict] = []
    for k, request in enumerate(calls):
        note_progress(k)
        args = list(request["args"])
        for position, earlier in request.get("caches_of", []):
            args[position] = cache_returned(answers[earlier], calls[earlier].get("cache_at"))
        answer = answer_request(module, {"op": "call", "fn": request["fn"], "args": args,
                                         "cache_at": request.get("cache_at"),
                                         "return_arguments": request.get("return_arguments")}, caches, origin)
        if not request.get("keep_cache") and "value" in answer:
            forget_cache(answer["value"], request.get("cache_at"), caches)
        answers.append(answer)
        if "value" not in answer:
            break
    return answers


def note_progress(k: int) -> None:
    """Tell the grader that call k of the batch is starting: if it hangs or crashes, it is charged."""
    if _progress[0] is not None:
        try:
            os.pwrite(_progress[0], PROGRESS.pack(k), 0)
        except OSError:  # the submission closed it: only the attribution of its own fault is lost
            pass


def cache_returned(answer: dict, cache_at: int | None) -> Any:
    """The handle of the cache an earlier call of the batch returned (None if it returned none)."""
    value = answer.get("value")
    if cache_at is None or type(value) is not tuple or len(value) <= cache_at:
        return None
    return value[cache_at]


def forget_cache(value: Any, cache_at: int | None, caches: dict[int, Any]) -> None:
    """Drop a kept cache no later call will use (a perturbed forward's); its handle stays dangling."""
    handle = cache_returned({"value": value}, cache_at)
    if type(handle) is Handle:
        caches.pop(handle.number, None)


def call(function: Any, args: list, cache_at: int | None, caches: dict[int, Any] | None) -> Any:
    """Call with handles swapped for their caches; keep (or drop) the returned cache."""
    return call_returning_arguments(function, args, cache_at, caches)[0]


def call_returning_arguments(function: Any, args: list, cache_at: int | None, caches: dict[int, Any] | None):
    """``call``, also returning the arguments as they are afterwards (caches omitted), to detect mutation."""
    actual = [take_cache(arg, caches) for arg in args]
    value = keep_cache(function(*actual), cache_at, caches)
    return value, [None if type(arg) is Handle else after for arg, after in zip(args, actual)]


def keep_cache(value: Any, cache_at: int | None, caches: dict[int, Any] | None) -> Any:
    if cache_at is None or type(value) not in (tuple, list) or len(value) <= cache_at:
        return value
    value = list(value)
    if caches is None:
        value[cache_at] = None
    else:
        number = next(_handle_numbers)
        caches[number] = value[cache_at]
        value[cache_at] = Handle(number)
    return tuple(value)


def take_cache(arg: Any, caches: dict[int, Any] | None) -> Any:
    if type(arg) is not Handle:
        return arg
    if caches is None or arg.number not in caches:
        raise LookupError("the grader passed a cache that was already used (a grader bug)")
    return caches.pop(arg.number)


def exception_text(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit (sys.exit({exc.code!r}) was called)"
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a broken __str__ is still a message
        message = "<unprintable>"
    return f"{type(exc).__name__}: {message[:500]}" if message else type(exc).__name__


def submission_location(exc: BaseException, origin: Path) -> str:
    """Where in the submission ``exc`` was raised: its own frames, outermost first, and the innermost
    line ('rnn_forward line 108 → rnn_step_forward line 37: <code>', ``checks.engine.isolation.caller_chain``)."""
    return caller_chain(exc, str(origin), HARNESS) or "no line of the submission on the stack"


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a student may have replaced the streams
            pass


if __name__ == "__main__":
    main()
