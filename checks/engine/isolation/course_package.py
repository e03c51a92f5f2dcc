"""A submission laid out as a course's package: CS231n's ``cs231n/`` with ``rnn_layers.py`` and
``classifiers/rnn.py``, importing each other relatively (``from ..rnn_layers import *``).

Runs in the worker, right after the package's ``__init__`` was imported. Each of ``COURSE_MODULES``
that the package holds is imported as the package's own submodule, so its relative imports work, and
every contract name it defines that the ``__init__`` does not is copied into the package's namespace,
where the worker looks functions up. A missing module costs exactly the checks of what it would have
defined. So does a module that fails to import: the reason goes to the submission's printed output,
where the student reads it, and the rest of the package is graded.

The course provides ``layers.py`` and ``classifiers/rnn.py`` imports it (``from ..layers import *``)
for nothing the captioning model uses; a package without one is given an empty module in its place,
so that a student who hands in only the files they wrote is still graded.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from typing import Callable

from checks.engine.isolation.contract_functions import CONTRACT_CLASSES, CONTRACT_FUNCTIONS, COURSE_MODULES

PROVIDED_BY_COURSE = ("layers",)


def gather_course_modules(package: types.ModuleType, folder: Path, explain: Callable[[BaseException], str]) -> None:
    """Import each course module ``folder`` holds as a submodule of ``package``; copy in the contract's names.

    - package: the submission's package, already imported
    - folder: its folder
    - explain: the student-readable reason for an exception raised while importing a module
    """
    for name in PROVIDED_BY_COURSE:
        if not module_file(folder, name).is_file() and not (folder / name).is_dir():
            sys.modules[f"{package.__name__}.{name}"] = types.ModuleType(f"{package.__name__}.{name}")
    wanted = (*CONTRACT_FUNCTIONS, *CONTRACT_CLASSES)
    for name in COURSE_MODULES:
        if not module_file(folder, name).is_file():
            continue
        try:
            module = importlib.import_module(f"{package.__name__}.{name}")
        except Exception as exc:  # noqa: BLE001 - a broken module costs its own checks only
            print(f"{module_file(folder, name).relative_to(folder)} could not be imported, so what it defines "
                  f"is graded as missing: {explain(exc)}", file=sys.stderr)
            continue
        for contract_name in wanted:
            if contract_name not in vars(package) and contract_name in vars(module):
                setattr(package, contract_name, vars(module)[contract_name])


def module_file(folder: Path, dotted: str) -> Path:
    """rnn_layers -> folder/rnn_layers.py; classifiers.rnn -> folder/classifiers/rnn.py."""
    return folder.joinpath(*dotted.split(".")).with_suffix(".py")
