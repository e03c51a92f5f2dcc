"""Cost of the SymPy gradient oracle (reference/oracles/sympy_rnn.py), per shape.

For each shape (N, T, D, H) and each formula (rnn_backward's gradients, the
classifier's loss and gradients) it measures, each in a fresh Python process so that
no in-memory cache helps:

- cold: the first call with an empty cache directory — SymPy import, symbolic
  derivation, lambdify with CSE, and writing the disk cache;
- warm: the first call in a second process that finds the formula on disk — read the
  generated source and exec it (SymPy is not imported);
- per call: one evaluation once the formula is loaded, including argument checks.

Cold runs are CPU-bound and single-threaded; their CPU time is reported next to the
wall time because on a busy machine (parallel test workers) wall time overstates it.

Each child reports ``cache_stats()``, and the bench fails if a cold run did not
derive or a warm run did not load from disk, so the two columns measure what they
say. Process start-up and the NumPy import are outside every timing.

Prints a markdown table of medians. Cold runs are repeated fewer times for the larger
shapes and stop repeating once the time budget (--budget, default 120 s) is spent;
every affordable shape is measured at least once, and the shapes beyond the affordable
box (listed last, to show why it ends where it does) are skipped once over budget.
Run from the repository root:

    .venv/bin/python bench/sympy_oracle.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import sympy  # noqa: E402  (only its version is printed)

from reference.oracles.sympy_rnn import CACHE_DIR_ENV, sympy_affordable  # noqa: E402

# (shape, cold repetitions): the shapes tests/test_sympy_oracle.py draws (SYMPY_DIMS),
# then two just outside the affordable box, to show why it ends where it does.
PLAN: list[tuple[tuple[int, int, int, int], int]] = [
    ((1, 1, 1, 1), 3),
    ((1, 2, 1, 2), 3),
    ((2, 2, 2, 1), 3),
    ((1, 3, 2, 2), 2),
    ((1, 4, 1, 2), 2),
    ((2, 4, 2, 2), 2),
    ((2, 5, 2, 2), 1),
    ((2, 3, 2, 3), 1),
]
WARM_REPETITIONS = 3
KINDS = ("rnn", "classifier")

CHILD = r"""
import json, sys, time, timeit
import numpy as np
from reference.oracles import sympy_rnn

kind = sys.argv[1]
N, T, D, H = map(int, sys.argv[2:6])
rng = np.random.default_rng(0)

def u(shape, scale=1.0):
    return rng.uniform(-1, 1, shape) * scale

x, h0 = u((N, T, D)), u((N, H))
Wx, Wh, b = u((D, H), D ** -0.5), u((H, H), H ** -0.5), u((H,), 0.5)
if kind == "rnn":
    oracle, args = sympy_rnn.sympy_rnn_gradients, (x, h0, Wx, Wh, b, u((N, T, H)))
else:
    y = rng.integers(0, 2, N).astype(np.float64)
    W2, b2 = u((H,)), u((1,), 0.5)
    oracle, args = sympy_rnn.sympy_classifier_gradients, (x, y, h0, Wx, Wh, b, W2, b2)

start, start_cpu = time.perf_counter(), time.process_time()
oracle(*args)
first_call = time.perf_counter() - start
first_call_cpu = time.process_time() - start_cpu

number = 50
timings = timeit.repeat(lambda: oracle(*args), number=number, repeat=5)
per_call = sorted(timings)[2] / number  # median of 5
print(json.dumps({"first_call_s": first_call, "first_call_cpu_s": first_call_cpu,
                  "per_call_s": per_call,
                  "stats": sympy_rnn.cache_stats()}))
"""


def run_child(kind: str, shape: tuple[int, ...], cache_dir: Path) -> dict:
    """One fresh process computing one oracle call; returns its JSON report."""
    env = {**os.environ, CACHE_DIR_ENV: str(cache_dir)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, kind, *map(str, shape)],
        env=env, cwd=REPO, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"child {kind} {shape} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def measure(kind: str, shape: tuple[int, ...], cold_reps: int, deadline: float) -> dict:
    """Median cold, warm and per-call costs of one formula at one shape."""
    cold, cold_cpu, warm, per_call, source_bytes = [], [], [], [], 0
    for rep in range(cold_reps):
        if rep > 0 and time.monotonic() > deadline:
            break
        with tempfile.TemporaryDirectory(prefix="rnn-grade-bench-") as tmp:
            cache_dir = Path(tmp)
            report = run_child(kind, shape, cache_dir)
            if report["stats"] != {"derived": 1, "loaded_from_disk": 0}:
                raise RuntimeError(f"cold run did not derive: {report['stats']}")
            cold.append(report["first_call_s"])
            cold_cpu.append(report["first_call_cpu_s"])
            if rep == 0:  # warm runs reuse the first cold run's cache directory
                [cached] = cache_dir.glob(f"{kind}-*.py")
                source_bytes = cached.stat().st_size
                for _ in range(WARM_REPETITIONS):
                    report = run_child(kind, shape, cache_dir)
                    if report["stats"] != {"derived": 0, "loaded_from_disk": 1}:
                        raise RuntimeError(f"warm run did not load from disk: {report['stats']}")
                    warm.append(report["first_call_s"])
                    per_call.append(report["per_call_s"])
    return {
        "cold_s": statistics.median(cold),
        "cold_cpu_s": statistics.median(cold_cpu),
        "warm_ms": 1e3 * statistics.median(warm),
        "per_call_us": 1e6 * statistics.median(per_call),
        "source_kb": source_bytes / 1024,
        "reps": f"{len(cold)}/{len(warm)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds after which cold runs are no longer repeated and "
                             "shapes beyond the affordable box are skipped")
    args = parser.parse_args()

    started = time.monotonic()
    deadline = started + args.budget
    rows = []
    for shape, cold_reps in PLAN:
        for kind in KINDS:
            if not sympy_affordable(*shape) and time.monotonic() > deadline:
                rows.append((shape, kind, None))
                continue
            cell = measure(kind, shape, cold_reps, deadline)
            rows.append((shape, kind, cell))
            print(f"  {kind:10s} {shape}: cold {cell['cold_s']:.2f} s, "
                  f"warm {cell['warm_ms']:.1f} ms", file=sys.stderr, flush=True)

    print(f"SymPy {sympy.__version__}, NumPy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs; medians, in fresh processes.\n")
    print("| N, T, D, H | affordable | formula | cold: derive + compile, wall (s) | cold, CPU (s) "
          "| warm: load from disk (ms) | per call (µs) | source (KiB) | runs cold/warm |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for shape, kind, cell in rows:
        if cell is None:
            print(f"| {', '.join(map(str, shape))} | no | {kind} "
                  f"| skipped: over --budget | | | | | |")
            continue
        print(f"| {', '.join(map(str, shape))} | {'yes' if sympy_affordable(*shape) else 'no'} "
              f"| {kind} | {cell['cold_s']:.2f} | {cell['cold_cpu_s']:.2f} | {cell['warm_ms']:.1f} "
              f"| {cell['per_call_us']:.0f} | {cell['source_kb']:.1f} | {cell['reps']} |")
    print(f"\nTotal bench time {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
