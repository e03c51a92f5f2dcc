"""checks.engine.isolation.lockdown, one layer at a time, in child processes that lock themselves down.

Every kernel test runs its attempt twice: without the layer (the control: the attempt must
succeed, so the test would fail if the layer did nothing) and with only that layer (it must fail).
A test whose layer this kernel cannot apply is skipped, with the reason the layer gives.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from checks.engine.isolation import lockdown
from checks.engine.isolation.confinement import ACTIVE, LAYERS, MISSING, Confinement, Layer, unavailable
from checks.engine.isolation.landlock import Fs, handled_fs, library_grants
from checks.engine.isolation.lockdown import lock_down
from checks.engine.isolation.sandbox import confinement_plan

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernel confinement is Linux only")

CHILD = """
import ctypes, errno, json, os, socket, sys, threading
from checks.engine.isolation.confinement import Plan
from checks.engine.isolation.lockdown import lock_down

def attempt():
{code}

plan, layers = Plan.from_data(json.loads(sys.argv[1])), json.loads(sys.argv[2])
confinement = lock_down(plan, layers)
try:
    result = attempt()
    outcome = "allowed"
except OSError as error:
    outcome, result = errno.errorcode.get(error.errno, str(error.errno)), None
print(json.dumps({{"layers": confinement.as_data(), "outcome": outcome, "result": result}}))
"""


def confined(code: str, layers: tuple[str, ...], scratch: Path, **plan_changes) -> dict:
    """Run ``code`` (the body of a function) in a child process after ``lock_down(plan, layers)``.

    Returns {"layers", "outcome": "allowed" or the errno name, "result": what the function returned}.
    """
    plan = confinement_plan(scratch).as_data() | plan_changes
    script = CHILD.format(code=textwrap.indent(textwrap.dedent(code), "    "))
    run = subprocess.run([sys.executable, "-c", script, json.dumps(plan), json.dumps(list(layers))],
                         capture_output=True, text=True, timeout=60, cwd=scratch)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def denied(code: str, layer: str, scratch: Path, **plan_changes) -> str:
    """Assert ``code`` succeeds without ``layer`` and fails with it; return the error's name."""
    control = confined(code, (), scratch, **plan_changes)
    assert control["outcome"] == "allowed", f"the attempt fails even without {layer}: {control}"
    guarded = confined(code, (layer,), scratch, **plan_changes)
    state = guarded["layers"][0]
    if state["state"] != ACTIVE:
        pytest.skip(f"{layer} is {state['state']} here: {state['detail']}")
    assert guarded["outcome"] != "allowed", f"{layer} did not stop the attempt: {guarded}"
    return guarded["outcome"]


