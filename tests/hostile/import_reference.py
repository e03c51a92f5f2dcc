"""Importing the answers: the whole submission is `from reference import *`, the grader's own
solution, which is installed in the very environment the worker runs in.

The worker refuses the import: a complete report, every check 0, saying the reference solution
cannot be imported by a submission. (Reading the reference's files from disk is not blocked: see
SECURITY.md.)
"""

EXPECTED_IMPORT_ERROR = "reference solution"

from reference import *  # noqa: E402, F403
