"""The supervisor: a small process between the grader and one worker, owning everything the worker starts.

    python -s -P -B -m checks.engine.isolation.supervisor CONTROL_FD OUTPUT_FD PASSED_FDS WORKER_ARGV...

``Worker`` (in the grading process) starts this instead of the worker, once per worker start. It
makes itself a Linux child subreaper (``checks.engine.isolation.reaper``), then starts WORKER_ARGV in a
process group of its own, with OUTPUT_FD as its standard output and error and the descriptors
PASSED_FDS (comma-separated: the request and response pipes) inherited; its own copies of those
it closes, so the grader sees end of file when the worker dies. Then it waits until:

- the worker exits, or
- the grader closes the write end of CONTROL_FD (its way to say "stop"; it also happens if the
  grader dies), or
- SIGTERM arrives.

A byte ``STACK`` written on CONTROL_FD asks for the worker's stack: the supervisor sends the worker
``STACK_SIGNAL``, which makes it dump its Python stack (``checks.engine.isolation.hung_stack``). The
grader never signals the worker itself: it knows only the supervisor's pid, and takes none from
the submission.

Then it kills the worker's process group, then every process re-parented to it (daemons that left
the group with ``setsid()``), reaps them all, and exits as the worker did: with its exit code, or
killed by its signal. So the grader reads how the worker died from the supervisor's own status.

Why a process of its own: a subreaper adopts every orphan below it, so it must start nothing but
the worker, and it kills all it adopted. The grading process's caller (a pytest session, say) may
have children of its own; they are none of the grader's business.

Where there is no ``prctl`` (not Linux), the supervisor still kills the worker's process group,
but daemons that left it are re-parented to init and are not caught.

It runs with the worker's environment and working folder, as the user the grader starts it as,
and imports little (no numpy), so it adds a few tens of milliseconds to a worker start.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import sys
from typing import NoReturn

from checks.engine.isolation.reaper import become_subreaper, kill_all_children

STACK = b"s"  # on the control pipe: send the worker STACK_SIGNAL
STACK_SIGNAL = signal.SIGUSR1  # the worker's faulthandler dumps its stack on it (checks.engine.isolation.worker)


def command(worker: list[str], control: int, output: int, passed: tuple[int, ...]) -> list[str]:
    """The command line that runs ``worker`` under a supervisor (see the module docstring)."""
    return [sys.executable, "-s", "-P", "-B", "-m", __name__, str(control), str(output),
            ",".join(map(str, passed)), *worker]


def main(arguments: list[str]) -> NoReturn:
    control, output = int(arguments[0]), int(arguments[1])
    passed = [int(fd) for fd in arguments[2].split(",") if fd]
    become_subreaper()  # before the worker starts, so that none of its descendants can escape it
    wakeup = watch_signals()
    os.set_inheritable(control, False)
    try:
        worker = start_worker(arguments[3:], output)
    except OSError as error:
        print(f"rnn-grade supervisor: cannot start the worker: {error}", file=sys.stderr)
        os._exit(127)
    for fd in (output, *passed):
        os.close(fd)
    exit_as(stop(worker, wait_for_end(worker, control, wakeup)))


def watch_signals() -> int:
    """A pipe that receives one byte, the signal's number, per SIGCHLD or SIGTERM: select() can wait on it."""
    wakeup, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    for number in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(number, lambda *_: None)  # the wakeup byte is the whole handling
    return wakeup


def start_worker(argv: list[str], output: int) -> int:
    """Start the worker in a new process group; every inheritable descriptor but ``output`` goes with it."""
    return os.posix_spawn(
        argv[0], argv, os.environ,
        file_actions=[(os.POSIX_SPAWN_DUP2, output, 1), (os.POSIX_SPAWN_DUP2, output, 2),
                      (os.POSIX_SPAWN_CLOSE, output)],
        setpgroup=0,
        setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),  # Python ignores these; the worker starts clean
    )


def wait_for_end(worker: int, control: int, wakeup: int) -> int | None:
    """The worker's wait status once it exits; None if the grader closes the control pipe or SIGTERM comes first.
    Meanwhile each ``STACK`` byte on the control pipe sends the worker ``STACK_SIGNAL``."""
    while (status := reap(worker)) is None:
        ready = select.select([control, wakeup], [], [])[0]
        if control in ready:
            said = os.read(control, 4096)
            if not said:
                return None
            if STACK in said:
                ask_for_stack(worker)
        if wakeup in ready and signal.SIGTERM in os.read(wakeup, 4096):
            return None
    return status


def ask_for_stack(worker: int) -> None:
    """Send ``worker`` STACK_SIGNAL, unless it has exited already (then there is no stack to dump)."""
    try:
        os.kill(worker, STACK_SIGNAL)
    except ProcessLookupError:
        pass


def reap(worker: int) -> int | None:
    """Reap every child that has exited; the worker's wait status if it was one of them.

    Orphans that exit while the worker runs are reaped too, so that they do not pile up as zombies.
    """
    while True:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return None
        if pid == worker:
            return status


def stop(worker: int, status: int | None) -> int:
    """Kill the worker's process group (the worker too, if it still runs), then every orphan.

    Returns the worker's wait status. Its process group id stays ours even once the worker is
    reaped: a pid is not reused while any member of the group lives (and once the group is empty,
    only after the pid counter wraps around).
    """
    try:
        os.killpg(worker, signal.SIGKILL)
    except ProcessLookupError:  # the worker has exited and its group is empty
        pass
    if status is None:
        status = os.waitpid(worker, 0)[1]
    left = kill_all_children()
    if left:
        print(f"rnn-grade supervisor: could not kill processes the worker started: {sorted(left)}",
              file=sys.stderr)
    return status


def exit_as(status: int) -> NoReturn:
    """Exit as the worker did: with its exit code, or killed by the same signal (without a core dump)."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        number = -code
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if number != signal.SIGKILL:
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        code = 128 + number  # only if the signal did not end this process
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
