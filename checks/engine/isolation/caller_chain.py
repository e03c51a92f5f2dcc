"""Where the submission's code raised: the chain of its own frames, not only the innermost one.

A crash often shows in one function while the mistake is in its caller (an ``np.squeeze`` in
rnn_forward makes rnn_step_forward raise), so the student sees every frame of their own files on
the stack, outermost first, and the innermost frame's line of code::

    rnn_forward line 108 → rnn_step_forward line 37: next_h = np.tanh(a)

Frames in numpy, the standard library or the harness are left out. A frame's file is named only
when the chain runs through more than one file (a package submission). A long chain (recursion)
keeps its first and last CHAIN_ENDS frames around "…".

The worker (``checks.engine.isolation.worker``) and every reproduction script (``checks.engine.run.repro`` embeds
the source of these functions) tell an exception the same way, so this module uses only the
standard library and no syntax newer than Python 3.8.
"""

import traceback
from pathlib import Path

CHAIN_ENDS = 2  # frames kept at each end of a longer chain
ARROW = " → "


def caller_chain(error, root, outside=()):
    """'rnn_forward line 108 → rnn_step_forward line 37: <code>' for ``error`` (an exception), counting
    as the submission's own the files under the folder ``root`` but not under any path of ``outside``
    (the grader's own code, a reproduction script next to the submission); '' if none is on the stack."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if is_own(f.filename, root, outside)]
    if not frames:
        return ""
    several_files = len({f.filename for f in frames}) > 1
    steps = [frame_text(frame, several_files and (i == 0 or frame.filename != frames[i - 1].filename))
             for i, frame in enumerate(frames)]
    if len(steps) > 2 * CHAIN_ENDS + 1:
        steps = steps[:CHAIN_ENDS] + ["…"] + steps[-CHAIN_ENDS:]
    code = (frames[-1].line or "").strip()
    return ARROW.join(steps) + (": " + code if code else "")


def is_own(filename, root, outside):
    """Whether the file ``filename`` is under ``root`` and under none of ``outside``."""
    if filename.startswith("<"):  # "<string>", "<frozen ...>": no file of the submission
        return False
    return is_within(filename, root) and not any(is_within(filename, place) for place in outside)


def is_within(path, folder):
    """Whether ``path`` is ``folder`` or inside it. Paths are compared as written, made absolute but
    with symbolic links not followed: nothing is read from the disk, which the confined worker may not do."""
    path, folder = Path(path).absolute(), Path(folder).absolute()
    return path == folder or folder in path.parents


def frame_text(frame, with_file):
    """'rnn_forward line 108' ('helpers.py, rnn_forward line 108' with the file's name)."""
    name = "top level" if frame.name == "<module>" else frame.name
    text = name + " line " + str(frame.lineno)
    return Path(frame.filename).name + ", " + text if with_file else text
