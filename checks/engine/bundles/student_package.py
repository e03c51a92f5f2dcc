"""``rnn-grade bundle student --out DIR``: the checks as a wheel students can install, without the solution.

The wheel holds the ``checks`` package with every subpackage of its engine, and the points table, and nothing
of ``reference/``: no reference solution and no oracles, and neither SymPy nor autograd among its
dependencies (nor pytest: students grade with the command). Installed alone (``pip install DIR/rnn_grade_student-*.whl``), it gives students
``rnn-grade --self-check rnn_layers.py``, every check that needs no reference; a full grade there
says that it needs the course's reference (exit 2).

pip builds the wheel (``pip wheel``, with setuptools) from a pyproject.toml generated in a temporary
folder, so the file follows the wheel specification without our writing one by hand. Its version
and dependencies are those of the installed grader, read from its metadata.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import checks
from checks.engine.inputs.usage import UsageError

DISTRIBUTION = "rnn-grade-student"
GRADER = Path(checks.__file__).resolve().parent
DATA = ("points.toml", "assignments/*.toml")  # of the checks package: the points table, the shipped assignments
# The grader's requirements that serve only the reference solution and the harness's own tests; every
# other requirement is grading's (numpy, hypothesis, the terminal's), so a new one is never left out.
NOT_FOR_STUDENTS = ("sympy", "autograd", "pytest", "pytest-xdist")
PIP_ERROR_LINES = 20

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "rnn-grade's checks without the reference solution, for students: rnn-grade --self-check FILE"
requires-python = "{python}"
dependencies = {dependencies}

[project.scripts]
rnn-grade = "checks.engine.cli:main"

[tool.setuptools]
packages = {packages}

[tool.setuptools.package-data]
checks = {data}
"""


def main(argv: Sequence[str]) -> int:
    """``rnn-grade bundle student --out DIR``: build the wheel into DIR and say where it is."""
    parser = argparse.ArgumentParser(prog="rnn-grade bundle", description="Build a package to hand out. "
                                     "(Gradescope's autograder: rnn-grade bundle gradescope --help.)")
    parser.add_argument("kind", choices=("student",),
                        help="student: a wheel of the checks without the reference solution, for --self-check")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="the folder to write the package into")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad options, 0 after --help
        return int(exit_.code or 0)
    wheel = build(args.out)
    print(f"rnn-grade: wrote {wheel}\nStudents install it with: pip install {wheel.name}\n"
          f"and check their work with: rnn-grade --self-check rnn_layers.py")
    return 0


def build(out: Path) -> Path:
    """Build the student wheel into the folder ``out`` and return its path; never overwrites a file."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give the folder to write the package into")
    with tempfile.TemporaryDirectory(prefix="rnn-grade-student-") as temporary:
        source, built = Path(temporary, "source"), Path(temporary, "wheel")
        lay_out(source)
        wheel = pip_wheel(source, built)
        target = out / wheel.name
        if target.exists():
            raise UsageError(f"{target} already exists; remove it or choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(wheel, target)
    return target


def grader_packages() -> dict[str, Path]:
    """Every package of the grader, ``{"checks.engine.run": folder, ...}``: each folder under ``checks/``
    with an ``__init__.py``, found rather than listed, so a new stage of the engine is never left out."""
    folders = [GRADER, *(init.parent for init in sorted(GRADER.rglob("__init__.py")) if init.parent != GRADER)]
    return {".".join(("checks", *folder.relative_to(GRADER).parts)): folder for folder in folders}


def lay_out(source: Path) -> None:
    """The project to build: every grader package's modules, the points table, and a pyproject.toml."""
    packages = grader_packages()
    for package, folder in packages.items():
        destination = source.joinpath(*package.split("."))
        destination.mkdir(parents=True)
        for module in sorted(folder.glob("*.py")):
            shutil.copy2(module, destination / module.name)
    for pattern in DATA:
        for data in sorted(GRADER.glob(pattern)):
            destination = source / "checks" / data.relative_to(GRADER)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(data, destination)
    metadata = importlib.metadata.metadata(grader_distribution())
    (source / "pyproject.toml").write_text(PYPROJECT.format(
        name=DISTRIBUTION, version=metadata["Version"], python=metadata["Requires-Python"],
        dependencies=toml_list(runtime_requirements()), packages=toml_list(packages), data=toml_list(DATA)))


def grader_distribution() -> str:
    """The installed distribution that provides ``checks`` (rnn-grade, or this student package itself)."""
    return importlib.metadata.packages_distributions()["checks"][0]


def runtime_requirements() -> list[str]:
    """The grader's own requirements, as its metadata states them, but for extras and NOT_FOR_STUDENTS."""
    requirements = importlib.metadata.requires(grader_distribution()) or []
    return [r for r in requirements if "extra ==" not in r
            and re.match(r"[A-Za-z0-9_.-]+", r).group().lower() not in NOT_FOR_STUDENTS]


def toml_list(items) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def pip_wheel(source: Path, wheel_dir: Path, package: str = "the student package") -> Path:
    """Run ``pip wheel`` on ``source`` and return the one wheel it wrote into ``wheel_dir``."""
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheel_dir), str(source)]
    run = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(wheel_dir.glob("*.whl"))
    if run.returncode != 0 or len(wheels) != 1:
        tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-PIP_ERROR_LINES:])
        raise UsageError(f"could not build {package}: pip wheel exited with {run.returncode}:\n{tail}")
    return wheels[0]
