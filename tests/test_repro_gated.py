"""Reproduction scripts of the LSTM, GRU, embedding, temporal layers and CaptioningRNN (issue 22 §5).

For one buggy file of each group in the corpus: grade it with that group's checks and write the
scripts as ``rnn-grade --repro-dir`` does (``attach_scripts``). Each script must exit 1 on the bug,
naming the wrong output, and 0 on the reference and on a correct implementation: no false failure.

The graded examples are shrunk, often to sizes of 1, where a gradient matched to the wrong argument
can still agree by luck. So each case's finite-difference check also gets a script from an unshrunk
draw with larger sizes (``larger_failing_example``).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st

from checks.engine.isolation.contract import Submission
from checks.engine.isolation.trace import CacheRef, Call
from checks.engine.run.counterexample import Counterexample, record_example
from checks.engine.run.repro import attach_scripts, gradient_map, script_for, script_or_reason
from checks.engine.run.repro_values import NotReproducible
from checks.engine.run.results import CheckResult, Grade
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks

ROOT = Path(__file__).resolve().parent.parent
BUGGY = ROOT / "tests/corpus/buggy"
CORRECT = [ROOT / "reference", *sorted((ROOT / "tests/corpus/correct").glob("*.py"))]


class Case(NamedTuple):
    group: str
    bug: str  # a file of tests/corpus/buggy
    gradient_check: str  # the check whose script takes finite differences
    wrong: str  # the output the bug gets wrong, as the scripts name it
    larger: Callable[[Any], bool]  # the problem p of a larger example for that check


CASES = [
    Case("lstm", "lstm_dprev_c_without_forget_gate.py", "lstm_step_backward_matches_finite_differences", "dprev_c",
         lambda p: p.x.shape[0] >= 2 and p.x.shape[2] >= 2 and p.h0.shape[1] >= 2),
    Case("gru", "gru_dbh_candidate_missing_reset.py", "gru_step_backward_matches_finite_differences", "dbh",
         lambda p: p.x.shape[0] >= 2 and p.x.shape[2] >= 2 and p.h0.shape[1] >= 2),
    Case("embedding", "embedding_dW_fancy_index_assignment.py", "embedding_backward_matches_finite_differences", "dW",
         lambda p: p.W.shape[0] >= 3 and p.W.shape[1] >= 2 and p.x.size >= 3),
    Case("temporal", "temporal_dx_mask_forgotten.py", "softmax_loss_dx_matches_finite_differences", "dx",
         lambda p: p.x.shape[0] >= 2 and p.x.shape[2] >= 3),
    Case("captioning", "captioning_b_proj_gradient_mean_over_batch.py",
         "rnn_captioning_gradients_match_finite_differences", "grads['b_proj']", lambda p: p.features.shape[0] >= 2),
    Case("captioning", "captioning_sample_starts_from_null.py", "", "captions", lambda p: True),
]
RUN_ALL = textwrap.dedent("""
    import contextlib, io, json, runpy, sys
    done = {}
    for script, submission in json.loads(sys.argv[1]):
        sys.argv, out = [script, submission], io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                runpy.run_path(script, run_name="__main__")
                code = 0
            except SystemExit as exit_:
                code = exit_.code
        done[script] = [code, out.getvalue()]
    print(json.dumps(done))
