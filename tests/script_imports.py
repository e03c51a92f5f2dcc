"""What a reproduction script imports, for the tests that hold scripts to numpy (and torch) and the standard library."""

from __future__ import annotations

import ast


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
