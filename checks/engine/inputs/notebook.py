"""A notebook submission read as Python: its definitions, never its demos. Pure: nothing of it is run here.

A Jupyter notebook (``.ipynb``) mixes the functions a student wrote with demo cells, plots and
training loops that take minutes. ``read_notebook`` turns its bytes into the source of one Python
module, which the worker imports as it imports a ``.py`` file, and into a short account for the
student of which cells were used. Nothing of the notebook is executed while reading it.

- The notebook is read with nbformat (as version 4). Bytes that are not a notebook are
  ``NotebookUnreadable``, with a sentence for the student.
- Code cells are taken in order; they are numbered 1, 2, ... among the code cells only (markdown
  cells are not counted), the number reports use for them. A cell that parses as Python is taken as
  it is; one that does not is first transformed by IPython (``%magic``, ``%%cell magic``, ``!shell``,
  ``x = !ls``, ``obj?`` become calls of ``get_ipython()``), which only rewrites text. A cell that
  starts with ``%%time`` or ``%%capture``, which run the rest of the cell as Python in the
  notebook, is read as that rest.
- Of each cell, only these top-level statements are kept, in order, so that a later definition
  replaces an earlier one as it does in the notebook:

  * ``def`` and ``class`` (with their decorators), and ``async def``;
  * ``import`` and ``from ... import`` (absolute; ``from __future__`` and relative imports are not kept);
  * constant assignments: ``NAME = value`` (or ``A = B = value``, or ``NAME: T = value`` with ``T`` a name
    or a literal), where ``value`` is a constant expression: a literal (a number, a string, bytes,
    True, False, None), a tuple, list, set or dict of constant expressions, ``+``, ``-``, ``not`` or
    ``~`` of one, or ``+ - * / // % **`` between two. No name, attribute, call or subscript: so
    ``EPS = 1e-8`` is kept and ``parameters = {"Wax": np.random.randn(5, 3)}`` is not.

  Everything else (calls, prints, loops, ``np.random.seed(1)``, ``if __name__ == "__main__":``, an
  assignment from a call) is left out, not run. A function that reads a global left out so fails
  when called, with a NameError naming it: what a function that uses a notebook global instead of
  its parameters deserves. A global that a kept statement bound and a later statement left out
  rebinds (``N = 5``, then ``N = len(data)``) is unbound at that point, since the notebook's ``N``
  is not 5 after it.
- An import of a module other than ``REQUIRED_MODULES`` is run through a small wrapper: where the
  grader cannot import the module (a notebook's ``from public_tests import *``, matplotlib), that
  import is left out and the names it provides are missing. Which modules the grader can import is
  known only in the worker, so the account says which cells import such modules, and that they may
  be left out. ``REQUIRED_MODULES`` (numpy, torch, a course's ``rnn_utils``) are imported as in a .py
  file: if the grader cannot import one, that is the grader's setup to fix, and the usual
  missing-module report says so.
- A cell that does not parse (even after IPython's transformation) is skipped, with a sentence
  naming it. If it defines functions or classes (``def NAME`` or ``class NAME`` at the start of a
  line of its text), each of them could not be read and is missing, even if an earlier cell defined
  it too: the student's latest version is their answer, and grading an older one would mislead.
  (The inputs stage sits below the contract's list of names, so this holds for every function,
  graded or not; an import of the same name is left alone.)

The module's line numbers: each used cell is written after a ``# cell N`` line, with its kept
statements on the lines they have in the cell and blank lines for what was left out, so a line of
a cell is at a fixed offset; the account gives the first line of each used cell.

Limits, for hostile notebooks: ``MAX_CODE_BYTES`` of code cell source in all (the cells past it
are left out, with a sentence), and IPython's transformation only for cells under
``MAX_TRANSFORMED_CELL`` (it takes seconds on megabytes).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field

from checks.engine.inputs.display import shown

NOTEBOOK_SUFFIX = ".ipynb"
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # outputs and images make notebooks megabytes; none of that is kept
MAX_CODE_BYTES = 1024 * 1024  # the limit of a .py file: the code the module is made from
MAX_TRANSFORMED_CELL = 64 * 1024  # a student's cell is a few kilobytes
REQUIRED_MODULES = frozenset({"numpy", "torch", "rnn_utils"})
NAMES_SHOWN = 8  # names listed in a sentence before "and N more"
DEFINES = re.compile(r"^(?:async[ \t]+def|def|class)[ \t]+([^\W\d]\w*)", re.MULTILINE)
CONSTANT_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
CONSTANT_UNARY = (ast.UAdd, ast.USub, ast.Not, ast.Invert)
# The cell magics that run the rest of their cell as Python in the notebook's namespace.
PYTHON_CELL_MAGIC = re.compile(r"%%(time|capture)\b")
IMPORT_WRAPPER = "_rnn_grade_import"
PREAMBLE = f'''# Python read by rnn-grade from a notebook: the top-level definitions, imports and constants of its
# code cells, in order (see "# cell N" below). Nothing else of the notebook is run.
def {IMPORT_WRAPPER}(statement, namespace):
    """Run one import of the notebook, left out if the grader cannot import its module."""
    try:
        exec(statement, namespace)
    except ModuleNotFoundError as error:
        if str(error.name).partition(".")[0] in {sorted(REQUIRED_MODULES)!r}:
            raise
'''


class NotebookUnreadable(ValueError):
    """The bytes are not a notebook nbformat can read; the message is a sentence for the student."""


@dataclass(frozen=True)
class ReadNotebook:
    """A notebook as read: ``source``, the module to import; ``account``, sentences for the student."""

    source: str
    account: tuple[str, ...]


@dataclass
class Reading:
    """What has been found so far, cell by cell (cell numbers are 1-based among code cells)."""

    lines: dict[int, list[str]] = field(default_factory=dict)  # cell -> the lines of its part of the module
    used: set[int] = field(default_factory=set)  # cells of which a statement was kept
    defined: list[str] = field(default_factory=list)  # names of the kept def and class, in order
    bound: set[str] = field(default_factory=set)  # the names kept statements bind (but star imports')
    dropped: dict[int, int] = field(default_factory=dict)  # cell -> top-level statements left out
    dropped_names: list[str] = field(default_factory=list)  # globals those statements assign
    wrapped: dict[int, list[str]] = field(default_factory=dict)  # cell -> modules that may be left out
    problems: list[str] = field(default_factory=list)  # a sentence per cell that could not be read

    def undo(self, names: list[str]) -> str:
        """The line that unbinds those of ``names`` a kept statement bound ('' if none): a later statement
        of the notebook that rebinds them, but is not kept, or does not parse, leaves them missing."""
        undone = [name for name in dict.fromkeys(names) if name in self.bound]
        self.bound.difference_update(undone)
        self.defined = [name for name in self.defined if name not in undone]
        return "; ".join(f"globals().pop({name!r}, None)" for name in undone)


def generated_name(notebook: str) -> str:
    """The name of the module read from the notebook ``notebook``: ``rnn.ipynb`` -> ``rnn.ipynb.py``."""
    return notebook + ".py"


def is_notebook(name: str) -> bool:
    """Whether the file ``name`` is a notebook, by its name (``rnn.ipynb``; not a file named ``.ipynb``)."""
    return name.endswith(NOTEBOOK_SUFFIX) and len(name) > len(NOTEBOOK_SUFFIX)


def read_notebook(content: bytes, name: str) -> ReadNotebook:
    """The module and the account of the notebook ``content`` (the file ``name``).

    NotebookUnreadable if ``content`` is not a notebook. Nothing of it is run.
    """
    cells, unread = code_cells(content, name)
    reading = Reading()
    for number, text in cells:
        read_cell(number, text, reading)
    source, starts = module_source(reading)
    return ReadNotebook(source, account(name, reading, starts, len(cells), unread))


def code_cells(content: bytes, name: str) -> tuple[list[tuple[int, str]], str]:
    """The code cells' sources, numbered, up to ``MAX_CODE_BYTES`` in all; and a sentence for the cells past it."""
    import nbformat  # lazily: only notebooks need it

    try:
        with warnings.catch_warnings():  # a missing cell id, an old minor version: nothing for the student
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(content.decode("utf-8"), as_version=4, capture_validation_error={})
        found = [cell for cell in notebook.cells if cell.get("cell_type") == "code"]
    except Exception as error:  # noqa: BLE001 - JSON errors, schema errors, deep nesting: all mean "not a notebook"
        raise NotebookUnreadable(f"{shown(name)} could not be read as a notebook ({unreadable_reason(error)}). "
                                 "Save it again from Jupyter and submit it.") from None
    cells, total = [], 0
    for number, cell in enumerate(found, 1):
        source = cell.get("source")
        source = source if isinstance(source, str) else "".join(s for s in source or [] if isinstance(s, str))
        total += len(source.encode("utf-8", "surrogatepass"))
        if total > MAX_CODE_BYTES:
            unread = f"cell {number} was" if number == len(found) else f"cells {number}-{len(found)} were"
            return cells, (f"{unread} not read: the code cells together pass {MAX_CODE_BYTES // (1024 * 1024)} MiB, "
                           "the limit for a submission's code")
        cells.append((number, source))
    return cells, ""


