"""The engine's layout holds: no import cycle, and dependencies that point down the stages only.

``checks/engine`` is split by stage (docs/architecture.md). From the top down:

    cli, options, output_paths   the command line, resolved once into settings; plugin: pytest's front end
    bundles/                     the student's package and the Gradescope zip
    course/                      a class: discovery, batches, shards, merge, summary, the cluster
    report/                      the report model and the formats that render it
    run/                         running checks, and the feedback on a failing one
    isolation/                   the worker process, its confinement and its protocol
    inputs/                      reading a submission's files and showing its names safely

A module may import its own stage or any stage below it. Every import counts, including those made
inside a function (kept lazy for start-up time) and those under ``TYPE_CHECKING``: a cycle that
only type checkers follow is still a knot a reader must untie.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "checks" / "engine"
STAGES = ("inputs", "isolation", "run", "report", "course", "bundles", "top")  # bottom to top
TOP_MODULES = {"cli", "options", "output_paths", "plugin"}
MOST_LINES = 450  # "about 400": a module past this holds two concerns and is split


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """{dotted name: file} for every module of the ``checks`` package."""
    return {module_name(path): path for path in sorted((ROOT / "checks").rglob("*.py"))}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The modules of ``known`` that the module at ``path`` imports, anywhere in its body."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # ``from package import module``
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {name: imports_of(path, name, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def stage_of(module: str) -> str | None:
    """The engine stage ``module`` belongs to, or None outside ``checks.engine``."""
    parts = module.split(".")
    if parts[:2] != ["checks", "engine"] or len(parts) < 3:
        return None
    return "top" if parts[2] in TOP_MODULES else parts[2]


def test_the_checks_package_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_engine_imports_point_down_the_stages_only() -> None:
    upward = []
    for module, targets in import_graph().items():
        own = stage_of(module)
        if own is None:
            continue
        for target in targets:
            theirs = stage_of(target)
            if theirs is not None and STAGES.index(theirs) > STAGES.index(own):
                upward.append(f"{module} ({own}) imports {target} ({theirs})")
    assert upward == []


def test_every_engine_module_belongs_to_a_stage() -> None:
    strays = [name for name in package_modules() if stage_of(name) not in (None, *STAGES)
              and name != "checks.engine"]
    assert strays == []


@pytest.mark.parametrize("path", sorted(ENGINE.rglob("*.py")), ids=lambda path: str(path.relative_to(ENGINE)))
def test_engine_modules_stay_short(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MOST_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it where it holds two concerns"


def test_the_detector_finds_a_cycle_and_an_upward_import() -> None:
    """The two rules bite: a made-up graph with a cycle, and a stage order that an import breaks."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert STAGES.index(stage_of("checks.engine.report.text")) > STAGES.index(stage_of("checks.engine.run.runner"))
    assert stage_of("checks.engine.cli") == "top" and stage_of("checks.registry") is None


def test_relative_imports_are_resolved(tmp_path: Path) -> None:
    source = tmp_path / "text.py"
    source.write_text("from . import feedback\nfrom .markup import x\nfrom .. import cli\n")
    known = {"checks.engine.report.feedback", "checks.engine.report.markup", "checks.engine.cli"}
    assert imports_of(source, "checks.engine.report.text", known) == known
