"""The status of a submission's row in a class's summaries (``grades.csv``, ``checks.csv``, ``report.html``).

- ``graded``: every check ran; the score is the grade.
- ``empty``: the graded file holds no Python code (nothing, blanks or comments only); 0 points.
- ``syntax-error``: Python cannot read the graded file (a SyntaxError, found without running it); 0.
- ``encoding-error``: the graded file is not text in its encoding (UTF-8 unless it declares another); 0.
- ``import-error``: importing the submission raised, or there was nothing to import; 0.
- ``timeout``: the import hung; 0.
- ``grader-error``: a check is broken, or the grading process itself failed: never the student's
  fault, never skipped on a re-run.
- ``not-graded-yet``: the run was stopped (Ctrl-C) before this submission was graded, or its
  shard's was; its score is left blank, never 0. Running the same command again grades it.

Every status but ``graded`` comes with a reason the student can act on, in the ``reason`` column.
"""

from __future__ import annotations

GRADED, IMPORT_ERROR, TIMEOUT, GRADER_ERROR = "graded", "import-error", "timeout", "grader-error"
EMPTY, SYNTAX_ERROR, ENCODING_ERROR = "empty", "syntax-error", "encoding-error"
NOT_GRADED_YET = "not-graded-yet"

# What the student's submission could not get past: the class run exits 1 (not every one graded).
NOT_GRADABLE = frozenset({EMPTY, SYNTAX_ERROR, ENCODING_ERROR, IMPORT_ERROR, TIMEOUT})

NOT_GRADED_REASON = "grading stopped before this submission was graded; run the same command again to grade it"
