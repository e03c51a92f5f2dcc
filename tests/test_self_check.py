"""``--self-check``: the checks that need no reference solution, run where there is none.

Which built-in checks need the reference is declared (``@check(..., reference=True)``) and tested
two ways: by their code (a check is marked exactly when it calls ``reference``), and by running
every unmarked check with ``reference``, SymPy and autograd unimportable, on correct and buggy
submissions. The report says what it left out, and its total is out of the checks it ran.

The forward pass's three reference comparisons have stand-ins (``checks/forward.py``) that judge it
against the lecture's definition: each is shown to pass every correct solution, to fail the buggy
forward passes, and to cost a buggy forward pass the same points as the full grade does.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys

import pytest

from checks.engine.run.runner import grade_submission
from checks.engine.run.assignments import assignment_table
from checks.registry import ASSIGNMENTS_FOLDER, load_checks, self_check_split
from tiny_grading import REPO, clean_environment

CORPUS = REPO / "tests" / "corpus"
CORRECT = sorted((CORPUS / "correct").glob("*.py"))
TANH_BUG = CORPUS / "buggy" / "tanh_derivative_from_preactivation.py"
CALLS_REFERENCE = re.compile(r"\breference\.[A-Za-z_]|^\s*(import|from) reference\b", re.M)
# The built-in checks without the reference: the default assignment's 160 points less the 36 of the 18 that
# compare with it and have no stand-in (the forward pass's three have one each, with their 12 points):
# the vanilla RNN's six (23 points) and the LSTM's, GRU's, embedding's and temporal layers' twelve (13 points).
TOTAL_POINTS, SELF_CHECK_POINTS, LEFT_OUT_COUNT, LEFT_OUT_POINTS = 160, 124, 18, 36
# The same for the vanilla RNN alone (--assignment rnn, out of 100): its six comparisons, 23 points.
RNN_SELF_CHECK_POINTS, RNN_LEFT_OUT_COUNT = 77, 6
VANILLA_GROUPS = {"forward", "backward", "tanh", "truncated", "clipping", "bidirectional", "classifier", "batching",
                  "hygiene"}
FORWARD_STAND_INS = {"step_forward_matches_reference": "step_forward_is_the_lecture_step",
                     "sequence_forward_matches_reference": "sequence_forward_is_the_lecture_step_over_time",
                     "saturated_forward_is_plus_or_minus_one": "saturated_forward_follows_the_lecture_step"}

# Grades each submission named on the command line with the self-check's checks, in a process where
# importing the reference or an oracle fails, as in a student's installation; prints one JSON line each.
WITHOUT_REFERENCE = """
import json, sys
for name in ("reference", "sympy", "autograd"):
    sys.modules[name] = None  # "import reference" now raises ImportError
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks, self_check_split
checks, _ = self_check_split(load_checks())
for path in sys.argv[1:]:
    grade = grade_submission(path, checks)
    print(json.dumps({"score": grade.score, "max_score": grade.max_score,
                      "results": [[r.check.group, r.check.name, r.status, r.message] for r in grade.results]}))
