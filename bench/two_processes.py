"""Benchmark: what handing work back and forth between two processes costs on this machine, apart
from anything rnn-grade does.

A grade alternates: the grader works (Hypothesis, the check's arithmetic), sends one request, and
sleeps until the worker has answered it. This bench does the same with plain Python work and a
1-byte message over a pipe, and compares it with the same work done in one process:

- one process: ``grader work; worker work``, ``--round-trips`` times;
- two processes: the same, the worker's share in a forked child, one pipe round trip per turn;
- the bare round trip: two processes and no work at all.

The defaults are a default grade's shape (1568 round trips; about 1.6 ms of grader work and
0.16 ms of worker work per round trip, from ``bench/in_process.py``'s in-process time and the
submission's share of it). The difference between the first two is the price of two processes
taking turns, which no encoding or batching can remove: each side wakes up on a core that went
idle, with its caches cold. Alternating repetitions, medians.

    .venv/bin/python bench/two_processes.py [--round-trips 1568] [--grader-us 1600] [--worker-us 160] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import time


def work(units: int) -> int:
    """Plain Python work: dict updates, like an interpreter's own busy work."""
    table: dict[int, int] = {}
    for i in range(units):
        table[i % 97] = table.get(i % 50, 0) + i
    return len(table)


def units_per_microsecond() -> float:
    started = time.perf_counter()
    work(200_000)
    return 200_000 / ((time.perf_counter() - started) * 1e6)


def one_process(turns: int, grader: int, worker: int) -> float:
    started = time.perf_counter()
    for _ in range(turns):
        work(grader)
        work(worker)
    return time.perf_counter() - started


def two_processes(turns: int, grader: int, worker: int) -> float:
    """The worker's share in a forked child, one 1-byte request and reply per turn."""
    request_read, request_write = os.pipe()
    reply_read, reply_write = os.pipe()
    child = os.fork()
    if child == 0:  # the worker
        for _ in range(turns):
            select.select([request_read], [], [])
            os.read(request_read, 1)
            work(worker)
            os.write(reply_write, b"r")
        os._exit(0)
    started = time.perf_counter()
    for _ in range(turns):
        work(grader)
        os.write(request_write, b"q")
        select.select([reply_read], [], [])
        os.read(reply_read, 1)
    seconds = time.perf_counter() - started
    os.waitpid(child, 0)
    for fd in (request_read, request_write, reply_read, reply_write):
        os.close(fd)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--round-trips", type=int, default=1568)
    parser.add_argument("--grader-us", type=float, default=1600.0, help="grader work per round trip, µs")
    parser.add_argument("--worker-us", type=float, default=160.0, help="worker work per round trip, µs")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    rate = units_per_microsecond()
    grader, worker = round(options.grader_us * rate), round(options.worker_us * rate)
    turns = options.round_trips
    alone, apart, bare = [], [], []
    for _ in range(options.repeat):
        alone.append(one_process(turns, grader, worker))
        apart.append(two_processes(turns, grader, worker))
        bare.append(two_processes(turns, 0, 0))
    one, two = statistics.median(alone), statistics.median(apart)
    print(f"round trips: {turns}   work per round trip: grader {options.grader_us:g} µs, worker "
          f"{options.worker_us:g} µs   repetitions: {options.repeat}, alternating")
    print("| measure | median |")
    print("|---|---|")
    print(f"| the work in one process | {one:.2f} s |")
    print(f"| the same work in two processes taking turns | {two:.2f} s |")
    print(f"| extra per round trip | {(two - one) / turns * 1e6:.0f} µs |")
    print(f"| ratio | {two / one:.2f} |")
    print(f"| bare round trip, no work | {statistics.median(bare) / turns * 1e6:.0f} µs |")


if __name__ == "__main__":
    main()
