#!/usr/bin/env bash
# The GitLab CI job's grading command (.gitlab-ci.yml runs it from the repository's root): grades
# rnn_layers.py and writes report.xml, JUnit, which GitLab shows in the merge request and the
# pipeline's Tests tab. RNN_GRADE_OPTIONS is appended (split on spaces). The exit status is
# rnn-grade's: the job fails when a check lost points, and report.xml says which.
set -u
# shellcheck disable=SC2086  # RNN_GRADE_OPTIONS is a list of options
exec rnn-grade "${RNN_GRADE_SUBMISSION:-rnn_layers.py}" --format junit --junit report.xml ${RNN_GRADE_OPTIONS:-}