@pytest.fixture
def scratch(tmp_path) -> Path:
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside the scratch folder, with a file in it, open to every user."""
    folder = tmp_path / "outside"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    (folder / "secret.txt").write_text("the secret")
    return folder


@pytest.fixture
def tcp_listener():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(0.5)
        yield listener


# -- landlock-fs -----------------------------------------------------------------------------------


def test_a_file_outside_the_allowed_paths_cannot_be_read(scratch, outside):
    assert denied(f"return open({str(outside / 'secret.txt')!r}).read()", "landlock-fs", scratch) == "EACCES"


def test_the_scratch_folder_numpy_and_the_standard_library_stay_readable(scratch):
    (scratch / "mine.txt").write_text("mine")
    code = f"""
        import json as stdlib
        return [open({str(scratch / 'mine.txt')!r}).read(), len(open({np.__file__!r}).read()) > 0,
                len(open(stdlib.__file__).read()) > 0, len(os.listdir({str(Path(np.__file__).parent)!r})) > 0]
    """
    run = confined(code, ("landlock-fs",), scratch)
    if run["layers"][0]["state"] != ACTIVE:
        pytest.skip(run["layers"][0]["detail"])
    assert run["outcome"] == "allowed" and run["result"] == ["mine", True, True, True], run


def test_site_packages_as_a_whole_cannot_be_listed(scratch):
    assert denied(f"return os.listdir({str(Path(np.__file__).parents[1])!r})", "landlock-fs", scratch) == "EACCES"


def test_nothing_can_be_written_outside_the_scratch_folder(scratch, outside):
    planted = outside / "planted.txt"
    code = f"open({str(planted)!r}, 'x').close(); os.unlink({str(planted)!r})"  # the control cleans up
    assert denied(code, "landlock-fs", scratch) == "EACCES"
    assert not planted.exists()


def test_the_scratch_folder_stays_writable(scratch):
    run = confined(f"open({str(scratch / 'new.txt')!r}, 'x').write('ok')", ("landlock-fs",), scratch)
    assert run["outcome"] == "allowed" and (scratch / "new.txt").read_text() == "ok", run


def test_the_parents_proc_entries_cannot_be_read(scratch):
    assert denied("return open(f'/proc/{os.getppid()}/cmdline').read()", "landlock-fs", scratch) == "EACCES"


def test_a_child_python_still_runs_under_the_whole_lock_down(scratch):
    code = f"""
        import subprocess
        child = subprocess.run([{sys.executable!r}, "-c", "import json, statistics; print(statistics.mean([1, 2]))"],
                               capture_output=True, text=True)
        return [child.returncode, child.stdout.strip(), child.stderr[-300:]]
    """
    run = confined(code, tuple(LAYERS), scratch)
    assert run["outcome"] == "allowed" and run["result"][:2] == [0, "1.5"], run


# -- the network: namespaces, landlock-net, seccomp ------------------------------------------------


@pytest.mark.parametrize("layer", ["namespaces", "landlock-net", "seccomp"])
def test_no_tcp_connection_reaches_a_loopback_listener(layer, scratch, tcp_listener):
    port = tcp_listener.getsockname()[1]
    code = f"socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hello')"
    control = confined(code, (), scratch)
    assert control["outcome"] == "allowed", control
    tcp_listener.accept()[0].close()  # the control's connection
    guarded = confined(code, (layer,), scratch)
    if guarded["layers"][0]["state"] != ACTIVE:
        pytest.skip(guarded["layers"][0]["detail"])
    assert guarded["outcome"] != "allowed", guarded
    with pytest.raises(TimeoutError):
        tcp_listener.accept()


@pytest.mark.parametrize("layer", ["namespaces", "seccomp"])
def test_no_udp_datagram_reaches_a_loopback_listener(layer, scratch):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        code = f"socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'hello', ('127.0.0.1', {port}))"
        assert denied(code, layer, scratch)
        assert listener.recv(100) == b"hello"  # the control's datagram, and only that one
        with pytest.raises(TimeoutError):
            listener.recv(100)


def test_seccomp_refuses_every_socket_but_keeps_socketpair_and_refuses_io_uring(scratch, tmp_path):
    path = tmp_path / "a.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen(1)
        assert denied(f"socket.socket(socket.AF_UNIX).connect({str(path)!r})", "seccomp", scratch) == "EACCES"
    run = confined("return len(socket.socketpair())", ("seccomp",), scratch)
    assert run["outcome"] == "allowed" and run["result"] == 2, run
    io_uring = """
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        if libc.syscall(ctypes.c_long(425), ctypes.c_long(1), None) == -1:  # io_uring_setup(1, NULL)
            return errno.errorcode[ctypes.get_errno()]
    """
    assert confined(io_uring, (), scratch)["result"] != "EACCES"  # EFAULT, or ENOSYS where disabled
    assert confined(io_uring, ("seccomp",), scratch)["result"] == "EACCES"


# -- signals, capabilities, user -------------------------------------------------------------------


def test_the_parent_cannot_be_signalled(scratch):
    # Signal 0 checks the permission and sends nothing: the test runner is never touched.
    assert denied("os.kill(os.getppid(), 0)", "landlock-scope", scratch) == "EPERM"


def test_every_capability_is_dropped_and_no_new_privs_set(scratch):
    code = """
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return [int(status["CapEff"], 16), int(status["CapPrm"], 16), int(status["CapBnd"], 16), int(status["NoNewPrivs"])]
    """
    if os.geteuid() == 0:
        assert confined(code, (), scratch)["result"][0] != 0  # root starts with capabilities
    run = confined(code, ("capabilities",), scratch)
    effective, permitted, bounding, no_new_privs = run["result"]
    assert effective == permitted == 0 and no_new_privs == 1, run
    if os.geteuid() == 0:
        assert bounding == 0, run


@pytest.mark.skipif(os.geteuid() != 0, reason="only root drops to another user")
def test_as_root_the_worker_becomes_the_planned_user(scratch):
    run = confined("return os.getresuid() + os.getresgid() + (os.getgroups(),)", ("user",), scratch,
                   user=[65534, 65534], user_note="runs as nobody")
    assert run["result"] == [65534] * 6 + [[]], run
    assert run["layers"] == [{"layer": "user", "state": ACTIVE, "detail": "runs as nobody"}]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root drops to another user")
def test_a_scratch_folder_out_of_other_users_reach_keeps_the_worker_root_and_says_why():
    import shutil
    import tempfile

    from checks.engine.isolation.sandbox import worker_user

    base = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own tmp_path is private to root
    try:
        base.chmod(0o755)
        private = base / "private"
        (private / "tmp").mkdir(parents=True)
        private.chmod(0o700)  # TMPDIR under root's own folder: nobody could not even enter the scratch folder
        user, note = worker_user(private / "tmp" / "rnn-grade-worker-x")
        assert user is None and "not reachable by other users" in note and "TMPDIR" in note
        private.chmod(0o755)
        if worker_user()[0] is not None:  # where nobody can run Python at all
            assert worker_user(private / "tmp" / "rnn-grade-worker-x")[0] is not None
    finally:
        shutil.rmtree(base)


def test_a_worker_that_need_not_drop_says_so(scratch):
    run = confined("return os.getuid()", ("user",), scratch, user=None, user_needed=False, user_note="not root")
    assert run["layers"] == [{"layer": "user", "state": "not needed", "detail": "not root"}]
    run = confined("return os.getuid()", ("user",), scratch, user=None, user_needed=True, user_note="unreadable")
    assert run["layers"] == [{"layer": "user", "state": MISSING, "detail": "unreadable"}]


# -- refusing to half-confine, and the record ------------------------------------------------------


def test_a_process_with_threads_is_not_half_confined(scratch):
    code = """
        return open("/proc/self/status").read()[:10]
    """
    script = CHILD.format(code=textwrap.indent(textwrap.dedent(code), "    ")).replace(
        "confinement = lock_down", "threading.Thread(target=threading.Event().wait, daemon=True).start()\n"
        "confinement = lock_down")
    plan = json.dumps(confinement_plan(scratch).as_data())
    run = subprocess.run([sys.executable, "-c", script, plan, json.dumps(list(LAYERS))], capture_output=True,
                         text=True, timeout=60)
    report = json.loads(run.stdout)
    assert report["outcome"] == "allowed"  # nothing was applied, /proc included
    assert all(layer["state"] == MISSING and "2 threads" in layer["detail"] for layer in report["layers"])


def test_off_linux_every_layer_is_missing_with_the_reason(monkeypatch, scratch):
    monkeypatch.setattr(lockdown.sys, "platform", "darwin")
    record = lock_down(confinement_plan(scratch))
    assert [layer.name for layer in record.layers] == list(LAYERS)
    assert all(layer.state == MISSING and "darwin" in layer.detail for layer in record.layers)


def test_the_record_round_trips_and_refuses_anything_else():
    record = Confinement((Layer("namespaces", ACTIVE, "yes"), Layer("user", MISSING, "root")))
    assert Confinement.from_data(record.as_data()) == record
    assert record.missing == (Layer("user", MISSING, "root"),)
    assert unavailable("no", ["seccomp"]).missing == (Layer("seccomp", MISSING, "no"),)
    for bad in ({"layer": "namespaces"}, [{"layer": "x", "state": ACTIVE, "detail": ""}],
                [{"layer": "user", "state": "maybe", "detail": ""}], [{"layer": "user", "state": ACTIVE, "detail": 3}]):
        with pytest.raises(ValueError):
            Confinement.from_data(bad)


def test_rights_the_kernel_does_not_know_are_never_asked_for():
    assert not handled_fs(1) & (Fs.REFER | Fs.TRUNCATE | Fs.IOCTL_DEV)
    assert handled_fs(2) & Fs.REFER and not handled_fs(2) & Fs.TRUNCATE
    assert handled_fs(4) == handled_fs(3) and not handled_fs(4) & Fs.IOCTL_DEV
    assert handled_fs(7) == Fs((1 << 16) - 1)


def test_a_librarys_folder_is_granted_unless_it_holds_or_lies_in_a_secret():
    files = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/local/lib/libpython3.11.so", "/home/me/lib/libx.so"]
    keep_out = ["/usr/local/lib/python3.11/site-packages", "/home"]
    assert library_grants(files, keep_out) == ["/home/me/lib/libx.so", "/usr/lib/x86_64-linux-gnu",
                                               "/usr/local/lib/libpython3.11.so"]



# -- the caps: scratch-size, processes, file-size, cpu-time ----------------------------------------
# Each attempt runs without the cap (it must get past the limit) and with only that cap (it must not).

MIB = 1024**2
# An ordinary user mounts the tmpfs inside the user namespace of the namespaces layer.
SCRATCH_LAYERS = ("scratch-size",) if os.geteuid() == 0 else ("namespaces", "scratch-size")


def layer_named(run: dict, name: str) -> dict:
    return next(layer for layer in run["layers"] if layer["layer"] == name)


def test_the_scratch_folder_holds_only_its_room_and_keeps_the_graders_copy(scratch):
    """A tmpfs of the plan's room covers the scratch folder: 3 files of 1 MiB fit where 2 MiB is the
    room, not the fourth; what the grader put there (a file, a folder, a link) is still there."""
    (scratch / "submission").mkdir()
    (scratch / "submission" / "mine.py").write_text("x = 1\n")
    (scratch / "link.py").symlink_to("submission/mine.py")
    code = """
        written = 0
        try:
            for k in range(4):
                with open(f"filler{k}", "wb") as stream:
                    stream.write(b"x" * (1 << 20))
                written += 1
        finally:
            kept = [open("submission/mine.py").read(), os.readlink("link.py"), os.getcwd()]
        return kept + [written]
    """
    control = confined(code, (), scratch, scratch_room=2 * MIB)
    assert control["result"] == ["x = 1\n", "submission/mine.py", str(scratch), 4], control
    for k in range(4):
        (scratch / f"filler{k}").unlink()
    guarded = confined(code, SCRATCH_LAYERS, scratch, scratch_room=2 * MIB)
    if layer_named(guarded, "scratch-size")["state"] != ACTIVE:
        pytest.skip(layer_named(guarded, "scratch-size")["detail"])
    assert guarded["outcome"] == "ENOSPC", guarded
    assert not any(scratch.glob("filler*")), "the worker wrote into the grader's folder, not its tmpfs"


def test_a_file_cannot_grow_past_the_file_size_limit(scratch):
    code = """
        with open("big", "wb") as stream:
            stream.write(b"x" * (3 << 20))
    """
    assert denied(code, "file-size", scratch, max_file_size=2 * MIB) == "EFBIG"


FORKS = """
    started, refused = [], 0
    for _ in range({count}):
        try:
            pid = os.fork()
        except BlockingIOError:
            refused += 1
            continue
        if pid == 0:
            threading.Event().wait()  # nothing to import: a child that is nobody may not read this Python
        started.append(pid)
    for pid in started:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    if refused:
        raise OSError(errno.EAGAIN, f"{{len(started)}} forks, then EAGAIN")
    return len(started)
