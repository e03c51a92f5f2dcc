#!/usr/bin/env bash
# PrairieLearn external-grader entry point: grades /grade/student/rnn_layers.py and writes
# /grade/results/results.json (the folder is created here, as PrairieLearn requires).
# GRADE_ROOT (default /grade) exists for testing outside PrairieLearn; RNN_GRADE_OPTIONS is
# appended to the command (split on spaces), e.g. "--assignment cs231n --path /grade/serverFilesCourse".
set -u
root="${GRADE_ROOT:-/grade}"
results="$root/results/results.json"
mkdir -p "$root/results"
file="$root/student/${RNN_GRADE_FILE:-rnn_layers.py}"
if [ ! -f "$file" ]; then
    # gradable false: no attempt is used up for a submission without the file.
    printf '%s\n' '{"gradable": false, "score": 0, "format_errors": ["No rnn_layers.py found in your submission."]}' >"$results"
    exit 0
fi
# shellcheck disable=SC2086  # RNN_GRADE_OPTIONS is a list of options
rnn-grade "$file" --format prairielearn --prairielearn "$results" ${RNN_GRADE_OPTIONS:-}
status=$?
# Exit 1 only says that points were lost (or the file could not be imported: gradable false).
if [ -f "$results" ]; then exit 0; fi
exit "$status"
