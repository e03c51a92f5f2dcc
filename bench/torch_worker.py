"""Benchmark: a confined worker's start-up with torch preloaded, against one without (issue 23 §7).

A start is the hello round trip of ``Submission(path, options)``: the supervisor, the worker's interpreter
and numpy, (torch and ``checks.engine.isolation.torch_calls``, imported before the lock-down), the lock-down,
and the import of the submission. Both are measured in the same run, alternating: with torch, the correct
CS231n 2025 file (tests/corpus/torch/rnn_layers_pytorch_correct.py); without, the NumPy reference (a worker
without torch cannot import the torch file). Also one ``torch_call`` round trip: rnn_step_forward and its
backward by autograd, at the grader's usual sizes. Medians.

    .venv/bin/python bench/torch_worker.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from checks.engine.isolation.boundary import WorkerOptions
from checks.engine.isolation.contract import Submission
from checks.engine.isolation.torch_contract import TorchView

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "tests" / "corpus" / "torch" / "rnn_layers_pytorch_correct.py"
NUMPY_REFERENCE = ROOT / "reference"
WITH_TORCH = WorkerOptions(preload=("torch",), allowed_packages=("torch",))


def start(path: Path, options: WorkerOptions) -> float:
    started = time.perf_counter()
    sub = Submission(path, options)
    elapsed = time.perf_counter() - started
    sub.close()
    return elapsed


def call_round_trip(view: TorchView, rng: np.random.Generator) -> float:
    x, h, Wx, Wh, b = (rng.normal(size=s) for s in [(3, 4), (3, 5), (4, 5), (5, 5), (5,)])
    started = time.perf_counter()
    view.call("rnn_step_forward", [x, h, Wx, Wh, b], grad_of=range(5), upstream=[rng.normal(size=(3, 5))])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    with_torch, without = [], []
    for _ in range(options.repeat):
        with_torch.append(start(CORRECT, WITH_TORCH))
        without.append(start(NUMPY_REFERENCE, WorkerOptions()))
    sub = Submission(CORRECT, WITH_TORCH)
    rng = np.random.default_rng(0)
    calls = [call_round_trip(TorchView(sub), rng) for _ in range(50)]
    active = [layer.name for layer in sub.confinement.layers if layer.state == "active"]
    sub.close()
    print(f"repetitions: {options.repeat}   active layers with torch: {', '.join(active)}")
    print("| measure | median |")
    print("|---|---|")
    print(f"| worker start with torch preloaded (the correct CS231n 2025 file) | {statistics.median(with_torch) * 1000:.0f} ms |")
    print(f"| worker start without torch (the NumPy reference) | {statistics.median(without) * 1000:.0f} ms |")
    print(f"| ratio | {statistics.median(with_torch) / statistics.median(without):.2f} |")
    print(f"| one torch_call round trip (rnn_step_forward and its backward, 50 calls) | "
          f"{statistics.median(calls) * 1000:.2f} ms |")


if __name__ == "__main__":
    main()
