"""checks.engine.options: one option table, rendered for rnn-grade and for the pytest plugin, resolved once.

The help texts are compared as each front end prints them (``rnn-grade --help``, ``pytest checks
--help``); the parsed values come from a real argparse parser and a real pytest configuration
(``pytester.parseconfig``), both resolved by ``resolve`` into the same ``GradingSettings``.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from checks.engine import options as options_module
from checks.engine.cli import build_parser
from checks.engine.isolation.confinement import ACTIVE, LAYERS, Confinement, Layer
from checks.engine.isolation.boundary import WorkerOptions
from checks.engine.options import CLI, MIB, OPTIONS, PYTEST, options_of, resolve
from checks.engine.inputs.usage import UsageError
from tiny_grading import REPO, clean_environment, write_submission, write_tiny_checks

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    checks, points = write_tiny_checks(tmp_path_factory.mktemp("tiny"))
    return ["--checks-dir", str(checks), "--no-builtin-checks", "--points", str(points)]


def help_text(*command: str) -> str:
    run = subprocess.run([sys.executable, *command, "--help"], capture_output=True, text=True, cwd=REPO,
                         env=clean_environment(), timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    return {CLI: help_text("-m", "checks.engine.cli"), PYTEST: help_text("-m", "pytest", "checks")}


def entry(help_output: str, flag: str) -> str | None:
    """The help entry of ``flag`` (its line and the deeper-indented lines under it), all whitespace removed.

    Whitespace goes because the two front ends wrap differently (and may break inside a word such
    as --checks-dir); pytest writes ``--seed=N`` where argparse writes ``--seed N``.
    """
    lines = help_output.splitlines()
    for start, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped == flag or stripped.startswith((f"{flag} ", f"{flag}=", f"{flag},")):
            indent = len(line) - len(stripped)
            end = start + 1
            while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) > indent:
                end += 1
            text = " ".join(lines[start:end]).replace(f"{flag}=", f"{flag} ")
            return "".join(text.split())
    return None


def squeezed(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("option", [o for o in OPTIONS if not o.positional], ids=lambda o: o.flag)
def test_each_option_is_listed_with_the_same_help_by_every_front_end_that_offers_it(option, helps):
    entries = {front_end: entry(helps[front_end], option.flag) for front_end in option.front_ends}
    for front_end, text in entries.items():
        assert text is not None, f"{option.flag} is missing from the {front_end} help"
        assert text.endswith(squeezed(option.help)), f"{front_end}: {text}"
    assert len(set(entries.values())) == 1, entries


def test_the_command_line_lists_its_submission_and_no_plugin_only_option(helps):
    positionals = helps[CLI].split("positional arguments:")[1]  # (the usage line names PATH too)
    assert entry(positionals, "PATH") == squeezed(
        "PATH a .py file, a notebook (.ipynb), a folder with __init__.py, or a class folder of submissions")
    assert entry(helps[CLI], "--submission") is None


def test_the_plugin_declares_every_option_under_the_rnn_grade_prefix(pytester):
    names = vars(pytester.parseconfig(str(REPO / "checks")).option)
    assert {f"rnn_grade_{o.dest}" for o in options_of(PYTEST)} <= names.keys()


@pytest.mark.parametrize(
    "given",
    [
        [],
        ["--seed", "7", "--call-timeout", "2.5", "--memory-limit", "0", "--allow-package", "sympy",
         "--allow-package", "hypothesis", "--allow-package", "sympy", "--require-sandbox", "--path", "{course}",
         "--self-check"],
    ],
    ids=["defaults", "given"],
)
def test_both_front_ends_resolve_the_same_arguments_to_the_same_settings(given, tiny, tmp_path, pytester,
                                                                         monkeypatch):
    # --require-sandbox starts a probe worker; what it finds depends on the machine, not on the options.
    fully_confined = Confinement(tuple(Layer(name, ACTIVE, "on") for name in LAYERS))
    monkeypatch.setattr(options_module, "probe_confinement", lambda options: fully_confined)
    submission = str(write_submission(tmp_path, "correct"))
    (tmp_path / "course").mkdir()
    given = [argument.format(course=tmp_path / "course") for argument in given]
    from_cli = resolve(build_parser().parse_args([submission, *given, *tiny]))
    config = pytester.parseconfig(str(REPO / "checks"), "--submission", submission, *given, *tiny)
    from_pytest = resolve(config.option, PYTEST)
    assert from_cli == from_pytest
    if not given:
        assert from_cli.worker_options == WorkerOptions() and from_cli.seed == 0
    else:
        assert from_cli.seed == 7
        assert from_cli.worker_options == WorkerOptions(
            import_paths=(tmp_path / "course",), call_timeout=2.5, memory_limit=None,
            allowed_packages=("sympy", "hypothesis"), require_sandbox=True)


def test_the_memory_limit_is_given_in_mib_and_the_plugin_grades_the_submissions_found(tiny, tmp_path, pytester):
    found = (write_submission(tmp_path, "correct"),)
    config = pytester.parseconfig(str(REPO / "checks"), "--memory-limit", "512", *tiny)
    settings = resolve(config.option, PYTEST, found)
    assert settings.submissions == found and settings.worker_options.memory_limit == 512 * MIB
    assert (settings.results, settings.deadline, settings.quiet) == (None, None, False)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["{tmp}/missing.py"], "submission {tmp}/missing.py: no such file or folder"),
        (["{tmp}/empty"], "class folder {tmp}/empty holds no submission"),
        (["{tmp}/notes.txt"], "is not a .py file"),
        (["{ok}", "--results", "{tmp}"], "--results {tmp} is a folder"),
        (["{ok}", "--path", "{tmp}/nowhere"], "--path {tmp}/nowhere: no such folder"),
        (["{ok}", "--checks-dir", "{tmp}/nowhere"], "--checks-dir {tmp}/nowhere: no such folder"),
        (["{ok}", "--points", "{tmp}/nowhere.toml"], "--points {tmp}/nowhere.toml: no such file"),
        (["{ok}", "--allow-package", "numpy; import os"],
         "--allow-package numpy; import os: 'numpy; import os' is not the name of a top-level package"),
        (["{ok}", "--allow-package", "no_such_package_here"],
         "--allow-package no_such_package_here: no package or module named 'no_such_package_here' is installed"),
        (["{ok}", "--no-builtin-checks"], "no checks to run: give at least one --checks-dir"),
        # no option loses work (issue 20): an input is never a report path, a report's folder must exist
        (["{ok}", "--results", "{ok}"], "--results {ok} is the submission ({ok}), which grading reads"),
        (["{ok}", "--results", "{tmp}/nowhere/r.json"],
         "--results {tmp}/nowhere/r.json: the folder {tmp}/nowhere does not exist; create it first"),
        (["{ok}", "--path", "{tmp}/empty", "--repro-dir", "{tmp}/empty/repro"],
         "--repro-dir {tmp}/empty/repro is --path ({tmp}/empty)"),
        (["{tmp}/ok.py", "{tmp}/notes.py", "--out", "{tmp}/empty/out", "--path", "{tmp}/empty"],
         "--out {tmp}/empty/out is --path ({tmp}/empty)"),
    ],
)
def test_resolve_rejects_bad_values_with_a_usage_error(arguments, expected, tmp_path):
    for name in ("notes.txt", "rnn.ipynb", "ok.py", "notes.py"):
        (tmp_path / name).write_text("")
    (tmp_path / "empty").mkdir()
    fill = {"tmp": tmp_path, "ok": tmp_path / "ok.py"}
    namespace = build_parser().parse_args([argument.format(**fill) for argument in arguments])
    with pytest.raises(UsageError, match=re.escape(expected.format(**fill))):
        resolve(namespace)


def test_the_profile_is_checked_whether_it_comes_from_the_option_or_the_environment(tmp_path, monkeypatch):
    submission = str(write_submission(tmp_path, "correct"))
    monkeypatch.setenv("RNN_GRADE_PROFILE", "fast")
    with pytest.raises(UsageError, match="environment variable RNN_GRADE_PROFILE='fast' names no profile"):
        resolve(build_parser().parse_args([submission]))
    namespace = build_parser().parse_args([submission])
    namespace.profile = "quick"  # argparse's choices would refuse it; resolve must too
    with pytest.raises(UsageError, match="--profile 'quick' names no profile; use one of default, thorough"):
        resolve(namespace)
