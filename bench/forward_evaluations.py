"""Benchmark: forward evaluations per finite-difference verdict, counted from outside.

Grades a correct submission that counts its own calls (``write_counting_submission``: a copy of
tests/corpus/correct/einsum_dict_cache.py behind wrappers that print "|<coordinates>" when a new
example starts and "f" / "b" for each forward / backward call) on the finite-difference checks (every group's, the captioning model's included),
and prints, per check, the forward evaluations per verdict next to the CS231n-style count for the
same verdicts (2 forward evaluations per input coordinate) and their ratio.

    .venv/bin/python bench/forward_evaluations.py
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPLEMENTATION = ROOT / "tests" / "corpus" / "correct" / "einsum_dict_cache.py"

COUNTING = '''"""A correct submission that reports its own calls on standard output (for counting)."""
import numpy as np
import implementation as _impl

_base = None


def _forward(x, arrays):
    """Print "|<coordinates>" when x is not a small perturbation of the last example's (the same x
    again is a new example: finite differences always move x), then "f"."""
    global _base
    x = np.asarray(x)
    if _base is None or _base.shape != x.shape or np.array_equal(x, _base) or np.max(np.abs(x - _base)) > 1e-4:
        _base = x.copy()
        print("|%d" % sum(np.size(a) for a in arrays), end="")
    print("f", end="")


def rnn_step_forward(*args):
    _forward(args[0], args)
    return _impl.rnn_step_forward(*args)


def rnn_forward(*args):
    _forward(args[0], args)
    return _impl.rnn_forward(*args)


def birnn_forward(*args):
    _forward(args[0], args)
    return _impl.birnn_forward(*args)


def rnn_classifier_loss(x, y, *rest):
    _forward(x, (x, *rest))
    return _impl.rnn_classifier_loss(x, y, *rest)


def rnn_step_backward(*args):
    print("b", end="")
    return _impl.rnn_step_backward(*args)


def rnn_backward(*args):
    print("b", end="")
    return _impl.rnn_backward(*args)


def birnn_backward(*args):
    print("b", end="")
    return _impl.birnn_backward(*args)


rnn_backward_truncated = _impl.rnn_backward_truncated
clip_grad_norm = _impl.clip_grad_norm
tbptt_batches = _impl.tbptt_batches


def _counted_forward(name, moved=0):
    """The implementation's forward ``name``, counted; ``moved`` is the argument finite differences always
    move (the embedding's word indices never move: its W does). Coordinates are the float arguments'."""
    function = getattr(_impl, name)

    def counted(*args):
        _forward(args[moved], [a for a in args if np.asarray(a).dtype.kind == "f"])  # what is differentiated
        return function(*args)
    return counted


def _counted_backward(name):
    function = getattr(_impl, name)

    def counted(*args):
        print("b", end="")
        return function(*args)
    return counted


for _name in ("lstm_step_forward", "lstm_forward", "gru_step_forward", "gru_forward", "temporal_affine_forward",
              "temporal_softmax_loss"):
    globals()[_name] = _counted_forward(_name)
word_embedding_forward = _counted_forward("word_embedding_forward", moved=1)
for _name in ("lstm_step_backward", "lstm_backward", "gru_step_backward", "gru_backward", "word_embedding_backward",
              "temporal_affine_backward"):
    globals()[_name] = _counted_backward(_name)


class CaptioningRNN(_impl.CaptioningRNN):
    """The implementation's model, its loss counted (every param moves: W_embed marks a new example)."""

    def loss(self, features, captions):
        _forward(self.params["W_embed"], list(self.params.values()))
        return super().loss(features, captions)
'''


def write_counting_submission(folder: Path) -> Path:
    """The counting submission (and the implementation it wraps) in ``folder``; its path."""
    shutil.copy(IMPLEMENTATION, folder / "implementation.py")
    path = folder / "counting_submission.py"
    path.write_text(COUNTING)
    return path


def counts(output: str) -> list[tuple[int, int]]:
    """(input coordinates, forward evaluations) of every verdict in one check's captured output."""
    return [(int(coordinates), calls.count("f")) for coordinates, calls in re.findall(r"\|(\d+)([fb]*)", output)]


def finite_difference_checks(checks: list) -> list:
    """The checks of ``checks`` that compare backprop with finite differences (by name, as every one is)."""
    return [check for check in checks if "finite_differences" in check.name]


def main() -> None:
    from checks.engine.run.runner import grade_submission
    from checks.registry import load_checks

    with tempfile.TemporaryDirectory() as folder:
        grade = grade_submission(write_counting_submission(Path(folder)),
                                 finite_difference_checks(load_checks(points_table=None, profile="default")))
    print("| check | verdicts | forward evaluations per verdict | CS231n-style (2 per coordinate) | ratio |")
    print("|---|---|---|---|---|")
    for result in grade.results:
        verdicts = counts(result.output)
        ours = sum(f for _, f in verdicts) / len(verdicts)
        theirs = sum(2 * c for c, _ in verdicts) / len(verdicts)
        print(f"| {result.check.name} | {len(verdicts)} | {ours:.2f} | {theirs:.1f} | {theirs / ours:.0f}× |")


if __name__ == "__main__":
    main()