""")


def run_scripts(scripts: list[Path], submission: Path) -> dict[str, tuple[int, str]]:
    """{script: (exit code, what it printed)} of every script run on ``submission``, all in one subprocess."""
    done = subprocess.run([sys.executable, "-c", RUN_ALL, json.dumps([[str(s), str(submission)] for s in scripts])],
                          capture_output=True, text=True, timeout=300, cwd="/")
    assert done.returncode == 0, done.stderr
    return {script: tuple(result) for script, result in json.loads(done.stdout.splitlines()[-1]).items()}


def group_checks(group: str) -> list:
    """The group's checks; CaptioningRNN's with cell_type='rnn' only (the lstm_* checks repeat them at twice
    the cost). Without a points table: the default one gives the captioning checks no points, leaving them out."""
    return [check for check in load_checks(points_table=None) if check.group == group
            and not (group == "captioning" and check.name.startswith("lstm_"))]


def larger_failing_example(check, sub, larger: Callable[[Any], bool]) -> Counterexample:
    """The first derandomized draw of ``check``'s arguments whose problem p is ``larger`` and on which
    it fails, as drawn (not shrunk)."""
    found = []

    def fails(arguments) -> bool:
        if not larger(arguments["p"]):
            return False
        trace, error = record_example(check, sub, arguments)
        if error is not None and not found:
            found.append(Counterexample(arguments, trace, str(error)))
        return error is not None

    quick = settings(max_examples=60, derandomize=True, database=None, phases=[Phase.generate],
                     suppress_health_check=list(HealthCheck))
    find(st.fixed_dictionaries(check.function.hypothesis._given_kwargs), fails, settings=quick)
    return found[0]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, tuple[list[Path], list[str]]]:
    """{bug: (its scripts, the sentences of the failing checks that got none)}: the graded examples'
    scripts, and the larger example's script of the case's finite-difference check."""
    written = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp(Path(case.bug).stem)
        checks = group_checks(case.group)
        grade = grade_submission(BUGGY / case.bug, checks)
        missing = attach_scripts(grade, folder)
        if case.gradient_check:
            check = next(check for check in checks if check.name == case.gradient_check)
            sub = Submission(BUGGY / case.bug)
            try:
                example = larger_failing_example(check, sub, case.larger)
            finally:
                sub.close()
            (folder / f"larger_{check.name}.py").write_text(script_for(check, example))
        written[case.bug] = (sorted(folder.glob("*.py")), missing)
    return written


@pytest.mark.parametrize("case", CASES, ids=lambda case: Path(case.bug).stem)
def test_every_failing_check_gets_a_script(written, case):
    scripts, missing = written[case.bug]
    assert missing == []
    if case.gradient_check:
        assert {f"{case.gradient_check}.py", f"larger_{case.gradient_check}.py"} <= {s.name for s in scripts}
    else:
        assert scripts


@pytest.mark.parametrize("case", CASES, ids=lambda case: Path(case.bug).stem)
def test_scripts_exit_1_on_their_bug_and_name_the_wrong_output(written, case):
    scripts, _ = written[case.bug]
    done = run_scripts(scripts, BUGGY / case.bug)
    assert {script: out for script, (code, out) in done.items() if code != 1} == {}
    assert all("WRONG" in out for _, out in done.values())
    assert any(f"    {case.wrong}" in out for _, out in done.values()), done
    for script, (_, out) in done.items():
        if Path(script).stem.endswith(case.gradient_check or "-"):  # the finite differences name it too
            assert f"    {case.wrong}: along a random ±1 direction v" in out, out


@pytest.mark.parametrize("correct", CORRECT, ids=lambda path: path.stem)
def test_scripts_exit_0_on_correct_code(written, correct):
    """No false failure: the LSTM step's dprev_c (and db) against finite differences of L = ⟨next_h, dnext_h⟩
    + ⟨next_c, dnext_c⟩, the embedding's dW against W (not its int indices x), the softmax loss's dx
    against x alone, CaptioningRNN's grads against the entries of params."""
    scripts = [script for scripts, _ in written.values() for script in scripts]
    done = run_scripts(scripts, correct)
    assert {script: out for script, (code, out) in done.items() if code != 0} == {}
    assert sum("against finite differences: correct" in out for _, out in done.values()) >= 2 * len(
        [case for case in CASES if case.gradient_check])


