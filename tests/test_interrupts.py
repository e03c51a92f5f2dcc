"""Ctrl-C during class grading is never lost, wherever Python happens to be when it arrives."""

from __future__ import annotations

import os
import select
import signal
import sys
import time
import weakref

import pytest

from checks.engine.course.interrupts import interrupts_noted, interrupts_raised_again


class Thing:
    pass


def interrupt_inside_a_weakref_callback() -> None:
    """SIGINT delivered while Python runs a weakref callback: the usual KeyboardInterrupt is lost there."""
    def callback(_reference: weakref.ref) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here, inside the callback

    thing = Thing()
    reference = weakref.ref(thing, callback)  # noqa: F841 - kept alive so that its callback runs
    del thing


def test_without_it_an_interrupt_inside_a_weakref_callback_is_lost(monkeypatch):
    ignored = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)  # what prints "Exception ignored in ..."
    interrupt_inside_a_weakref_callback()  # returns: no KeyboardInterrupt comes out
    assert [type(report.exc_value) for report in ignored] == [KeyboardInterrupt]


def test_an_interrupt_inside_a_weakref_callback_is_noted_and_raised_at_the_end():
    with pytest.raises(KeyboardInterrupt):
        with interrupts_noted() as noted:
            interrupt_inside_a_weakref_callback()
            assert noted.arrived
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_an_interrupt_wakes_the_waiting_loop_and_the_loop_raises_it():
    with pytest.raises(KeyboardInterrupt):
        with interrupts_noted() as noted:
            os.kill(os.getpid(), signal.SIGINT)
            assert select.select([noted.wakeup], [], [], 5)[0] == [noted.wakeup]
            noted.raise_if_arrived()
            pytest.fail("not raised")


def test_a_process_forked_inside_raises_on_interrupt_as_usual():
    with interrupts_noted():
        pid = os.fork()
        if pid == 0:  # the child: a grading process
            interrupts_raised_again()
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
                os._exit(1)
            except KeyboardInterrupt:
                os._exit(130)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 130
