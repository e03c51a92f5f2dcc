"""Names from a submission are shown escaped, and lines that a CI runner would run are made inert."""

import os

from checks.engine.inputs.display import inert, shown


def test_a_name_is_one_printable_line() -> None:
    assert shown("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert shown("colour\x1b[31m") == "colour\\x1b[31m"
    assert shown("line\u2028sep") == "line\\u2028sep"
    assert "\n" not in shown("::warning x\n::error y")


def test_bytes_that_are_not_utf8_are_shown_as_their_escape() -> None:
    assert shown(os.fsdecode(b"caf\xe9.py")) == "caf\\xe9.py"
    assert shown(b"x\xffy") == "x\\xffy"


def test_different_names_never_show_alike() -> None:
    names = ["a\\nb", "a\nb", "a\\x1b", "a\x1b", "Renée", "Rene\u0301e"]
    assert len({shown(name) for name in names}) == len(names)


def test_ordinary_names_are_unchanged() -> None:
    for name in ("rnn_layers.py", "Renée Müller", "rnn (final).py", "日本語.py", "a:b::c"):
        assert shown(name) == name


def test_workflow_commands_at_a_line_start_are_inert() -> None:
    text = "ok\n::error ::x\n  ::set-output name=a::b\n##[warning]y\nmid ::error:: stays"
    lines = inert(text).split("\n")
    assert lines[0] == "ok" and lines[4] == "mid ::error:: stays"
    for line in lines[1:4]:
        assert not line.lstrip().startswith(("::", "##["))
    assert lines[1] == "\\x3a:error ::x"