"""


@pytest.fixture(scope="module")
def checks():
    return load_checks()


def test_a_check_is_marked_as_needing_the_reference_exactly_when_its_code_calls_it(checks):
    for check in checks + self_check_split(checks)[0]:  # the stand-ins too
        calls = bool(CALLS_REFERENCE.search(inspect.getsource(check.function)))
        assert calls == check.reference, f"{check.source}: {check.name} calls the reference: {calls}, " \
                                         f"marked reference={check.reference}"


@pytest.mark.parametrize("assignment", [None, "rnn"], ids=["built-in", "rnn"])
def test_the_self_check_leaves_out_the_reference_comparisons_without_a_stand_in(assignment, checks):
    if assignment is not None:
        checks = load_checks(points_table=assignment_table(None, assignment), assignment=True)
    run, left_out = self_check_split(checks)
    assert all("reference" in c.name or "_is_stable_for_huge_" in c.name for c in left_out)
    assert all(c.reference for c in left_out) and not [c for c in run if c.reference]
    assert not {c.group for c in left_out} & {"forward"}
    # what issue 8 asks a self-check to run, the forward pass (issue 21), and the new groups (issue 22)
    covered = {c.group for c in run}
    if assignment == "rnn":
        assert (len(left_out), sum(c.points for c in run)) == (RNN_LEFT_OUT_COUNT, RNN_SELF_CHECK_POINTS)
        assert covered == VANILLA_GROUPS
    else:
        assert (len(left_out), sum(c.points for c in left_out)) == (LEFT_OUT_COUNT, LEFT_OUT_POINTS)
        assert sum(c.points for c in run) == SELF_CHECK_POINTS == TOTAL_POINTS - LEFT_OUT_POINTS
        assert covered == VANILLA_GROUPS | {"lstm", "gru", "embedding", "temporal"}  # captioning is at 0


@pytest.mark.parametrize(("table", "total"), [(None, TOTAL_POINTS), (ASSIGNMENTS_FOLDER / "cs231n.toml", 100)],
                         ids=["built-in", "cs231n"])
def test_each_stand_in_takes_its_counterparts_place_and_points_and_the_full_grade_is_unchanged(table, total):
    checks = load_checks(points_table=table, assignment=table is not None) if table else load_checks()
    assert not [c.name for c in checks if c.stands_in_for]  # a full grade never runs a stand-in
    assert sum(c.points for c in checks) == total
    run, _ = self_check_split(checks)
    by_name = {c.name: c for c in checks}
    stand_ins = [c for c in run if c.stands_in_for]
    assert {c.stands_in_for: c.name for c in stand_ins} == FORWARD_STAND_INS
    for stand_in in stand_ins:
        counterpart = by_name[stand_in.stands_in_for]
        assert (stand_in.points, stand_in.visibility, stand_in.group) == \
            (counterpart.points, counterpart.visibility, counterpart.group)
        assert not stand_in.reference and set(stand_in.needs) == set(counterpart.needs)
    order = [c.stands_in_for or c.name for c in run]  # in the counterpart's place
    assert order == [c.name for c in checks if c.name in order]


# Buggy forward passes written from the CS231n-style solution, whose rnn_forward calls its rnn_step_forward.
FORWARD_VARIANTS = {
    # the step leaves out b, and rnn_forward, calling it, inherits the mistake
    "step_forgets_bias.py": ("    a = x.dot(Wx) + prev_h.dot(Wh) + b\n    next_h = np.tanh(a)\n",
                             "    a = x.dot(Wx) + prev_h.dot(Wh)\n    next_h = np.tanh(a)\n"),
    # rnn_forward does not use the (right) step: it writes its own, without b
    "forward_not_using_the_step.py": (
        "        next_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)\n",
        "        next_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)\n"
        "        next_h = np.tanh(x[:, t, :].dot(Wx) + prev_h.dot(Wh))\n"),
    # rnn_forward starts from zeros, not h0
    "forward_ignores_h0.py": ("    prev_h = h0\n    for t in range(T):\n        next_h, step_cache = rnn_step_forward(",
                              "    prev_h = np.zeros_like(h0)\n    for t in range(T):\n"
                              "        next_h, step_cache = rnn_step_forward("),
}
# Which stand-ins each buggy forward pass must fail (each stand-in bites at least one of them).
MUST_FAIL = {
    "step_forgets_bias.py": {"step_forward_is_the_lecture_step", "sequence_forward_is_the_lecture_step_over_time"},
    "forward_not_using_the_step.py": {"sequence_forward_is_the_lecture_step_over_time"},
    "forward_ignores_h0.py": {"sequence_forward_is_the_lecture_step_over_time",
                              "saturated_forward_follows_the_lecture_step"},
    "step_forward_forgets_bias.py": {"step_forward_is_the_lecture_step"},  # the corpus's: rnn_forward is right
}


def forward_variants(folder) -> list:
    source = (CORPUS / "correct" / "cs231n_style.py").read_text()
    paths = []
    for name, (old, new) in FORWARD_VARIANTS.items():
        assert source.count(old) == 1, name
        (folder / name).write_text(source.replace(old, new))
        paths.append(folder / name)
    return paths


@pytest.fixture(scope="module")
def forward_checks(checks):
    full = [c for c in checks if c.group == "forward"]
    return full, self_check_split(full)[0]


def forward_scores(path, checks) -> dict:
    grade = grade_submission(path, checks)
    assert not [r for r in grade.results if r.status == "error"], grade.results
    return {r.check.name: r.score for r in grade.results}


@pytest.mark.parametrize("path", CORRECT + [REPO / "tests" / "cs231n" / "rnn_layers.py"], ids=lambda p: p.name)
def test_the_forward_stand_ins_pass_every_correct_solution(path, forward_checks):
    _, stand_ins = forward_checks
    extra = ["--path", str(REPO / "tests" / "cs231n" / "course")] if path.parent.name == "cs231n" else []
    if extra:  # the CS231n file (the vanilla RNN only) imports its course's package: graded from the command line
        run = rnn_grade("--self-check", str(path), "--assignment", "cs231n-rnn", *extra)
        assert run.returncode == 0 and "80 / 80" in run.stdout, run.stdout + run.stderr
        return
    scores = forward_scores(path, stand_ins)
    assert scores == {c.name: c.points for c in stand_ins}


def test_the_forward_stand_ins_bite_and_cost_what_the_full_grade_costs(tmp_path, forward_checks):
    full, stand_ins = forward_checks
    stand_in_of = {c.stands_in_for: c.name for c in stand_ins}
    buggy = forward_variants(tmp_path) + [CORPUS / "buggy" / "step_forward_forgets_bias.py"]
    for path in buggy:
        in_full, in_self_check = forward_scores(path, full), forward_scores(path, stand_ins)
        failed = {name for name, score in in_self_check.items() if score == 0}
        assert MUST_FAIL[path.name] <= failed, (path.name, in_self_check)
        assert {stand_in_of[name]: score for name, score in in_full.items()} == in_self_check, path.name
    bitten = set().union(*MUST_FAIL.values())
    assert bitten == set(stand_in_of.values())


def test_every_unmarked_check_runs_without_the_reference_or_the_oracles():
    run = subprocess.run([sys.executable, "-c", WITHOUT_REFERENCE, *map(str, CORRECT[:2]), str(TANH_BUG)],
                         capture_output=True, text=True, cwd=REPO, env=clean_environment(), timeout=600)
    assert run.returncode == 0, run.stderr
    *correct, buggy = map(json.loads, run.stdout.splitlines())
    for grade in correct:
        assert grade["score"] == grade["max_score"] == SELF_CHECK_POINTS, grade
    assert not [r for r in buggy["results"] if r[2] == "error"], buggy  # no check needed what is missing
    tanh = [r for r in buggy["results"] if r[0] == "tanh"]
    assert tanh and all(r[2] == "failed" and "d/dz tanh(z) = 1 - tanh(z)**2" in r[3] for r in tanh)


def rnn_grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "checks.engine.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=clean_environment(), timeout=600)


def test_the_report_names_what_was_left_out_and_totals_the_checks_run(tmp_path, checks):
    results = tmp_path / "results.json"
    run = rnn_grade("--self-check", str(CORRECT[0]), "--results", str(results))
    assert run.returncode == 0, run.stdout + run.stderr
    left_out = [c.name for c in self_check_split(checks)[1]]
    assert f"left out: {LEFT_OUT_COUNT} checks ({LEFT_OUT_POINTS} points) compare with the reference solution, " \
           "which is not shipped to students" in " ".join(run.stdout.split())
    assert all(name in run.stdout for name in left_out)
    report = json.loads(results.read_text())
    assert report["score"] == report["extra_data"]["max_score"] == SELF_CHECK_POINTS
    assert [entry["check"] for entry in report["extra_data"]["left_out"]] == left_out
    assert not {test["extra_data"]["check"] for test in report["tests"]} & set(left_out)
    assert f"left out: {LEFT_OUT_COUNT} checks" in report["output"]


def test_the_pytest_front_end_self_checks_too():
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "checks",
                          "--submission", str(CORRECT[0]), "--self-check", "-q"],
                         capture_output=True, text=True, cwd=REPO, env=clean_environment(), timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f": {SELF_CHECK_POINTS} / {SELF_CHECK_POINTS} points of the checks run" in run.stdout  # by file or stem
    assert f"left out: {LEFT_OUT_COUNT} checks ({LEFT_OUT_POINTS} points)" in run.stdout


def test_without_the_reference_a_full_grade_is_refused_and_says_to_self_check():
    refuse = ("import sys; sys.modules['reference'] = None\n"
              "from checks.engine.cli import main; sys.exit(main(sys.argv[1:]))")
    run = subprocess.run([sys.executable, "-c", refuse, str(CORRECT[0])], capture_output=True, text=True,
                         cwd=REPO, env=clean_environment(), timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "the full grade needs the course's reference solution" in run.stderr
    assert "Run with --self-check" in run.stderr


def test_a_self_check_with_only_reference_checks_left_is_a_usage_error(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "only.py").write_text(
        "from checks.registry import check\n\n\n"
        '@check(group="forward", points=1, needs=("rnn_forward",), reference=True)\n'
        "def compares(sub):\n    import reference\n")
    (tmp_path / "empty.toml").write_text("")
    run = rnn_grade("--self-check", str(CORRECT[0]), "--checks-dir", str(course), "--no-builtin-checks",
                    "--points", str(tmp_path / "empty.toml"))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "--self-check: every check to run compares with the reference solution" in run.stderr


@pytest.mark.parametrize("target", ["no_such_check", "plain"], ids=["unknown", "not-a-reference-check"])
def test_a_stand_in_must_name_a_reference_check_of_its_module(tmp_path, target):
    from checks.registry import CheckDefinitionError

    (tmp_path / f"stand_in_{target}.py").write_text(
        "from checks.registry import check\n\n\n"
        '@check(group="forward", points=1, needs=("rnn_forward",))\n'
        "def plain(sub):\n    pass\n\n\n"
        f'@check(group="forward", points=1, needs=("rnn_forward",), stands_in_for="{target}")\n'
        "def stand_in(sub):\n    pass\n")
    with pytest.raises(CheckDefinitionError, match=f"stands_in_for='{target}' must name a check of this module"):
        load_checks([tmp_path], points_table=None, builtin=False)
