"""The hostile corpus (tests/hostile/): submissions that attack the grader instead of solving the
exercise, each with an exact expected outcome.

Every file is a submission. It declares what grading it must give, as module constants read here
with ``ast`` (the tests never import a hostile file; only a worker process runs one):

    EXPECTED_SCORES = {check: points}    the exact score of each of the four tiny checks below
    EXPECTED_MESSAGES = {check: text}    text that check's message must contain (a tuple: any of them)
    EXPECTED_IMPORT_ERROR = text         the import fails: every check 0, each message with this text
    EXPECTED_OUTPUT = text               text every check's captured output must contain
    EXPECTED_OUTPUTS = {check: text}     text that check's captured output must contain
    GRADE_OPTIONS = {...}                call_timeout (default 2 s here) and memory_limit_mib
    CONFINED_BY = (layer, ...)           the defence is the worker's confinement: skipped (saying
                                         why) on a machine where none of these layers is active

Grading uses four tiny checks (the three of ``tiny_grading`` and one for clip_grad_norm, 10 points
in all, a fraction of a second each), in process through ``grade_submission``, except where the
command line or the pytest plugin is the point. Each case is graded from a copy in its own folder,
with a fresh token in place of ``@HOSTILE_TOKEN@``, so the processes and files it creates can be
found (and removed) afterwards, and with the *bait* the test set up in place of the other
placeholders: ``@GRADER_PID@`` (the grading process), ``@SECRET_FILE@`` (a file every user may read,
outside the scratch folder), ``@OUTSIDE_FOLDER@`` (a folder every user may write), ``@ORIGINAL_FOLDER@``
(where the graded copy lives), ``@TCP_PORT@`` and ``@UDP_PORT@`` (loopback ports this process listens
on) and ``@KILL_ARMED@`` (True only where the grader is a process the test started). Placeholders
in the EXPECTED_ texts are replaced too.

After every grade, the test also checks that nothing of the submission reached this process (no
module, no unpickled payload, no patched comparison), that no process it started is still alive,
that nothing arrived at the listeners, and that no file appeared outside the scratch folder.

Only two grades use the built-in checks: a correct submission that floods its output and sleeps on
every call (full marks), and one that games small inputs (restricted to the forward and backward
groups, where it must lose points).
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from checks.engine.isolation.confinement import ACTIVE, Confinement
from checks.engine.isolation.boundary import WorkerOptions, probe_confinement
from checks.engine.isolation.pipes import OUTPUT_KEPT_PER_CHECK
from checks.engine.isolation.sandbox import reachable_by_others
from checks.registry import load_checks
from checks.engine.report import gradescope_results
from checks.engine.run.results import Grade
from checks.engine.run.runner import grade_submission
from tiny_grading import REPO, TINY_CHECKS, clean_environment

HOSTILE = Path(__file__).resolve().parent / "hostile"
CASES = sorted(path.stem for path in HOSTILE.glob("*.py"))
TOKEN_PLACEHOLDER = "@HOSTILE_TOKEN@"
MIB = 1024**2
DEFAULT_CALL_TIMEOUT = 2.0

CLIP_CHECK = '''
"""A tiny check of clip_grad_norm, so that some check calls none of the step functions."""
import numpy as np
from hypothesis import given, strategies as st

from checks.registry import check
from checks.verdicts import assert_all_close


@check(group="clipping", points=4, needs=("clip_grad_norm",), examples=0.1)
@given(seed=st.integers(0, 2**32 - 1), max_norm=st.floats(0.5, 5.0))
def tiny_clip_grad_norm(sub, seed, max_norm):
    """clip_grad_norm scales every gradient by one factor and returns the pre-clip global norm"""
    rng = np.random.default_rng(seed)
    grads = {"Wx": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    clipped, total_norm = sub.clip_grad_norm(grads, max_norm)
    assert abs(total_norm - total) <= 1e-9 * total, f"total_norm is {total_norm}, expected {total}"
    scale = max_norm / total if total > max_norm else 1.0
    assert_all_close(clipped, {name: g * scale for name, g in grads.items()}, "global-norm clipping")
'''

# The checks in report order (forward, backward, clipping, hygiene) and their points.
CHECK_POINTS = {"tiny_step_forward": 2.0, "tiny_step_backward": 3.0, "tiny_clip_grad_norm": 4.0, "tiny_size_one": 1.0}



# -- helpers -------------------------------------------------------------------------------------


def declared(path: Path) -> dict:
    """The module-level constants of a hostile file, read without importing it."""
    tree = ast.parse(path.read_text())
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id.startswith(("EXPECTED_", "GRADE_OPTIONS", "CONFINED_BY"))
    }


def write_hostile_checks(folder: Path) -> tuple[Path, Path]:
    """The four tiny checks in ``folder``/checks, and an empty points table (decorator points apply)."""
    checks = folder / "checks"
    checks.mkdir(parents=True, exist_ok=True)
    (checks / "tiny.py").write_text(TINY_CHECKS)
    (checks / "tiny_clip.py").write_text(CLIP_CHECK)
    points = folder / "empty_points.toml"
    points.write_text("")
    return checks, points


def load_hostile_checks(folder: Path) -> list:
    """The four tiny checks, loaded in this process."""
    checks_folder, points = write_hostile_checks(folder)
    checks = load_checks([checks_folder], points, builtin=False)
    assert [c.name for c in checks] == list(CHECK_POINTS)
    return checks


@dataclasses.dataclass
class Bait:
    """What the hostile cases reach for, set up so that the test can tell whether they got it."""

    secret: Path  # a file every user may read, outside any scratch folder
    outside: Path  # a folder every user may write, outside any scratch folder
    grader_pid: int
    tcp: socket.socket | None = None  # listening on loopback
    udp: socket.socket | None = None
    kill_armed: bool = False

    @classmethod
    def inert(cls, folder: Path) -> Bait:
        """Placeholder values with nothing behind them (for a grade that does not look at the bait)."""
        return cls(folder / "no-secret", folder / "no-outside", os.getpid())

    def substitutions(self, original: Path) -> dict[str, str]:
        port = lambda listener: str(listener.getsockname()[1]) if listener else "9"  # noqa: E731 - discard
        return {"GRADER_PID": str(self.grader_pid), "SECRET_FILE": str(self.secret), "OUTSIDE_FOLDER": str(self.outside),
                "ORIGINAL_FOLDER": str(original), "TCP_PORT": port(self.tcp), "UDP_PORT": port(self.udp),
                "KILL_ARMED": str(self.kill_armed)}

    def arrivals(self) -> list[str]:
        """Every connection and datagram that reached the listeners (none may)."""
        arrived = []
        while self.tcp:
            try:
                connection, peer = self.tcp.accept()
            except BlockingIOError:
                break
            with connection:
                connection.settimeout(1)
                arrived.append(f"tcp from {peer}: {connection.recv(4096)!r}")
        while self.udp:
            try:
                data, peer = self.udp.recvfrom(4096)
            except BlockingIOError:
                break
            arrived.append(f"udp from {peer}: {data!r}")
        return arrived


@contextmanager
def listening_bait(folder: Path, grader_pid: int) -> Iterator[Bait]:
    """A secret file, a world-writable folder and two loopback listeners (TCP, UDP), in ``folder``."""
    (folder / "secret").mkdir(parents=True)
    secret = folder / "secret" / f"SECRET-{uuid.uuid4().hex}.txt"
    secret.write_text("the secret\n")
    outside = folder / "outside"
    outside.mkdir()
    for path, mode in ((folder, 0o755), (secret.parent, 0o755), (secret, 0o644), (outside, 0o777)):
        os.chmod(path, mode)  # only the confinement stands in the way, not permissions
    tcp, udp = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for listener in (tcp, udp):
            listener.bind(("127.0.0.1", 0))
            listener.setblocking(False)
        tcp.listen(8)
        yield Bait(secret, outside, grader_pid, tcp, udp)
    finally:
        tcp.close()
        udp.close()


def copy_case(name: str, folder: Path, bait: Bait | None = None) -> tuple[Path, str]:
    """Copy tests/hostile/NAME.py alone into ``folder`` with a fresh token and the bait; return (path, token)."""
    token = uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    text = (HOSTILE / f"{name}.py").read_text().replace(TOKEN_PLACEHOLDER, token)
    for placeholder, value in (bait or Bait.inert(folder)).substitutions(folder).items():
        text = text.replace(f"@{placeholder}@", value)
    path.write_text(text)
    return path, token


def worker_options(expected: dict) -> WorkerOptions:
    options = dict(expected.get("GRADE_OPTIONS", {}))
    result = WorkerOptions(call_timeout=float(options.pop("call_timeout", DEFAULT_CALL_TIMEOUT)))
    if "memory_limit_mib" in options:
        result = replace(result, memory_limit=int(options.pop("memory_limit_mib")) * MIB)
    assert not options, f"unknown GRADE_OPTIONS {options}"
    return result


def marked_processes(token: str) -> list[int]:
    """Pids of live processes whose command line contains ``token`` (by /proc, no psutil)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if token.encode() in cmdline and "zombie" not in state:
            found.append(int(entry.name))
    return found


