#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (with network access).
# It installs the rnn-grade wheel the zip holds into a virtual environment, then makes the
# reference solution unreadable to the worker, which grades student code as user nobody.
set -eu
root="${AUTOGRADER_ROOT:-/autograder}"
source="$root/source"
python="${PYTHON:-python3}"  # rnn-grade needs Python 3.11 or newer: choose the Ubuntu 24.04 base image

# Ubuntu's python3 comes without venv and pip.
if ! "$python" -c "import ensurepip" 2>/dev/null && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-venv python3-pip >/dev/null
fi
"$python" -m venv "$root/venv"
"$root/venv/bin/pip" install --quiet "$source"/rnn_grade-*.whl
reference="$("$root/venv/bin/python" -c 'import os, reference; print(os.path.dirname(reference.__file__))')"
# Only root (run_autograder) reads the reference, the wheel and the course's checks from now on.
chmod -R o-rwx "$reference" "$source"
