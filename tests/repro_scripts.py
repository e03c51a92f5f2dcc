"""Reproduction scripts under test: what one imports, and running one in this process."""

from __future__ import annotations

import ast
import contextlib
import io
import runpy
import sys
from pathlib import Path


def script_imports(text: str) -> set[str]:
    """The top-level packages the script imports, but for rnn-grade's notebook reader: ``load_notebook`` imports it
    only for a notebook, and says it is missing if it is (checked here)."""
    tree = ast.parse(text)
    readers = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "load_notebook"]
    assert len(readers) == 1 and "except ImportError" in ast.unparse(readers[0])
    tree.body.remove(readers[0])
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    return imported | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def run_script(script: Path, *arguments: str) -> tuple[int, str]:
    """(exit status, output) of ``python script *arguments``, run in this process (torch is imported once): the
    script's own main, as its ``if __name__ == "__main__"`` calls it. What it imports (the submission, rnn_utils) is
    taken back, and an rnn_utils an earlier test of this process imported is out of its way, as in a fresh python."""
    path, modules = list(sys.path), set(sys.modules)
    earlier = sys.modules.pop("rnn_utils", None)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = runpy.run_path(str(script))["main"](list(arguments))
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            del sys.modules[name]
        if earlier is not None:
            sys.modules["rnn_utils"] = earlier
    return code, out.getvalue()