def survivors(token: str, grace: float = 3.0) -> list[int]:
    """Marked processes still alive after ``grace`` seconds (a killed process takes a moment to go)."""
    ends = time.monotonic() + grace
    while (found := marked_processes(token)) and time.monotonic() < ends:
        time.sleep(0.05)
    return found


def kill_marked(token: str) -> None:
    """Kill what a case left behind (processes this test caused, found by the token only it knows)."""
    for pid in marked_processes(token):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def trespass_paths(token: str, *folders: Path) -> list[Path]:
    """Where privilege_write_harness.py and write_outside.py may have created their files and links."""
    places = (*folders, REPO / "checks", REPO, Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"),
              Path(tempfile.gettempdir()))
    return [folder / f"HOSTILE-{token}{suffix}" for folder in dict.fromkeys(places) for suffix in ("", ".link")]


def present(paths: list[Path]) -> list[str]:
    return [str(path) for path in paths if path.exists() or path.is_symlink()]


def skip_unless_confined(expected: dict, confinement: Confinement) -> None:
    """Skip a case whose defence is a layer of confinement this machine does not give."""
    layers = expected.get("CONFINED_BY", ())
    active = {layer.name for layer in confinement.layers if layer.state == ACTIVE}
    if layers and not active & set(layers):
        reasons = "; ".join(f"{layer.name}: {layer.detail}" for layer in confinement.layers if layer.name in layers)
        pytest.skip(f"not defended on this machine ({reasons})")


