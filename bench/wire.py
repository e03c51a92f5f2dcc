"""Benchmark: what encoding and decoding cost in one grade, apart from pipes and processes.

Grades the reference once with the confined worker, recording every request the grader sent and
every reply it read (``checks.engine.isolation.protocol``'s frames). Then, in this process, with nothing
else running, it encodes and decodes all of them back to back, as each side does in a grade:

- the grader encodes the requests, the worker decodes them;
- the worker encodes its replies, the grader decodes them;
- for comparison, pickle (protocol 5) dumps and loads the same requests, in its fast mode (no
  memo), so that every occurrence of an array arrives as its own copy, as the protocol sends it
  (with the memo, one array used by three calls of a batch would arrive as one shared object,
  and a call that modified it would change the next call's input). Only the requests: the
  grader must never unpickle what a worker sends.

``--repeat`` passes over all messages (medians).

    .venv/bin/python bench/wire.py [SUBMISSION] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import pickle
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from checks.engine.isolation import boundary as isolation
from checks.engine.run.profiles import DEFAULT_SEED
from checks.engine.isolation.protocol import read_message, write_message
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks

ROOT = Path(__file__).resolve().parent.parent


def recorded_grade(submission: Path) -> tuple[list[Any], list[Any], int]:
    """(requests sent, replies read, round trips) of one default grade; the hello and the import
    replies are left out."""
    requests, replies = [], []

    def sending(stream, message):
        requests.append(message)
        write_message(stream, message)

    def reading(stream, *args):
        replies.append(read_message(stream, *args))
        return replies[-1]

    isolation.write_message, isolation.read_message = sending, reading
    try:
        grade = grade_submission(submission, load_checks(profile="default"), DEFAULT_SEED)
    finally:
        isolation.write_message, isolation.read_message = write_message, read_message
    return requests[1:], replies[2:], grade.worker_calls


def frames(messages: list[Any]) -> list[bytes]:
    encoded = []
    for message in messages:
        stream = io.BytesIO()
        write_message(stream, message)
        encoded.append(stream.getvalue())
    return encoded


def pickled(message: Any) -> bytes:
    """``message`` pickled without the memo: a value that occurs twice is written twice."""
    stream = io.BytesIO()
    pickler = pickle.Pickler(stream, protocol=5)
    pickler.fast = True
    pickler.dump(message)
    return stream.getvalue()


def seconds(action: Callable[[], None], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", type=Path, default=ROOT / "reference")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    requests, replies, round_trips = recorded_grade(options.submission)
    request_frames, reply_frames = frames(requests), frames(replies)
    rows = {
        "grader encodes the requests": lambda: frames(requests),
        "worker decodes the requests": lambda: [read_message(io.BytesIO(f)) for f in request_frames],
        "worker encodes its replies": lambda: frames(replies),
        "grader decodes the replies": lambda: [read_message(io.BytesIO(f)) for f in reply_frames],
    }
    measured = {name: seconds(action, options.repeat) for name, action in rows.items()}
    pickles = [pickled(message) for message in requests]
    pickle_seconds = (seconds(lambda: [pickled(m) for m in requests], options.repeat)
                      + seconds(lambda: [pickle.loads(p) for p in pickles], options.repeat))
    size = sum(map(len, request_frames)) / len(request_frames)
    print(f"submission: {options.submission.name}   round trips: {round_trips}   requests recorded: "
          f"{len(requests)} ({size:.0f} bytes each on average)   repetitions: {options.repeat}")
    print("| step, all messages of one grade | median |")
    print("|---|---|")
    for name, value in measured.items():
        print(f"| {name} | {value:.3f} s |")
    print(f"| all four | {sum(measured.values()):.3f} s |")
    print(f"| pickle (fast mode) dumps and loads the requests, for comparison | {pickle_seconds:.3f} s |")


if __name__ == "__main__":
    main()
