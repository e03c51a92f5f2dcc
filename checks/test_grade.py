"""One pytest test per (submission, check): ``pytest checks --submission PATH``.

The cases, options and the grading itself live in checks/conftest.py. A check that loses points
fails its test with the grader's message (partial credit included), never with a traceback.
"""

from __future__ import annotations


def test_check(rnn_grade_case, rnn_grade) -> None:
    rnn_grade(rnn_grade_case)