def matches(text: str, expected: str | tuple[str, ...]) -> bool:
    return any(alternative in text for alternative in ((expected,) if isinstance(expected, str) else expected))


def describe(grade: Grade) -> str:
    lines = [f"import_error: {grade.import_error!r}"]
    lines += [f"{r.check.name}: {r.score:g}/{r.check.points:g} {r.message[:300]!r} output={r.output[:80]!r}"
              for r in grade.results]
    return "\n".join(lines)


def assert_outcome(grade: Grade, expected: dict) -> None:
    """The exact scores and messages a case declares, with every check present."""
    summary = describe(grade)
    assert [r.check.name for r in grade.results] == list(CHECK_POINTS), summary
    # Nothing lost: every check in the report, with a status, and a message for any lost point.
    report = gradescope_results(grade)
    assert len(json.dumps(report).encode()) < 100_000, summary
    assert [test["extra_data"]["check"] for test in report["tests"]] == list(CHECK_POINTS), summary
    for result, test in zip(grade.results, report["tests"]):
        assert test["status"] == ("passed" if result.score == result.check.points else "failed"), summary
        if result.score < result.check.points:
            assert result.message.strip() and result.message.strip()[:100] in test["output"], summary
        # Output floods are cut to a few KB per check.
        assert len(result.output) <= OUTPUT_KEPT_PER_CHECK + 200, summary
        if "EXPECTED_OUTPUT" in expected:
            assert expected["EXPECTED_OUTPUT"] in result.output, summary
        if result.check.name in expected.get("EXPECTED_OUTPUTS", {}):
            assert expected["EXPECTED_OUTPUTS"][result.check.name] in result.output, summary
    if "EXPECTED_IMPORT_ERROR" in expected:
        reason = expected["EXPECTED_IMPORT_ERROR"]
        assert grade.import_error and matches(grade.import_error, reason), summary
        assert all(r.score == 0 and matches(r.message, reason) for r in grade.results), summary
        return
    assert grade.import_error is None, summary
    scores = {r.check.name: r.score for r in grade.results}
    assert scores == pytest.approx(expected["EXPECTED_SCORES"]), summary
    for result in grade.results:
        if result.check.name in expected.get("EXPECTED_MESSAGES", {}):
            assert matches(result.message, expected["EXPECTED_MESSAGES"][result.check.name]), summary
        elif result.score == result.check.points:
            assert result.message == "", summary


