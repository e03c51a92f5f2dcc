"""Contract functions not called again: one that hung, or one that crashed the worker twice.

A hang costs a whole call timeout (10 s by default) every time it is met, so a submission whose
``rnn_backward`` never returns would spend minutes on the dozen checks that call it, each waiting
out the same hang. Once a function has timed out, every later call of it fails at once with the
reason, which names the input sizes of the call that hung; the checks that do not call it are
graded as usual (the worker is restarted after any fault).

A crash costs only a worker restart, and may be an accident of one input (a size-one edge case,
say), so a function is condemned only at its second crash: by then the crash is how it behaves.

A fault counts against a function only if it happened while that function ran: not while a
restarted worker imported the submission, and not when the whole-run deadline cut a call short.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from checks.engine.isolation.boundary import WorkerFault, WorkerTimeout

CRASHES_CONDEMNING = 2  # the crash that stops a function from being called again


class NotCalledAgain(WorkerFault):
    """A call of a function that already hung or crashed twice: it fails at once, without a worker.

    A WorkerFault (a BaseException), so that Hypothesis stops the check at once, as it does on the
    fault itself: there is nothing to shrink.
    """


@dataclass
class FaultRecord:
    """The functions of one submission that are not called again, each with why."""

    condemned: dict[str, str] = field(default_factory=dict)  # function -> the reason, for the student
    crashes: Counter = field(default_factory=Counter)  # function -> how many times it crashed the worker

    def refusal(self, function: str) -> str:
        """What a later check says about a condemned ``function``: the reason, and that it was not retried."""
        return f"in an earlier check, {self.condemned[function]}, so it was not called again"

    def refuse(self, function: str) -> None:
        """Raise NotCalledAgain if ``function`` is condemned."""
        if function in self.condemned:
            raise NotCalledAgain(self.refusal(function))

    def judge(self, fault: WorkerFault, function: str, doing: str, inputs: str) -> WorkerFault:
        """The fault to raise for ``fault``, met while ``doing`` (calling ``function`` on ``inputs``).

        A hang condemns ``function`` at once, a crash at the second; the fault returned then says
        so in words about the student's function ("rnn_backward did not finish within 10 s on N=2,
        T=300, D=3, H=2"). Any other fault is returned as it is.
        """
        if fault.doing != doing:  # the restarted worker's import, or the deadline before sending
            return fault
        on = f" on {inputs}" if inputs else ""
        if isinstance(fault, WorkerTimeout):
            if fault.by_deadline:
                return fault
            self.condemned[function] = f"{function} did not finish within {fault.seconds:g} s{on}"
            return WorkerTimeout(self.condemned[function], doing, fault.seconds)
        self.crashes[function] += 1
        if self.crashes[function] < CRASHES_CONDEMNING:
            return fault
        self.condemned[function] = f"{function} crashed the worker process twice, the second time{on}"
        return WorkerFault(f"{fault}; {function} has now crashed twice, so later checks will not call it", doing)
