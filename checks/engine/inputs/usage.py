"""The error for input the person running the grader must fix: a command, a folder, a file."""

from __future__ import annotations


class UsageError(Exception):
    """Something the person running the grader must fix; the message says what."""