def assert_grading_process_untouched() -> None:
    """No submission code ran here: no module, no unpickled payload, no patched comparison."""
    assert "submission" not in sys.modules
    assert not hasattr(builtins, "RNN_GRADE_UNPICKLED")
    assert not np.allclose(1.0, 2.0) and not np.isclose(1.0, 2.0)
    assert not math.isclose(1.0, 2.0)
    assert builtins.abs(-1) == 1 and builtins.all([False]) is False
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(1.0, 2.0)
    assert 1.0 != pytest.approx(2.0)


def rnn_grade(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "checks.engine.cli", *args],
        capture_output=True, text=True, cwd=REPO, env=env or clean_environment(), timeout=timeout,
    )


def by_check(report: dict) -> dict[str, dict]:
    return {test["extra_data"]["check"]: test for test in report["tests"]}


@pytest.fixture(scope="module")
def hostile_checks(tmp_path_factory) -> list:
    return load_hostile_checks(tmp_path_factory.mktemp("hostile-checks"))


@pytest.fixture(scope="module")
def confinement() -> Confinement:
    """The layers of confinement a worker gets on this machine."""
    return probe_confinement()


@pytest.fixture(scope="module")
def tiny_options(tmp_path_factory) -> list[str]:
    """Command-line options that grade with the four tiny checks only."""
    checks, points = write_hostile_checks(tmp_path_factory.mktemp("hostile-cli-checks"))
    return ["--checks-dir", str(checks), "--no-builtin-checks", "--points", str(points)]


# -- every case, graded in process with the tiny checks ----------------------------------------


def test_every_case_declares_a_complete_outcome():
    assert len(CASES) >= 30
    for name in CASES:
        expected = declared(HOSTILE / f"{name}.py")
        assert ("EXPECTED_SCORES" in expected) != ("EXPECTED_IMPORT_ERROR" in expected), name
        if "EXPECTED_SCORES" in expected:
            assert set(expected["EXPECTED_SCORES"]) == set(CHECK_POINTS), name
            assert set(expected.get("EXPECTED_MESSAGES", {})) <= set(CHECK_POINTS), name
            for check, score in expected["EXPECTED_SCORES"].items():
                assert 0 <= score <= CHECK_POINTS[check], name
                assert (score < CHECK_POINTS[check]) <= (check in expected.get("EXPECTED_MESSAGES", {})), (
                    f"{name}: {check} loses points, so its message must be declared")


@pytest.mark.parametrize("drawn_ahead", [False, True], ids=["drawn-when-needed", "drawn-ahead"])
@pytest.mark.parametrize("case", CASES)
def test_hostile_submission_gets_exactly_its_outcome(case, drawn_ahead, tmp_path, hostile_checks, confinement,
                                                     monkeypatch):
    """Each case, graded with its examples drawn when needed and drawn ahead (``checks.engine.run.lookahead``,
    let to fork beside pytest-xdist's I/O thread, which only waits on a socket)."""
    if drawn_ahead:
        monkeypatch.setattr(threading, "active_count", lambda: 1)
    with listening_bait(tmp_path / "bait", grader_pid=os.getpid()) as bait:
        path, token = copy_case(case, tmp_path / "submission", bait)
        expected = declared(path)
        skip_unless_confined(expected, confinement)
        places = trespass_paths(token, bait.outside, path.parent)
        try:
            grade = grade_submission(path, hostile_checks, options=worker_options(expected), lookahead=drawn_ahead)
            left, arrived, planted = survivors(token), bait.arrivals(), present(places)
            outside = [str(p) for p in bait.outside.iterdir()]
        finally:
            kill_marked(token)
            for place in places:
                place.unlink(missing_ok=True)
    assert_outcome(grade, expected)
    assert not left, f"processes started by the submission outlived grading: {left}"
    assert not arrived, f"the submission reached this process's listeners: {arrived}"
    assert not planted and not outside, f"the submission wrote outside its scratch folder: {planted + outside}"
    assert_grading_process_untouched()


