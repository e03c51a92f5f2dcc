"""The grading engine: everything that runs checks (CLI, runner, reports, worker, protocol, sandbox).

Check authors never import from here; they use checks.registry, checks.strategies, checks.verdicts,
checks.gradcheck and checks.examples.
"""
