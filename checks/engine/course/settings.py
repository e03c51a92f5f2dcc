"""The settings of one run, decided once from the command line by ``checks.engine.options``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from checks.engine.course.classroom import Entry
from checks.engine.course.shards import Shard
from checks.engine.isolation.boundary import WorkerOptions
from checks.engine.run.assignments import CheckSource
from checks.registry import Check


CLUSTER_EXTRA = "rnn-grade[cluster]"


@dataclass(frozen=True)
class GradingSettings:
    """What to grade and how, decided once from the command line (either front end's)."""

    submissions: tuple[Path, ...]
    checks: tuple[Check, ...]
    profile: str
    seed: int
    worker_options: WorkerOptions
    results: Path | None = None  # where to write results.json (rnn-grade only)
    deadline: float | None = None  # seconds for the whole run (rnn-grade only)
    quiet: bool = False
    left_out: tuple[Check, ...] = ()  # by --self-check: the checks that need the reference solution
    formats: tuple[str, ...] = ("gradescope",)  # the reports to write (rnn-grade only)
    report_paths: Mapping[str, Path] = field(default_factory=dict)  # {format: file} for one submission
    entries: tuple[Entry, ...] = ()  # the submissions with their ids (checks.engine.course.classroom)
    class_mode: bool = False  # several submissions, a class folder or --out: graded by checks.engine.course.batch
    out: Path | None = None
    jobs: int | None = None  # None: the cores available
    force: bool = False
    verbose: bool = False  # the terminal shows every failing check's feedback in full (rnn-grade only)
    repro_dir: Path | None = None  # --repro-dir: one reproduction script per failing check (checks.engine.run.repro)
    shard: Shard | None = None  # --shard: ``entries`` are this shard's (checks.engine.course.shards)
    class_ids: tuple[str, ...] = ()  # with --shard: every submission's id, in discovery order
    check_source: CheckSource = CheckSource()  # how ``checks`` were loaded, for a cluster node to load them again
    cluster: str | None = None  # --cluster: the Dask scheduler's address (checks.engine.course.cluster)
