"""One pytest test per (submission, check): ``pytest --pyargs checks --submission PATH``.

The cases, options and the grading itself live in the pytest plugin, ``checks/engine/plugin.py``
(entry point ``rnn_grade``), which collects this module only in a run that grades. A check that loses
points fails its test with the grader's message (partial credit included), never with a traceback.
"""

from __future__ import annotations


def test_check(rnn_grade_case, rnn_grade) -> None:
    rnn_grade(rnn_grade_case)
