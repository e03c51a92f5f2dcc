"""Reading a submission (checks.engine.inputs.intake): once, bounded, never through a link that leaves it.

Each test builds a submission on disk with the odd thing in it, reads it, and checks exactly what
was kept and which sentence the student reads for what was left out.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from checks.engine.inputs import intake
from checks.engine.inputs.intake import (MAX_FILE_BYTES, MAX_SUBMISSION_BYTES, NOTHING, OUTSIDE, TO_FOLDER, TO_LINK,
                                  SubmissionUnreadable, is_repro_script, read_submission)
from checks.engine.isolation.sandbox import copy_into


def package(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    root = tmp_path / "sub"
    root.mkdir(parents=True)
    for name, text in {"__init__.py": "", **(files or {})}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def files(snapshot) -> dict[str, bytes]:
    return dict(snapshot.files)


def test_a_package_is_read_whole_but_its_bytecode(tmp_path):
    root = package(tmp_path, {"layers.py": "x = 1", "lib/helpers.py": "y = 2", "__pycache__/old.pyc": "junk"})
    snapshot = read_submission(root)
    assert snapshot.package and snapshot.complete and snapshot.left_out == ()
    assert files(snapshot) == {"__init__.py": b"", "layers.py": b"x = 1", "lib/helpers.py": b"y = 2"}
    assert snapshot.folders == ("lib",)


def test_a_file_comes_with_its_sibling_python_files_or_alone(tmp_path):
    (tmp_path / "rnn_layers.py").write_text("a")
    (tmp_path / "helpers.py").write_text("b")
    (tmp_path / "notes.txt").write_text("c")
    (tmp_path / ".hidden.py").write_text("d")
    assert files(read_submission(tmp_path / "rnn_layers.py")) == {"helpers.py": b"b", "rnn_layers.py": b"a"}
    assert files(read_submission(tmp_path / "rnn_layers.py", with_siblings=False)) == {"rnn_layers.py": b"a"}


def test_a_link_to_a_file_of_the_submission_is_copied_as_that_file(tmp_path):
    root = package(tmp_path, {"lib/helpers.py": "y = 2"})
    (root / "helpers.py").symlink_to("lib/helpers.py")
    (root / "lib" / "again.py").symlink_to("../lib/./helpers.py")
    snapshot = read_submission(root)
    assert files(snapshot)["helpers.py"] == files(snapshot)["lib/again.py"] == b"y = 2"
    assert snapshot.left_out == ()


@pytest.mark.parametrize("target, reason", [
    ("../../outside.py", OUTSIDE),  # climbs above the submission
    ("/etc/passwd", OUTSIDE),  # absolute: never followed, whatever it names
    ("missing.py", NOTHING),  # dangling
    ("lib", TO_FOLDER),
    ("..", OUTSIDE),
    (".", TO_FOLDER),
    ("other.py", TO_LINK),  # a link to a link (other.py -> helpers.py, itself a link back: a loop)
    ("lib/../other.py", TO_LINK),
    ("notes/../layers.py", NOTHING),  # through a folder that is not there
])
def test_every_other_link_is_left_out_with_its_reason(tmp_path, target, reason):
    (tmp_path / "outside.py").write_text("SECRET = 1")
    root = package(tmp_path, {"layers.py": "x = 1", "lib/helpers_real.py": ""})
    (root / "helpers.py").symlink_to(target)
    (root / "other.py").symlink_to("helpers.py")
    snapshot = read_submission(root)
    assert "helpers.py" not in files(snapshot)
    assert f"helpers.py was left out: {reason}" in snapshot.left_out
    assert all(b"SECRET" not in content for _, content in snapshot.files)


def test_a_link_to_the_installed_reference_is_never_followed(tmp_path):
    import reference

    root = package(tmp_path, {"__init__.py": "from .ref import *\n"})
    (root / "ref").symlink_to(Path(reference.__file__).parent)
    (root / "rnn.py").symlink_to(Path(reference.__file__).parent / "rnn.py")
    snapshot = read_submission(root)
    assert files(snapshot) == {"__init__.py": b"from .ref import *\n"}
    assert snapshot.left_out == (f"ref was left out: {OUTSIDE}", f"rnn.py was left out: {OUTSIDE}")


def test_a_sibling_link_to_a_classmate_leaves_the_folder_so_is_left_out(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "rnn_layers.py").write_text("ALICE")
    (tmp_path / "aaron").mkdir()
    (tmp_path / "aaron" / "rnn_layers.py").symlink_to("../alice/rnn_layers.py")
    snapshot = read_submission(tmp_path / "aaron" / "rnn_layers.py")
    assert snapshot.files == () and not snapshot.complete
    assert snapshot.left_out == (f"rnn_layers.py was left out: {OUTSIDE}",)


def test_a_named_pipe_is_never_opened_and_a_socket_is_left_out(tmp_path):
    """Opening a pipe with no writer blocks: the read runs in a child with a timeout to show it does not."""
    root = package(tmp_path, {"layers.py": "x = 1"})
    os.mkfifo(root / "notes.py")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "sock.py"))
    code = ("import sys; from checks.engine.inputs.intake import read_submission; "
            "print(repr(read_submission(sys.argv[1]).left_out))")
    read = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=30)
    listener.close()
    assert read.returncode == 0, read.stderr
    assert eval(read.stdout) == ("notes.py was left out: it is a named pipe, not a file",
                                 "sock.py was left out: it is a socket, not a file")


def test_a_folder_named_like_a_python_file_beside_a_file_is_left_out(tmp_path):
    (tmp_path / "rnn_layers.py").write_text("a")
    (tmp_path / "old.py").mkdir()
    snapshot = read_submission(tmp_path / "rnn_layers.py")
    assert files(snapshot) == {"rnn_layers.py": b"a"}
    assert snapshot.left_out == ("old.py was left out: it is a folder, not a Python file",)


def test_names_that_are_not_utf8_are_kept_and_shown_escaped(tmp_path):
    root = package(tmp_path)
    (root / os.fsdecode(b"caf\xe9.py")).write_text("x = 1")
    (root / os.fsdecode(b"bad\xff\nname.py")).symlink_to("/etc/passwd")
    snapshot = read_submission(root)
    assert files(snapshot)[os.fsdecode(b"caf\xe9.py")] == b"x = 1"
    assert snapshot.left_out == (f"bad\\xff\\nname.py was left out: {OUTSIDE}",)
    copy = copy_into(root, tmp_path / "copy")
    assert (copy / os.fsdecode(b"caf\xe9.py")).read_bytes() == b"x = 1"


def test_a_file_past_the_size_limit_is_left_out_and_not_read_past_it(tmp_path, monkeypatch):
    root = package(tmp_path, {"small.py": "x = 1"})
    (root / "big.py").write_bytes(b"#" * (MAX_FILE_BYTES * 5))
    read: dict[int, int] = {}  # bytes read from each descriptor
    real_read = os.read

    def counted(fd: int, size: int) -> bytes:
        data = real_read(fd, size)
        read[fd] = read.get(fd, 0) + len(data)
        return data

    monkeypatch.setattr(intake.os, "read", counted)
    snapshot = read_submission(root)
    monkeypatch.undo()
    assert "big.py" not in files(snapshot) and files(snapshot)["small.py"] == b"x = 1"
    assert snapshot.left_out == ("big.py was left out: it is larger than 1 MiB, the limit for one file",)
    # small.py whole; of big.py, the limit and one byte to know it was passed (not its 5 MiB)
    assert sum(read.values()) == len("x = 1") + MAX_FILE_BYTES + 1


def test_the_submission_total_is_bounded_copies_of_linked_files_included(tmp_path):
    root = package(tmp_path)
    megabyte = b"#" * MAX_FILE_BYTES
    for index in range(9):
        (root / f"part{index}.py").write_bytes(megabyte)
    (root / "zlink1.py").symlink_to("part0.py")  # the tenth MiB: fits
    (root / "zlink2.py").symlink_to("part1.py")  # the eleventh: does not
    snapshot = read_submission(root)
    assert sum(len(content) for _, content in snapshot.files) <= MAX_SUBMISSION_BYTES
    assert "zlink1.py" in files(snapshot) and "zlink2.py" not in files(snapshot)
    assert snapshot.left_out == ("zlink2.py was left out: your submission's files together pass 10 MiB, "
                                 "the limit for a submission",)


def test_a_walk_stops_after_so_many_entries_and_so_many_levels(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_ENTRIES", 4)
    root = package(tmp_path, {name: "" for name in ["a.py", "b.py", "c.py", "d.py", "e.py"]})
    snapshot = read_submission(root)
    assert sorted(files(snapshot)) == ["__init__.py", "a.py", "b.py", "c.py"]
    assert snapshot.left_out == ("only the first 4 files and folders of your submission were read; "
                                 "the rest (d.py onwards) was left out",)
    monkeypatch.setattr(intake, "MAX_ENTRIES", 1000)
    monkeypatch.setattr(intake, "MAX_DEPTH", 2)
    deep = package(tmp_path / "deep", {"a/b/c/x.py": "", "a/y.py": ""})
    snapshot = read_submission(deep)
    assert sorted(files(snapshot)) == ["__init__.py", "a/y.py"]
    assert snapshot.left_out == ("a/b/c/ was left out: it is nested more than 2 folders deep",)


def test_an_unreadable_file_is_left_out_and_a_missing_submission_is_said(tmp_path):
    with pytest.raises(SubmissionUnreadable):
        read_submission(tmp_path / "nothing.py")
    if os.geteuid() == 0:
        return  # root reads a 0000 file: the point below cannot be made
    root = package(tmp_path, {"locked.py": "x"})
    (root / "locked.py").chmod(0)
    assert read_submission(root).left_out == ("locked.py was left out: it could not be read (Permission denied)",)


def test_the_copy_is_written_from_the_snapshot_into_a_new_folder(tmp_path):
    root = package(tmp_path, {"lib/helpers.py": "y = 2"})
    (root / "helpers.py").symlink_to("lib/helpers.py")
    copy = copy_into(root, tmp_path / "scratch")
    assert copy == tmp_path / "scratch" / "sub"
    assert not (copy / "helpers.py").is_symlink() and (copy / "helpers.py").read_text() == "y = 2"
    with pytest.raises(FileExistsError):
        copy_into(root, tmp_path / "scratch")


def test_a_reproduction_script_is_recognised_by_its_first_line_only(tmp_path):
    from checks.engine.run.repro import MARKER

    (tmp_path / "script.py").write_text(MARKER + "\nprint(1)\n")
    (tmp_path / "student.py").write_text("# " + MARKER + "\n")
    (tmp_path / "link.py").symlink_to("script.py")
    assert is_repro_script(tmp_path / "script.py")
    assert not is_repro_script(tmp_path / "student.py") and not is_repro_script(tmp_path / "link.py")


def test_a_package_named_by_dot_is_read_under_its_folder_name(tmp_path, monkeypatch):
    root = package(tmp_path, {"layers.py": "x = 1"})
    monkeypatch.chdir(root)
    snapshot = read_submission(Path("."))
    assert snapshot.name == "sub" and snapshot.package and files(snapshot)["layers.py"] == b"x = 1"


def test_an_entry_swapped_after_it_was_looked_at_is_still_never_followed_nor_blocked_on(tmp_path, monkeypatch):
    """The race the descriptors close: a folder turned into a link, a file into a named pipe, between
    lstat and open. Here lstat is made to answer with the kinds from before the swap."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.py").write_text("SECRET = 1")
    root = package(tmp_path, {"layers.py": "x = 1"})
    (root / "lib").symlink_to(tmp_path / "outside")  # was a folder when looked at
    os.mkfifo(root / "notes.py")  # was a file when looked at
    before = {"lib": os.stat(tmp_path / "outside"), "notes.py": os.stat(root / "layers.py")}
    real_stat = os.stat

    def stale_stat(name, *args, **kwargs):
        return before.get(name) or real_stat(name, *args, **kwargs)

    monkeypatch.setattr(intake.os, "stat", stale_stat)
    snapshot = read_submission(root)
    monkeypatch.undo()
    assert sorted(files(snapshot)) == ["__init__.py", "layers.py"]
    assert snapshot.left_out == ("lib/ was left out: it changed while your submission was read",
                                 "notes.py was left out: it is a named pipe, not a file")


def test_a_worker_with_nothing_to_import_starts_no_process_and_says_why(tmp_path):
    from checks.engine.isolation.boundary import Worker, WorkerFault

    (tmp_path / "rnn_layers.py").symlink_to("/etc/passwd")
    worker = Worker(tmp_path / "rnn_layers.py")
    hello = worker.hello()
    assert hello == {"functions": [], "missing_module": None,
                     "import_error": f"there is nothing to import: rnn_layers.py was left out: {OUTSIDE}"}
    assert worker.process is None and worker.files_left_out == (f"rnn_layers.py was left out: {OUTSIDE}",)
    with pytest.raises(WorkerFault, match="nothing to import"):
        worker.request({"call": "rnn_step_forward"}, "calling rnn_step_forward")


def test_the_file_to_grade_is_read_before_its_helpers_use_up_the_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_ENTRIES", 2)
    for name in ("a.py", "b.py", "z_layers.py"):
        (tmp_path / name).write_text(name)
    snapshot = read_submission(tmp_path / "z_layers.py")
    assert snapshot.complete and sorted(files(snapshot)) == ["a.py", "z_layers.py"]