def unreadable_reason(error: Exception) -> str:
    """Why nbformat gave up, in a few words (its own message may quote the whole file)."""
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(error, RecursionError):
        return "it is nested too deeply"
    if type(error).__name__ == "NotJSONError":
        return "it is not JSON"
    return "it is not in the notebook format"


def read_cell(number: int, text: str, reading: Reading) -> None:
    """Keep what ``reading`` needs of the code cell ``number`` whose source is ``text``."""
    parsed = parse_cell(text)
    if isinstance(parsed, str):
        not_parsed(number, text, parsed, reading)
        return
    source, body = parsed
    kinds = [kept_kind(node) for node in body]
    problem = compile_problem([node for node, kind in zip(body, kinds) if kind])
    if problem:
        not_parsed(number, text, problem, reading)
        return
    lines = [""] * (max((node.end_lineno or node.lineno) for node in body) if body else 0)
    for node, kind in zip(body, kinds):
        if kind is None:
            reading.dropped[number] = reading.dropped.get(number, 0) + 1
            reading.dropped_names += assigned_names(node)
            place(lines, node, reading.undo(assigned_names(node)))
            continue
        place(lines, node, statement_text(source, node, kind, reading.wrapped.setdefault(number, [])))
        reading.used.add(number)
        reading.bound.update(bound_names(node))
        if kind == "definition":
            reading.defined.append(node.name)
    if not reading.wrapped.get(number, True):
        del reading.wrapped[number]
    while lines and not lines[-1]:
        lines.pop()
    if lines:
        reading.lines[number] = lines


