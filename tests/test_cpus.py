"""checks.engine.run.cpus: the cores a grade can use, a container's CPU quota included."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.engine.run.cpus import cores, cpu_quota, scheduled_cores


def cgroup_v2(root: Path, cpu_max: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cpu.max").write_text(cpu_max + "\n")
    return root


def cgroup_v1(root: Path, quota: str, period: str) -> Path:
    (root / "cpu").mkdir(parents=True)
    (root / "cpu" / "cpu.cfs_quota_us").write_text(quota + "\n")
    (root / "cpu" / "cpu.cfs_period_us").write_text(period + "\n")
    return root


@pytest.mark.parametrize("cpu_max, expected", [("100000 100000", 1), ("150000 100000", 2), ("50000 100000", 1),
                                               ("200000 100000", 2), ("max 100000", None)])
def test_a_cgroup_v2_quota_counts_in_cores_rounded_up(tmp_path, cpu_max, expected):
    assert cpu_quota(cgroup_v2(tmp_path, cpu_max)) == expected


@pytest.mark.parametrize("quota, expected", [("100000", 1), ("250000", 3), ("-1", None)])
def test_a_cgroup_v1_quota_counts_too(tmp_path, quota, expected):
    assert cpu_quota(cgroup_v1(tmp_path, quota, "100000")) == expected


def test_no_cgroup_files_means_no_quota(tmp_path):
    assert cpu_quota(tmp_path) is None
    assert cpu_quota(cgroup_v2(tmp_path / "garbled", "a lot")) is None


def test_the_quota_caps_the_cores_and_never_raises_them(tmp_path, monkeypatch):
    monkeypatch.setattr("checks.engine.run.cpus.scheduled_cores", lambda: 16)
    assert cores(cgroup_v2(tmp_path / "one", "100000 100000")) == 1
    assert cores(tmp_path / "none") == 16
    monkeypatch.setattr("checks.engine.run.cpus.scheduled_cores", lambda: 2)
    assert cores(cgroup_v2(tmp_path / "many", "800000 100000")) == 2


def test_this_machine():
    assert 1 <= cores() <= scheduled_cores()
