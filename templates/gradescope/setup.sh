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
wheel="$(echo "$source"/rnn_grade-*.whl)"
if [ -s "$source/rnn-grade-extras" ]; then
    # The assignment's extras (torch, for PyTorch submissions), with torch's CPU build: Gradescope has no GPU,
    # and the default build is CUDA's, several GB.
    "$root/venv/bin/pip" install --quiet --extra-index-url https://download.pytorch.org/whl/cpu \
        "$wheel[$(paste -sd, "$source/rnn-grade-extras")]"
else
    "$root/venv/bin/pip" install --quiet "$wheel"
fi
reference="$("$root/venv/bin/python" -c 'import os, reference; print(os.path.dirname(reference.__file__))')"
# Only root (run_autograder) reads the reference, the wheel and the course's checks from now on.
chmod -R o-rwx "$reference" "$source"