def test_a_script_runs_standalone_on_a_captioning_model(written, tmp_path):
    """As a student runs it: `python script.py SUBMISSION` builds CaptioningRNN as the grader does."""
    bug = BUGGY / "captioning_b_proj_gradient_mean_over_batch.py"
    script = tmp_path / "script.py"
    script.write_text(next(s for s in written[bug.name][0] if s.name.startswith("larger_")).read_text())
    on_bug = subprocess.run([sys.executable, str(script), str(bug)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert on_bug.returncode == 1 and "CaptioningRNN.loss(model, params, features, captions): WRONG" in on_bug.stdout
    on_reference = subprocess.run([sys.executable, str(script), str(ROOT / "reference")], capture_output=True,
                                  text=True, cwd=tmp_path, timeout=120)
    assert on_reference.returncode == 0, on_reference.stdout + on_reference.stderr


def test_sampled_captions_are_compared_exactly(written):
    scripts, _ = written["captioning_sample_starts_from_null.py"]
    done = run_scripts(scripts, BUGGY / "captioning_sample_starts_from_null.py")
    out = next(out for script, (_, out) in done.items() if "sample_is_greedy" in script)
    assert "captions[0, 0]: expected " in out and "CaptioningRNN.sample(model, params, features, max_length): WRONG" in out


# -- which argument each gradient belongs to ------------------------------------------------------


def test_gradients_are_matched_to_arguments_by_name():
    x, W, dout = np.zeros((1, 2), dtype=np.int64), np.zeros((3, 2)), np.zeros((1, 2, 2))
    embedding = [Call("word_embedding_forward", (x, W)), Call("word_embedding_backward", (dout, CacheRef(0, 1)))]
    assert gradient_map(embedding, 0, 1, [(None, None), np.zeros((3, 2))]) == [("dW", (1,), (1,))]
    loss = [Call("temporal_softmax_loss", (np.zeros((1, 1, 2)), np.zeros((1, 1), dtype=np.int64),
                                           np.ones((1, 1), dtype=bool)))]
    assert gradient_map(loss, 0, None, [(0.5, np.zeros((1, 1, 2)))]) == [("dx", (0, 1), (0,))]
    step = [Call("lstm_step_forward", ()), Call("lstm_step_backward", (None, None, CacheRef(0, 2)))]
    assert [place for _, _, place in gradient_map(step, 0, 1, [None, (None,) * 6])] == [(i,) for i in range(6)]
    params = {"W_embed": np.zeros((2, 2)), "b_proj": np.zeros(2)}
    captioning = [Call("CaptioningRNN.loss", ({}, params, np.zeros((1, 2)), np.zeros((1, 2), dtype=np.int64)))]
    assert gradient_map(captioning, 0, None, [(1.0, {"b_proj": None, "W_embed": None})]) == [
        ("grads['b_proj']", (0, 1, "b_proj"), (1, "b_proj")), ("grads['W_embed']", (0, 1, "W_embed"), (1, "W_embed"))]
    with pytest.raises(NotReproducible, match="grads\\['h0'\\]|h0"):
        gradient_map(captioning, 0, None, [(1.0, {"h0": None})])


# -- a check that failed on a missing function has nothing to reproduce ------------------------------


def test_a_not_implemented_check_gets_no_script_and_no_sentence(tmp_path):
    """The LSTM file defines no GRU: its GRU checks fail as not implemented, and --repro-dir says nothing of them."""
    grade = grade_submission(BUGGY / "lstm_dprev_c_without_forget_gate.py", group_checks("gru"))
    assert grade.results and all(r.message.startswith("not implemented:") for r in grade.results)
    assert attach_scripts(grade, tmp_path / "repro") == []
    assert not (tmp_path / "repro").exists()
    failing = CheckResult(grade.results[0].check, 0.0, "wrong")  # a real failure without example still says why
    assert script_or_reason(failing, True)[1].startswith("no single failing example was kept")


def test_every_backward_gradient_has_its_argument():
    """Each contract backward's gradient dθ names an argument θ of its forward: no script is refused for it."""
    from checks.engine.isolation.contract_returns import RETURNS

    for backward in (name for name in RETURNS if "_backward" in name):
        forward = backward.replace("_backward_truncated", "_forward").replace("_backward", "_forward")
        calls = [Call(forward, ()), Call(backward, (None, CacheRef(0, 1)))]
        places = [place for _, _, place in gradient_map(calls, 0, 1, [None, (None,) * len(RETURNS[backward])])]
        assert len(set(places)) == len(RETURNS[backward]), backward


def test_captions_may_hold_null_after_end_as_the_grader_allows():
    """A sampler that stops at <END> (then <NULL>) is as right as one that goes on; words before <END>
    must be the reference's, and once yours leave the reference's after <END> they must be <NULL>."""
    from checks.engine.run.repro import runtime

    script: dict = {}
    exec(runtime(None, [], 60), script)  # the script's own code, as a student runs it
    END, NULL = 2, 3
    expected = script["Captions"](np.array([[1, 2, 0, 1], [2, 0, 1, 2]]), end=END, null=NULL)
    differences = script["differences"]
    assert differences(np.array([[1, 2, 0, 1], [2, 0, 1, 2]]), expected, "captions") == []
    assert differences(np.array([[1, 2, 3, 3], [2, 0, 3, 3]]), expected, "captions") == []
    assert differences(np.array([[1, 2, 3, 1], [2, 3, 3, 3]]), expected, "captions")[0] == \
        "captions: 1 entry of 8 is wrong; the worst:"
    assert differences(np.array([[3, 2, 0, 1], [2, 0, 1, 2]]), expected, "captions")[1] == \
        "    captions[0, 0]: expected 1, got 3"
    assert "integer" in differences(np.zeros((2, 4)), expected, "captions")[0]