def parse_cell(text: str) -> tuple[str, list[ast.stmt]] | str:
    """(the Python source of the cell, its top-level statements), or why it does not parse."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "it holds a character that is not text"
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # one newline, as Python's own line numbers count
    if PYTHON_CELL_MAGIC.match(text):  # %%time runs its cell as Python: read it so, on the same lines
        text = "\n" + text.partition("\n")[2]
    error = compile_problem(text)
    if error is None:
        return text, ast.parse(text).body
    if len(text) <= MAX_TRANSFORMED_CELL:
        transformed = ipython_transformed(text)
        if transformed is not None and compile_problem(transformed) is None:
            return transformed, ast.parse(transformed).body
    return error


def compile_problem(code: str | list[ast.stmt]) -> str | None:
    """Why Python would not compile ``code`` (source, parsed only; or the statements kept of a cell, which
    must compile as the module will: a ``nonlocal`` with nothing to refer to, say), in a few words; None if
    it would. Compiled, never run."""
    try:
        if isinstance(code, str):
            compile(code, "<cell>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        else:
            compile(ast.Module(body=code, type_ignores=[]), "<cell>", "exec", dont_inherit=True)
    except SyntaxError as error:
        where = f" on its line {error.lineno}" if error.lineno else ""
        return f"SyntaxError{where}: {shown(str(error.msg))[:120]}"
    except (ValueError, RecursionError, MemoryError) as error:  # a NUL byte; nesting too deep to parse
        return f"{type(error).__name__}: {shown(str(error))[:120]}"
    return None


def ipython_transformed(text: str) -> str | None:
    """``text`` with IPython's syntax made Python calls (text only, nothing run); None if IPython gives up."""
    from IPython.core.inputtransformer2 import TransformerManager  # lazily: only cells with magics need it

    try:
        return TransformerManager().transform_cell(text)
    except Exception:  # noqa: BLE001 - whatever IPython cannot transform is a cell that does not parse
        return None


