#!/usr/bin/env bash
# The workflow's rnn-grade step (.github/workflows/classroom.yml): grades rnn_layers.py with
# --format github, which appends the Markdown summary to $GITHUB_STEP_SUMMARY, annotates each
# failing check, and writes GitHub Classroom's result (base64 JSON) to $GITHUB_OUTPUT as result=.
# RNN_GRADE_OPTIONS is appended (split on spaces).
set -u
# shellcheck disable=SC2086  # RNN_GRADE_OPTIONS is a list of options
rnn-grade "${RNN_GRADE_SUBMISSION:-rnn_layers.py}" --format github ${RNN_GRADE_OPTIONS:-}
status=$?
# Exit 1 only says that points were lost: the reporter scores the result and fails the job for it.
if [ "$status" -eq 1 ]; then exit 0; fi
exit "$status"
