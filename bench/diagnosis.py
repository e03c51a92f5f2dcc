"""How often diagnosis names the right misconception, and how often it names one wrongly.

    PYTHONPATH=. .venv/bin/python bench/diagnosis.py

For every bug of tests/corpus/buggy, every check that fails gets two failing examples and the
larger confirming one the runner finds (tests/diagnosis_examples.py), and is diagnosed. Prints:

- named right: among failing checks of bugs that declare a MISCONCEPTION, the fraction
  diagnosed with exactly that id;
- false diagnoses: misconceptions named on bugs that declare none (MISCONCEPTION = None), plus
  ids named on a bug that are not its own, plus any named on the correct implementations (on
  the failing examples of the bugs, replayed there).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from checks.engine.isolation.contract import Submission
from checks.engine.run.counterexample import Counterexample, record_example
from checks.engine.run.diagnosis import diagnose
from checks.registry import load_checks
from tests.diagnosis_examples import confirming, failing_arguments  # run from the repository root (PYTHONPATH=.)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"


def declared_misconception(path: Path) -> str | None:
    tree = ast.parse(path.read_text())
    return next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", "") == "MISCONCEPTION")


def main() -> None:
    checks = load_checks()
    right = total = false = 0
    replayable = []  # (check, two argument dicts) to replay on the correct implementations
    for path in sorted((CORPUS / "buggy").glob("*.py")):
        due = declared_misconception(path)
        sub = Submission(path)
        try:
            for check in checks:
                arguments = failing_arguments(check, sub)
                if len(arguments) < 2:
                    continue
                replayable.append((check, arguments))
                traces = [record_example(check, sub, a) for a in arguments]
                found = diagnose(Counterexample(arguments[0], traces[0][0], str(traces[0][1]), second=traces[1][0],
                                                confirming=confirming(check, sub)))
                named = found.misconception if found else None
                if due is not None:
                    total += 1
                    right += named == due
                false += named is not None and named != due
                print(f"{path.stem:45} {check.name:50} {named or '-':35} {'' if named == due else 'due: ' + str(due)}")
        finally:
            sub.close()
    for path in [ROOT / "reference", *sorted((CORPUS / "correct").glob("*.py"))]:
        sub = Submission(path)
        try:
            for check, arguments in replayable:
                traces = [record_example(check, sub, a)[0] for a in arguments]
                found = diagnose(Counterexample(arguments[0], traces[0], "", second=traces[1],
                                                confirming=confirming(check, sub)))
                false += bool(found and found.misconception)
        finally:
            sub.close()
    print(f"named right: {right}/{total} = {right / max(total, 1):.0%} of failing checks of bugs with a model")
    print(f"false diagnoses: {false}")
    sys.exit(0)


if __name__ == "__main__":
    main()