def not_parsed(number: int, text: str, reason: str, reading: Reading) -> None:
    """A cell that does not parse: its functions could not be read; earlier definitions of them are undone."""
    names = list(dict.fromkeys(DEFINES.findall(text)))
    if not names:
        reading.problems.append(f"cell {number} does not parse ({reason}) and was skipped")
        return
    reading.problems.append(f"cell {number} does not parse ({reason}): {names_text(names)} "
                            f"could not be read, so {'it is' if len(names) == 1 else 'they are'} missing")
    undo = reading.undo(names)
    if undo:
        reading.lines[number] = [undo]


def kept_kind(node: ast.stmt) -> str | None:
    """"definition", "import" or "constant" for a statement that is kept; None for one left out."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return "definition"
    if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and not node.level
                                        and node.module != "__future__"):
        return "import"
    if isinstance(node, ast.Assign) and all(isinstance(target, ast.Name) for target in node.targets):
        return "constant" if is_constant(node.value) else None
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        plain_annotation = isinstance(node.annotation, (ast.Name, ast.Constant))
        return "constant" if plain_annotation and is_constant(node.value) else None
    return None


def is_constant(node: ast.expr) -> bool:
    """Whether ``node`` is a constant expression as the module docstring defines it (no name, no call)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(is_constant(element) for element in node.elts)
    if isinstance(node, ast.Dict):
        return all(key is not None and is_constant(key) for key in node.keys) and all(map(is_constant, node.values))
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, CONSTANT_UNARY) and is_constant(node.operand)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, CONSTANT_OPERATORS) and is_constant(node.left) and is_constant(node.right)
    return False


def assigned_names(node: ast.stmt) -> list[str]:
    """The global names a left-out statement assigns (``parameters = init()`` -> parameters)."""
    targets = {ast.Assign: lambda n: n.targets, ast.AnnAssign: lambda n: [n.target],
               ast.AugAssign: lambda n: [n.target]}.get(type(node), lambda n: [])(node)
    names = []
    for target in targets:
        names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
    return names


def bound_names(node: ast.stmt) -> list[str]:
    """The names a kept statement binds: a definition's, an assignment's targets, an import's aliases."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [alias.asname or alias.name.partition(".")[0] for alias in node.names if alias.name != "*"]
    return assigned_names(node)


def statement_text(source: str, node: ast.stmt, kind: str, wrapped: list[str]) -> str:
    """The text to write for the kept ``node`` of ``source``: whole lines for a definition (its
    decorators included), the statement itself for the others; an import through the wrapper."""
    if kind == "definition":
        first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
        return "\n".join(source.split("\n")[first - 1:node.end_lineno])
    text = ast.get_source_segment(source, node) or ""
    modules = imported_modules(node) if kind == "import" else []
    optional = [module for module in modules if module.partition(".")[0] not in REQUIRED_MODULES]
    if not optional:
        return text
    wrapped += [module for module in optional if module not in wrapped]
    return f"{IMPORT_WRAPPER}({text!r}, globals())" + "\n" * text.count("\n")


def imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import names: ``import a.b, c`` -> a.b, c; ``from a.b import c`` -> a.b."""
    return [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]


