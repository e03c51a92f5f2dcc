"""The worker process: imports one submission and runs its functions on request.

This module is the only code that ever imports student code. It runs in its own process, started
by ``checks.engine.isolation.Worker``, and talks to the grading process over two pipes using
``checks.engine.protocol``. Its standard output and error are a capture pipe, so a student's ``print``
can never corrupt the protocol.

Requests (decoded dicts) and their answers:

    {"op": "call", "fn", "args", "cache_at"}    -> {"value": ...} | {"raised": ...} | {"not_implemented": fn}
    {"op": "map",  "fn", "args_list", "cache_at"} -> {"values": [...]} | {"raised": ...} | ...

``cache_at`` names the position of the cache in a forward function's returned tuple. On "call" the
cache stays here and a ``Handle`` goes back; on "map" (many perturbed forwards for finite
differences) it is dropped. A handle passed back as an argument is consumed: a cache is used by
exactly one backward call, so code that pops from its cache is graded fairly.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import resource
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from checks.engine.protocol import Handle, read_message, write_message

SUBMISSION_MODULE = "submission"
_handle_numbers = itertools.count(1)


def main() -> None:
    requests = os.fdopen(int(sys.argv[1]), "rb")
    responses = os.fdopen(int(sys.argv[2]), "wb")
    hello = read_message(requests)
    limit_memory(hello.get("memory_limit"))
    sys.meta_path.insert(0, ForbiddenImports())
    module, import_error = load_submission(Path(hello["submission"]), hello.get("paths", []))
    write_message(responses, {"import_error": import_error, "functions": public_functions(module)})
    if module is None:
        return
    serve(module, submission_root(Path(hello["submission"])), requests, responses)


class ForbiddenImports:
    """A meta path finder that refuses the grader's reference solution to submission code.

    ``from reference import *`` would otherwise hand a submission the answers, since the worker
    runs in the grader's environment.
    """

    FORBIDDEN = frozenset({"reference"})

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in self.FORBIDDEN:
            raise ImportError(f"the grader's reference solution ({name!r}) cannot be imported by a submission")
        return None


def limit_memory(limit_bytes: int | None) -> None:
    """Cap the address space, so a runaway allocation fails here instead of hurting the machine."""
    if limit_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def load_submission(path: Path, extra_paths: list[str]) -> tuple[ModuleType | None, str | None]:
    """Import the submission file or package; on failure return a student-readable reason."""
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
    except BaseException as exc:  # noqa: BLE001 - any failure at import is the submission's
        return None, explain_import_failure(exc, path)
    finally:
        flush_output()
    return module, None


def explain_import_failure(exc: BaseException, path: Path) -> str:
    if isinstance(exc, SyntaxError):
        where = f"{Path(exc.filename or path).name}, line {exc.lineno}"
        code = (exc.text or "").rstrip()
        return f"SyntaxError in {where}: {exc.msg}" + (f"\n    {code.strip()}" if code else "")
    if isinstance(exc, ModuleNotFoundError):
        return (
            f"the submission imports module {exc.name!r}, which is not available "
            f"({submission_location(exc, submission_root(path))}). If your course provides it, pass its folder "
            "with --path FOLDER."
        )
    return f"importing the submission raised {exception_text(exc)} ({submission_location(exc, submission_root(path))})"


def public_functions(module: ModuleType | None) -> list[str]:
    if module is None:
        return []
    return sorted(name for name, value in vars(module).items() if callable(value) and not name.startswith("_"))


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
    name = request["fn"]
    function = getattr(module, name, None)
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
    """'file.py, line 42, in rnn_backward: <code>' for the deepest frame inside the submission."""
    root = str(origin)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(root)]
    if not frames:
        return "no line of the submission on the stack"
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f"{Path(frame.filename).name}, line {frame.lineno}, in {frame.name}{code}"


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a student may have replaced the streams
            pass


if __name__ == "__main__":
    main()
