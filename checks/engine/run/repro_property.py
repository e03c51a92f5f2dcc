"""Reproduction scripts for a self-check: the failing check itself, run again on its failing example.

A self-check has no reference solution, so there are no expected results to write into a script
(``checks.engine.run.repro.script_for`` compares with the reference's). Instead the script rebuilds
the example's arguments exactly (``checks.engine.run.repro_values``) and runs the check's own
property on them, on the student's code in rnn-grade's isolated worker, as the self-check did::

    python <check>.py SUBMISSION    # exits 1 with the check's message while the mistake is there, 0 once fixed

It needs the rnn-grade-student package the self-check ran from (the check's module and the worker),
which is installed wherever a self-check runs. A check that a script cannot import by name (one from
a course's ``--checks-dir`` folder) gets no script: ``property_script_for`` raises NotReproducible,
and ``checks.engine.run.repro.attach_scripts`` tells the student why.
"""

from __future__ import annotations

import base64
import importlib
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from checks.engine.inputs.intake import REPRO_SCRIPT_MARKER
from checks.engine.isolation.boundary import WorkerFault
from checks.engine.isolation.contract import NotImplementedInSubmission
from checks.engine.run.counterexample import SUBMISSION_FAULTS, Counterexample, problem_sizes, sizes_text
from checks.engine.run.repro_values import LITERAL_LIMIT, Names, NotReproducible, array_literal, literal
from checks.engine.run.runner import open_submission
from checks.registry import Check

IMPORTABLE = "checks."  # the built-in checks' modules: what a script can import by name

HEADER = '''{marker}
"""Reproduces the failing check {name} ({group}) of your rnn-grade self-check.

The property: {description}
{sizes}
Run it on your submission (your .py file, or a folder with __init__.py):

    python {name}.py SUBMISSION

The self-check has no solution to compare with, so this script runs the check itself again, on the
exact inputs of the failing example, as the self-check ran it (your code in rnn-grade's isolated
worker). It needs the rnn-grade-student package you self-checked with.

Exit status: 0 the check passes on this example, 1 it fails (shown below), 2 bad usage.
"""
import sys

import numpy as np

from checks.engine.run.repro_property import array, reproduce
{imports}

# -- the failing example's inputs {rule}
'''

FOOTER = '''
ARGUMENTS = {arguments}

if __name__ == "__main__":
    sys.exit(reproduce({module!r}, {name!r}, ARGUMENTS, sys.argv[1:], allow_unit_axes={allow_unit_axes!r}))
'''


def property_script_for(check: Check, example: Counterexample) -> str:
    """The text of a script that runs ``check`` on ``example``'s arguments; NotReproducible if it cannot."""
    module = check.function.__module__
    if not module.startswith(IMPORTABLE):
        raise NotReproducible("it is a course's own check (from --checks-dir), which a script cannot import")
    names, imports = Names(), set()
    arguments = {key: argument_literal(value, names, key, imports) for key, value in example.arguments.items()}
    sizes = problem_sizes(example.arguments)
    header = HEADER.format(marker=REPRO_SCRIPT_MARKER, name=check.name, group=check.group,
                           description=check.description, sizes=f"\nThe example's sizes: {sizes_text(sizes)}.\n"
                           if sizes else "", imports="\n".join(sorted(imports)), rule="-" * 60)
    written = "{" + ", ".join(f"{key!r}: {text}" for key, text in arguments.items()) + "}"
    return header + "\n".join(names.definitions) + "\n" + FOOTER.format(
        arguments=written, module=module, name=check.name, allow_unit_axes=check.policy.charges_shape_once)


def argument_literal(value: Any, names: Names, wanted: str, imports: set[str]) -> str:
    """``value`` as Python source: a problem (a NamedTuple of ``checks.strategies``) by its class and
    fields, one a line, imported by the script; a small array in place; anything else as
    ``repro_values.literal`` writes it (a larger array by a name defined above)."""
    kind = type(value)
    if isinstance(value, tuple) and hasattr(kind, "_fields"):
        if not kind.__module__.startswith(IMPORTABLE):
            raise NotReproducible(f"a value of type {kind.__name__} cannot be written into a script")
        imports.add(f"from {kind.__module__} import {kind.__name__}")
        fields = "".join(f"\n    {field}={argument_literal(getattr(value, field), names, field, imports)},"
                         for field in kind._fields)
        return f"{kind.__name__}({fields}\n)"
    if isinstance(value, np.ndarray) and value.size <= LITERAL_LIMIT:
        return array_literal(value)  # in place: a reader sees each input, even two that are equal
    if type(value) in (tuple, list):  # a problem and its window, say: each item written the same way
        items = [argument_literal(item, names, f"{wanted}_{i}", imports) for i, item in enumerate(value)]
        return f"({', '.join(items)}{',' if len(items) == 1 else ''})" if type(value) is tuple \
            else f"[{', '.join(items)}]"
    if type(value) is dict and all(type(key) is str for key in value):
        return "{" + ", ".join(f"{key!r}: {argument_literal(item, names, f'{wanted}_{key}', imports)}"
                               for key, item in value.items()) + "}"
    return literal(value, names, wanted)


def array(dtype: str, shape: tuple[int, ...], chunks: Sequence[str]) -> np.ndarray:
    """An array rebuilt exactly from base64 of its bytes (how ``repro_values`` writes larger arrays)."""
    return np.frombuffer(base64.b64decode("".join(chunks)), dtype=dtype).reshape(shape).copy()


# -- what the script runs ------------------------------------------------------------------------


def reproduce(module: str, name: str, arguments: dict[str, Any], argv: Sequence[str],
              allow_unit_axes: bool = False) -> int:
    """Run the check ``module.name`` once on ``arguments`` against the submission ``argv[0]``, print the
    verdict, and return the exit status: 0 it passes, 1 it fails, 2 bad usage."""
    if len(argv) != 1:
        print(f"usage: python {sys.argv[0]} SUBMISSION   (your .py file, or a folder with __init__.py)",
              file=sys.stderr)
        return 2
    path = Path(argv[0])
    if not (path.is_file() or (path / "__init__.py").is_file()):
        print(f"{path}: no such .py file or folder with __init__.py", file=sys.stderr)
        return 2
    body = getattr(importlib.import_module(module), name).hypothesis.inner_test
    sub, why = open_submission(path)
    if sub is None:
        print(f"your submission could not be imported: {why}")
        return 1
    try:
        if sub.import_error:
            print(f"importing your submission failed:\n{textwrap.indent(sub.import_error, '    ')}")
            return 1
        sub.allow_unit_axes = allow_unit_axes  # as the self-check judged shapes (the policy's shape_mistakes)
        failure = failure_of(body, sub, arguments)
        printed = sub.take_output()
    finally:
        sub.close()
    if printed.strip():
        print(f"Your code printed:\n{textwrap.indent(printed.rstrip(), '    ')}")
    if failure is None:
        print(f"{name}: passes on this example.")
        return 0
    print(f"{name}: FAILS on this example:\n{textwrap.indent(failure, '    ')}")
    return 1


def failure_of(body: Callable, sub: Any, arguments: dict[str, Any]) -> str | None:
    """Why the check's ``body`` fails on ``arguments`` (what the self-check said), or None if it passes."""
    try:
        body(sub, **arguments)
    except NotImplementedInSubmission as missing:
        return str(missing)
    except WorkerFault as fault:  # a hang or a crash of your code, told as the grader tells it
        return str(fault)
    except SUBMISSION_FAULTS as failure:
        return str(failure)
    return None