"""


def processes_cap_or_skip(run: dict) -> None:
    state = next(layer for layer in run["layers"] if layer["layer"] == "processes")
    if state["state"] != ACTIVE:
        pytest.skip(state["detail"])


@pytest.mark.parametrize("user", ["grading user", "nobody"])
def test_no_more_processes_than_the_limit(user, scratch):
    """200 forks: all run without the cap; with it, the worker and 15 children, then EAGAIN.

    As root the cap needs the drop to nobody (the kernel never limits uid 0); a child that is
    nobody only runs code already imported, so the test works whatever can read this Python."""
    if user == "nobody" and os.geteuid() != 0:
        pytest.skip("only root drops to another user")
    change = {"user": [65534, 65534]} if user == "nobody" else {}
    layers = ("user",) if user == "nobody" else ()
    if user == "nobody":
        os.chmod(scratch, 0o777)
    control = confined(FORKS.format(count=200), layers, scratch, **change)
    assert control["outcome"] == "allowed" and control["result"] == 200, control
    guarded = confined(FORKS.format(count=200), (*layers, "processes"), scratch, max_processes=16, **change)
    processes_cap_or_skip(guarded)
    assert guarded["outcome"] == "EAGAIN", guarded


def test_no_more_threads_than_the_limit(scratch):
    """Threads count as processes: 100 threads start without the cap, 15 with a cap of 16."""
    code = """
        import threading
        stop, started = threading.Event(), []
        try:
            for _ in range(100):
                thread = threading.Thread(target=stop.wait)
                thread.start()
                started.append(thread)
        except RuntimeError as error:
            raise OSError(errno.EAGAIN, f"{len(started)} threads, then {error}")
        finally:
            stop.set()
        return len(started)
    """
    nobody = os.geteuid() == 0
    change = {"user": [65534, 65534]} if nobody else {}
    if nobody:
        os.chmod(scratch, 0o777)
    layers = ("user",) if nobody else ()
    assert confined(code, layers, scratch, **change)["result"] == 100
    guarded = confined(code, (*layers, "processes"), scratch, max_processes=16, **change)
    processes_cap_or_skip(guarded)
    assert guarded["outcome"] == "EAGAIN", guarded


def test_the_process_limit_does_not_count_the_users_other_processes(scratch):
    """The cap counts in the worker's own user namespace: with 20 processes of the worker's user
    already running outside it (the grading user's, or other workers' as nobody), a worker capped
    at 16 still starts 15 children."""
    nobody = os.geteuid() == 0
    change = {"user": [65534, 65534]} if nobody else {}
    if nobody:
        os.chmod(scratch, 0o777)
    as_user = {"user": 65534, "group": 65534, "extra_groups": []} if nobody else {}
    others = [subprocess.Popen(["sleep", "60"], **as_user) for _ in range(20)]
    try:
        run = confined(FORKS.format(count=15), ("user",) * nobody + ("processes",), scratch, max_processes=16,
                       **change)
    finally:
        for other in others:
            other.kill()
            other.wait()
    processes_cap_or_skip(run)
    assert run["outcome"] == "allowed" and run["result"] == 15, run


def test_cpu_time_past_the_limit_ends_the_process(scratch):
    """A 3-second busy loop runs to its end without the cap; with a cap of 1 s, SIGXCPU ends it."""
    code = """
        import time
        ends = time.process_time() + 3
        while time.process_time() < ends:
            pass
        return "finished"
    """
    assert confined(code, (), scratch)["result"] == "finished"
    plan = confinement_plan(scratch).as_data() | {"cpu_seconds": 1}
    script = CHILD.format(code=textwrap.indent(textwrap.dedent(code), "    "))
    run = subprocess.run([sys.executable, "-c", script, json.dumps(plan), json.dumps(["cpu-time"])],
                         capture_output=True, text=True, timeout=60, cwd=scratch)
    assert run.returncode == -signal.SIGXCPU, (run.returncode, run.stdout, run.stderr)


def test_the_caps_say_so_when_none_is_asked_for(scratch):
    run = confined("return 1", ("scratch-size", "processes", "file-size", "cpu-time"), scratch,
                   scratch_room=0, max_processes=0, max_file_size=0, cpu_seconds=0)
    assert [layer["state"] for layer in run["layers"]] == ["not needed"] * 4, run


def test_the_default_plan_caps_every_resource(scratch):
    plan = confinement_plan(scratch)
    assert plan.scratch_room and plan.max_processes and plan.max_file_size and plan.cpu_seconds
    assert plan.max_file_size <= plan.scratch_room


def test_copies_too_large_for_memory_leave_the_scratch_folder_on_disk_and_say_so(scratch):
    """Course folders past MOST_COPIED (lowered to 4 KiB here) are not held in a tmpfs: the layer is
    missing with the reason, and the worker still sees the grader's copies, whole."""
    (scratch / "path0").mkdir()
    (scratch / "path0" / "data.bin").write_bytes(b"x" * 65536)
    code = """
        return len(open("path0/data.bin", "rb").read())
    """
    script = CHILD.format(code=textwrap.indent(textwrap.dedent(code), "    ")).replace(
        "confinement = lock_down", "import checks.engine.isolation.limits as c\nc.MOST_COPIED = 4096\nconfinement = lock_down")
    plan = json.dumps(confinement_plan(scratch).as_data())
    run = subprocess.run([sys.executable, "-c", script, plan, json.dumps(SCRATCH_LAYERS)], capture_output=True,
                         text=True, timeout=60, cwd=scratch)
    report = json.loads(run.stdout)
    layer = layer_named(report, "scratch-size")
    if "mount namespace" in layer["detail"]:
        pytest.skip(layer["detail"])
    assert layer["state"] == MISSING and "MiB of copies (course folders)" in layer["detail"], report
    assert report["result"] == 65536, report


def test_the_processes_user_namespace_gives_back_no_capability(scratch):
    """The user namespace the process cap makes starts with every capability: the lock-down still
    ends with none, an empty bounding set and no_new_privs (as nobody when grading as root)."""
    code = """
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return [int(status[key], 16) for key in ("CapEff", "CapPrm", "CapInh", "CapBnd")] + [int(status["NoNewPrivs"])]
    """
    nobody = os.geteuid() == 0
    if nobody:
        os.chmod(scratch, 0o777)
    change = {"user": [65534, 65534]} if nobody else {}
    run = confined(code, ("user",) * nobody + ("processes", "capabilities"), scratch, **change)
    processes_cap_or_skip(run)
    assert run["result"] == [0, 0, 0, 0, 1], run