# -- what needs the command line, the pytest plugin or the real checks -------------------------


def test_a_whole_run_deadline_bounds_the_total_time(tmp_path, tiny_options):
    """hang_every_call: three calls that never return would take 3 x 4 s; the 2 s deadline ends it.

    The check running at the deadline fails, and every check not started gets 0 naming the deadline,
    even the clipping check, which would pass.
    """
    path, _ = copy_case("hang_every_call", tmp_path / "submission")
    results = tmp_path / "results.json"
    started = time.monotonic()
    run = rnn_grade(str(path), "--results", str(results), "--call-timeout", "4", "--deadline", "2", *tiny_options)
    elapsed = time.monotonic() - started
    assert run.returncode == 1, run.stdout + run.stderr
    report = json.loads(results.read_text())
    assert list(by_check(report)) == list(CHECK_POINTS)
    for test in report["tests"]:
        assert test["score"] == 0 and test["status"] == "failed"
        assert "deadline" in test["output"], test
    assert elapsed < 10, f"the run took {elapsed:.1f} s despite --deadline 2"


def test_forged_results_json_never_replaces_the_genuine_report(tmp_path, tiny_options):
    """forge_results: the copy names the real --results path (a perfect guess, @OUTSIDE_FOLDER@ being
    its folder), and it writes a 999-point report there at import, every 10 ms from a thread, and at
    exit. The report that remains is the genuine 7 / 10."""
    target = tmp_path / "out" / "results.json"
    target.parent.mkdir()
    bait = dataclasses.replace(Bait.inert(tmp_path), outside=target.parent)
    path, token = copy_case("forge_results", tmp_path / "submission", bait)
    env = clean_environment(RNN_GRADE_TEST_FORGE_TARGET=str(target))
    try:
        run = rnn_grade(str(path), "--results", str(target), "--call-timeout", "2", *tiny_options, env=env)
        time.sleep(0.3)  # a forger still running would have rewritten it by now
        text = target.read_text()
    finally:
        kill_marked(token)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FORGED-REPORT" not in text and "FORGED-REPORT" not in run.stdout
    report = json.loads(text)
    assert report["score"] == 7 and report["extra_data"]["max_score"] == 10
    tests = by_check(report)
    expected = declared(HOSTILE / "forge_results.py")["EXPECTED_SCORES"]
    assert {name: test["score"] for name, test in tests.items()} == expected
    assert "not implemented: rnn_step_backward" in tests["tiny_step_backward"]["output"]
    # The attack ran on the real path (what it printed is in the forward check's output).
    assert f"FORGE-ATTEMPT {target}:" in tests["tiny_step_forward"]["output"]
    assert not list(target.parent.glob(".*.tmp")), "the grader left a temporary report behind"


