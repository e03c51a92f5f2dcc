"""Contract functions not called again: one that hung, or one that crashed the worker twice.

A hang costs a whole call timeout (10 s by default) every time it is met, so a submission whose
``rnn_backward`` never returns would spend minutes on the dozen checks that call it, each waiting
out the same hang. Once a function has timed out, every later call of it fails at once with the
reason, which names the input sizes of the call that hung; the checks that do not call it are
graded as usual (the worker is restarted after any fault).

A crash costs only a worker restart, and may be an accident of one input (a size-one edge case,
say), so a function is condemned only at its second crash: by then the crash is how it behaves.

A hang is charged to the function that was running, from the worker's stack when it was stopped
(``checks.engine.isolation.hung_stack``), not to the function called: in CS231n-style code
``rnn_backward_truncated``, ``birnn_backward`` and ``rnn_classifier_loss`` all call ``rnn_backward``,
and a hang inside it condemns ``rnn_backward``. Each later call that *enters* a condemned function
fails at once (the worker refuses to enter it, and ``refuse_entered`` reads that from the call's
``entered``), so the hang costs one timeout in all. A function whose call was seen to reach one
that hung is not called again either, for the same reason (``reaches``): the checks of it refused
outright, and the parts of a ``needs_any`` check that call it left unjudged, as they were when each
such function waited out a timeout of its own.

A fault counts against a function only if it happened while that function ran: not while a
restarted worker imported the submission, and not when the whole-run deadline cut a call short.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from checks.engine.isolation.boundary import WorkerFault, WorkerTimeout

CRASHES_CONDEMNING = 2  # the crash that stops a function from being called again


class NotCalledAgain(WorkerFault):
    """A call of a function that already hung or crashed twice, or that entered one: it fails at once.

    A WorkerFault (a BaseException), so that Hypothesis stops the check at once, as it does on the
    fault itself: there is nothing to shrink.
    """


@dataclass
class FaultRecord:
    """The functions of one submission that are not called again, each with why."""

    condemned: dict[str, str] = field(default_factory=dict)  # function -> the reason, for the student
    crashes: Counter = field(default_factory=Counter)  # function -> how many times it crashed the worker
    # function -> the condemned function its call reached (both not called again, for that one's reason)
    reaches: dict[str, str] = field(default_factory=dict)
    # The condemned function the last refusal named: the runner reads it as the function whose earlier
    # fault cut the check short (CheckResult.cut_short_by), after clearing it before the check.
    cut_short: str = ""

    def refusal(self, function: str) -> str:
        """What a later check says about a condemned ``function``: the reason, that it was not retried,
        and, for a function condemned for what it calls, which: "... (birnn_backward calls it)"."""
        hung = self.reaches.get(function, function)
        self.cut_short = hung
        calls = f" ({function} calls it)" if hung != function else ""
        return f"in an earlier check, {self.condemned[hung]}, so it was not called again{calls}"

    def refuse(self, function: str) -> None:
        """Raise NotCalledAgain if ``function`` is condemned."""
        if function in self.condemned:
            raise NotCalledAgain(self.refusal(function))

    def refuse_entered(self, function: str, entered: Sequence[str]) -> None:
        """Raise NotCalledAgain if the call of ``function`` entered a condemned function (``entered``: the
        contract functions the worker says it entered). The worker refused to enter it; whatever the
        student's code then did (even if it caught that and returned), the call reached the function
        that hung, so it fails as a call of that function would."""
        reached = next((name for name in entered if name in self.condemned), None)
        if reached is not None:
            self._condemn_caller(function, reached)
            raise NotCalledAgain(self.refusal(function))

    def _condemn_caller(self, function: str, reached: str) -> None:
        """Condemn ``function``, seen reaching the condemned ``reached``, for the reason ``reached`` was."""
        hung = self.reaches.get(reached, reached)
        self.condemned[function], self.reaches[function] = self.condemned[hung], hung

    def judge(self, fault: WorkerFault, function: str, doing: str, inputs: str) -> WorkerFault:
        """The fault to raise for ``fault``, met while ``doing`` (calling ``function`` on ``inputs``).

        A hang condemns the function that was running (``WorkerTimeout.running``, else ``function``)
        at once, a crash condemns ``function`` at the second; the fault returned then says so in words
        about the student's function ("rnn_backward did not finish within 10 s on N=2, T=300, D=3,
        H=2"). Any other fault is returned as it is.
        """
        if fault.doing != doing:  # the restarted worker's import, or the deadline before sending
            return fault
        on = f" on {inputs}" if inputs else ""
        if isinstance(fault, WorkerTimeout):
            return fault if fault.by_deadline else self._hung(fault, function, on)
        self.crashes[function] += 1
        if self.crashes[function] < CRASHES_CONDEMNING:
            return fault
        self.condemned[function] = f"{function} crashed the worker process twice, the second time{on}"
        return WorkerFault(f"{fault}; {function} has now crashed twice, so later checks will not call it", doing)

    def _hung(self, fault: WorkerTimeout, function: str, on: str) -> WorkerTimeout:
        """Condemn the function that hung: the one running (from the stack) if known, else ``function``."""
        running, seconds = fault.running or function, fault.seconds
        self.reaches.pop(running, None)  # condemned for its own hang now, whatever it was condemned for before
        if running == function:
            self.condemned[function] = f"{function} did not finish within {seconds:g} s{on}"
            return WorkerTimeout(self.condemned[function], fault.doing, seconds, running=running)
        # Not the function called: its call reached the one that hung. That one is condemned, and the caller with it.
        self.condemned[running] = f"{running} did not finish within {seconds:g} s when {function} called it{on}"
        self._condemn_caller(function, running)
        return WorkerTimeout(f"{function} did not finish within {seconds:g} s{on}: it was still running {running}",
                             fault.doing, seconds, running=running)