def place(lines: list[str], node: ast.stmt, text: str) -> None:
    """Write ``text`` from ``node``'s first line on, after any kept statement already on that line."""
    if not text:
        return
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
    for offset, line in enumerate(text.split("\n")):
        here = first + offset
        lines[here] = f"{lines[here]}; {line}" if offset == 0 and lines[here] else (lines[here] or line)


def module_source(reading: Reading) -> tuple[str, dict[int, int]]:
    """The module: the preamble, then each used cell after its ``# cell N`` line; and the line of the
    module where each used cell's first line is."""
    lines = PREAMBLE.rstrip("\n").split("\n")
    starts = {}
    for number in sorted(reading.lines):
        lines.append(f"# cell {number}")
        starts[number] = len(lines) + 1
        lines += reading.lines[number]
    return "\n".join(lines) + "\n", starts


def account(name: str, reading: Reading, starts: dict[int, int], cells: int, unread: str) -> tuple[str, ...]:
    """A few sentences for the student: what was used, what was not run, what could not be read."""
    defined = list(dict.fromkeys(reversed(reading.defined)))[::-1]  # each name once, where it is last defined
    if defined:
        sentences = [f"Read the notebook {shown(name)}: used code cells {numbers_text(reading.used)} (code cells are "
                     f"numbered 1, 2, ... without the markdown cells), which define {names_text(defined)}."]
    else:
        sentences = [f"Read the notebook {shown(name)}: none of its {cells} code cells defines a function to grade."]
    if reading.dropped:
        count = sum(reading.dropped.values())
        globals_set = [name for name in dict.fromkeys(reading.dropped_names) if name not in reading.bound]
        sentences.append(
            f"Not run: {count} top-level statement{'s' * (count != 1)} in cell{'s' * (len(reading.dropped) != 1)} "
            f"{numbers_text(reading.dropped)} (only definitions, imports and constants are read)"
            + (f"; a function that uses a global they set ({names_text(globals_set)}) fails with a NameError."
               if globals_set else "."))
    sentences += [f"{problem[0].upper()}{problem[1:]}." for problem in reading.problems]
    if reading.wrapped:
        modules = list(dict.fromkeys(module for found in reading.wrapped.values() for module in found))
        sentences.append(f"Cell{'s' * (len(reading.wrapped) != 1)} {numbers_text(reading.wrapped)} "
                         f"import{'s' * (len(reading.wrapped) == 1)} "
                         f"{names_text(modules)}: an import the grader cannot make is left out, and the names it "
                         "would provide are then missing.")
    if unread:
        sentences.append(f"{unread[0].upper()}{unread[1:]}.")
    if starts:
        shown_starts = [f"cell {number} at line {line}" for number, line in list(starts.items())[:NAMES_SHOWN]]
        sentences.append("Line numbers in messages count lines of the Python read from the notebook: "
                         + ", ".join(shown_starts) + (", ..." if len(starts) > NAMES_SHOWN else "") + ".")
    return tuple(sentences)


def numbers_text(numbers: Collection[int]) -> str:
    """'2, 3 and 5' for cells 2, 3 and 5; a run of three or more as '1-25'."""
    runs: list[list[int]] = []
    for number in sorted(numbers):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    parts = [f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs]
    return names_text(", ".join(parts).split(", "), limit=3 * NAMES_SHOWN)


def names_text(names: list[str], limit: int = NAMES_SHOWN) -> str:
    """'a, b and c', escaped; past ``limit`` names, 'a, b, ... and 7 more'."""
    names = [shown(name) for name in names]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