def nobody_can_run_this_python() -> bool:
    import pwd

    try:
        group = pwd.getpwnam("nobody").pw_gid
        probe = subprocess.run([sys.executable, "-I", "-c", "import numpy, checks.engine.isolation.worker"], user="nobody",
                               group=group, extra_groups=[], cwd="/", capture_output=True,
                               env={"PATH": "/usr/bin:/bin"}, timeout=60)
    except (OSError, KeyError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


@pytest.fixture
def privilege_drop() -> None:
    """Skip unless grading runs as root and user nobody can run this Python (so the worker drops to it)."""
    if os.geteuid() != 0:
        pytest.skip("the worker drops privileges only when grading runs as root")
    if not nobody_can_run_this_python():
        pytest.skip("user nobody cannot run this Python (its files are not readable by other users), "
                    "so the harness grades as root and says so in the report")


@pytest.fixture
def public_folder() -> Path:
    """A root-owned folder every user may enter and read but not write, like /autograder."""
    work = Path(tempfile.mkdtemp(prefix="rnn-grade-hostile-"))
    os.chmod(work, 0o755)
    yield work
    shutil.rmtree(work, ignore_errors=True)


def as_nobody() -> tuple[str, ...]:
    """The command prefix that runs a program as user nobody (from root)."""
    import pwd

    entry = pwd.getpwnam("nobody")
    return ("setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--")


@pytest.fixture(scope="module")
def nobody_python() -> Iterator[str]:
    """A Python that user nobody can run with this package: this one, or else a venv of a system
    Python of the same version (readable by every user) that reads this venv's site-packages."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("running the grader as user nobody needs root and setpriv")
    if nobody_can_start(sys.executable):
        yield sys.executable
        return
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = shutil.which(version, path="/usr/bin:/usr/local/bin:/bin")
    site_packages = Path(sysconfig.get_paths()["purelib"])
    if not base or not reachable_by_others(Path(base)) or not reachable_by_others(site_packages):
        pytest.skip(f"user nobody can run no {version} here that sees this package (this one is not readable "
                    "by other users, and no system Python of the same version is)")
    folder = Path(tempfile.mkdtemp(prefix="rnn-grade-nobody-python-"))
    try:
        os.chmod(folder, 0o755)
        subprocess.run([base, "-m", "venv", "--without-pip", str(folder / "venv")], check=True, capture_output=True)
        bridge = Path(sysconfig.get_paths(vars={"base": str(folder / "venv")})["purelib"]) / "rnn_grade_bridge.pth"
        bridge.write_text(f"import site; site.addsitedir({str(site_packages)!r})\n")
        python = str(folder / "venv" / "bin" / "python")
        if not nobody_can_start(python):
            pytest.skip(f"user nobody cannot run this package with {base} either")
        yield python
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def nobody_can_start(python: str) -> bool:
    """True if user nobody can start ``python`` with numpy and this package, as a grader starts its workers
    (from a process that is already nobody: setpriv itself may exec what nobody cannot reach)."""
    relay = "import os, sys; os.execv(sys.executable, [sys.executable, '-c', 'import numpy, checks.engine.isolation.worker'])"
    return subprocess.run([*as_nobody(), python, "-c", relay], cwd="/", capture_output=True).returncode == 0


def public_tiny_options(folder: Path) -> list[str]:
    """The tiny checks' options, in files every user may read."""
    checks, points = write_hostile_checks(folder)
    for path in (folder, checks, *checks.iterdir(), points):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return ["--checks-dir", str(checks), "--no-builtin-checks", "--points", str(points)]


def test_the_worker_cannot_write_the_report_folder_or_the_harness(public_folder, tiny_options, confinement):
    """privilege_write_harness, by the command line: the worker cannot create files in the report's
    folder (writable by every user here), next to the original submission, in checks/ or in the
    repository (Landlock, or as root without it, the drop to user nobody)."""
    active = {layer.name for layer in confinement.layers if layer.state == ACTIVE}
    if not active & {"landlock-fs", "user"}:
        pytest.skip("not defended on this machine: no Landlock and no drop to an unprivileged user")
    report_folder, submission_folder = public_folder / "results", public_folder / "submission"
    report_folder.mkdir()
    os.chmod(report_folder, 0o777)
    bait = dataclasses.replace(Bait.inert(public_folder), outside=report_folder)
    path, token = copy_case("privilege_write_harness", submission_folder, bait)
    os.chmod(submission_folder, 0o755)
    os.chmod(path, 0o644)
    planted = trespass_paths(token, report_folder, submission_folder)
    try:
        run = rnn_grade(str(path), "--results", str(report_folder / "results.json"), "--call-timeout", "2",
                        *tiny_options)
        written, left = present(planted), survivors(token)
    finally:
        for file in planted:
            file.unlink(missing_ok=True)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((report_folder / "results.json").read_text())
    assert report["score"] == 10
    assert f"TRESPASS {report_folder}/HOSTILE-{token}: PermissionError" in by_check(report)["tiny_step_forward"]["output"]
    assert not written, f"the submission wrote {written}"
    assert not left


def rnn_grade_armed(case: str, folder: Path, arguments: list[str], python: str = sys.executable,
                    prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run rnn-grade on a copy of CASE that knows the grader's pid (@GRADER_PID@) and is armed.

    The copy can be written only once the grader's pid exists: the process starts, waits for a byte
    on stdin, is given the copy, then replaces itself with rnn-grade (exec keeps the pid).
    """
    path = folder / f"{case}.py"
    relay = "import os, sys; sys.stdin.read(1); os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    command = [*prefix, python, "-c", relay, "-m", "checks.engine.cli", str(path), *arguments]
    grader = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=REPO, env=clean_environment())
    try:
        copy_case(case, folder, dataclasses.replace(Bait.inert(folder), grader_pid=grader.pid, kill_armed=True))
        os.chmod(path, 0o644)
        stdout, stderr = grader.communicate("x", timeout=300)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    return subprocess.CompletedProcess(command, grader.returncode, stdout, stderr)


@pytest.mark.parametrize("nobody", [False, True], ids=["as-the-grading-user", "as-nobody"])
def test_the_worker_cannot_kill_the_grader(nobody, request, public_folder, confinement):
    """kill_grader, armed: the worker sends SIGKILL to the rnn-grade process and to its own parent.
    Landlock scoping refuses both, whoever grades: as root (staying root, or as nobody), and as an
    ordinary user, whose grader the worker could otherwise signal (same uid)."""
    active = {layer.name for layer in confinement.layers if layer.state == ACTIVE}
    if "landlock-scope" not in active and (nobody or "user" not in active):
        pytest.skip("not defended on this machine: no Landlock scoping (ABI 6)")
    python = request.getfixturevalue("nobody_python") if nobody else sys.executable
    results = public_folder / "results"
    results.mkdir()
    os.chmod(results, 0o777)
    options = public_tiny_options(public_folder / "tiny")
    (public_folder / "submission").mkdir(mode=0o755)
    run = rnn_grade_armed("kill_grader", public_folder / "submission",
                          ["--results", str(results / "results.json"), "--call-timeout", "2", *options,
                           *(["--require-sandbox"] if nobody else [])],
                          python=python, prefix=as_nobody() if nobody else ())
    assert run.returncode == 0, (run.returncode, run.stdout + run.stderr)
    report = json.loads((results / "results.json").read_text())
    assert report["score"] == 10
    output = by_check(report)["tiny_step_forward"]["output"]
    assert "KILL-GRADER" in output and ": sent" not in output, output  # attempted, and refused


CAP_CASES = ("cap_fork_bomb", "cap_thread_bomb", "cap_disk_filler", "cap_file_size")


@pytest.mark.parametrize("grader", ["root", "nobody"], ids=["worker-drops-to-nobody", "grader-is-nobody"])
@pytest.mark.parametrize("case", CAP_CASES)
def test_every_cap_holds_by_the_command_line(case, grader, nobody_python, public_folder):
    """The cap_ cases, graded by rnn-grade with a Python that user nobody can run, with
    --require-sandbox (so every layer is active, RLIMIT_NPROC included, which never limits a worker
    that stays root): as root, whose worker drops to nobody, and as nobody, whose worker counts its
    processes in a nested user namespace. Each gets exactly its scores and messages in
    results.json, and leaves nothing running."""
    options = public_tiny_options(public_folder / "tiny")
    results = public_folder / "results"
    results.mkdir()
    os.chmod(results, 0o777)
    path, token = copy_case(case, public_folder / "submission")
    os.chmod(path.parent, 0o755)
    os.chmod(path, 0o644)
    expected = declared(path)
    timeout = expected.get("GRADE_OPTIONS", {}).get("call_timeout", DEFAULT_CALL_TIMEOUT)
    prefix = as_nobody() if grader == "nobody" else ()
    command = [*prefix, nobody_python, "-m", "checks.engine.cli", str(path), "--results", str(results / "results.json"),
               "--call-timeout", str(timeout), "--require-sandbox", *options]
    try:
        run = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=clean_environment(), timeout=300)
        left = survivors(token)
    finally:
        kill_marked(token)
    assert run.returncode == 1, (run.returncode, run.stdout + run.stderr)
    tests = by_check(json.loads((results / "results.json").read_text()))
    assert {name: test["score"] for name, test in tests.items()} == expected["EXPECTED_SCORES"], run.stdout
    for name, text in expected["EXPECTED_MESSAGES"].items():
        assert text in tests[name]["output"], tests[name]["output"]
    assert not left


def test_as_root_a_planted_symlink_cannot_redirect_the_report(privilege_drop, public_folder, tiny_options):
    """forge_report_symlink: --results lies in a sticky world-writable folder (as /tmp is); the
    worker, as nobody, plants a symlink where the grader will write its temporary report. The victim
    file stays untouched and results.json is a regular file with the genuine report."""
    path, token = copy_case("forge_report_symlink", public_folder / "submission")
    os.chmod(path.parent, 0o755)
    os.chmod(path, 0o644)
    report_folder = public_folder / "results"
    report_folder.mkdir()
    os.chmod(report_folder, 0o1777)
    victim = public_folder / f"victim-{token}"
    victim.write_text("VICTIM\n")
    run = rnn_grade(str(path), "--results", str(report_folder / "results.json"), "--call-timeout", "2",
                    *tiny_options)
    assert victim.read_text() == "VICTIM\n", "the grader wrote the report through the submission's symlink"
    assert run.returncode == 0, run.stdout + run.stderr
    assert not (report_folder / "results.json").is_symlink()
    assert json.loads((report_folder / "results.json").read_text())["score"] == 10


def test_pytest_grades_every_submission_even_after_one_crashes_at_import(tmp_path, tiny_options):
    """`pytest checks --submission a --submission b`: a dies of SIGSEGV while importing, b kills its
    worker in rnn_step_backward; both get complete reports and b's other checks pass."""
    crashes, _ = copy_case("import_segfault", tmp_path / "a")
    exits, _ = copy_case("exit_os_exit", tmp_path / "b")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "checks", "--submission", str(crashes),
         "--submission", str(exits), "--call-timeout", "2", *tiny_options],
        capture_output=True, text=True, cwd=REPO, env=clean_environment(), timeout=300,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "5 failed, 3 passed" in run.stdout, run.stdout
    assert "import_segfault: 0 / 10 points" in run.stdout and "exit_os_exit: 7 / 10 points" in run.stdout
    assert "SIGSEGV" in run.stdout and "exited with status 3" in run.stdout


def test_a_correct_submission_that_floods_and_dawdles_gets_full_marks_on_the_real_checks(tmp_path):
    """flood_correct_full: ~150 MB of output and ~15 000 short sleeps over a full vanilla-RNN grade.

    The file implements the vanilla RNN only, so it is graded as the ``rnn`` assignment (out of 100).
    """
    path, _ = copy_case("flood_correct_full", tmp_path / "submission")
    results = tmp_path / "results.json"
    run = rnn_grade(str(path), "--assignment", "rnn", "--results", str(results), timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(results.read_text())
    assert report["score"] == report["extra_data"]["max_score"] == 100
    assert all(test["status"] == "passed" for test in report["tests"])
    assert all("more bytes of output not shown" in test["output"] for test in report["tests"])
    assert results.stat().st_size < 300_000


def test_gaming_small_inputs_fails_the_real_forward_and_backward_checks(tmp_path):
    """gaming_small_inputs: right for N = 1 and T <= 4 only. Every forward and backward check loses
    points, each saying which output is wrong."""
    checks = [c for c in load_checks() if c.group in ("forward", "backward")]
    assert len(checks) >= 7
    path, _ = copy_case("gaming_small_inputs", tmp_path / "submission")
    grade = grade_submission(path, checks)
    summary = describe(grade)
    assert [r.check.name for r in grade.results] == [c.name for c in checks], summary
    assert all(r.score < r.check.points and "wrong" in r.message for r in grade.results), summary
    assert grade.score <= 0.25 * grade.max_score, summary


def test_forged_batch_replies_on_the_real_checks_leave_a_complete_report(tmp_path):
    """forge_batch_replies (issue 20 §2): a correct submission forges "arguments_after": 7 and "raised": 42 in
    its batches' answers. That used to end the grade with exit 2 ("internal error") and no results.json. Each
    forged answer is now a malformed reply, the submission's fault like a crash, stopped at the protocol
    boundary: exit 1, every check in the report, the hygiene checks' look at inputs failing on it, and
    nothing forged reaching a diagnosis (no feedback had to be left out)."""
    path, _ = copy_case("forge_batch_replies", tmp_path / "submission")
    results = tmp_path / "results.json"
    run = rnn_grade(str(path), "--results", str(results))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "internal error" not in run.stderr and "was left out" not in run.stderr, run.stderr
    report = json.loads(results.read_text())
    tests = by_check(report)
    assert len(tests) == len(load_checks()) and 0 < report["score"] < 100
    assert "malformed reply" in tests["other_functions_leave_inputs_unchanged"]["output"]
    assert "'arguments_after' must list" in run.stdout and "'raised' must be text, got 42" in run.stdout
    assert all(test["status"] in ("passed", "failed") for test in report["tests"])
